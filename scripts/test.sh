#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every test: installs the packages, fetches MNIST (for the
# end-to-end tests), builds, runs ctest (unit tests, CLI tests, the install + find_package test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
bash data/fetch-mnist.sh
bash scripts/build.sh -DBEND_UNITY_TESTS=ON  # a fresh build: tests in unity batches (about half the CPU)
ctest --test-dir build --output-on-failure -j"$(nproc)"
