#!/usr/bin/env bash
# Sets up a fresh Debian machine and trains the docs' 784-256-128-10 MLP on MNIST (ReLU, Adam 2e-3 with
# cosine decay, batch 64, 10 epochs: the default recipe). Extra arguments go to `bend train` (e.g.
# --act gelu --epochs 3). Builds only the `bend` CLI; scripts/test.sh builds and runs the tests.
# Each setup step's wall time is printed, so a slow first run says where the time went.
set -euo pipefail
cd "$(dirname "$0")/.."
step_start=$SECONDS
timings=()
step_done() { timings+=("$1 $((SECONDS - step_start)) s"); step_start=$SECONDS; }

bash scripts/install-deps.sh
step_done packages
bash data/fetch-mnist.sh
step_done MNIST
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
step_done configure
cmake --build build -j"$(nproc)" --target bend_cli  # the CLI (build/bend); the library target is `bend`
step_done build
echo "quickstart: setup took $(printf "%s, " "${timings[@]}" | sed "s/, $//")"
exec ./build/bend train --save mnist-mlp.safetensors "$@"
