#!/usr/bin/env bash
# Builds the library, the CLI, the tests and the fuzz replays with AddressSanitizer and
# UndefinedBehaviorSanitizer (-DBEND_SANITIZE=ON, -O1, no benchmarks) in build-sanitize/ and runs the
# whole ctest suite under them. Any sanitizer report stops the test that triggered it
# (-fno-sanitize-recover), so it fails. Run scripts/test.sh first (dependencies, MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-sanitize -DBEND_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1" \
  -DBEND_BUILD_BENCH=OFF >/dev/null
cmake --build build-sanitize -j"$(nproc)"
# BEND_SANITIZED=1: the slow end-to-end tests take their shorter path (tests/test_cli.cpp).
export BEND_SANITIZED=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)"
