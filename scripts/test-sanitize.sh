#!/usr/bin/env bash
# Builds the library, the CLI, the tests and the fuzz replays with AddressSanitizer and
# UndefinedBehaviorSanitizer (-DBEND_SANITIZE=ON, -O1, no benchmarks) in build-sanitize/ and runs the
# whole ctest suite under them. Any sanitizer report stops the test that triggered it
# (-fno-sanitize-recover), so it fails. Run scripts/test.sh first (dependencies, MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-sanitize -DBEND_SANITIZE=ON -DBEND_UNITY_TESTS=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1" \
  -DBEND_BUILD_BENCH=OFF >/dev/null
# Only what ctest runs: the tests, the CLI they drive and the fuzz replays (no examples, no benchmarks).
targets=(bend_tests bend_cli
  fuzz_replay_idx fuzz_replay_idx_gz fuzz_replay_safetensors fuzz_replay_model fuzz_replay_pgm fuzz_replay_checkpoint fuzz_replay_text)
# With ONNX (BEND_ONNX, on when Debian's libonnx-dev is found): its tests and the .onnx reader's replays.
# bend's side is instrumented; Debian's libonnx and protobuf are not, and ASan's allocator covers them
# (protobuf's memory handed to bend is checked, protobuf's own loops are not).
if grep -q '^BEND_ONNX:BOOL=ON' build-sanitize/CMakeCache.txt; then targets+=(bend_onnx_tests fuzz_replay_onnx); fi
cmake --build build-sanitize -j"$(nproc)" --target "${targets[@]}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Processes under mpirun: Open MPI loads its components with dlopen and unloads them at MPI_Finalize,
# so LeakSanitizer reports their allocations from "<unknown module>" frames that no suppression can
# name. Those tests run with ASan and UBSan but without the leak check; every other test keeps it.
mpi_tests='mpirun|^ddp:|^dist:'
# The README's commands run in the Release build (scripts/test.sh); the examples they use are not built here.
# The table regeneration and the quick lab run drive the same lab code as the `lab claims:` cases, which do
# run here; under ASan they would add minutes and no code path, so they too run in the Release build only,
# as do the browser tests (web_*: their code under test is JavaScript, and one needs lab_all_quick's pages).
readme_tests='^readme_commands$|^regenerate_tables$|^lab_all_quick$|^chaos_quick$|^web_'
status=0
ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)" -E "$mpi_tests|$readme_tests" || status=1
ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}" \
  ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)" -R "$mpi_tests" || status=1
exit $status
