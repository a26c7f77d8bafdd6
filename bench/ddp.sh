#!/usr/bin/env bash
# bench/ddp.sh: data-parallel training (`mpirun -np R bend train`) on this machine, and what it would
# give on a cluster. For each MLP it measures seconds per optimizer step of
#   R=1 x 2 threads   one process, bend's thread pool splitting each product
#   R=2 x 1 thread    two processes, each half of every batch, gradients allreduced (DDP)
#   R=1 x 1 thread    the single-thread baseline at the full batch and at half the batch: the half-batch
#                     time is one DDP rank's compute, so R=2 x 1 minus it is the cost of averaging
#                     gradients (allreduce + waiting) per step on this machine
# and prints, per model, bytes allreduced per step and the projected ring-allreduce time at 10 and
# 100 Gbit/s, 2(R-1)/R x bytes / bandwidth, next to the compute per step (see bench/README.md).
#
# s/step comes from the JSON of `bend train --steps N` (training seconds of the run, evaluation not
# counted); every configuration runs twice, with STEPS and 2 x STEPS steps, and the difference is
# divided by STEPS, so start-up and the first (warm-up) steps cancel.
#
# Usage: bench/ddp.sh                  both models (the wide one takes minutes on 2 cores)
#        MODELS="784-32-10" STEPS=5 BATCH=64 bench/ddp.sh      a quick check of the script
# Settings (environment): BEND=path to the bend CLI (default build/bend), MODELS, STEPS=20,
#   BATCH=256, DATA_DIR=data/mnist.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bend=${BEND:-build/bend}
models=${MODELS:-"784-256-128-10 784-4096-4096-10"}
steps=${STEPS:-20}
batch=${BATCH:-256}
data_dir=${DATA_DIR:-data/mnist}
mpirun_flags=(--oversubscribe --allow-run-as-root --bind-to none)

die() {
  echo "ddp.sh: $*" >&2
  exit 1
}
[[ -x $bend ]] || die "$bend not found: cmake --build build --target bend_cli (or set BEND=...)"
command -v mpirun >/dev/null || die "mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev)"
command -v python3 >/dev/null || die "python3 not found (used for the arithmetic)"
[[ $("$bend" train --help) == *--bucket-mb* ]] || die "$bend has no data-parallel training (--bucket-mb)"
[[ $((batch % 2)) == 0 ]] || die "BATCH must be even (two ranks share every batch)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Training seconds of a run of $1 steps: run <ranks> <threads> <batch> <arch> <steps>
train_seconds() {
  local ranks=$1 threads=$2 b=$3 arch=$4 n=$5
  local cmd=("$bend" train --data-dir "$data_dir" --arch "$arch" --batch "$b" --threads "$threads" --steps "$n"
    --epochs 1 --train-limit $((b * (2 * steps + 1))) --test-limit 100 --checkpoint-dir "$work/ckpt" --json)
  local out
  if [[ $ranks == 1 ]]; then
    out=$("${cmd[@]}")
  else
    out=$(mpirun "${mpirun_flags[@]}" -np "$ranks" "${cmd[@]}")
  fi
  # The first JSON line is the (partial) epoch: its "seconds" is the training time.
  python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["seconds"])' <<<"$out"
}

# Seconds per step, start-up and warm-up removed: per_step <ranks> <threads> <batch> <arch>
per_step() {
  local short long
  short=$(train_seconds "$1" "$2" "$3" "$4" "$steps")
  long=$(train_seconds "$1" "$2" "$3" "$4" $((2 * steps)))
  python3 -c "print(max(0.0, ($long - $short) / $steps))"
}

echo "bend data-parallel benchmark: batch $batch, $steps steps (+$steps warm-up), $(nproc) cores, $(date -u +%F)"
for arch in $models; do
  echo
  echo "== MLP $arch"
  r1t2=$(per_step 1 2 "$batch" "$arch")
  r2t1=$(per_step 2 1 "$batch" "$arch")
  r1t1=$(per_step 1 1 "$batch" "$arch")
  half=$(per_step 1 1 $((batch / 2)) "$arch")
  python3 - "$arch" "$batch" "$r1t2" "$r2t1" "$r1t1" "$half" <<'EOF'
import sys
arch, batch = sys.argv[1], int(sys.argv[2])
r1t2, r2t1, r1t1, half = map(float, sys.argv[3:])
widths = [int(w) for w in arch.split("-")]
params = sum(widths[i] * widths[i + 1] + widths[i + 1] for i in range(len(widths) - 1))
nbytes = 4 * params
print(f"  R=1 x 2 threads  {r1t2 * 1e3:9.2f} ms/step")
print(f"  R=2 x 1 thread   {r2t1 * 1e3:9.2f} ms/step   ({r1t2 / r2t1 if r2t1 else float('nan'):.2f}x the speed of R=1 x 2)")
print(f"  R=1 x 1 thread   {r1t1 * 1e3:9.2f} ms/step at batch {batch}, {half * 1e3:.2f} ms/step at batch {batch // 2}")
print(f"  averaging gradients on this machine: {max(0.0, r2t1 - half) * 1e3:.2f} ms/step "
      f"(R=2 x 1 minus one rank's compute at batch {batch // 2})")
print(f"  parameters {params:,}; allreduced per step {nbytes / 1e6:.2f} MB")
print(f"  projection (compute per step = R=1 x 1 at batch {batch} divided by R; ring allreduce 2(R-1)/R x bytes / bandwidth):")
print(f"  {'R':>4} {'compute ms':>11} {'10 Gbit/s ms':>13} {'speed-up':>9} {'100 Gbit/s ms':>14} {'speed-up':>9}")
for ranks in (2, 4, 8, 16, 32):
    compute = r1t1 / ranks
    row = [f"  {ranks:>4} {compute * 1e3:11.2f}"]
    for gbit in (10, 100):
        comm = 2 * (ranks - 1) / ranks * nbytes / (gbit * 1e9 / 8)
        # No overlap assumed (an upper bound on the step): bucketing hides part of comm behind backward.
        row.append(f"{comm * 1e3:13.2f} {r1t1 / (compute + comm):9.2f}x" if gbit == 10
                   else f"{comm * 1e3:14.2f} {r1t1 / (compute + comm):9.2f}x")
    print(" ".join(row))
EOF
done
