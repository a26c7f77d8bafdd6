#!/usr/bin/env bash
# bench/vit.sh: the vision transformer of `bend train --model vit`, bend against PyTorch 1.13 training the
# same model (built from the same bend.layers description by scripts/torch_load_model.py) in the same run,
# and what the default recipe reaches on MNIST (seeds 0, 1, 2) and Fashion-MNIST. Writes
# bench/VIT_RESULTS.md.
#
#   bench/vit.sh               speed (REPEATS interleaved runs per side and thread count) and accuracy
#   ACCURACY=0 bench/vit.sh    speed only
# Settings (environment): REPEATS (3), EPOCHS (2: the first is discarded as warm-up), LIMIT (10000 training
# images per timed epoch), BEND_THREADS ("1 2"; THREADS is the old name), TORCH_THREADS ("1 2"), ACT (gelu),
# BUILD_DIR (build-bench), RESULTS (bench/VIT_RESULTS.md), ACCURACY (1), ACC_EPOCHS (10), ACC_THREADS (0),
# SEEDS ("0 1 2"), FASHION_FLAGS (extra bend train flags for Fashion-MNIST, e.g. "--warmup 500").
# Each side's figure is its best thread setting ("PyTorch at its best thread setting"). The runs of one
# repetition are interleaved (bend, PyTorch, bend, ...; the order flips every repetition) and every figure
# is a median over the repetitions, so a load that comes and goes hits both sides alike. Next to wall time
# the table gives each run's CPU time (all threads, the timed steps only): on a machine shared with other
# jobs, the 1-thread CPU times are the steadiest comparison. The load average is recorded at the start and
# the end.
# The accuracy runs are long (10 epochs of 60000 images each): run them on a quiet machine, e.g. with nice.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
source bench/common.sh
repeats=${REPEATS:-3}
epochs=${EPOCHS:-2}
limit=${LIMIT:-10000}
bend_threads=${BEND_THREADS:-${THREADS:-1 2}}
torch_threads=${TORCH_THREADS:-1 2}
act=${ACT:-gelu}
build_dir=${BUILD_DIR:-build-bench}
results=${RESULTS:-bench/VIT_RESULTS.md}
accuracy=${ACCURACY:-1}
acc_epochs=${ACC_EPOCHS:-10}
acc_threads=${ACC_THREADS:-0}
seeds=${SEEDS:-0 1 2}
fashion_flags=${FASHION_FLAGS:-}
python=/usr/bin/python3

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DBEND_BUILD_APPS=ON >/dev/null
cmake --build "$build_dir" --target bend_bench bend_cli -j"$(nproc)" >/dev/null
bend_bench=$build_dir/bench/bend_bench
bend=$build_dir/bend
data/fetch-mnist.sh >/dev/null
"$python" -c "import torch" || { echo "vit.sh: PyTorch is needed (apt-get install python3-torch)" >&2; exit 1; }

out=$build_dir/vit-results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
layers=$("$bend_bench" --model vit --act "$act" --describe)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
run_bend() {  # threads repetition
  "$bend_bench" --data-dir data/mnist --model vit --act "$act" --batch 64 --opt adam --epochs "$epochs" \
    --train-limit "$limit" --test-limit 1000 --threads "$1" --no-gemm --json >"$out/bend$1.vit.$2.jsonl"
}
run_torch() {
  "$python" bench/torch_mlp.py --data-dir data/mnist --layers "$layers" --batch 64 --opt adam \
    --epochs "$epochs" --train-limit "$limit" --threads "$1" --json >"$out/torch$1.vit.$2.jsonl"
}
for ((rep = 1; rep <= repeats; rep++)); do
  echo "-- repetition $rep/$repeats: vit, bend at threads $bend_threads, PyTorch at $torch_threads (interleaved)" >&2
  mapfile -t order < <(interleaved_runs "$rep" "$bend_threads" "$torch_threads")
  for r in "${order[@]}"; do
    read -r side t <<<"$r"
    "run_$side" "$t" "$rep"
  done
done

if [[ $accuracy == 1 ]]; then
  for seed in $seeds; do
    echo "-- accuracy: bend train --model vit --epochs $acc_epochs --seed $seed" >&2
    "$bend" train --model vit --epochs "$acc_epochs" --seed "$seed" --threads "$acc_threads" \
      --checkpoint-dir '' --json >"$out/accuracy.mnist-seed$seed.jsonl"
  done
  echo "-- accuracy: bend train --model vit --dataset fashion --epochs $acc_epochs $fashion_flags" >&2
  # shellcheck disable=SC2086  # the flags are words
  "$bend" train --model vit --dataset fashion --epochs "$acc_epochs" --threads "$acc_threads" $fashion_flags \
    --checkpoint-dir '' --json >"$out/accuracy.fashion-seed0.jsonl"
fi

MACHINE="$(lscpu | sed -n 's/^Model name: *//p' | head -1)" REV="$(git rev-parse --short HEAD)" \
  CORETYPE="${OPENBLAS_CORETYPE:-unset}" LIMIT="$limit" ACC_EPOCHS="$acc_epochs" ACT="$act" \
  FASHION_FLAGS="$fashion_flags" LOAD="$(cut -d' ' -f1-3 /proc/loadavg)" LOAD_START="$load_start" \
  BEND_THREADS="$bend_threads" TORCH_THREADS="$torch_threads" REPEATS="$repeats" "$python" - "$out" "$results" <<'PY'
import datetime, glob, json, math, os, statistics, sys
out, results = sys.argv[1], sys.argv[2]
env = os.environ

def epoch_times(path):
    """(wall, CPU) seconds of a run: the median over its epochs after the first."""
    recs = [json.loads(l) for l in open(path) if l.startswith("{")]
    epochs = [r for r in recs if "epoch" in r and not r.get("summary")][1:]
    if not epochs:
        return float("nan"), float("nan")
    return (statistics.median(e["seconds"] for e in epochs),
            statistics.median(e.get("cpu_seconds", float("nan")) for e in epochs))

def med(prefix):
    runs = [epoch_times(p) for p in sorted(glob.glob(f"{out}/{prefix}.*.jsonl"))]
    runs = [r for r in runs if not math.isnan(r[0])]  # a run that did not finish
    if not runs:
        return float("nan"), float("nan"), 0
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), len(runs)

lines = ["# bend vs PyTorch: the ViT of `--model vit` on MNIST, CPU", "",
         "Generated by `bench/vit.sh`; do not edit by hand. Seconds per training epoch at batch 64 with Adam",
         "(no evaluation); each run's figure is the median of its epochs after the first, and each row's the",
         "median over the repetitions, whose runs were interleaved (bend, PyTorch, bend, ...). PyTorch trains the",
         "same model, built from bend's bend.layers description by scripts/torch_load_model.py. CPU: the",
         "process's CPU time (all threads) over the same steps.", "",
         f"- Machine: {env['MACHINE']}, {os.cpu_count()} cores, OPENBLAS_CORETYPE={env['CORETYPE']}; bend git {env['REV']}; "
         f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
         f"- Load average (1, 5, 15 min) at the start {env['LOAD_START']}, at the end {env['LOAD']}; "
         f"{env['REPEATS']} repetitions of {env['LIMIT']} images per epoch", "",
         "| side | threads | runs | wall s/epoch | CPU s/epoch |", "|---|---:|---:|---:|---:|"]
rows = {}
for side, label, threads in (("bend", "bend", env["BEND_THREADS"]), ("torch", "PyTorch 1.13", env["TORCH_THREADS"])):
    for t in threads.split():
        wall, cpu, n = med(f"{side}{t}.vit")
        rows[(side, t)] = (wall, cpu)
        lines.append(f"| {label} | {t} | {n} | {wall:.3f} | {cpu:.3f} |")
best = {side: min((v for (s, _), v in rows.items() if s == side and not math.isnan(v[0])), key=lambda v: v[0],
                  default=(math.nan, math.nan)) for side in ("bend", "torch")}
ratio = best["bend"][0] / best["torch"][0]
lines += ["", f"- bend's best wall time / PyTorch's best: **{ratio:.2f}** (targets: ≤ 0.8, issue 23; ≤ 0.60, issue 28)"]
if ("bend", "1") in rows and ("torch", "1") in rows:
    cpu_ratio = rows[("bend", "1")][1] / rows[("torch", "1")][1]
    lines.append(f"- CPU time at 1 thread, bend / PyTorch: **{cpu_ratio:.2f}** (the figure a loaded machine distorts least)")
acc = sorted(glob.glob(f"{out}/accuracy.*.jsonl"))
if acc:
    lines += ["", f"## `bend train --model vit` (default recipe, {env['ACC_EPOCHS']} epochs; Fashion-MNIST flags: "
              f"`{env['FASHION_FLAGS'] or 'none'}`)", "",
              "| dataset, seed | test accuracy per epoch (%) | last | best |", "|---|---|---:|---:|"]
    for path in acc:
        recs = [json.loads(l) for l in open(path) if l.startswith("{")]
        per = [r["test_accuracy"] for r in recs if "epoch" in r and not r.get("summary")]
        summary = next(r["summary"] for r in recs if "summary" in r)
        name = os.path.basename(path).split(".")[1]
        lines.append(f"| {name} | {' '.join(f'{100 * a:.2f}' for a in per)} | {100 * summary['last_test_accuracy']:.2f}% | "
                     f"{100 * summary['best_test_accuracy']:.2f}% |")
lines.append("")
open(results, "w").write("\n".join(lines))
print("\n".join(lines))
PY
