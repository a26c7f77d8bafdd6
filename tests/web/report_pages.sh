#!/usr/bin/env bash
# ctest web_report_pages: bend's HTML reports in headless Chromium, no console errors and every chart loaded
# with a non-zero size (tools/web/test/report_pages.mjs): a small `bend compare`'s index.html (written here),
# and `bend lab all --quick`'s index.html and guide.html (written by the ctest lab_all_quick, this test's
# fixture). The guide's screenshot goes to BUILD_DIR/web-lab-guide.png.
#   tests/web/report_pages.sh BUILD_DIR SOURCE_DIR LAB_DIR
set -euo pipefail
build=$1 source=$2 lab=$3
source "$source/tests/web/requirements.sh"
require_browser
mnist=$source/data/mnist
[[ -f $mnist/t10k-images-idx3-ubyte ]] || require "MNIST ($mnist)" "bash data/fetch-mnist.sh"
[[ -f $lab/index.html && -f $lab/guide.html ]] ||
  { echo "FAIL: no $lab/index.html and guide.html: the ctest lab_all_quick writes them" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/bend_test_web_report_pages.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$build/bend" compare --acts relu,gelu --epochs 1 --train-limit 2000 --test-limit 500 --threads 1 \
  --data-dir "$mnist" --out "$dir/compare" >"$dir/compare.log"
# PAGE:N: at least N charts. The compare report draws accuracy, loss, gradient norms and dead units; the lab
# page a chart per experiment that has one; the guide is a table.
node "$source/tools/web/test/report_pages.mjs" "$lab/guide.html:0" "$dir/compare/index.html:4" \
  "$lab/index.html:10" --screenshot "$build/web-lab-guide.png" --width 1200 --height 760
