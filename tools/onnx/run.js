// Runs ONNX models in ONNX Runtime (onnxruntime-node) for bend's tests and benches.
//   node tools/onnx/run.js JOBS.json
// JOBS.json: [{"model": "m.onnx", "input": "x.f32", "dims": [1000, 784], "output": "p.f32"}, ...]
// Each job feeds the raw little-endian float32 file `input` (shape `dims`) to the model's first input and
// writes its "probabilities" output (float32, little-endian) to `output`. One line per job on stdout.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const job of jobs) {
    const session = await ort.InferenceSession.create(job.model, {intraOpNumThreads: 1, interOpNumThreads: 1});
    const bytes = fs.readFileSync(job.input);
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, job.dims)};
    const result = await session.run(feeds);
    const out = result.probabilities || result[session.outputNames[session.outputNames.length - 1]];
    fs.writeFileSync(job.output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    console.log(`${job.model}: ${session.inputNames.join(',')} [${job.dims}] -> ${session.outputNames.join(',')} [${out.dims}]`);
  }
}

main().catch((error) => {
  console.error(`onnxruntime: ${error.message.split('\n')[0]}`);
  process.exit(1);
});
