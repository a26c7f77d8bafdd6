#!/usr/bin/env bash
# bench/gpt.sh: nanoGPT's CPU configuration (4 layers, 4 heads, n_embd 128, block 64, batch 12, 2000
# iterations, lr 1e-3 -> 1e-4 after 100 warm-up steps, beta2 0.99, weight decay 0.1, clip 1.0, dropout
# 0, 20 batches per estimate) on the fortunes text: bend train --model gpt against PyTorch 1.13 running
# the same model and loop (bench/torch_gpt.py), in one run. Records the final val loss, the loop's wall
# time and each process's CPU time (user + sys, /usr/bin/time), and writes bench/GPT_RESULTS.md.
#
# Settings (environment): STEPS (2000), SEED (1337), BUILD_DIR (build), RESULTS (bench/GPT_RESULTS.md),
# BEND_THREADS ("1 2"), TORCH_THREADS ("1 2"): each side's best thread setting is its figure; REPEATS (1):
# runs per side and thread count, interleaved (bend, PyTorch, bend, ...; the order flips every repetition),
# each row the median over them. Next to wall time: CPU time (user + sys of the process; PyTorch's loop
# alone from time.process_time(), since importing torch costs seconds), the steadiest comparison on a
# machine shared with other jobs. The load average is recorded at the start and the end. Runs niced.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
source bench/common.sh
steps=${STEPS:-2000}
seed=${SEED:-1337}
build_dir=${BUILD_DIR:-build}
results=${RESULTS:-bench/GPT_RESULTS.md}
bend_threads=${BEND_THREADS:-1 2}
torch_threads=${TORCH_THREADS:-1 2}
repeats=${REPEATS:-1}
python=/usr/bin/python3
bend=$build_dir/bend
[[ -x $bend ]] || { echo "gpt.sh: build bend first: cmake --build $build_dir --target bend_cli" >&2; exit 1; }
"$python" -c "import torch" || { echo "gpt.sh: PyTorch is needed (apt-get install python3-torch)" >&2; exit 1; }

out=$build_dir/gpt-results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
cpu_seconds() {  # user + sys from a /usr/bin/time -v file
  awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f", u + s}' "$1"
}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
run_bend() {  # threads repetition
  local t=$1 rep=$2
  nice /usr/bin/time -v -o "$out/bend-$t.$rep.time" "$bend" train --model gpt --dataset fortunes --steps "$steps" \
    --seed "$seed" --threads "$t" --n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch 12 --lr 1e-3 \
    --min-lr 1e-4 --warmup-iters 100 --beta2 0.99 --weight-decay 0.1 --grad-clip 1.0 --dropout 0 \
    --eval-interval 250 --eval-iters 20 --checkpoint-dir '' >"$out/bend-$t.$rep.log" 2>&1
  local last val secs
  last=$(tail -n 1 "$out/bend-$t.$rep.log")  # step N: val loss X, total time Ys; ...
  val=$(sed -E 's/.*val loss ([0-9.]+).*/\1/' <<<"$last")
  secs=$(sed -E 's/.*total time ([0-9.]+)s.*/\1/' <<<"$last")
  echo "bend $t $rep $val $secs $(cpu_seconds "$out/bend-$t.$rep.time")" >>"$out/runs.txt"
}
run_torch() {
  local t=$1 rep=$2
  nice /usr/bin/time -v -o "$out/torch-$t.$rep.time" "$python" bench/torch_gpt.py --steps "$steps" --seed "$seed" \
    --threads "$t" >"$out/torch-$t.$rep.json" 2>"$out/torch-$t.$rep.log"
  "$python" -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"torch $t $rep {r['val_loss']:.4f} {r['seconds']:.1f} {r['cpu_seconds']:.1f}\")" \
    "$out/torch-$t.$rep.json" >>"$out/runs.txt"
}
for ((rep = 1; rep <= repeats; rep++)); do
  mapfile -t order < <(interleaved_runs "$rep" "$bend_threads" "$torch_threads")
  for r in "${order[@]}"; do
    read -r side t <<<"$r"
    echo "-- repetition $rep/$repeats: $side, $t thread(s)" >&2
    "run_$side" "$t" "$rep"
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# one row per side and thread count: medians over the repetitions
table=$("$python" - "$out/runs.txt" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, t, rep, val, secs, cpu = line.split()
    runs[(side, t)].append((float(val), float(secs), float(cpu)))
best = {}
for (side, t), rs in runs.items():
    val, secs, cpu = (statistics.median(r[k] for r in rs) for k in range(3))
    name = "bend" if side == "bend" else "PyTorch 1.13"
    vals = " ".join(f"{r[0]:.4f}" for r in rs)
    print(f"| {name} | {t} | {len(rs)} | {vals} | {secs:.1f} | {cpu:.1f} |")
    if side not in best or secs < best[side][0]:
        best[side] = (secs, cpu, t)
wall = best["bend"][0] / best["torch"][0]
one = [statistics.median(r[2] for r in runs[(s, "1")]) for s in ("bend", "torch") if (s, "1") in runs]
print(f"RATIO bend's best wall time / PyTorch's best: **{wall:.2f}** (bend at {best['bend'][2]} thread(s), PyTorch at {best['torch'][2]}; targets: <= 0.7, issue 24; <= 0.60, issue 28)")
if len(one) == 2:
    print(f"RATIO CPU time at 1 thread, bend (process) / PyTorch (loop): **{one[0] / one[1]:.2f}**")
PY
)
{
  echo "# nanoGPT's CPU configuration on fortunes: bend vs PyTorch 1.13"
  echo
  echo "Written by bench/gpt.sh on $(date -u '+%Y-%m-%d %H:%M UTC') ($steps steps, seed $seed, $repeats repetition(s), interleaved; CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; bend git $(git rev-parse --short HEAD); runs niced)."
  echo "Load average (1, 5, 15 min): $load_start at the start, $load_end at the end."
  echo "4 layers, 4 heads, n_embd 128, block 64, batch 12, lr 1e-3 -> 1e-4 (cosine) after 100 warm-up steps,"
  echo "AdamW beta2 0.99, weight decay 0.1 on 2-d weights, clip 1.0, dropout 0, bias off; val loss = mean over 20"
  echo "val batches at the last step. Wall time: the training loop with its loss estimates. CPU: bend's whole"
  echo "process, PyTorch's loop (time.process_time(); its process, importing torch included, is in the logs)."
  echo
  echo "| side | threads | runs | val loss (each run) | loop wall s | CPU s |"
  echo "|---|---|---|---|---|---|"
  grep -v '^RATIO' <<<"$table"
  echo
  grep '^RATIO' <<<"$table" | sed 's/^RATIO /- /'
  echo
  echo "Logs: $out."
} >"$results"
cat "$results"
