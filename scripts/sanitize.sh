#!/usr/bin/env bash
# Builds seqlab and its tests with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/)
# and runs every test but the learning ones (Catch tag [learning]: they train models for minutes,
# which the sanitizers slow several-fold, and exercise no reader the others do not). A sanitizer
# report fails the test that triggered it. Leak detection is off: LibTorch keeps allocations for
# the life of the process on purpose. docs/security.md gives the last result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
generator=()
if command -v ninja > /dev/null; then generator=(-G Ninja); fi
if [ ! -f build-asan/CMakeCache.txt ]; then
  cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 -DSEQLAB_SANITIZE=ON
fi
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export SEQLAB_DATA="$PWD/build-asan/test-data-cache"
status=0
for area in core tokenizers data models eval train runner apps; do
  echo "sanitize: test_$area" >&2
  ./build-asan/bin/test_"$area" "~[learning]" --warn NoTests > "build-asan/test_$area.log" 2>&1 || {
    status=1
    echo "sanitize: test_$area FAILED (build-asan/test_$area.log):" >&2
    grep -E "ERROR: AddressSanitizer|runtime error|FAILED|test cases" "build-asan/test_$area.log" | head -20 >&2
  }
  grep -E "^test cases|^All tests passed" "build-asan/test_$area.log" >&2 || true
done
exit $status
