// The drawing pad: strokes from a mouse, pen or finger (pointer events) on #pad, MNIST's preprocessing
// (preprocess.js), the model (model.onnx, run by onnxruntime-web in WebAssembly) and the ten bars.
// model.json, written by `bend export MODEL --web DIR`, says the input shape and the class names. The
// model takes raw pixels in [0, 1], as bend's datasets hold them: a model trained with --standardize
// standardises them with its training set's mean and std in the graph's first nodes.
import * as ort from './ort.wasm.min.mjs';
import {mnistImage} from './preprocess.js';

const pad = document.getElementById('pad');
const seen = document.getElementById('seen');
const bars = document.getElementById('bars');
const label = document.getElementById('label');
const status = document.getElementById('status');
const ink = pad.getContext('2d', {willReadFrequently: true});
const LINE_WIDTH = 22;  // on the 280-pixel pad: about MNIST's stroke once the digit is scaled to 20 of 28

ort.env.wasm.numThreads = 1;  // a static server sends no cross-origin isolation headers: no threads
ort.env.logLevel = 'error';

function setStatus(text) {
  status.textContent = text;
}

function makeBars(classes) {
  bars.replaceChildren();
  for (const name of classes) {
    const li = document.createElement('li');
    li.innerHTML = '<span class="name"></span><span class="track"><span class="bar"></span></span>' +
        '<span class="value">–</span>';
    li.querySelector('.name').textContent = name;
    bars.append(li);
  }
}

function showProbabilities(probabilities, classes) {
  let best = 0;
  probabilities.forEach((p, k) => {
    if (p > probabilities[best]) best = k;
  });
  [...bars.children].forEach((li, k) => {
    const p = probabilities[k];
    li.querySelector('.bar').style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector('.value').textContent = `${(100 * p).toFixed(1)}%`;
    li.classList.toggle('top', k === best);
  });
  label.textContent = classes[best];
  label.dataset.label = String(best);
}

function clearResult() {
  for (const li of bars.children) {
    li.querySelector('.bar').style.width = '0';
    li.querySelector('.value').textContent = '–';
    li.classList.remove('top');
  }
  label.textContent = '…';
  label.dataset.label = '';
  seen.getContext('2d').clearRect(0, 0, 28, 28);
}

function showSeen(image) {
  const context = seen.getContext('2d');
  const pixels = context.createImageData(28, 28);
  image.forEach((v, i) => {
    const g = Math.round(255 * v);
    pixels.data.set([g, g, g, 255], 4 * i);
  });
  context.putImageData(pixels, 0, 0);
}

function softmax(logits) {
  const top = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

async function load() {
  const response = await fetch('model.json');
  if (!response.ok) throw new Error(`model.json: HTTP ${response.status}`);
  const info = await response.json();
  const session = await ort.InferenceSession.create(info.model, {executionProviders: ['wasm']});
  return {info, session};
}

const loaded = load();

// The drawing's ink (the pad's alpha channel) through MNIST's preprocessing and the model. Resolves to
// {label, probabilities, image} (label null, nothing else, when the pad is blank).
let generation = 0;  // Clear starts a new one: a prediction of an earlier drawing is not shown after it
async function predict() {
  const {info, session} = await loaded;
  const started = generation;
  const alpha = ink.getImageData(0, 0, pad.width, pad.height).data;
  const values = new Float32Array(pad.width * pad.height);
  for (let i = 0; i < values.length; i++) values[i] = alpha[4 * i + 3] / 255;
  const image = mnistImage(values, pad.width, pad.height);
  if (!image) {
    clearResult();
    return {label: null};
  }
  showSeen(image);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', image, [1, ...info.input])};
  const outputs = await session.run(feeds);
  if (started !== generation) return {label: null};
  // The graph's probabilities output; a graph with logits alone (written elsewhere) goes through softmax.
  const probabilities = session.outputNames.includes(info.output) ?
      Array.from(outputs[info.output].data) : softmax(Array.from(outputs[session.outputNames[0]].data));
  showProbabilities(probabilities, info.classes);
  return {label: Number(label.dataset.label), probabilities, image: Array.from(image)};
}

// One prediction at a time; a request while one runs is served once it is done.
let running = null, again = false;
function schedule() {
  if (running) {
    again = true;
    return running;
  }
  running = predict()
      .catch((error) => {
        setStatus(`Could not run the model: ${error.message}`);
        console.error(error);
      })
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          schedule();
        }
      });
  return running;
}

let last = null;
function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}
pad.addEventListener('pointerdown', (event) => {
  pad.setPointerCapture(event.pointerId);
  pad.dataset.pointer = event.pointerType;  // "mouse", "pen" or "touch": what drew last
  last = point(event);
  ink.beginPath();
  ink.arc(last[0], last[1], LINE_WIDTH / 2, 0, 2 * Math.PI);
  ink.fill();
  event.preventDefault();
});
pad.addEventListener('pointermove', (event) => {
  if (!last) return;
  const next = point(event);
  ink.beginPath();
  ink.moveTo(last[0], last[1]);
  ink.lineTo(next[0], next[1]);
  ink.stroke();
  last = next;
  schedule();
});
for (const end of ['pointerup', 'pointercancel']) {
  pad.addEventListener(end, () => {
    if (!last) return;
    last = null;
    schedule();
  });
}
document.getElementById('clear').addEventListener('click', () => {
  ink.clearRect(0, 0, pad.width, pad.height);
  generation++;
  clearResult();
});

ink.lineWidth = LINE_WIDTH;
ink.lineCap = 'round';
ink.lineJoin = 'round';
ink.strokeStyle = ink.fillStyle = '#000';

// For the browser test and the console: bendPage.ready, bendPage.predict().
window.bendPage = {
  ready: loaded.then(() => true),
  predict,
};

loaded.then(({info}) => {
  makeBars(info.classes);
  document.getElementById('about').textContent =
      `${info.description}. Draw with the mouse or a finger; the model runs in this page (onnxruntime-web).`;
  document.body.dataset.ready = 'true';
}).catch((error) => {
  setStatus(`Could not load the model: ${error.message}`);
  console.error(error);
});
