#!/usr/bin/env bash
# Sets up a fresh Debian machine and trains the docs' 784-256-128-10 MLP on MNIST (ReLU, Adam 2e-3 with
# cosine decay, batch 64, 10 epochs: the default recipe). Extra arguments go to `bend train` (e.g.
# --act gelu --epochs 3). Builds only the `bend` CLI; scripts/test.sh builds and runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash data/fetch-mnist.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target bend_cli  # the CLI (build/bend); the library target is `bend`
exec ./build/bend train --save mnist-mlp.safetensors "$@"
