// ONNX Runtime's side of bench/inference.sh: one exported bend model in onnxruntime-node, timed the way
// `bend predict --batch N --time` times bend (the model loaded once, the MNIST test images in memory).
//   node tools/onnx/bench_inference.js MODEL.onnx IMAGES-idx3-ubyte LABELS-idx1-ubyte SAMPLE_DIMS THREADS \
//        BATCH PASSES LATENCY_CALLS
// SAMPLE_DIMS is one image's shape as the model takes it ("784" or "1,28,28"). Prints one JSON line:
// accuracy, images/s (the median of PASSES whole passes at BATCH) and the median and p90 latency of
// LATENCY_CALLS single-image runs after 100 untimed ones.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

// The pixels of an IDX image file as float32 in [0, 1] (what bend export --onnx takes), and the count.
function readImages(path) {
  const bytes = fs.readFileSync(path);
  const count = bytes.readUInt32BE(4), rows = bytes.readUInt32BE(8), cols = bytes.readUInt32BE(12);
  const pixels = new Float32Array(count * rows * cols);
  for (let i = 0; i < pixels.length; ++i) pixels[i] = bytes[16 + i] / 255;
  return {pixels, count, features: rows * cols};
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

function percentile(values, fraction) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(fraction * s.length))];
}

function argmaxRows(data, rows, classes, out, offset) {
  for (let r = 0; r < rows; ++r) {
    let best = 0;
    for (let c = 1; c < classes; ++c) if (data[r * classes + c] > data[r * classes + best]) best = c;
    out[offset + r] = best;
  }
}

async function main() {
  const [modelPath, imagesPath, labelsPath, sampleDims, threadsArg, batchArg, passesArg, callsArg] =
      process.argv.slice(2);
  const threads = Number(threadsArg), batch = Number(batchArg), passes = Number(passesArg),
        calls = Number(callsArg);
  const sample = sampleDims.split(',').map(Number);
  const {pixels, count, features} = readImages(imagesPath);
  const labels = fs.readFileSync(labelsPath).subarray(8);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0];
  const predicted = new Int32Array(count);

  // One pass over every image, `batch` at a time; the class of each into `predicted`.
  async function pass() {
    for (let begin = 0; begin < count; begin += batch) {
      const rows = Math.min(batch, count - begin);
      const input = new ort.Tensor('float32', pixels.subarray(begin * features, (begin + rows) * features),
                                   [rows, ...sample]);
      const out = (await session.run({[inputName]: input})).probabilities;
      argmaxRows(out.data, rows, out.dims[1], predicted, begin);
    }
  }
  await pass();  // warm-up, and the accuracy
  let correct = 0;
  for (let i = 0; i < count; ++i) correct += predicted[i] === labels[i];
  const passSeconds = [];
  for (let p = 0; p < passes; ++p) {
    const start = process.hrtime.bigint();
    await pass();
    passSeconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }

  async function single(i) {
    const index = i % count;
    const input = new ort.Tensor('float32', pixels.subarray(index * features, (index + 1) * features), [1, ...sample]);
    const out = (await session.run({[inputName]: input})).probabilities;
    argmaxRows(out.data, 1, out.dims[1], predicted, index);
  }
  for (let i = 0; i < Math.min(100, calls); ++i) await single(i);
  const callSeconds = [];
  for (let i = 0; i < calls; ++i) {
    const start = process.hrtime.bigint();
    await single(i);
    callSeconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const passMedian = median(passSeconds);
  console.log(JSON.stringify({
    model: modelPath, runtime: `onnxruntime-node ${require('onnxruntime-node/package.json').version}`,
    images: count, batch, threads, accuracy: correct / count, passes, pass_seconds_median: passMedian,
    images_per_second: count / passMedian, latency_calls: calls, latency_us_median: 1e6 * median(callSeconds),
    latency_us_p90: 1e6 * percentile(callSeconds, 0.9),
  }));
}

main().catch((error) => {
  console.error(`onnxruntime: ${error.message.split('\n')[0]}`);
  process.exit(1);
});
