// Which library runs LibTorch's CPU fp32 matrix products in this process.
//
// LibTorch sends mm/addmm (and so linear, matmul, and every backward pass built on them) to the
// system BLAS: OpenBLAS 0.3.21 on Debian 12, which has no kernels newer than Skylake-X and is told
// to run its Haswell (AVX2) ones on many machines. oneDNN's sgemm ships with LibTorch (libdnnl2 is
// one of its dependencies) and picks its kernels from the CPU it finds: AVX-512 where there is
// AVX-512, AVX2 where there is not. On a Zen 5 core that is twice OpenBLAS's rate for the shapes
// of these models; on an AVX2-only CPU the two are about equal (see docs/benchmarks.md).
//
// With the oneDNN backend, seqlab re-registers the CPU kernels of aten::mm and aten::addmm (the
// functional, out= and in-place forms) while a GemmBackendScope holds it: fp32 strided 2-D operands
// go to dnnl_sgemm, everything else (other dtypes, empty shapes) to LibTorch's own kernel. Values
// differ from the BLAS's by rounding only (another summation order); both are deterministic for a
// given thread count.
#pragma once

#include <string>

namespace seqlab {

enum class GemmBackend { blas, onednn };

// From SEQLAB_GEMM: unset or "onednn" -> onednn, "blas" -> blas; anything else is an InputError
// naming the valid values.
GemmBackend gemm_backend_from_environment();

// Holds `backend` for the whole process while it lives and puts back the one before it when it
// ends. Without any scope the process runs LibTorch's own kernels (blas). The CLI's main and the
// tests' main hold one for their lifetime (from SEQLAB_GEMM); `bench compare` holds blas around
// the measurement of the BLAS's rate. Scopes nest last-in first-out; none may begin or end while
// other threads run matrix products.
class GemmBackendScope {
 public:
  explicit GemmBackendScope(GemmBackend backend);
  ~GemmBackendScope();
  GemmBackendScope(const GemmBackendScope&) = delete;
  GemmBackendScope& operator=(const GemmBackendScope&) = delete;

 private:
  GemmBackend previous_;
};

GemmBackend gemm_backend();

// "onednn (avx512_core)" / "blas": the backend and, for oneDNN, the instruction set it runs.
std::string describe_gemm_backend();

}  // namespace seqlab
