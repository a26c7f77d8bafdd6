#!/usr/bin/env bash
# bench/gpt.sh: nanoGPT's CPU configuration (4 layers, 4 heads, n_embd 128, block 64, batch 12, 2000
# iterations, lr 1e-3 -> 1e-4 after 100 warm-up steps, beta2 0.99, weight decay 0.1, clip 1.0, dropout
# 0, 20 batches per estimate) on the fortunes text: bend train --model gpt against PyTorch 1.13 running
# the same model and loop (bench/torch_gpt.py), in one run. Records the final val loss, the loop's wall
# time and each process's CPU time (user + sys, /usr/bin/time), and writes bench/GPT_RESULTS.md.
#
# Settings (environment): STEPS (2000), SEED (1337), BUILD_DIR (build), RESULTS (bench/GPT_RESULTS.md),
# BEND_THREADS ("1 2"), TORCH_THREADS ("1 2"): PyTorch's best thread setting is its figure. Runs niced.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
steps=${STEPS:-2000}
seed=${SEED:-1337}
build_dir=${BUILD_DIR:-build}
results=${RESULTS:-bench/GPT_RESULTS.md}
bend_threads=${BEND_THREADS:-1 2}
torch_threads=${TORCH_THREADS:-1 2}
python=/usr/bin/python3
bend=$build_dir/bend
[[ -x $bend ]] || { echo "gpt.sh: build bend first: cmake --build $build_dir --target bend_cli" >&2; exit 1; }
"$python" -c "import torch" || { echo "gpt.sh: PyTorch is needed (apt-get install python3-torch)" >&2; exit 1; }

out=$build_dir/gpt-results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
cpu_seconds() {  # user + sys from a /usr/bin/time -v file
  awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f", u + s}' "$1"
}
rows=()
for t in $bend_threads; do
  echo "-- bend, $t thread(s)" >&2
  nice /usr/bin/time -v -o "$out/bend-$t.time" "$bend" train --model gpt --dataset fortunes --steps "$steps" \
    --seed "$seed" --threads "$t" --n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch 12 --lr 1e-3 \
    --min-lr 1e-4 --warmup-iters 100 --beta2 0.99 --weight-decay 0.1 --grad-clip 1.0 --dropout 0 \
    --eval-interval 250 --eval-iters 20 --checkpoint-dir "$out/ck-$t" --save "$out/gpt-$t.safetensors" \
    >"$out/bend-$t.log" 2>&1
  last=$(tail -n 1 "$out/bend-$t.log")  # step N: val loss X, total time Ys; ...
  val=$(sed -E 's/.*val loss ([0-9.]+).*/\1/' <<<"$last")
  secs=$(sed -E 's/.*total time ([0-9.]+)s.*/\1/' <<<"$last")
  rows+=("bend|$t|$val|$secs|$(cpu_seconds "$out/bend-$t.time")")
done
for t in $torch_threads; do
  echo "-- PyTorch, $t thread(s)" >&2
  nice /usr/bin/time -v -o "$out/torch-$t.time" "$python" bench/torch_gpt.py --steps "$steps" --seed "$seed" \
    --threads "$t" >"$out/torch-$t.json" 2>"$out/torch-$t.log"
  read -r val secs < <("$python" -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['val_loss']:.4f} {r['seconds']:.1f}\")" "$out/torch-$t.json")
  rows+=("PyTorch 1.13|$t|$val|$secs|$(cpu_seconds "$out/torch-$t.time")")
done

best_torch=$(printf '%s\n' "${rows[@]}" | awk -F'|' '$1 ~ /PyTorch/ {print $4}' | sort -g | head -n 1)
best_bend=$(printf '%s\n' "${rows[@]}" | awk -F'|' '$1 == "bend" {print $4}' | sort -g | head -n 1)
{
  echo "# nanoGPT's CPU configuration on fortunes: bend vs PyTorch 1.13"
  echo
  echo "Written by bench/gpt.sh on $(date -u +%Y-%m-%d) ($steps steps, seed $seed; CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; runs niced, the machine shared with other jobs)."
  echo "4 layers, 4 heads, n_embd 128, block 64, batch 12, lr 1e-3 -> 1e-4 (cosine) after 100 warm-up steps,"
  echo "AdamW beta2 0.99, weight decay 0.1 on 2-d weights, clip 1.0, dropout 0, bias off; val loss = mean over 20"
  echo "val batches at the last step. Wall time: the training loop with its loss estimates. CPU: the whole"
  echo "process, user + sys (PyTorch's includes importing torch)."
  echo
  echo "| side | threads | val loss | loop wall s | process CPU s |"
  echo "|---|---|---|---|---|"
  for r in "${rows[@]}"; do IFS='|' read -r side t val secs cpu <<<"$r"; echo "| $side | $t | $val | $secs | $cpu |"; done
  echo
  echo "bend's best wall time / PyTorch's best: $(awk -v b="$best_bend" -v t="$best_torch" 'BEGIN {printf "%.2f", b / t}')"
  echo "(target: <= 0.7). Logs: $out."
} >"$results"
cat "$results"
