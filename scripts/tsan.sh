#!/usr/bin/env bash
# ThreadSanitizer over the code that runs on several threads: bend's thread pool (parallel_for, split
# products and layers, ThreadBudget), training on 2 threads, the data-parallel gradient buckets, and
# `compare --jobs 2` (runs on threads of their own, each with its own pool). Builds bend_tests with
# -fsanitize=thread in build-tsan/ (Debug at -O1; without MPI, whose runtime TSan cannot see into, so
# the multi-process cases stay with the ASan run) and runs those tests. Prints its time.
#
#   scripts/tsan.sh            CI leaves it out (it costs a whole build); it runs before each release.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g -fsanitize=thread" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DBEND_MPI=OFF -DBEND_UNITY_TESTS=ON -DBEND_BUILD_BENCH=OFF \
  -DBEND_BUILD_APPS=OFF >/dev/null
cmake --build build-tsan -j"$(nproc)" --target bend_tests
built=$(date +%s)
# halt_on_error: the first race fails the run. OpenBLAS's own threads are not instrumented: one thread.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export OPENBLAS_NUM_THREADS=1
build-tsan/tests/bend_tests "[parallel],[ddp]~[mpi],[sweep]~[cli]~[mpi],[trainer]" --order decl
end=$(date +%s)
echo "tsan.sh: build $((built - start)) s, tests $((end - built)) s"
