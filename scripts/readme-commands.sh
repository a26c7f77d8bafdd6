#!/usr/bin/env bash
# Runs every shell command of README.md's ```sh blocks, in order, as a newcomer would, at small sizes:
# --epochs N becomes --epochs 1, --seeds N becomes --seeds 1, --tokens N becomes --tokens 20, commands that
# train get --train-limit 512, a GPT trains 4 steps, and the lab runs --quick. Commands that cannot run
# here are listed with the reason (a cluster's hostfile,
# Slurm, or the build and test run that this script is itself part of). Every other command must exit 0.
#
#   bash scripts/readme-commands.sh BUILD_DIR     (ctest runs it as readme_commands)
#   bash scripts/readme-commands.sh --list        (prints the commands as they would run, runs nothing)
#
# The commands run in a scratch directory where build/, data/ and scripts/ point into the repository, so
# the files they write (models, checkpoints, reports) never land in the working tree.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
list_only=false
build_dir="$repo/build"
case "${1:-}" in
  --list) list_only=true ;;
  "") ;;
  *) build_dir=$(cd "$1" && pwd) ;;
esac

# The README's shell lines, comments and blank lines dropped; a trailing "# ..." comment cut off.
readme_commands() {
  awk '/^```sh[[:space:]]*$/ {inside = 1; next} /^```/ {inside = 0; next} inside' "$repo/README.md" |
    sed -E 's/[[:space:]]+#[[:space:]].*$//; s/[[:space:]]+$//' | grep -vE '^[[:space:]]*(#|$)'
}

# Why a command is not run here, or nothing when it runs.
skip_reason() {
  case "$1" in
    "bash scripts/quickstart.sh"*) echo "the quickstart: its steps are the commands below, run one by one" ;;
    "bash scripts/test.sh"*) echo "the test run this script is part of" ;;
    cmake\ *) echo "the build this script runs from (scripts/build.sh did it)" ;;
    ctest\ *) echo "the test run this script is part of" ;;
    *--hostfile*) echo "needs a cluster's hostfile" ;;
    sbatch\ *) echo "needs Slurm" ;;
    *http.server*) echo "a web server that runs until Ctrl-C (the ctest web_digit_page serves the page itself)" ;;
  esac
}

# The command at small size.
shrink() {
  local cmd=$1
  cmd=$(sed -E 's/--epochs [0-9]+/--epochs 1/; s/--seeds [0-9]+/--seeds 1/; s/--tokens [0-9]+/--tokens 20/' <<<"$cmd")
  # A language model counts steps, not epochs: a few steps, one estimate batch.
  if [[ $cmd == *"--model gpt"* && ($cmd == *"bend train"* || $cmd == *"bend compare"*) ]]; then
    [[ $cmd == *--steps* ]] || cmd+=" --steps 4"
    [[ $cmd != *"bend compare"* || $cmd == *--seeds* ]] || cmd+=" --seeds 1"
    printf '%s\n' "$(sed -E 's/--steps [0-9]+/--steps 4/' <<<"$cmd") --eval-interval 2 --eval-iters 1 --warmup-iters 1"
    return
  fi
  # The lab at the tests' sizes.
  if [[ $cmd == *"bend lab"* ]]; then
    printf '%s --quick\n' "$cmd"
    return
  fi
  case "$cmd" in
    *"--resume "*checkpoint.safetensors*) ;;  # a resumed run takes its sizes from the checkpoint
    *"bend train"* | *"bend compare"* | *"bend lab"* | *mnist_net* | *mnist_mlp* | *mnist_cnn_loop*)
      cmd+=" --train-limit 512" ;;
  esac
  case "$cmd" in
    *"--resume "*checkpoint.safetensors*) ;;
    *"bend train"* | *"bend compare"* | *"bend lab"* | *mnist_net* | *mnist_mlp* | *mnist_cnn_loop*)
      [[ $cmd == *--epochs* ]] || cmd+=" --epochs 1" ;;
  esac
  [[ $cmd != *"bend compare"* || $cmd == *--seeds* ]] || cmd+=" --seeds 1"
  printf '%s\n' "$cmd"
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bend-readme.XXXXXX")
$list_only || trap 'rm -rf "$scratch"' EXIT
ln -s "$build_dir" "$scratch/build"
ln -s "$repo/scripts" "$scratch/scripts"
ln -s "$repo/data" "$scratch/data"
cd "$scratch"

ran=0 skipped=0 failed=0
while IFS= read -r line; do
  reason=$(skip_reason "$line")
  if [[ -n $reason ]]; then
    echo "readme: skip: $line   ($reason)"
    skipped=$((skipped + 1))
    continue
  fi
  cmd=$(shrink "$line")
  echo "readme: run:  $cmd"
  $list_only && continue
  start=$SECONDS
  if bash -c "$cmd" >"$scratch/out.txt" 2>&1; then
    echo "readme:       ok ($((SECONDS - start)) s)"
    ran=$((ran + 1))
  else
    code=$?
    echo "readme:       FAILED with exit code $code; its output:"
    sed 's/^/    /' "$scratch/out.txt" | tail -n 40
    failed=$((failed + 1))
  fi
done < <(readme_commands)

$list_only && exit 0
echo "readme: $ran commands ran, $failed failed, $skipped not run here"
((failed == 0 && ran > 0))
