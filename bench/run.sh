#!/usr/bin/env bash
# bench/run.sh: the speed benchmark in one command. Builds bend_bench (Release), makes sure MNIST is
# present, then trains the MLP 784-256-128-10 with bend and with PyTorch (bench/torch_mlp.py)
# alternately, several times each, for every configuration below, and writes a table of medians and
# bend/PyTorch ratios to bench/RESULTS.md (and prints it).
#
# Usage: bench/run.sh            full run (~10-15 minutes on a 2-core machine)
#        QUICK=1 bench/run.sh    one repetition, fewer configurations (a few minutes)
# Settings (environment):
#   REPEATS=3        runs per framework and configuration (alternating bend, PyTorch, bend, ...)
#   EPOCHS=2         epochs per run; the first is discarded as warm-up, the rest give the epoch time
#   TORCH_THREADS=1  torch.set_num_threads for PyTorch (1 is PyTorch's fastest on the 2-core machine,
#                    see bench/README.md)
#   BUILD_DIR=build-bench   where to build (relative to the repository)
#   RESULTS=bench/RESULTS.md   where the table goes
#   OPENBLAS_CORETYPE          passed through to both frameworks and recorded
#   BASELINE=<git rev>         also build bend_bench at that revision and run it alternately with this
#                              tree's on every configuration: a table of current/baseline epoch times
#                              shows a speed-up or slow-down measured in the same run
#   MODELS=1                   also the other models against PyTorch (each at 1 and 2 threads, its best
#                              counts), alternating: LeNet-5 and the ViT (bend_bench vs torch_mlp.py
#                              --layers), the char GPT in nanoGPT's CPU configuration (bend train --model
#                              gpt vs torch_gpt.py) and a CNN in the user's own loop (mnist_cnn_loop vs
#                              torch_cnn_loop.py); peak RSS of every process (/usr/bin/time)
#   MODEL_LIMIT=10000          training images per timed epoch for those image models
#   GPT_STEPS=250              steps of the GPT runs (the loop's time with its loss estimates, per step)
#
# Without /usr/bin/python3 + torch (Debian: apt-get install python3-torch) it runs the bend side only.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
repeats=${REPEATS:-3}
epochs=${EPOCHS:-2}
torch_threads=${TORCH_THREADS:-1}
build_dir=${BUILD_DIR:-build-bench}
results_file=${RESULTS:-bench/RESULTS.md}
quick=${QUICK:-0}
models=${MODELS:-1}
model_limit=${MODEL_LIMIT:-10000}
gpt_steps=${GPT_STEPS:-250}
python=/usr/bin/python3
[[ $quick == 1 ]] && repeats=1

die() {
  echo "run.sh: $*" >&2
  exit 1
}
[[ $epochs -ge 2 ]] || die "EPOCHS must be at least 2 (the first epoch is discarded)"
[[ -x $python ]] || die "$python not found (needed for the summary; Debian: apt-get install python3)"

# label batch optimizer activation compare-with-PyTorch
configs=(
  "b64-adam-relu 64 adam relu 1"
  "b256-adam-relu 256 adam relu 1"
  "b64-sgd-relu 64 sgd relu 1"
  "b256-sgd-relu 256 sgd relu 1"
  "b64-adam-gelu 64 adam gelu 1"
  "b64-adam-tanh 64 adam tanh 1"
  "b64-adam-silu 64 adam silu 1"
  "b64-adam-mish 64 adam mish 0"
)
if [[ $quick == 1 ]]; then
  configs=("${configs[0]}" "${configs[1]}" "${configs[2]}" "${configs[4]}" "${configs[5]}")
fi

# SUMMARY_ONLY=<raw results dir>: rebuild the table from an earlier run's files without running anything.
summary_only=${SUMMARY_ONLY:-}
if [[ -z $summary_only ]]; then
echo "== building bend_bench (Release) in $build_dir"
apps=OFF targets=(bend_bench)
if [[ $models == 1 ]]; then apps=ON targets+=(bend_cli mnist_cnn_loop); fi
if [[ -f $build_dir/CMakeCache.txt ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DBEND_BUILD_APPS="$apps" >/dev/null
else  # a fresh directory: only what the benchmark needs
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DBEND_BUILD_TESTS=OFF -DBEND_BUILD_APPS="$apps" >/dev/null
fi
cmake --build "$build_dir" --target "${targets[@]}" -j"$(nproc)" >/dev/null || die "build failed (run: cmake --build $build_dir --target ${targets[*]})"
bend_bench="$build_dir/bench/bend_bench"

baseline=${BASELINE:-}
baseline_bench=""
if [[ -n $baseline ]]; then
  baseline_rev=$(git rev-parse --short "$baseline") || die "BASELINE=$baseline is not a revision"
  baseline_src="$root/$build_dir-baseline/src"
  echo "== building bend_bench at $baseline_rev (baseline) in $build_dir-baseline"
  if [[ $(cat "$baseline_src/.bend-rev" 2>/dev/null) != "$baseline_rev" ]]; then  # else: built already
    rm -rf "$baseline_src"
    mkdir -p "$baseline_src"
    git archive "$baseline_rev" | tar -x -C "$baseline_src"
    echo "$baseline_rev" >"$baseline_src/.bend-rev"
  fi
  cmake -S "$baseline_src" -B "$build_dir-baseline/build" -DCMAKE_BUILD_TYPE=Release -DBEND_BUILD_TESTS=OFF \
    -DBEND_BUILD_APPS=OFF >/dev/null
  cmake --build "$build_dir-baseline/build" --target bend_bench -j"$(nproc)" >/dev/null ||
    die "baseline build failed (in $build_dir-baseline)"
  baseline_bench="$build_dir-baseline/build/bench/bend_bench"
fi

echo "== MNIST"
data/fetch-mnist.sh

have_torch=1
if ! "$python" -c "import torch" 2>/dev/null; then
  have_torch=0
  echo "run.sh: PyTorch is not importable by $python; install it with" >&2
  echo "          sudo apt-get install python3-torch" >&2
  echo "        running the bend side only." >&2
fi

out="$build_dir/bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "== raw results in $out"

# How well the machine's cores run together right now (a shared or throttled host shows here first).
core_check() { "$bend_bench" --core-check --json >>"$out/core-check.jsonl"; }
core_check


run_bend() {  # label batch opt act rep [extra bend flags...]
  local label=$1 batch=$2 opt=$3 act=$4 rep=$5
  shift 5
  "$bend_bench" --data-dir data/mnist --batch "$batch" --opt "$opt" --act "$act" --epochs "$epochs" --json "$@" \
    >"$out/bend.$label.$rep.jsonl" || die "bend_bench failed for $label (see $out/bend.$label.$rep.jsonl)"
}
run_baseline() {  # label batch opt act rep
  local label=$1 batch=$2 opt=$3 act=$4 rep=$5
  "$baseline_bench" --data-dir data/mnist --batch "$batch" --opt "$opt" --act "$act" --epochs "$epochs" --json \
    --no-gemm >"$out/baseline.$label.$rep.jsonl" || die "baseline bend_bench failed for $label"
}
run_torch() {  # label batch opt act rep [threads]
  local label=$1 batch=$2 opt=$3 act=$4 rep=$5 threads=${6:-$torch_threads}
  "$python" bench/torch_mlp.py --data-dir data/mnist --batch "$batch" --opt "$opt" --act "$act" --epochs "$epochs" \
    --threads "$threads" --json >"$out/torch.$label.$rep.jsonl" ||
    die "torch_mlp.py failed for $label (see $out/torch.$label.$rep.jsonl)"
}

# Alternate: each repetition runs every configuration once per framework, bend then PyTorch, so a
# change in machine load hits both sides alike.
for ((rep = 1; rep <= repeats; rep++)); do
  for config in "${configs[@]}"; do
    read -r label batch opt act compare <<<"$config"
    echo "-- repetition $rep/$repeats: $label"
    run_bend "$label" "$batch" "$opt" "$act" "$rep"
    if [[ -n $baseline_bench ]]; then run_baseline "$label" "$batch" "$opt" "$act" "$rep"; fi
    if [[ $have_torch == 1 && $compare == 1 ]]; then run_torch "$label" "$batch" "$opt" "$act" "$rep"; fi
  done
done

# bend's threads: 1 vs 2 at batch 64 and 256 (the default is every core; see bend/parallel.hpp).
for ((rep = 1; rep <= repeats; rep++)); do
  for batch in 64 256; do
    for threads in 1 2; do
      echo "-- repetition $rep/$repeats: bend batch $batch with $threads thread(s)"
      run_bend "threads$threads-b$batch" "$batch" adam relu "$rep" --threads "$threads" --no-gemm
    done
  done
done

# bend with --flush-denormal (bend::set_flush_denormal; off by default, as in PyTorch).
for ((rep = 1; rep <= repeats; rep++)); do
  echo "-- repetition $rep/$repeats: bend b64-adam-relu with --flush-denormal"
  run_bend "ftz-b64-adam-relu" 64 adam relu "$rep" --flush-denormal --no-gemm
done

# PyTorch with 2 threads at batch 64 and 256 (1 thread is measured above), to confirm its best setting.
if [[ $have_torch == 1 ]]; then
  for ((rep = 1; rep <= repeats; rep++)); do
    for batch in 64 256; do
      echo "-- repetition $rep/$repeats: PyTorch batch $batch with 2 threads"
      run_torch "threads2-b$batch" "$batch" adam relu "$rep" 2
    done
  done
fi

# Both frameworks again under another OpenBLAS kernel set (ALT_CORETYPE, default SkylakeX: the AVX-512
# kernels), since the GEMM rate decides most of an epoch.
alt_coretype=${ALT_CORETYPE:-SkylakeX}
if [[ $alt_coretype != "${OPENBLAS_CORETYPE:-}" ]]; then
  for ((rep = 1; rep <= repeats; rep++)); do
    for config in "b64-adam-relu 64 adam relu" "b64-sgd-relu 64 sgd relu"; do
      read -r label batch opt act <<<"$config"
      echo "-- repetition $rep/$repeats: $label with OPENBLAS_CORETYPE=$alt_coretype"
      OPENBLAS_CORETYPE=$alt_coretype run_bend "alt-$label" "$batch" "$opt" "$act" "$rep"
      if [[ $have_torch == 1 ]]; then OPENBLAS_CORETYPE=$alt_coretype run_torch "alt-$label" "$batch" "$opt" "$act" "$rep"; fi
    done
  done
fi

# Every model against PyTorch, alternating within each repetition; each PyTorch run at 1 and 2 threads.
if [[ $models == 1 && $have_torch == 1 ]]; then
  [[ -x /usr/bin/time ]] || die "MODELS=1 needs /usr/bin/time for the peak RSS (apt-get install time)"
  timed() {  # name command...: runs it with its peak RSS (KiB) in $out/name.rss and its stdout in $out/name.out
    local name=$1
    shift
    /usr/bin/time -f %M -o "$out/$name.rss" "$@" >"$out/$name.out" 2>"$out/$name.err" ||
      die "$* failed (see $out/$name.err)"
  }
  gpt_flags=(--n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch 12 --lr 1e-3 --min-lr 1e-4
    --warmup-iters 100 --beta2 0.99 --weight-decay 0.1 --grad-clip 1.0 --eval-interval 250 --eval-iters 20)
  for ((rep = 1; rep <= repeats; rep++)); do
    for model in "lenet5|--model lenet5" "vit|--model vit --act gelu"; do
      IFS='|' read -r label flags <<<"$model"
      # shellcheck disable=SC2086  # the flags are words
      layers=$("$bend_bench" $flags --describe)
      echo "-- repetition $rep/$repeats: $label (bend, then PyTorch at 1 and 2 threads)"
      # shellcheck disable=SC2086
      timed "model.bend.$label.$rep" "$bend_bench" --data-dir data/mnist $flags --batch 64 --opt adam \
        --epochs "$epochs" --train-limit "$model_limit" --no-gemm --json
      for t in 1 2; do
        timed "model.torch$t.$label.$rep" "$python" bench/torch_mlp.py --data-dir data/mnist --layers "$layers" \
          --batch 64 --opt adam --epochs "$epochs" --train-limit "$model_limit" --threads "$t" --json
      done
    done
    echo "-- repetition $rep/$repeats: the CNN in the user's own loop (mnist_cnn_loop, then PyTorch's)"
    timed "model.bend.cnnloop.$rep" "$build_dir/mnist_cnn_loop" --epochs "$epochs" --train-limit "$model_limit" \
      --batch-size 64 --data-dir data/mnist
    for t in 1 2; do
      timed "model.torch$t.cnnloop.$rep" "$python" bench/torch_cnn_loop.py --data-dir data/mnist --epochs "$epochs" \
        --train-limit "$model_limit" --batch-size 64 --threads "$t"
    done
    echo "-- repetition $rep/$repeats: the char GPT, $gpt_steps steps (bend, then PyTorch at 1 and 2 threads)"
    rm -rf "$out/gpt-checkpoints"
    timed "model.bend.gpt.$rep" "$build_dir/bend" train --model gpt --dataset fortunes --steps "$gpt_steps" \
      --seed 1337 --dropout 0 "${gpt_flags[@]}" --checkpoint-dir "$out/gpt-checkpoints" --quiet
    for t in 1 2; do
      timed "model.torch$t.gpt.$rep" "$python" bench/torch_gpt.py --steps "$gpt_steps" --seed 1337 --threads "$t"
    done
  done
fi

echo "-- activation kernels"
"$bend_bench" --activations --batch 64 --json >"$out/activations.jsonl"
core_check
else
  out=$summary_only
  have_torch=0
  "$python" -c "import torch" 2>/dev/null && have_torch=1
fi

echo "== summary"
machine=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cores=$(nproc)
bend_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src include 2>/dev/null || echo '+local changes')"
torch_version=$([[ $have_torch == 1 ]] && "$python" -c "import torch; print(torch.__version__)" || echo "not installed")
openblas_version=$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)
load=$(cut -d' ' -f1-3 /proc/loadavg)

MACHINE="$machine" CORES="$cores" BEND_REV="$bend_rev" TORCH_VERSION="$torch_version" OPENBLAS_VERSION="$openblas_version" \
  BASELINE_REV="${baseline_rev:-}" CORETYPE="${OPENBLAS_CORETYPE:-unset}" ALT_CORETYPE="${ALT_CORETYPE:-SkylakeX}" LOAD="$load" REPEATS="$repeats" EPOCHS="$epochs" TORCH_THREADS="$torch_threads" \
  GPT_STEPS="$gpt_steps" MODEL_LIMIT="$model_limit" CONFIGS="$(printf '%s\n' "${configs[@]}")" "$python" - "$out" "$results_file" <<'PY'
import datetime, glob, json, os, statistics, sys

out, results_file = sys.argv[1], sys.argv[2]
env = os.environ

def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]

def runs(prefix):
    """Per run: (epoch time = median of the epochs after the first, summary, epoch records)."""
    found = []
    for path in sorted(glob.glob(f"{out}/{prefix}.*.jsonl")):
        recs = records(path)
        summary = next((r for r in recs if r.get("summary")), None)
        epochs = [r for r in recs if "epoch" in r and not r.get("summary")]
        if summary is None or len(epochs) < 2:
            continue
        found.append((statistics.median(e["seconds"] for e in epochs[1:]), summary, epochs[1:]))
    return found

def med(values):
    values = list(values)
    return statistics.median(values) if values else float("nan")

def blas_threads_floor(summary):
    """The floor the way the issue defines it: each product at OpenBLAS's own multi-threaded rate."""
    g = summary["gemm"]
    scale = g["epoch_seconds"] / (g["step_us"] * 1e-6) if g["step_us"] else float("nan")
    return sum(s.get("blas_threads_us", s["us"]) for s in g["shapes"]) * 1e-6 * scale

def fmt(x, digits=3):
    return "—" if x != x else f"{x:.{digits}f}"

lines = []
add = lines.append
add("# bend vs PyTorch: MLP 784-256-128-10 on MNIST, CPU")
add("")
add("Generated by `bench/run.sh`; do not edit by hand. Times are seconds per training epoch (60,000")
add(f"samples, no evaluation), the median over {env['REPEATS']} runs per framework, run alternately; each run")
add(f"trains {env['EPOCHS']} epochs after 50 untimed warm-up steps and discards its first epoch.")
add("")
add(f"- Machine: {env['MACHINE']}, {env['CORES']} cores; load average at the end {env['LOAD']}")
add(f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
add(f"- bend: git {env['BEND_REV']}, Release build (no -march=native)")
add(f"- PyTorch: {env['TORCH_VERSION']} with torch.set_num_threads({env['TORCH_THREADS']})")
add(f"- OpenBLAS: {env['OPENBLAS_VERSION']} (Debian, pthread build), OPENBLAS_CORETYPE={env['CORETYPE']}")
checks = records(f"{out}/core-check.jsonl") if os.path.exists(f"{out}/core-check.jsonl") else []
if checks:
    effs = ", ".join(f"{100 * c['efficiency']:.0f}%" for c in checks)
    add(f"- Cores running together (`bend_bench --core-check`, at the start and the end): each of {checks[0]['threads']} "
        f"threads ran a single-threaded sgemm at {effs} of its speed alone. Below ~90% the host is sharing or "
        "throttling the cores, and every two-thread figure below (both frameworks') suffers.")
add("")
add("| configuration | bend s/epoch | PyTorch s/epoch | bend/PyTorch | best: bend / PyTorch / ratio | peak floor s | bend/peak floor | GEMM floor s | bend/floor | OpenBLAS-threads floor s | bend/that floor | bend samples/s | bend peak RSS MiB | PyTorch peak RSS MiB | bend test acc | PyTorch test acc |")
add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
table = {}
for config in env["CONFIGS"].splitlines():
    label = config.split()[0]
    b, t = runs(f"bend.{label}"), runs(f"torch.{label}")
    bend_s, torch_s = med(r[0] for r in b), med(r[0] for r in t)
    floor = med(r[1]["gemm"]["epoch_seconds"] for r in b if "gemm" in r[1])
    blas_floor = med(blas_threads_floor(r[1]) for r in b if "gemm" in r[1])
    peak_floor = med(r[1]["gemm"]["peak_epoch_seconds"] for r in b if "peak_epoch_seconds" in r[1].get("gemm", {}))
    phases = {k: med(e["phases"].get(k, float("nan")) for r in b for e in r[2]) for k in ("data", "forward", "backward", "zero_grad", "optimizer", "other")}
    table[label] = dict(bend=bend_s, torch=torch_s, peak_floor=peak_floor, floor=floor, blas_floor=blas_floor, phases=phases, runs=b)
    samples = b[0][1]["train_samples"] if b else 60000
    bend_best = min((r[0] for r in b), default=float("nan"))
    torch_best = min((r[0] for r in t), default=float("nan"))
    add(f"| {label} | {fmt(bend_s)} | {fmt(torch_s)} | {fmt(bend_s / torch_s if t else float('nan'), 2)} | "
        f"{fmt(bend_best)} / {fmt(torch_best)} / {fmt(bend_best / torch_best if t else float('nan'), 2)} | "
        f"{fmt(peak_floor)} | {fmt(bend_s / peak_floor, 2)} | {fmt(floor)} | {fmt(bend_s / floor, 2)} | {fmt(blas_floor)} | {fmt(bend_s / blas_floor, 2)} | {fmt(samples / bend_s, 0)} | "
        f"{fmt(med(r[1].get('peak_rss_mib', float('nan')) for r in b), 0)} | {fmt(med(r[1].get('peak_rss_mib', float('nan')) for r in t), 0)} | "
        f"{fmt(med(r[1]['final_test_accuracy'] for r in b), 4)} | {fmt(med(r[1]['final_test_accuracy'] for r in t), 4)} |")
add("")
add("Best: the fastest run of each side (less sensitive to other load on the machine than the median).")
add("Peak floor: the step's GEMM FLOPs divided by the rate of one large (2048³) single-threaded sgemm times")
add("bend's threads, measured in the same run, times the steps in an epoch: it does not depend on how the")
add("products are split, so it is the same bar on any CPU (the peak rate is in the sgemm section below).")
add("GEMM floor: the step's products (forward X·Wᵀ, dW for every layer, dX for layers 2-3) at that batch")
add("size, each timed three ways at bend's thread count — one single-threaded sgemm, one sgemm on OpenBLAS's")
add("own threads, bend's split (one single-threaded sgemm per block on bend's threads) — taking the fastest")
add("per product, times the steps in an epoch: the epoch time if everything except sgemm were free. The")
add("OpenBLAS-threads floor uses OpenBLAS's multi-threaded rate for every product instead (how the issue")
add("defines the floor).")
add("")

opt_rows = [(label, row) for label, row in table.items() if any("optimizer_floor" in r[1] for r in row["runs"])]
if opt_rows:
    add("## The optimizer's own floor")
    add("")
    add("The bytes the optimizer's update moves per step (Adam: parameter, gradient and both moments read, parameter")
    add("and moments written, 28 bytes per parameter; SGD 12) at the bandwidth `bend_bench` measured in the same run on")
    add("a working set of that size with bend's threads (a read-add-write loop), times the steps in an epoch; next to")
    add("the peak floor, the sum is the epoch time if the products ran at peak and the update at that bandwidth.")
    add("")
    add("| configuration | parameters | MB per step | measured GB/s | optimizer floor s | peak floor s | peak + optimizer floor s | bend s/epoch | bend / (peak + optimizer) |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, row in opt_rows:
        fl = [r[1]["optimizer_floor"] for r in row["runs"] if "optimizer_floor" in r[1]]
        of = med(f["epoch_seconds"] for f in fl)
        both = of + row["peak_floor"]
        add(f"| {label} | {fl[0]['parameters']:,} | {fl[0]['bytes_per_step'] / 1e6:.2f} | {fmt(med(f['gbps'] for f in fl), 1)} | "
            f"{fmt(of)} | {fmt(row['peak_floor'])} | {fmt(both)} | {fmt(row['bend'])} | {fmt(row['bend'] / both, 2)} |")
    add("")

if env.get("BASELINE_REV") and runs(f"baseline.{next(iter(table))}"):
    add(f"## This tree against bend at {env['BASELINE_REV']} (same run, alternating)")
    add("")
    add("| configuration | this tree s/epoch | baseline s/epoch | this/baseline | this tree test acc | baseline test acc |")
    add("|---|---:|---:|---:|---:|---:|")
    for label, row in table.items():
        base = runs(f"baseline.{label}")
        base_s = med(r[0] for r in base)
        add(f"| {label} | {fmt(row['bend'])} | {fmt(base_s)} | {fmt(row['bend'] / base_s, 3)} | "
            f"{fmt(med(r[1]['final_test_accuracy'] for r in row['runs']), 4)} | {fmt(med(r[1]['final_test_accuracy'] for r in base), 4)} |")
    add("")

def model_rows():
    """Every model against PyTorch (MODELS=1): (label, what, unit, bend, {threads: torch}, bend rss, {threads: rss})."""
    import re
    def last_number(path):
        with open(path) as f:
            lines = [l.strip() for l in f if l.strip()]
        return float(lines[-1]) / 1024.0 if lines and lines[-1].isdigit() else float("nan")
    def reps(prefix):
        return sorted(glob.glob(f"{out}/{prefix}.*.out"))
    def epoch_time_jsonl(path):
        epochs = [r for r in records(path) if "epoch" in r and not r.get("summary")]
        return statistics.median(e["seconds"] for e in epochs[1:]) if len(epochs) > 1 else float("nan")
    def epoch_time_loop(path):
        secs = [float(m) for m in re.findall(r"trained in ([0-9.]+) s", open(path).read())]
        return statistics.median(secs[1:]) if len(secs) > 1 else float("nan")
    def gpt_step_time(path):
        text = open(path).read()
        m = re.search(r"step (\d+): val loss [0-9.]+, total time ([0-9.]+)s", text)
        return float(m.group(2)) / int(m.group(1)) if m else float("nan")
    def torch_gpt_step_time(path):
        r = json.loads(open(path).read().strip().splitlines()[-1])
        return r["seconds"] / int(env["GPT_STEPS"])
    parse = {"lenet5": (epoch_time_jsonl, epoch_time_jsonl), "vit": (epoch_time_jsonl, epoch_time_jsonl),
             "cnnloop": (epoch_time_loop, epoch_time_jsonl), "gpt": (gpt_step_time, torch_gpt_step_time)}
    rows = []
    for label, what, unit, target_ratio in (
            ("lenet5", f"LeNet-5 (`--model lenet5`), batch 64, Adam, {env['MODEL_LIMIT']} images", "s/epoch", 0.40),
            ("vit", f"ViT (`--model vit`), batch 64, Adam, {env['MODEL_LIMIT']} images", "s/epoch", 0.60),
            ("gpt", f"char GPT, nanoGPT's CPU configuration, {env['GPT_STEPS']} steps with its estimates", "s/step", 0.60),
            ("cnnloop", f"CNN in the user's own C++ loop (`mnist_cnn_loop`), batch 64, SGD, {env['MODEL_LIMIT']} images",
             "s/epoch", 0.60)):
        bend_parse, torch_parse = parse[label]
        b = [bend_parse(p) for p in reps(f"model.bend.{label}")]
        if not b:
            continue
        torch = {t: med(torch_parse(p) for p in reps(f"model.torch{t}.{label}")) for t in (1, 2)}
        rss = lambda prefix: med(last_number(p[:-4] + ".rss") for p in reps(prefix))
        rows.append((label, what, unit, med(b), torch, rss(f"model.bend.{label}"),
                     {t: rss(f"model.torch{t}.{label}") for t in (1, 2)}, target_ratio))
    return rows

rows = model_rows()
if rows or table.get("b64-adam-relu"):
    add("## Every model against PyTorch")
    add("")
    add(f"bend at its default threads against PyTorch {env['TORCH_VERSION']} at 1 and 2 threads (its best counts), the")
    add("same data and loop, alternating within each repetition; medians over the repetitions (each discarding its")
    add("first epoch). Peak RSS: the whole process (`/usr/bin/time`; the MLP rows: `getrusage`), PyTorch's at its best")
    add("thread setting.")
    add("")
    add("| model | unit | bend | PyTorch 1 thread | PyTorch 2 threads | bend / best PyTorch | target | met | bend peak RSS MiB | PyTorch peak RSS MiB |")
    add("|---|---|---:|---:|---:|---:|---:|:---:|---:|---:|")
    mlp = table.get("b64-adam-relu")
    if mlp:
        two = runs("torch.threads2-b64")
        t1, t2 = mlp["torch"], med(r[0] for r in two)
        best = min(x for x in (t1, t2) if x == x) if (t1 == t1 or t2 == t2) else float("nan")
        best_runs = two if t2 == best else runs("torch.b64-adam-relu")
        ratio = mlp["bend"] / best
        add(f"| MLP 784-256-128-10, batch 64, Adam, 60000 images | s/epoch | {fmt(mlp['bend'])} | {fmt(t1)} | {fmt(t2)} | "
            f"{fmt(ratio, 2)} | ≤ 0.45 | {'yes' if ratio <= 0.45 else 'no'} | "
            f"{fmt(med(r[1].get('peak_rss_mib', float('nan')) for r in mlp['runs']), 0)} | "
            f"{fmt(med(r[1].get('peak_rss_mib', float('nan')) for r in best_runs), 0)} |")
    for label, what, unit, b, torch, b_rss, t_rss, limit in rows:
        valid = {t: v for t, v in torch.items() if v == v}
        best_t = min(valid, key=valid.get) if valid else 1
        ratio = b / valid[best_t] if valid else float("nan")
        add(f"| {what} | {unit} | {fmt(b, 4)} | {fmt(torch[1], 4)} | {fmt(torch[2], 4)} | {fmt(ratio, 2)} | ≤ {limit} | "
            f"{'yes' if ratio <= limit else 'no'} | {fmt(b_rss, 0)} | {fmt(t_rss[best_t], 0)} |")
    add("")

add("## Targets")
add("")
add("| target | measured | met |")
add("|---|---:|:---:|")
def target(name, value, limit):
    ok = value == value and value <= limit
    add(f"| {name} (≤ {limit}) | {fmt(value, 2)} | {'yes' if ok else 'no'} |")
def ratio(label, key="torch"):
    row = table.get(label)
    return row["bend"] / row[key] if row and row[key] == row[key] else float("nan")
target("b64 Adam ReLU: bend/PyTorch", ratio("b64-adam-relu"), 0.45)
target("b64 Adam ReLU: bend/peak floor (2048³ single-thread sgemm rate × threads)", ratio("b64-adam-relu", "peak_floor"), 1.3)
target("b64 Adam ReLU: bend/GEMM floor (fastest sgemm per product)", ratio("b64-adam-relu", "floor"), 1.25)
target("b64 Adam ReLU: bend/OpenBLAS-threads floor", ratio("b64-adam-relu", "blas_floor"), 1.25)
target("b256 Adam ReLU: bend/PyTorch", ratio("b256-adam-relu"), 0.6)
target("b64 SGD ReLU: bend/PyTorch", ratio("b64-sgd-relu"), 0.6)
relu = table.get("b64-adam-relu", {}).get("bend", float("nan"))
for act in ("gelu", "silu", "mish", "tanh"):
    row = table.get(f"b64-adam-{act}")
    if row:
        target(f"b64 Adam {act} epoch / ReLU epoch (bend)", row["bend"] / relu, 1.1)
add("")

add("## Where bend's time goes (seconds per epoch, medians)")
add("")
add("| configuration | data | forward | backward | zero_grad | optimizer step | other | epoch |")
add("|---|---:|---:|---:|---:|---:|---:|---:|")
for label, row in table.items():
    p = row["phases"]
    add(f"| {label} | {fmt(p['data'])} | {fmt(p['forward'])} | {fmt(p['backward'])} | {fmt(p['zero_grad'])} | {fmt(p['optimizer'])} | "
        f"{fmt(p['other'])} | {fmt(row['bend'])} |")
add("")
first = table.get("b64-adam-relu", {}).get("runs")
if first and "gemm" in first[0][1]:
    g = first[0][1]["gemm"]
    add(f"sgemm at batch 64 (one run): {g['step_us']:.0f} µs per step at {g['gflops']:.1f} GFLOP/s overall")
    if "peak_one_thread_gflops" in g:
        add(f"Peak: one 2048³ sgemm on one thread ran at {g['peak_one_thread_gflops']:.1f} GFLOP/s; the step's products "
            f"are {g['step_gflop']:.3f} GFLOP.")
    add("")
    add("| product | M×N×K | best µs | GFLOP/s | 1 thread µs | OpenBLAS threads µs | bend split µs |")
    add("|---|---|---:|---:|---:|---:|---:|")
    for s in g["shapes"]:
        add(f"| {s['role']} | {s['m']}×{s['n']}×{s['k']} | {s['us']:.1f} | {s['gflops']:.1f} | "
            f"{s.get('blas_one_thread_us', float('nan')):.1f} | {s.get('blas_threads_us', float('nan')):.1f} | {s.get('bend_split_us', float('nan')):.1f} |")
    add("")

add("## bend with 1 vs 2 threads (Adam, ReLU)")
add("")
add("| batch | 1 thread s/epoch | 2 threads s/epoch | 2/1 |")
add("|---:|---:|---:|---:|")
for batch in (64, 256):
    one, two = med(r[0] for r in runs(f"bend.threads1-b{batch}")), med(r[0] for r in runs(f"bend.threads2-b{batch}"))
    add(f"| {batch} | {fmt(one)} | {fmt(two)} | {fmt(two / one, 2)} |")
add("")

ftz = runs("bend.ftz-b64-adam-relu")
if ftz and table.get("b64-adam-relu"):
    ieee_row = table["b64-adam-relu"]
    ftz_s = med(r[0] for r in ftz)
    ftz_step = med(e["phases"]["optimizer"] for r in ftz for e in r[2])
    add("## bend with --flush-denormal (b64 Adam ReLU)")
    add("")
    add("Subnormal floats (below 1.2e-38) count as zero, as with `torch.set_flush_denormal(True)`; off by default.")
    add("")
    add("| mode | s/epoch | optimizer step s/epoch | test acc |")
    add("|---|---:|---:|---:|")
    add(f"| IEEE (default) | {fmt(ieee_row['bend'])} | {fmt(ieee_row['phases']['optimizer'])} | "
        f"{fmt(med(r[1]['final_test_accuracy'] for r in ieee_row['runs']), 4)} |")
    add(f"| --flush-denormal | {fmt(ftz_s)} | {fmt(ftz_step)} | {fmt(med(r[1]['final_test_accuracy'] for r in ftz), 4)} |")
    add("")

torch_one = {64: med(r[0] for r in runs("torch.b64-adam-relu")), 256: med(r[0] for r in runs("torch.b256-adam-relu"))}
if runs("torch.threads2-b64"):
    add("## PyTorch with 1 vs 2 threads (Adam, ReLU)")
    add("")
    add("| batch | 1 thread s/epoch | 2 threads s/epoch | 2/1 |")
    add("|---:|---:|---:|---:|")
    for batch in (64, 256):
        two = med(r[0] for r in runs(f"torch.threads2-b{batch}"))
        add(f"| {batch} | {fmt(torch_one[batch])} | {fmt(two)} | {fmt(two / torch_one[batch], 2)} |")
    add("")

if runs("bend.alt-b64-adam-relu"):
    add(f"## Both frameworks with OPENBLAS_CORETYPE={env['ALT_CORETYPE']}")
    add("")
    add("| configuration | bend s/epoch | PyTorch s/epoch | bend/PyTorch | GEMM floor s | bend/floor |")
    add("|---|---:|---:|---:|---:|---:|")
    for label in ("b64-adam-relu", "b64-sgd-relu"):
        b, t = runs(f"bend.alt-{label}"), runs(f"torch.alt-{label}")
        bend_s, torch_s = med(r[0] for r in b), med(r[0] for r in t)
        floor = med(r[1]["gemm"]["epoch_seconds"] for r in b if "gemm" in r[1])
        add(f"| {label} | {fmt(bend_s)} | {fmt(torch_s)} | {fmt(bend_s / torch_s if t else float('nan'), 2)} | "
            f"{fmt(floor)} | {fmt(bend_s / floor, 2)} |")
    add("")

acts = records(f"{out}/activations.jsonl") if os.path.exists(f"{out}/activations.jsonl") else []
if acts:
    add("## Activation kernels (single thread)")
    add("")
    add(f"Forward reads x and writes y (8 bytes/element), backward reads x, y, dy and updates dx (20 bytes/element),")
    add(f"over {acts[0]['elements']:,} floats; the in-cache columns run over {acts[0]['cached_elements']:,} floats")
    add("(one batch-64 hidden layer) repeatedly. ×ReLU compares in-cache forward+backward time.")
    add("")
    add("| activation | fwd GB/s | bwd GB/s | fwd ns/elem | bwd ns/elem | in-cache fwd ns | in-cache bwd ns | ×ReLU |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|")
    for a in acts:
        add(f"| {a['activation']} | {a['forward_gbps']:.1f} | {a['backward_gbps']:.1f} | {a['forward_ns']:.3f} | "
            f"{a['backward_ns']:.3f} | {a['cached_forward_ns']:.3f} | {a['cached_backward_ns']:.3f} | {a['cached_vs_relu']:.2f} |")
    add("")

text = "\n".join(lines)
with open(results_file, "w") as f:
    f.write(text)
print(text)
PY
echo "== wrote $results_file"
