// The digit-drawing page (bend export MODEL --web DIR) in headless Chromium:
//   node digit_page.mjs --dir DIR --images t10k-images-idx3-ubyte --expect 7:99.92,2:100.00,... [--first 0]
//                       [--screenshot FILE.png]
// Each MNIST test image from --first on is put onto the page's pad (10x, as ink) and goes through the
// page's own preprocessing and model (bendPage.predict); the label the page shows and its probability must be
// the ones `bend predict --index N` gave (--expect, in order), and the 28x28 image the preprocessing made
// must be the MNIST image (it already fills a 20x20 box centred by its centre of mass). Then a 7 drawn with
// the mouse must be read as a 7, a 1 drawn by touch as a 1, and Clear must clear the pad. Any console error
// fails the test. Prints one line per check and "N passed, M failed".
import {readFileSync, writeFileSync} from 'node:fs';
import {resolve} from 'node:path';
import {parseArgs} from 'node:util';
import {gunzipSync} from 'node:zlib';

import {deadline, launch, open, serve} from './browser.mjs';

deadline(180, 'digit_page');

const {values: args} = parseArgs({options: {
  dir: {type: 'string'}, images: {type: 'string'}, expect: {type: 'string'}, first: {type: 'string', default: '0'},
  screenshot: {type: 'string'},
}});
if (!args.dir || !args.images || !args.expect) {
  console.error('usage: node digit_page.mjs --dir DIR --images IDX --expect L0,L1,... [--first N] [--screenshot F]');
  process.exit(2);
}
// --expect LABEL:PERCENT,...: bend predict's top class and its probability in percent, per image.
const expected = args.expect.split(',').map((e) => e.split(':').map(Number));
const first = Number(args.first);

// MNIST's IDX images file (gzipped or not): the 28x28 bytes of images first .. first+count-1.
function mnistImages(path, from, count) {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes.readUInt32BE(0) !== 0x803) throw new Error(`${path}: not an IDX images file`);
  const [n, rows, cols] = [bytes.readUInt32BE(4), bytes.readUInt32BE(8), bytes.readUInt32BE(12)];
  if (rows !== 28 || cols !== 28 || from + count > n) throw new Error(`${path}: ${n} images of ${rows}x${cols}`);
  return Array.from({length: count}, (_, k) => Array.from(bytes.subarray(16 + (from + k) * 784, 16 + (from + k + 1) * 784)));
}

let passed = 0, failed = 0;
const differences = [];
// An MNIST digit already fills a 20x20 box centred by its centre of mass, so the page's preprocessing of it,
// drawn at 10x, gives it back: to float rounding, as measured on test images 0-9.
const MAX_MEAN_DIFFERENCE = 1e-5;
// bend predict prints percentages with two decimals.
const MAX_PERCENT_DIFFERENCE = 0.006;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (ok) passed++;
  else failed++;
}

const images = mnistImages(args.images, first, expected.length);
const server = await serve(resolve(args.dir));
const browser = await launch();
try {
  const page = await open(browser, server.url, {width: 1000, height: 540});
  const ready = await page.evaluate(`Promise.race([window.bendPage?.ready,
      new Promise((_, reject) => setTimeout(() => reject(new Error('not ready after 60 s')), 60000))])`);
  check(ready === true, 'the page loaded the model');
  for (const [k, image] of images.entries()) {
    // The image as ink on the pad, each pixel a 10x10 block: the page's drawing surface, then its predict().
    const result = await page.evaluate(`(async () => {
      const pad = document.getElementById('pad');
      const context = pad.getContext('2d');
      const pixels = context.createImageData(pad.width, pad.height);
      const image = ${JSON.stringify(image)};
      const scale = pad.width / 28;
      for (let y = 0; y < pad.height; y++)
        for (let x = 0; x < pad.width; x++)
          pixels.data[4 * (y * pad.width + x) + 3] = image[Math.floor(y / scale) * 28 + Math.floor(x / scale)];
      context.putImageData(pixels, 0, 0);
      const r = await bendPage.predict();
      return {label: r.label, shown: document.getElementById('label').dataset.label, image: r.image,
              bars: [...document.querySelectorAll('#bars .bar')].map((b) => parseFloat(b.style.width)),
              top: Math.max(...r.probabilities)};
    })()`);
    const label = Number(result.shown);
    // How far the page's preprocessing lands from the MNIST image it was given (an MNIST digit already
    // fills a 20x20 box, centred by its centre of mass): the mean absolute difference in [0, 1] pixels.
    const difference = result.image.reduce((sum, v, i) => sum + Math.abs(v - image[i] / 255), 0) / 784;
    differences.push(difference);
    const [expectedLabel, expectedPercent] = expected[k];
    check(result.shown !== '' && label === expectedLabel && result.label === label && result.bars.length === 10 &&
        Math.abs(100 * result.top - expectedPercent) <= MAX_PERCENT_DIFFERENCE,
        `test image ${first + k}: the page shows ${result.shown} (${(100 * result.top).toFixed(3)}%), ` +
        `bend predict says ${expectedLabel} (${expectedPercent.toFixed(2)}%); ` +
        `${result.bars.filter((w) => w > 0).length} bars drawn; ` +
        `preprocessed image within ${difference.toExponential(1)} of the original (mean |difference|)`);
  }
  const meanDifference = differences.reduce((a, b) => a + b, 0) / differences.length;
  check(meanDifference < MAX_MEAN_DIFFERENCE,
      `the page's preprocessing gives back the MNIST images within ${meanDifference.toExponential(1)} on average ` +
      `(at most ${MAX_MEAN_DIFFERENCE})`);
  // A person's stroke: the mouse draws a 7 (a bar, then the diagonal) on a cleared pad.
  await page.evaluate(`document.getElementById('clear').click()`);
  const box = await page.evaluate(`(() => { const b = document.getElementById('pad').getBoundingClientRect();
      return {x: b.x, y: b.y, width: b.width, height: b.height}; })()`);
  const at = ([u, v]) => [box.x + u * box.width, box.y + v * box.height];
  const corners = [[0.25, 0.2], [0.72, 0.2], [0.42, 0.85]];
  const drawSeven = async () => {
    await page.mouse('mousePressed', ...at(corners[0]));
    for (let c = 1; c < corners.length; c++)
      for (let t = 1; t <= 12; t++) {
        const [u0, v0] = corners[c - 1], [u1, v1] = corners[c];
        await page.mouse('mouseMoved', ...at([u0 + (u1 - u0) * t / 12, v0 + (v1 - v0) * t / 12]));
      }
    await page.mouse('mouseReleased', ...at(corners[corners.length - 1]));
  };
  await drawSeven();
  const shown = () => page.evaluate(`new Promise((resolve) => {
      const wait = (tries) => {
        const shown = document.getElementById('label').dataset.label;
        if (shown !== '' || tries === 0) resolve(shown); else setTimeout(() => wait(tries - 1), 50);
      };
      wait(100);
    })`);
  const stroke = await shown();
  const mouse = await page.evaluate(`document.getElementById('pad').dataset.pointer`);
  check(stroke === '7' && mouse === 'mouse', `a 7 drawn with the mouse (${mouse} pointer events): the page shows ${stroke || 'nothing'}`);
  // A finger: a 1 (a vertical line) drawn by touch on the cleared pad.
  await page.evaluate(`document.getElementById('clear').click()`);
  await page.touch('touchStart', ...at([0.5, 0.15]));
  for (let t = 1; t <= 12; t++) await page.touch('touchMove', ...at([0.5, 0.15 + 0.7 * t / 12]));
  await page.touch('touchEnd');
  const touched = await shown(), pointer = await page.evaluate(`document.getElementById('pad').dataset.pointer`);
  check(touched === '1' && pointer === 'touch',
      `a 1 drawn with a finger (${pointer} pointer events): the page shows ${touched || 'nothing'}`);
  // The 7 again, for the screenshot.
  await page.evaluate(`document.getElementById('clear').click()`);
  await drawSeven();
  await shown();
  if (args.screenshot) {
    writeFileSync(args.screenshot, await page.screenshot());
    console.log(`screenshot: ${args.screenshot}`);
  }
  await page.evaluate(`document.getElementById('clear').click()`);
  const cleared = await page.evaluate(`document.getElementById('label').dataset.label`);
  check(cleared === '', 'Clear empties the pad and the prediction');
  check(page.errors.length === 0, `no console errors${page.errors.length ? ':\n  ' + page.errors.join('\n  ') : ''}`);
  const missing = server.requests.filter((r) => r.startsWith('404'));
  check(missing.length === 0, `every file the page asked for was there${missing.length ? ': ' + missing.join(', ') : ''}`);
} finally {
  await browser.close();
  await server.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
