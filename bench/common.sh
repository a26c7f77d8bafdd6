# shellcheck shell=bash
# bench/common.sh: shell helpers of the bench scripts, which source it (bench/gpt.sh, bench/vit.sh).

# interleaved_runs REP BEND_THREADS TORCH_THREADS: the runs of repetition REP, one "side threads" a line
# (side bend or torch, a run per thread count in the lists): the two sides interleaved (bend, PyTorch,
# bend, ...) and the order flipped every other repetition, so that a load that comes and goes hits both
# sides alike.
interleaved_runs() {
  local rep=$1 t i n
  local runs=() order=()
  for t in $2; do runs+=("bend $t"); done
  for t in $3; do runs+=("torch $t"); done
  n=${#runs[@]}
  for ((i = 0; i < n; i++)); do order+=("${runs[$(((i % 2) * ((n + 1) / 2) + i / 2))]}"); done
  if ((rep % 2 == 0)); then
    for ((i = n - 1; i >= 0; i--)); do echo "${order[$i]}"; done
  else
    for ((i = 0; i < n; i++)); do echo "${order[$i]}"; done
  fi
}
