#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>

#include <ATen/ops/addmm_cpu_dispatch.h>
#include <ATen/ops/mm_cpu_dispatch.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/gemm.h"

using seqlab::GemmBackend;

namespace {

// The oneDNN backend for the test's duration, whatever SEQLAB_GEMM says; restored after.
struct OnednnBackend : seqlab::GemmBackendScope {
  OnednnBackend() : GemmBackendScope(GemmBackend::onednn) {}
};

// Every product checked against the same product in float64 (LibTorch's own kernel: the backend
// takes fp32 only), relative to the operands' scale.
void check_close(const torch::Tensor& got, const torch::Tensor& want64) {
  REQUIRE(got.sizes() == want64.sizes());
  REQUIRE(got.scalar_type() == torch::kFloat);
  const double scale = want64.abs().max().item<double>() + 1.0;
  CHECK((got.to(torch::kDouble) - want64).abs().max().item<double>() < 1e-5 * scale);
}

torch::Tensor d(const torch::Tensor& t) { return t.to(torch::kDouble); }

}  // namespace

TEST_CASE("oneDNN matrix products equal float64 ones for every operand layout") {
  OnednnBackend backend;
  torch::manual_seed(0);
  auto a = torch::randn({37, 53});
  auto b = torch::randn({53, 29});
  // row-major, transposed views, a slice with a leading dimension larger than its width, a
  // broadcast (stride 0) operand and a gathered one, all in both positions
  auto at = torch::randn({53, 37}).t();
  auto bt = torch::randn({29, 53}).t();
  auto wide = torch::randn({37, 80}).narrow(1, 10, 53);
  auto broadcast = torch::randn({1, 29}).expand({53, 29});
  auto gathered = torch::randn({53, 58}).index_select(1, torch::arange(0, 58, 2));
  for (const auto& left : {a, at, wide})
    for (const auto& right : {b, bt, broadcast, gathered}) {
      check_close(torch::mm(left, right), torch::mm(d(left), d(right)));
      check_close(torch::matmul(left, right), torch::mm(d(left), d(right)));
    }
  // the shapes a model has: one row, one column, depth one
  check_close(torch::mm(a.narrow(0, 0, 1), b), torch::mm(d(a.narrow(0, 0, 1)), d(b)));
  check_close(torch::mm(a, b.narrow(1, 0, 1)), torch::mm(d(a), d(b.narrow(1, 0, 1))));
  check_close(torch::mm(a.narrow(1, 0, 1), b.narrow(0, 0, 1)),
              torch::mm(d(a.narrow(1, 0, 1)), d(b.narrow(0, 0, 1))));
}

TEST_CASE("oneDNN addmm honours bias broadcasting, alpha, beta and beta 0 ignoring NaN") {
  OnednnBackend backend;
  torch::manual_seed(1);
  auto a = torch::randn({19, 31});
  auto b = torch::randn({31, 23});
  auto bias_row = torch::randn({23});
  auto bias_full = torch::randn({19, 23});
  auto bias_column = torch::randn({19, 1});
  for (const auto& bias : {bias_row, bias_full, bias_column, torch::randn({1})}) {
    check_close(torch::addmm(bias, a, b), torch::addmm(d(bias), d(a), d(b)));
    check_close(torch::addmm(bias, a, b, 0.5, -2.0), torch::addmm(d(bias), d(a), d(b), 0.5, -2.0));
  }
  auto nan = torch::full({19, 23}, std::numeric_limits<float>::quiet_NaN());
  auto product = torch::addmm(nan, a, b, 0.0, 1.0);
  CHECK_FALSE(product.isnan().any().item<bool>());
  check_close(product, torch::mm(d(a), d(b)));
  // linear, which is addmm with a transposed weight, and its gradients
  auto x = torch::randn({19, 31}, torch::requires_grad());
  auto w = torch::randn({23, 31}, torch::requires_grad());
  auto bias = torch::randn({23}, torch::requires_grad());
  auto y = torch::linear(x, w, bias);
  auto upstream = torch::randn({19, 23});
  y.backward(upstream);
  check_close(y, torch::linear(d(x), d(w), d(bias)));
  check_close(x.grad(), torch::mm(d(upstream), d(w)));
  check_close(w.grad(), torch::mm(d(upstream).t(), d(x)));
  check_close(bias.grad(), d(upstream).sum(0));
}

TEST_CASE("oneDNN out= and in-place products write where they are told") {
  OnednnBackend backend;
  torch::manual_seed(2);
  auto a = torch::randn({11, 7});
  auto b = torch::randn({7, 5});
  auto want = torch::mm(d(a), d(b));
  auto out = torch::empty({0});
  torch::mm_out(out, a, b);  // resized
  check_close(out, want);
  // an output whose rows are not contiguous (a transposed view) gets the values, not a copy
  auto storage = torch::zeros({5, 11});
  auto transposed = storage.t();
  torch::mm_out(transposed, a, b);
  check_close(storage.t(), want);
  auto c = torch::randn({11, 5});
  auto want_add = torch::addmm(d(c), d(a), d(b), 0.25, 3.0);
  c.addmm_(a, b, 0.25, 3.0);
  check_close(c, want_add);
  auto column_view = torch::randn({5, 11});
  auto view = column_view.t();
  auto want_view = torch::addmm(d(view), d(a), d(b));
  view.addmm_(a, b);
  check_close(column_view.t(), want_view);
  auto target = torch::empty({11, 5});
  auto bias = torch::randn({5});
  torch::addmm_out(target, bias, a, b);
  check_close(target, torch::addmm(d(bias), d(a), d(b)));
}

TEST_CASE("oneDNN products leave other dtypes, empty shapes and shape errors to LibTorch") {
  OnednnBackend backend;
  auto a = torch::ones({3, 4}, torch::kDouble);
  CHECK(torch::mm(a, torch::ones({4, 2}, torch::kDouble)).sum().item<double>() == 24.0);
  CHECK(torch::mm(torch::ones({3, 0}), torch::ones({0, 2})).sum().item<float>() == 0.0f);
  CHECK(torch::mm(torch::ones({0, 4}), torch::ones({4, 2})).sizes() == torch::IntArrayRef({0, 2}));
  CHECK_THROWS_WITH(torch::mm(torch::ones({3, 4}), torch::ones({5, 2})),
                    Catch::Contains("cannot be multiplied"));
}

TEST_CASE("backend scopes switch both ways, nest, and put back the backend before them") {
  const GemmBackend before = seqlab::gemm_backend();
  auto a = torch::randn({64, 64});
  torch::Tensor blas;
  {
    seqlab::GemmBackendScope outer(GemmBackend::blas);
    CHECK(seqlab::describe_gemm_backend() == "blas");
    blas = torch::mm(a, a);
    CHECK(torch::equal(blas, at::cpu::mm(a, a)));
    {
      seqlab::GemmBackendScope inner(GemmBackend::onednn);
      seqlab::GemmBackendScope again(GemmBackend::onednn);  // holding it twice changes nothing
      CHECK_THAT(seqlab::describe_gemm_backend(), Catch::StartsWith("onednn ("));
      CHECK(torch::allclose(torch::mm(a, a), blas, 1e-4, 1e-4));
    }
    CHECK(seqlab::gemm_backend() == GemmBackend::blas);
    CHECK(torch::equal(torch::mm(a, a), blas));  // LibTorch's own kernel is back
  }
  CHECK(seqlab::gemm_backend() == before);

  const char* saved = std::getenv("SEQLAB_GEMM");
  std::string keep = saved ? saved : "";
  setenv("SEQLAB_GEMM", "mkl", 1);
  CHECK_THROWS_WITH(seqlab::gemm_backend_from_environment(), Catch::Contains("SEQLAB_GEMM=mkl") &&
                                                                 Catch::Contains("onednn") &&
                                                                 Catch::Contains("blas"));
  setenv("SEQLAB_GEMM", "blas", 1);
  CHECK(seqlab::gemm_backend_from_environment() == GemmBackend::blas);
  unsetenv("SEQLAB_GEMM");
  CHECK(seqlab::gemm_backend_from_environment() == GemmBackend::onednn);
  if (saved) setenv("SEQLAB_GEMM", keep.c_str(), 1);
}
