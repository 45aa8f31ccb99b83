// int8 weights: the GEMM against fp32 (exact on representable values, within a stated error on
// random and trained-like weights), and the registration that routes linear layers to it.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/error.h"
#include "core/int8_gemm.h"

namespace {

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got - want).norm().item<double>() / want.norm().item<double>();
}

}  // namespace

TEST_CASE("int8 GEMM is exact when weights and activations sit on the quantization grid") {
  // Weight rows reach +-127 (scale 1), activation rows span 0..127 (scale 1, zero point 0): every
  // value is its own code, so the int32 sums are the products exactly (below 2^24 in fp32).
  torch::manual_seed(1);
  auto weight = torch::randint(-127, 128, {48, 40}).to(torch::kFloat);
  weight.select(1, 0).fill_(127);
  auto x = torch::randint(0, 128, {9, 40}).to(torch::kFloat);
  x.select(1, 1).fill_(0);
  x.select(1, 2).fill_(127);
  auto bias = torch::randn({48});
  auto q = seqlab::quantize_rows(weight);
  CHECK(q.values.scalar_type() == torch::kInt8);
  CHECK(torch::equal(q.values.to(torch::kFloat), weight));
  auto y = seqlab::int8_linear(x, q, bias);
  CHECK(torch::equal(y - bias, torch::mm(x, weight.t())));
}

TEST_CASE("int8 GEMM is within 2% of fp32 on random matrices, and handles negative rows") {
  torch::manual_seed(2);
  for (int64_t m : {1, 7, 64}) {
    auto weight = torch::randn({256, 128}) * 0.1;
    auto x = torch::randn({m, 128});  // signed activations: a zero point inside the row's range
    auto bias = torch::randn({256});
    auto want = torch::addmm(bias, x, weight.t());
    auto got = seqlab::int8_linear(x, seqlab::quantize_rows(weight), bias);
    INFO("rows " << m << ": relative error " << relative_error(got, want));
    CHECK(relative_error(got, want) < 0.02);
  }
  // Rows of one sign only (after a ReLU, or all negative) and an all-zero row.
  auto weight = torch::randn({32, 64});
  auto x = torch::cat({torch::rand({2, 64}), -torch::rand({2, 64}), torch::zeros({1, 64})});
  auto got = seqlab::int8_linear(x, seqlab::quantize_rows(weight));
  auto want = torch::mm(x, weight.t());
  CHECK(relative_error(got, want) < 0.02);
  CHECK(got[4].abs().max().item<float>() == 0.0f);
}

TEST_CASE("int8 weights route a module's linear products while they live, inference only") {
  torch::manual_seed(3);
  torch::nn::Linear linear(64, 32);
  torch::nn::GRUCell cell(32, 16);
  auto x = torch::randn({5, 64});
  auto h = torch::randn({5, 16});
  torch::Tensor fp32, fp32_cell;
  {
    torch::InferenceMode inference;
    fp32 = linear(x);
    fp32_cell = cell(fp32, h);
  }
  {
    seqlab::Int8Weights int8(*linear);
    seqlab::Int8Weights cell_int8(*cell);
    CHECK(int8.matrices() == 1);       // the weight; the bias is 1-D
    CHECK(cell_int8.matrices() == 2);  // input-to-hidden and hidden-to-hidden
    CHECK(int8.int8_bytes() < int8.fp32_bytes() / 3);
    torch::InferenceMode inference;
    auto y = linear(x);
    CHECK(torch::equal(
        y, seqlab::int8_linear(x, seqlab::quantize_rows(linear->weight), linear->bias)));
    CHECK(!torch::equal(y, fp32));
    CHECK(relative_error(y, fp32) < 0.02);
    // Batched [B, T, K] inputs fold into one product and take the same path.
    auto batched = linear(x.unsqueeze(0).expand({2, 5, 64}).contiguous());
    CHECK(torch::equal(batched[1], y));
    CHECK(relative_error(cell(y, h), fp32_cell) < 0.03);
  }
  {
    seqlab::Int8Weights int8(*linear);
    // With gradients recorded (training), products stay fp32.
    auto trained = linear(x);
    CHECK(trained.requires_grad());
    {
      torch::NoGradGuard no_grad;
      CHECK(torch::allclose(trained, fp32, 1e-5, 1e-6));
    }
    // A weight changed in place after quantization is no longer the registered one: fp32 again.
    {
      torch::NoGradGuard no_grad;
      linear->weight.mul_(2.0);
      auto doubled = linear(x);
      CHECK(torch::allclose(doubled - linear->bias, 2.0 * (fp32 - linear->bias), 1e-4, 1e-5));
      linear->weight.div_(2.0);
    }
  }
  // Gone with its owner: fp32 again.
  torch::InferenceMode inference;
  CHECK(torch::allclose(linear(x), fp32, 1e-5, 1e-6));
}

TEST_CASE("precision names are fp32 and int8, anything else is an input error naming both") {
  CHECK(seqlab::parse_precision("fp32") == seqlab::Precision::fp32);
  CHECK(seqlab::parse_precision("int8") == seqlab::Precision::int8);
  CHECK_THROWS_WITH(seqlab::parse_precision("int4"),
                    Catch::Contains("fp32") && Catch::Contains("int8"));
  CHECK_THAT(seqlab::describe_int8_path(), Catch::StartsWith("int8 ("));
}
