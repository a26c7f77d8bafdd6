# Sourced by the browser tests: `require WHAT HOW` when something they need is missing. Outside CI the test
# is skipped (exit 77, which ctest reports as "Skipped"); under CI=true, which installs everything, it fails.
require() {
  if [[ ${CI:-} == true || ${CI:-} == 1 ]]; then
    echo "FAIL: $1 is missing, and CI=true runs every test: $2" >&2
    exit 1
  fi
  echo "SKIPPED: $1 is missing; $2"
  exit 77
}
# Chromium ($CHROMIUM or Debian's chromium) and Node.js.
require_browser() {
  command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 || require "Chromium" "bash scripts/install-deps.sh --test"
  command -v node >/dev/null 2>&1 || require "Node.js" "bash scripts/install-deps.sh --test"
}
