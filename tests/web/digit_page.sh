#!/usr/bin/env bash
# ctest web_digit_page: `bend export MODEL --web DIR` in headless Chromium. A small MLP (trained here with
# --standardize, so the exported graph standardises its input) is exported with --web; ten MNIST test digits
# are drawn onto the page's pad and the labels and probabilities it shows must be `bend predict --index N`'s;
# a 7 drawn with the mouse must read as 7; no console errors (tools/web/test/digit_page.mjs).
#   tests/web/digit_page.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
source "$source/tests/web/requirements.sh"
require_browser
[[ -f $source/tools/web/node_modules/onnxruntime-web/package.json ]] ||
  require "onnxruntime-web (tools/web/node_modules)" "bash scripts/install-deps.sh --test"
mnist=$source/data/mnist
[[ -f $mnist/t10k-images-idx3-ubyte ]] || require "MNIST ($mnist)" "bash data/fetch-mnist.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/bend_test_web_digit_page.XXXXXX")
trap 'rm -rf "$dir"' EXIT
bend=$build/bend
"$bend" train --epochs 1 --train-limit 20000 --test-limit 1000 --standardize --threads 1 --data-dir "$mnist" \
  --save "$dir/model.safetensors" --checkpoint-dir "$dir/checkpoints" >"$dir/train.log"
"$bend" export "$dir/model.safetensors" --web "$dir/page" >/dev/null
first=0 count=10 labels=()
for ((i = first; i < first + count; i++)); do
  labels+=("$("$bend" predict --model "$dir/model.safetensors" --index "$i" --data-dir "$mnist" |
    sed -n 's/^1\. class \([0-9]*\) *\([0-9.]*\)%.*/\1:\2/p')")
done
expect=$(IFS=,; echo "${labels[*]}")
node "$source/tools/web/test/digit_page.mjs" --dir "$dir/page" --images "$mnist/t10k-images-idx3-ubyte" \
  --first "$first" --expect "$expect" --screenshot "$build/web-digit-page.png"
