// One test set run over every registered positional encoding and every norm, so a new one is
// tested for free: shapes, finite-difference gradients in double precision, determinism.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/config.h"
#include "models/attention/multi_head.h"
#include "models/norm/norm.h"
#include "models/positional/positional.h"

using seqlab::Config;
using seqlab::Json;

namespace {

const Config& default_config() {
  static Config config = Config::from_json(Json::object());
  return config;
}

constexpr int64_t kDim = 8, kHeads = 2;

// Self-attention with the given positional encoding, in double precision: x [B, T, D] at
// positions [B|1, T] -> [B, T, D]. Exercises all three hooks (embed, rotate, score_bias).
struct PositionedAttention {
  seqlab::PositionalEncoding positions;
  seqlab::MultiHeadAttention attention{nullptr};
  bool causal;
  PositionedAttention(const std::string& name, bool causal_) : causal(causal_) {
    torch::manual_seed(21);
    positions =
        seqlab::positional_registry().create(name, {default_config(), kDim, kHeads, causal});
    seqlab::MultiHeadOptions options;
    options.model_dim = options.key_dim = kDim;
    options.heads = kHeads;
    options.self_attention = true;
    attention = seqlab::MultiHeadAttention(options, positions);
    positions->to(torch::kDouble);
    attention->to(torch::kDouble);
  }
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& p) {
    auto h = positions->embed(x, p);
    seqlab::KeyValues kv{{}, {}, p, {}};
    return attention->self_attention(h, p, kv, causal);
  }
  // The same through the separate key/value and query paths (as cross-attention uses them).
  torch::Tensor unfused(const torch::Tensor& x, const torch::Tensor& p) {
    auto h = positions->embed(x, p);
    return attention->forward(h, p, attention->key_values(h, p, {}), causal);
  }
};

// Central differences of sum(f() * probe) against autograd for every entry of each tensor.
void check_gradients(const std::function<torch::Tensor()>& f, std::vector<torch::Tensor> tensors) {
  auto probe = f().detach().clone().normal_();
  for (auto& t : tensors)
    if (t.grad().defined()) t.grad().zero_();
  (f() * probe).sum().backward();
  const double eps = 1e-6;
  torch::NoGradGuard no_grad;
  for (auto& t : tensors) {
    auto flat = t.view(-1);
    auto grad = t.grad().view(-1);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      double original = flat[i].item<double>();
      flat[i] = original + eps;
      double plus = (f() * probe).sum().item<double>();
      flat[i] = original - eps;
      double minus = (f() * probe).sum().item<double>();
      flat[i] = original;
      CHECK(grad[i].item<double>() == Approx((plus - minus) / (2 * eps)).margin(1e-6));
    }
  }
}

}  // namespace

TEST_CASE("every positional encoding: shapes, gradients by finite differences, determinism") {
  for (const auto& name : seqlab::positional_registry().names()) {
    for (bool causal : {false, true}) {
      DYNAMIC_SECTION(name << (causal ? " (decoder)" : " (encoder)")) {
        PositionedAttention a(name, causal);
        auto x = torch::randn({2, 5, kDim}, torch::kDouble).requires_grad_(true);
        auto p = torch::arange(5, torch::kLong).unsqueeze(0) +
                 torch::tensor({{0}, {3}}, torch::kLong);  // [2, 5]
        auto y = a(x, p);
        CHECK(y.sizes() == x.sizes());
        CHECK(torch::equal(y, a(x, p)));
        CHECK(torch::allclose(y, a.unfused(x, p), 1e-12, 1e-12));
        PositionedAttention again(name, causal);
        CHECK(torch::equal(y, again(x, p)));
        auto bias = a.positions->score_bias(p, p);
        if (bias.defined()) CHECK(bias.sizes() == torch::IntArrayRef({2, kHeads, 5, 5}));
        auto rotated =
            a.positions->rotate(torch::randn({2, kHeads, 5, kDim / kHeads}, torch::kDouble), p);
        CHECK(rotated.sizes() == torch::IntArrayRef({2, kHeads, 5, kDim / kHeads}));
        std::vector<torch::Tensor> tensors = {x};
        for (auto& parameter : a.positions->parameters()) tensors.push_back(parameter);
        check_gradients([&] { return a(x, p); }, tensors);
      }
    }
  }
}

TEST_CASE(
    "multi-head attention rejects heads that do not divide the width, and narrower self-attention "
    "keys") {
  seqlab::MultiHeadOptions options;
  options.model_dim = 10;
  options.key_dim = 10;
  options.heads = 4;
  CHECK_THROWS_WITH(seqlab::MultiHeadAttention(options, nullptr),
                    Catch::Matchers::Contains("d_model = 10 is not divisible by heads = 4"));
  options.heads = 2;
  options.key_dim = 6;
  options.self_attention = true;
  CHECK_THROWS_WITH(
      seqlab::MultiHeadAttention(options, nullptr),
      Catch::Matchers::Contains("self-attention needs keys as wide as queries, got 6 and 10"));
}

TEST_CASE("rotary, ALiBi and T5 relative scores depend only on the offset between positions") {
  torch::manual_seed(22);
  auto q = torch::randn({1, kHeads, 1, kDim / kHeads}, torch::kDouble);
  auto k = torch::randn({1, kHeads, 1, kDim / kHeads}, torch::kDouble);
  auto at = [](int64_t position) { return torch::full({1, 1}, position, torch::kLong); };
  SECTION("rotary: q_m . k_n is a function of m - n") {
    auto rotary =
        seqlab::positional_registry().create("rotary", {default_config(), kDim, kHeads, false});
    auto score = [&](int64_t m, int64_t n) {
      return (rotary->rotate(q, at(m)) * rotary->rotate(k, at(n))).sum().item<double>();
    };
    CHECK(score(3, 1) == Approx(score(10, 8)).epsilon(1e-9));
    CHECK(score(0, 7) == Approx(score(100, 107)).epsilon(1e-9));
    CHECK(score(3, 1) != Approx(score(3, 2)).epsilon(1e-6));  // but it does depend on the offset
  }
  for (const std::string name : {"alibi", "relative"}) {
    DYNAMIC_SECTION(name << ": the bias is a function of key - query") {
      auto encoding =
          seqlab::positional_registry().create(name, {default_config(), kDim, kHeads, false});
      auto positions = torch::arange(12, torch::kLong).unsqueeze(0);
      auto bias = encoding->score_bias(positions, positions)[0];  // [H, 12, 12]
      auto shifted = encoding->score_bias(positions + 37, positions + 37)[0];
      CHECK(torch::allclose(bias, shifted));
      for (int64_t i = 1; i < 12; ++i)  // constant along every diagonal
        CHECK(torch::allclose(bias.select(1, i).narrow(-1, 1, 11),
                              bias.select(1, i - 1).narrow(-1, 0, 11)));
      CHECK_FALSE(torch::allclose(bias.select(1, 5), bias.select(1, 4)));
    }
  }
  SECTION("alibi slopes follow Press et al. for 8 heads") {
    auto alibi = seqlab::positional_registry().create("alibi", {default_config(), 16, 8, false});
    auto bias = alibi->score_bias(at(0), at(1))[0].flatten();  // offset 1: -slope of each head
    for (int64_t h = 0; h < 8; ++h) CHECK(-bias[h].item<float>() == Approx(std::pow(0.5, h + 1)));
  }
}

TEST_CASE("every norm: shapes, gradients by finite differences, determinism") {
  for (const auto& name : seqlab::norm_registry().names()) {
    DYNAMIC_SECTION(name) {
      torch::manual_seed(23);
      auto norm = seqlab::norm_registry().create(name, {default_config(), 6});
      norm->to(torch::kDouble);
      {
        torch::NoGradGuard no_grad;  // move the parameters off their initial values
        for (auto& p : norm->parameters()) p.add_(torch::randn_like(p) * 0.1);
      }
      auto x = (torch::randn({3, 4, 6}, torch::kDouble) * 2).requires_grad_(true);
      auto y = norm(x);
      CHECK(y.sizes() == x.sizes());
      CHECK(torch::equal(y, norm(x)));
      std::vector<torch::Tensor> tensors = {x};
      for (auto& p : norm->parameters()) tensors.push_back(p);
      check_gradients([&] { return norm(x); }, tensors);
    }
  }
}

TEST_CASE("norms compute what their papers define") {
  torch::manual_seed(24);
  auto x = torch::randn({5, 32}) * 3 + 1;
  auto make = [](const std::string& name, Json overrides = Json::object()) {
    static std::vector<Config> keep;
    keep.push_back(Config::from_json(Json{{"model", {{"norm", overrides}}}}));
    return seqlab::norm_registry().create(name, {keep.back(), 32});
  };
  auto ln = make("layer_norm")(x);
  CHECK(ln.mean(-1).abs().max().item<float>() < 1e-5);
  CHECK(torch::allclose(ln.var(-1, /*unbiased=*/false), torch::ones({5}), 1e-3, 1e-3));
  auto rms = make("rms_norm")(x);
  CHECK(torch::allclose(rms.pow(2).mean(-1), torch::ones({5}), 1e-3, 1e-3));
  auto dyt = make("dyt", {{"dyt_alpha", 0.7}})(x);
  CHECK(torch::allclose(dyt, torch::tanh(0.7 * x), 1e-6, 1e-6));
  CHECK(seqlab::norm_registry().names() ==
        std::vector<std::string>{"dyt", "layer_norm", "rms_norm"});
}
