#!/usr/bin/env bash
# Fuzzes every reader of untrusted bytes with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer (fuzz/: one harness per reader, seed corpora in fuzz/corpus/), then
# prints the table docs/security.md shows: harness, executions, seconds, findings.
#
#   bash scripts/fuzz.sh                   every harness, 1,000,000 executions each
#   bash scripts/fuzz.sh --runs 100000     fewer
#   bash scripts/fuzz.sh midi_fuzzer ...   some harnesses only
#
# A finding (a crash, a sanitizer report, a leak, an exception other than seqlab::InputError
# escaping) stops that harness and leaves its input in build-fuzz/findings/<harness>/. Runs
# several harnesses at once, one per core. Installs clang's fuzzing runtime (Debian) if needed.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=1000000
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
missing=()
for package in clang libclang-rt-14-dev ninja-build cmake nlohmann-json3-dev libfmt-dev libstb-dev libpng-dev libturbojpeg0-dev; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then missing+=("$package"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
fi
cmake --build build-fuzz -j "$(nproc)" >&2

if [ ${#harnesses[@]} -eq 0 ]; then
  for binary in build-fuzz/*_fuzzer; do harnesses+=("$(basename "$binary")"); done
fi

run_one() {
  local harness="$1" runs="$2"
  local work="build-fuzz/work/$harness" findings="build-fuzz/findings/$harness" log="build-fuzz/logs/$harness.log"
  rm -rf "$work" "$findings"
  mkdir -p "$work" "$findings" build-fuzz/logs
  local started status=0
  started=$(date +%s%N)
  # -timeout: an input that takes over 10 s is a finding too; -rss_limit_mb: so is one that needs 2 GB.
  (cd "$findings" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "../../$harness" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
     "../../work/$harness" "../../../fuzz/corpus/$harness") > "$log" 2>&1 || status=$?
  local seconds executions found
  seconds=$(( ($(date +%s%N) - started) / 1000000000 ))
  executions=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$" || echo 0)
  found=$(find "$findings" -type f | wc -l)
  if [ "$status" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi
  printf "| %s | %s | %s | %s |\n" "$harness" "$executions" "$seconds" "$found"
}
export -f run_one

echo "| harness | executions | seconds | findings |"
echo "|---|---:|---:|---:|"
printf "%s\n" "${harnesses[@]}" | xargs -P "$(nproc)" -I{} bash -c 'run_one "$@"' _ {} "$runs"
echo "(logs in build-fuzz/logs/, crashing inputs in build-fuzz/findings/)" >&2
