#!/usr/bin/env bash
# Fuzzes the safetensors reader with libFuzzer (Debian's clang 14,
# -fsanitize=fuzzer,address,undefined) in its own build directory.
#   FUZZ_SECONDS   run time in seconds (default 600 = 10 minutes)
#   FUZZ_BUILD     build directory (default build-fuzz)
#   FUZZ_NICE      nice level (default 10; the machine is shared)
# The committed seeds (tests/fuzz/corpus) are copied into a working corpus
# under the build directory; new inputs found stay there. A crash leaves its
# input in $FUZZ_BUILD/artifacts/ and makes this script fail: add it to
# tests/fuzz/corpus/ once fixed, so that the sanitizer replay in `make test`
# keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-600}
build=${FUZZ_BUILD:-build-fuzz}
nice_level=${FUZZ_NICE:-10}

CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSKINGEN_FUZZ=ON \
  -DSKINGEN_TESTS=OFF --log-level=WARNING
cmake --build "$build" --target fuzz_safetensors -j "$(nproc)"

mkdir -p "$build/corpus" "$build/artifacts"
cp -n tests/fuzz/corpus/* "$build/corpus/" 2>/dev/null || true
log="$build/fuzz.log"
echo "fuzzing the safetensors reader for ${seconds}s (log: $log)"
status=0
nice -n "$nice_level" "$build/tests/fuzz/fuzz_safetensors" "$build/corpus" \
  -dict=tests/fuzz/safetensors.dict -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/" >"$log" 2>&1 || status=$?
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)' "$log" || true
execs=$(grep -oP '^stat::number_of_executed_units: \K[0-9]+' "$log" || echo "?")
echo "executions: $execs in ${seconds}s; working corpus: $(ls "$build/corpus" | wc -l) inputs"
if [ "$status" -ne 0 ]; then
  echo "fuzzer found a problem (exit $status); see $log and $build/artifacts/" >&2
  tail -n 40 "$log" >&2
  exit "$status"
fi
echo "no crash, leak, timeout or sanitizer report"
