#!/usr/bin/env bash
# Measures how far the outcomes of the learning tests (the tests tagged [learning]: tiny models
# trained on copy, reverse and long-dependency tasks) move with things that must not matter: the
# seed, the CPU kernel paths LibTorch and OpenBLAS pick, and the number of threads. Each setting
# runs the test binaries once; every learning test prints one "learning: <test> key=value" line,
# and the table at the end has a row per setting. The thresholds in the tests sit below the worst
# case this measures (docs/development.md, "Tests").
#
#   bash scripts/learning-spread.sh [--jobs N] [--seeds N] [--out FILE]
#
# Needs a built tree (scripts/build.sh). Settings run N at a time (default: half the cores, each
# single-threaded test run using one core).
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(( ($(nproc) + 1) / 2 ))
seeds=5
out=build/learning-spread.md
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--jobs N] [--seeds N] [--out FILE]" >&2; exit 2 ;;
  esac
done

binaries=(build/bin/test_models)
for binary in "${binaries[@]}"; do
  [ -x "$binary" ] || { echo "learning-spread: $binary is missing; run scripts/build.sh first" >&2; exit 2; }
done

# name|environment (space-separated assignments)
settings=()
for ((seed = 0; seed < seeds; ++seed)); do settings+=("seed $seed|SEQLAB_TEST_SEED=$seed"); done
settings+=(
  "threads 2|SEQLAB_TEST_THREADS=2"
  "ATen default (no SIMD)|ATEN_CPU_CAPABILITY=default"
  "ATen avx2|ATEN_CPU_CAPABILITY=avx2"
  "oneDNN avx2|ONEDNN_MAX_CPU_ISA=AVX2"
  "products on OpenBLAS Haswell|SEQLAB_GEMM=blas OPENBLAS_CORETYPE=Haswell"
  "products on OpenBLAS Zen|SEQLAB_GEMM=blas OPENBLAS_CORETYPE=Zen"
  "products on OpenBLAS SkylakeX|SEQLAB_GEMM=blas OPENBLAS_CORETYPE=SkylakeX"
  "products on OpenBLAS Sandybridge|SEQLAB_GEMM=blas OPENBLAS_CORETYPE=Sandybridge"
  "AVX2 machine (ATen avx2, oneDNN AVX2, OpenBLAS Haswell)|ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell"
  "seed 1, ATen default, 2 threads|SEQLAB_TEST_SEED=1 ATEN_CPU_CAPABILITY=default SEQLAB_TEST_THREADS=2"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run_setting() {
  local index="$1" name="${2%%|*}" assignments="${2#*|}"
  local log="$work/$index.log"
  for binary in "${binaries[@]}"; do
    # A failing check must not stop the measurement: the table shows the numbers either way.
    env $assignments "$binary" "[learning]" > "$log.$(basename "$binary")" 2>&1 || echo "FAILED $binary" >> "$log"
    grep '^learning: ' "$log.$(basename "$binary")" >> "$log" || true
  done
  echo "learning-spread: done: $name" >&2
}

index=0
for setting in "${settings[@]}"; do
  run_setting "$index" "$setting" &
  index=$((index + 1))
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
wait

{
  echo "# Learning-test outcomes by setting"
  echo
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores;" \
       "$(date -u +%Y-%m-%d)"
  echo
  index=0
  for setting in "${settings[@]}"; do
    echo "## ${setting%%|*}"
    echo '`'"${setting#*|}"'`'
    echo
    sed 's/^learning: /- /; s/^FAILED /- **FAILED** /' "$work/$index.log"
    echo
    index=$((index + 1))
  done
} > "$out"
cat "$out"
if grep -q '^FAILED' "$work"/*.log; then
  echo "learning-spread: some setting failed a check (marked above)" >&2
  exit 1
fi
