// Catch2's main, compiled once for every test binary. The tests run on the matrix-product backend
// the CLI runs on (core/gemm.h: oneDNN unless SEQLAB_GEMM=blas).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "core/gemm.h"

int main(int argc, char** argv) {
  seqlab::GemmBackendScope gemm(seqlab::gemm_backend_from_environment());
  return Catch::Session().run(argc, argv);
}
