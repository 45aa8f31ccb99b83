// Process-wide runtime settings: thread count and the BLAS check. LibTorch starts with one thread
// here and links whatever libblas.so.3 the system alternative points to; Debian's reference BLAS
// is ~50x slower than OpenBLAS, so seqlab measures a GEMM and warns when it finds itself on it.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace seqlab {

// Sets torch's intra-op threads; 0 means all cores. Returns the count in effect.
int configure_threads(int threads);

struct BlasReport {
  std::string library;  // the libblas actually mapped into this process
  double gflops = 0;    // measured fp32 GEMM throughput at the current thread count
  bool slow = false;
};

// Measures a 384^3 fp32 GEMM (a few ms) and reports which BLAS is loaded.
BlasReport check_blas();

// fp32 GEMM throughput at the current thread count: the best of `repeats` n x n x n products, in
// GFLOP/s. The machine's own ceiling for the dense work of a model (benchmarks report a share of
// it).
double gemm_gflops(int64_t n = 1024, int repeats = 5);

// The machine a measurement ran on: CPU model and SIMD flags, cores and threads, the BLAS (library
// file, OpenBLAS's core and build config), the kernel level ATen dispatches to, and the
// environment variables that override either (OPENBLAS_CORETYPE, ATEN_CPU_CAPABILITY, ...).
nlohmann::json describe_machine();

// check_blas() once per process, printing a warning with the fix when the BLAS is slow.
void warn_if_slow_blas();

}  // namespace seqlab
