// Runs ONNX models in ONNX Runtime (onnxruntime-node) for bend's tests and benches.
//   node tools/onnx/run.js JOBS.json
// JOBS.json: [{"model": "m.onnx", "input": "x.f32", "dims": [1000, 784], "output": "p.f32"}, ...]
// Each job feeds the raw little-endian file `input` (shape `dims`) to the model's first input and writes
// one output (float32, little-endian) to `output`: "probabilities" if the model has it, else its last
// output. Optional per job: "type": "int64" when `input` holds int64 values (a GPT's token ids; the
// default is float32), and "output_name" to pick the output ("logits"). One line per job on stdout.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

// The file's bytes as the typed array of `type` (copied: the buffer need not be aligned for it).
function inputTensor(bytes, type, dims) {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (type === 'int64') return new ort.Tensor('int64', new BigInt64Array(copy), dims);
  if (type === 'float32') return new ort.Tensor('float32', new Float32Array(copy), dims);
  throw new Error(`job input type '${type}': run.js reads float32 or int64`);
}

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const job of jobs) {
    const session = await ort.InferenceSession.create(job.model, {intraOpNumThreads: 1, interOpNumThreads: 1});
    const feeds = {[session.inputNames[0]]: inputTensor(fs.readFileSync(job.input), job.type || 'float32', job.dims)};
    const result = await session.run(feeds);
    const name = job.output_name ||
        (result.probabilities ? 'probabilities' : session.outputNames[session.outputNames.length - 1]);
    const out = result[name];
    if (!out) throw new Error(`${job.model} has no output '${name}' (it has ${session.outputNames.join(', ')})`);
    fs.writeFileSync(job.output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    console.log(`${job.model}: ${session.inputNames.join(',')} [${job.dims}] -> ${name} [${out.dims}]`);
  }
}

main().catch((error) => {
  console.error(`onnxruntime: ${error.message.split('\n')[0]}`);
  process.exit(1);
});
