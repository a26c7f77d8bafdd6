#!/usr/bin/env bash
# bench/inference.sh: inference speed of bend against ONNX Runtime (onnxruntime-node) running bend's own
# exported model, on the same machine in the same run. Writes bench/INFERENCE_RESULTS.md.
#
# For the MLP 784-256-128-10 (relu) and LeNet-5 (--model lenet5): a 1-epoch training (weights do not
# matter for speed), bend export --onnx, then on the 10,000 MNIST test images
#   throughput  images/s of whole passes at batch 256 (median of PASSES passes in a process)
#   latency     one image per call, median over LATENCY_CALLS calls after 100 warm-up calls
# with the model loaded once. bend: `bend predict --batch 256 --time` (in-process timing) at 1 and 2
# threads. ONNX Runtime: tools/onnx/bench_inference.js, intraOpNumThreads 1 and 2. Each side's figure is
# the median over REPEATS runs, taken alternately (bend, ORT, bend, ORT, ...); the best thread setting of
# each side is compared.
# OPENBLAS_CORETYPE is left as the environment has it (recorded); bend is also measured, in extra rows,
# under OPENBLAS_CORETYPE=$ALT_CORETYPE (ORT's own kernels do not read it; ALT_CORETYPE= skips them).
# Settings (environment): REPEATS (5), PASSES (5), LATENCY_CALLS (2000), BUILD_DIR (build), JOBS (1),
# ALT_CORETYPE (SkylakeX: OpenBLAS's AVX-512 kernels), RESULTS (bench/INFERENCE_RESULTS.md), and
# SUMMARY_ONLY=DIR to rewrite RESULTS from an earlier run's raw files ($BUILD_DIR/inference-results/TIME).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
repeats=${REPEATS:-5}
passes=${PASSES:-5}
calls=${LATENCY_CALLS:-2000}
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-1}
results=${RESULTS:-bench/INFERENCE_RESULTS.md}
alt_coretype=${ALT_CORETYPE-SkylakeX}
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

[[ -d tools/onnx/node_modules/onnxruntime-node ]] || {
  echo "inference.sh: onnxruntime-node is needed (cd tools/onnx && npm ci --ignore-scripts)" >&2
  exit 1
}
if [[ -n ${SUMMARY_ONLY:-} ]]; then
  out=$SUMMARY_ONLY
else
  cmake --build "$build_dir" --target bend_cli -j"$jobs" >/dev/null
  bend=$build_dir/bend
  data/fetch-mnist.sh >/dev/null
  mnist=data/mnist

  out=$build_dir/inference-results/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$out"
  echo "$load_at_start" >"$out/load-at-start"
  nice >"$out/niceness"
  # label | bend train flags | one image's shape as the ONNX model takes it
  configs=(
    "mlp|--arch 784-256-128-10 --act relu|784"
    "lenet5|--model lenet5|1,28,28"
  )
  for config in "${configs[@]}"; do
    IFS='|' read -r label flags dims <<<"$config"
    echo "-- $label: bend train (1 epoch), bend export --onnx" >&2
    # shellcheck disable=SC2086  # flags are words
    "$bend" train $flags --epochs 1 --quiet --checkpoint-dir '' --data-dir "$mnist" --save "$out/$label.safetensors" >&2
    "$bend" export "$out/$label.safetensors" --onnx "$out/$label.onnx" >&2
  done

  for ((rep = 1; rep <= repeats; rep++)); do
    for config in "${configs[@]}"; do
      IFS='|' read -r label flags dims <<<"$config"
      echo "-- repetition $rep/$repeats: $label (bend, ORT and bend under ALT_CORETYPE, at 1 and 2 threads)" >&2
      for threads in 1 2; do
        "$bend" predict --model "$out/$label.safetensors" --data-dir "$mnist" --batch 256 --time --repeat "$passes" \
          --latency-calls "$calls" --threads "$threads" --json >>"$out/bend$threads.$label.jsonl"
        node tools/onnx/bench_inference.js "$out/$label.onnx" "$mnist/t10k-images-idx3-ubyte" \
          "$mnist/t10k-labels-idx1-ubyte" "$dims" "$threads" 256 "$passes" "$calls" >>"$out/ort$threads.$label.jsonl"
        if [[ -n $alt_coretype ]]; then
          OPENBLAS_CORETYPE=$alt_coretype "$bend" predict --model "$out/$label.safetensors" --data-dir "$mnist" \
            --batch 256 --time --repeat "$passes" --latency-calls "$calls" --threads "$threads" --json \
            >>"$out/alt$threads.$label.jsonl"
        fi
      done
    done
  done
  cut -d' ' -f1-3 /proc/loadavg >"$out/load-at-end"
  git rev-parse --short HEAD >"$out/commit"
  git status --porcelain --untracked-files=no | grep -q . && echo ' (uncommitted changes)' >"$out/dirty" || : >"$out/dirty"
fi

MACHINE="$(lscpu | sed -n 's/^Model name: *//p' | head -1)" CORES="$(nproc)" REV="$(cat "$out/commit")" \
  DIRTY="$(cat "$out/dirty")" \
  CORETYPE="${OPENBLAS_CORETYPE:-unset}" LOADAVG="$(cat "$out/load-at-end")" \
  LOADSTART="$(cat "$out/load-at-start")" ALT="$alt_coretype" NICENESS="$(cat "$out/niceness")" \
  /usr/bin/python3 - "$out" "$results" <<'PY'
import json, os, statistics, sys, datetime
out, results = sys.argv[1], sys.argv[2]
env = os.environ
def runs(side, threads, label):
    with open(f"{out}/{side}{threads}.{label}.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]
def med(rs, key):
    return statistics.median(r[key] for r in rs)
rows, summary, alt_rows = [], [], []
for label, name in (("mlp", "MLP 784-256-128-10 (relu)"), ("lenet5", "LeNet-5")):
    figs = {}
    for side in ("bend", "ort"):
        for threads in (1, 2):
            rs = runs(side, threads, label)
            figs[(side, threads)] = (med(rs, "images_per_second"), med(rs, "latency_us_median"), rs[0]["accuracy"])
            tp, lat, acc = figs[(side, threads)]
            who = "bend" if side == "bend" else "ONNX Runtime"
            rows.append(f"| {name} | {who} | {threads} | {tp:,.0f} | {lat:.1f} | {100*acc:.2f}% |")
    if env['ALT']:
        for threads in (1, 2):
            rs = runs("alt", threads, label)
            tp, lat, acc = med(rs, "images_per_second"), med(rs, "latency_us_median"), rs[0]["accuracy"]
            alt_rows.append(f"| {name} | bend, OPENBLAS_CORETYPE={env['ALT']} | {threads} | {tp:,.0f} | {lat:.1f} | {100*acc:.2f}% |")
    best = lambda side, k: max(figs[(side, t)][0] for t in (1, 2)) if k == 0 else min(figs[(side, t)][1] for t in (1, 2))
    bt, ot, bl, ol = best("bend", 0), best("ort", 0), best("bend", 1), best("ort", 1)
    summary.append(f"| {name} | {bt:,.0f} | {ot:,.0f} | **{bt/ot:.2f}x** | {bl:.1f} | {ol:.1f} | **{ol/bl:.2f}x** |")
# The run's start, from its directory's name (20261206T031135Z).
started = datetime.datetime.strptime(os.path.basename(os.path.normpath(out)), "%Y%m%dT%H%M%SZ")
now = started.strftime("%Y-%m-%d %H:%M UTC")
text = f"""# Inference: bend against ONNX Runtime

Generated by `bench/inference.sh` (do not edit by hand). Run started {now}, commit {env['REV']}{env['DIRTY']}.
Machine: {env['MACHINE']}, {env['CORES']} cores; OPENBLAS_CORETYPE={env['CORETYPE']}; load average at the end
{env['LOADAVG']}{(' (at the start ' + env['LOADSTART'] + ')') if env['LOADSTART'] else ''}; niceness {env['NICENESS']}.
The machine is shared: other jobs ran at the same time, so the figures are noisy.

Both sides run the same trained weights (bend's model, and its `bend export --onnx` file in
onnxruntime-node {runs('ort', 1, 'mlp')[0]['runtime'].split()[-1]}) on the 10,000 MNIST test images, loaded once:
- **throughput**: whole passes at batch 256, images/s (the median pass of {runs('bend', 1, 'mlp')[0]['passes']} in a process);
- **latency**: one image per call, the median of {runs('bend', 1, 'mlp')[0]['latency_calls']} calls after 100 warm-up calls, in µs
  (for ORT this includes the Node binding: tensor creation and the `await session.run`).

Each figure is the median of {len(runs('bend', 1, 'mlp'))} runs, bend and ORT alternating. bend: `bend predict --batch 256
--time --threads T` (eval mode, no tape); ORT: `tools/onnx/bench_inference.js` with intraOpNumThreads = T,
interOpNumThreads = 1, sequential execution, all graph optimisations. Accuracy is the check that both ran
the same model.

## Best thread setting of each side

| model | bend images/s | ORT images/s | bend/ORT throughput | bend latency µs | ORT latency µs | ORT/bend latency (>1: bend faster) |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(summary)}

## Every setting

| model | runtime | threads | images/s (batch 256) | latency µs (median) | accuracy |
|---|---|---:|---:|---:|---:|
{chr(10).join(rows)}
"""
if alt_rows:
    text += f"""
## bend with OpenBLAS's other kernels (not in the ratios above)

bend's convolutions (and, on a CPU without AVX-512, its linear layers) run OpenBLAS's sgemm, whose
kernels the environment's OPENBLAS_CORETYPE={env['CORETYPE']} picks; on an AVX-512 CPU its linear layers
in inference run bend's own AVX-512 kernel whatever OPENBLAS_CORETYPE says, and ONNX Runtime picks its
own kernels (MLAS) from the CPU. The same runs of bend under OPENBLAS_CORETYPE={env['ALT']}, alternating
with the others:

| model | runtime | threads | images/s (batch 256) | latency µs (median) | accuracy |
|---|---|---:|---:|---:|---:|
{chr(10).join(alt_rows)}
"""
open(results, "w").write(text)
print(text)
PY
