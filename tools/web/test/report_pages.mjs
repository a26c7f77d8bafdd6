// bend's HTML reports (bend compare's index.html, bend lab's index.html and guide.html) in headless Chromium:
//   node report_pages.mjs PAGE.html[:MIN_CHARTS] ... [--screenshot FILE.png] [--width W] [--height H]
// Each page is served from its own directory and must load with no console error and no missing file, and
// every chart on it (an <img> of an SVG, an inline <svg>, an <object>) must have loaded with a non-zero
// size, at least MIN_CHARTS of them (default 0). --screenshot: the first page as the viewport shows it.
// Prints one line per check and "N passed, M failed".
import {writeFileSync} from 'node:fs';
import {basename, dirname, resolve} from 'node:path';
import {parseArgs} from 'node:util';

import {deadline, launch, open, serve} from './browser.mjs';

deadline(180, 'report_pages');

const {values: args, positionals} = parseArgs({allowPositionals: true, options: {
  screenshot: {type: 'string'}, width: {type: 'string', default: '1200'}, height: {type: 'string', default: '900'},
}});
if (positionals.length === 0) {
  console.error('usage: node report_pages.mjs PAGE.html[:MIN_CHARTS] ... [--screenshot FILE.png]');
  process.exit(2);
}

let passed = 0, failed = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (ok) passed++;
  else failed++;
}

const size = {width: Number(args.width), height: Number(args.height)};
const browser = await launch(size);
try {
  for (const [k, spec] of positionals.entries()) {
    const match = /^(.*?)(?::(\d+))?$/.exec(spec);
    const file = resolve(match[1]), minCharts = Number(match[2] ?? 0);
    const server = await serve(dirname(file));
    try {
      const page = await open(browser, server.url + encodeURIComponent(basename(file)), size);
      // Every image decoded (or failed) before it is measured.
      const charts = await page.evaluate(`(async () => {
        await Promise.all([...document.images].map((i) => i.decode().catch(() => null)));
        const svgImage = (i) => /\\.svg(\\?|#|$)/i.test(i.getAttribute('src') || '');
        const charts = [...[...document.images].filter(svgImage), ...document.querySelectorAll('body svg:not(svg svg), object')];
        return charts.map((c) => {
          const box = c.getBoundingClientRect();
          return {name: c.getAttribute('src') || c.getAttribute('data') || c.id || c.tagName.toLowerCase(),
                  loaded: c.tagName !== 'IMG' || (c.complete && c.naturalWidth > 0 && c.naturalHeight > 0),
                  width: box.width, height: box.height};
        });
      })()`);
      const title = await page.evaluate('document.title');
      const bad = charts.filter((c) => !c.loaded || !(c.width > 0 && c.height > 0));
      check(charts.length >= minCharts && bad.length === 0,
          `${match[1]} ("${title}"): ${charts.length} charts, all loaded with a non-zero size` +
          (charts.length < minCharts ? `; expected at least ${minCharts}` : '') +
          bad.map((c) => `\n  ${c.name}: ${c.loaded ? '' : 'not loaded, '}${c.width}x${c.height}`).join(''));
      check(page.errors.length === 0,
          `${match[1]}: no console errors${page.errors.length ? ':\n  ' + page.errors.join('\n  ') : ''}`);
      const missing = server.requests.filter((r) => r.startsWith('404'));
      check(missing.length === 0, `${match[1]}: every file it asked for was there${missing.length ? ': ' + missing.join(', ') : ''}`);
      if (k === 0 && args.screenshot) {
        writeFileSync(args.screenshot, await page.screenshot());
        console.log(`screenshot: ${args.screenshot}`);
      }
      await page.close();
    } finally {
      await server.close();
    }
  }
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
