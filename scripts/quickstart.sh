#!/usr/bin/env bash
# Sets up a fresh Debian machine and trains the docs' 784-256-128-10 MLP on MNIST (ReLU, Adam 1e-3,
# batch 64, 10 epochs). Extra arguments go to `bend train` (e.g. --act gelu --epochs 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash data/fetch-mnist.sh
bash scripts/build.sh
exec ./build/bend train --save mnist-mlp.safetensors "$@"
