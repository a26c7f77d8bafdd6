#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan + UBSan) in build-fuzz/ and runs each of them
# for SECONDS (default 60), one after another, on one core at the lowest priority.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 600 safetensors model
#   FUZZ_RUNS=10000000 scripts/fuzz.sh         each target for that many executions instead of a time
#                                              (the corpus is kept, so a second call adds to the first)
#
# Each target starts from its seed corpus (fuzz/corpus/<target>, copied into build-fuzz/corpus so the
# committed corpus stays small). A finding is a crash, a sanitizer report, an input running longer
# than 10 s, more than 2 GB of memory, or an exception that is not bend's own; libFuzzer writes the
# input to build-fuzz/findings/<target>/. Fix the bug, then commit the input to
# fuzz/regressions/<target>/ so that the fuzz_replay_<target> ctest replays it in every build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(idx idx_gz safetensors model pgm checkpoint text)
  # The .onnx reader, when bend builds with ONNX (Debian's libonnx-dev and libprotobuf-dev).
  [[ -f /usr/include/onnx/onnx_pb.h ]] && targets+=(onnx)
fi

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 1; }
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DBEND_FUZZ=ON \
  -DBEND_BUILD_TESTS=OFF -DBEND_BUILD_APPS=OFF -DBEND_BUILD_BENCH=OFF >/dev/null
nice -n 19 cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

limit=(-max_total_time="$seconds") length="${seconds}s"
[[ -n ${FUZZ_RUNS:-} ]] && limit=(-runs="$FUZZ_RUNS") length="$FUZZ_RUNS executions"

status=0
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target findings=build-fuzz/findings/$target
  mkdir -p "$corpus" "$findings"
  cp -n fuzz/corpus/"$target"/* "$corpus"/
  echo "fuzz.sh: $target for $length"
  log=build-fuzz/fuzz_$target.log
  if ! nice -n 19 build-fuzz/fuzz/fuzz_"$target" "$corpus" "${limit[@]}" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings"/ \
    >"$log" 2>&1; then
    echo "fuzz.sh: $target FOUND A BUG; the input is in $findings/, the report in $log" >&2
    grep -m1 -E "ERROR|SUMMARY|terminate|deadly" "$log" >&2 || true
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | sed "s/^/fuzz.sh: $target /"
done
exit $status
