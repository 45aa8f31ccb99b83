// One set of checks run over every registered scorer, so a new variant is tested for free.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "models/attention/attention.h"
#include "models/attention/scorer.h"

using seqlab::scorer_registry;

namespace {

const int64_t kQueryDim = 6, kKeyDim = 6, kHidden = 5;

seqlab::Scorer make(const std::string& name, torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(11);
  auto scorer = scorer_registry().create(name, seqlab::ScorerDims{kQueryDim, kKeyDim, kHidden});
  scorer->to(dtype);
  return scorer;
}

torch::Tensor key_mask(const std::vector<int64_t>& lengths, int64_t max_length) {
  auto lens = torch::tensor(lengths);
  return torch::arange(max_length).unsqueeze(0) < lens.unsqueeze(1);  // [B, Tk]
}

}  // namespace

TEST_CASE("every scorer gives [B, Tq, Tk] scores and attention rows that sum to one") {
  for (const auto& name : scorer_registry().names()) {
    DYNAMIC_SECTION(name) {
      auto scorer = make(name);
      auto q = torch::randn({3, 4, kQueryDim});
      auto k = torch::randn({3, 7, kKeyDim});
      auto scores = scorer->forward(q, k);
      CHECK(scores.sizes() == torch::IntArrayRef({3, 4, 7}));
      auto weights = seqlab::attention_weights(scores, key_mask({7, 5, 2}, 7));
      CHECK((weights >= 0).all().item<bool>());
      CHECK(torch::allclose(weights.sum(-1), torch::ones({3, 4}), 1e-5, 1e-6));
    }
  }
}

TEST_CASE("masked positions get exactly zero attention weight") {
  for (const auto& name : scorer_registry().names()) {
    DYNAMIC_SECTION(name) {
      auto scorer = make(name);
      auto scores = scorer->forward(torch::randn({2, 3, kQueryDim}), torch::randn({2, 6, kKeyDim}));
      auto weights = seqlab::attention_weights(scores, key_mask({4, 1}, 6));
      CHECK(weights[0].slice(1, 4).abs().max().item<float>() == 0.0f);
      CHECK(weights[1].slice(1, 1).abs().max().item<float>() == 0.0f);
      CHECK(torch::allclose(weights[1].select(1, 0), torch::ones({3})));
    }
  }
}

TEST_CASE("a fully masked row gives zero weights, not NaN") {
  auto scores = torch::randn({2, 3, 4});
  auto weights = seqlab::attention_weights(scores, key_mask({0, 4}, 4));
  CHECK_FALSE(torch::isnan(weights).any().item<bool>());
  CHECK(weights[0].abs().sum().item<float>() == 0.0f);
  CHECK(torch::allclose(weights[1].sum(-1), torch::ones({3})));
}

TEST_CASE("padding the keys does not change the attention over the real ones") {
  for (const auto& name : scorer_registry().names()) {
    DYNAMIC_SECTION(name) {
      auto scorer = make(name);
      auto q = torch::randn({1, 3, kQueryDim});
      auto k = torch::randn({1, 4, kKeyDim});
      auto padded_k = torch::cat({k, torch::randn({1, 3, kKeyDim}) * 100}, 1);  // junk padding
      auto alone = seqlab::attention_weights(scorer->forward(q, k), key_mask({4}, 4));
      auto padded = seqlab::attention_weights(scorer->forward(q, padded_k), key_mask({4}, 7));
      CHECK(torch::allclose(alone, padded.slice(2, 0, 4), 1e-5, 1e-6));
    }
  }
}

TEST_CASE("scorer gradients match finite differences in double precision") {
  for (const auto& name : scorer_registry().names()) {
    DYNAMIC_SECTION(name) {
      auto scorer = make(name, torch::kDouble);
      auto options = torch::dtype(torch::kDouble);
      auto q = torch::randn({2, 3, kQueryDim}, options).requires_grad_(true);
      auto k = torch::randn({2, 5, kKeyDim}, options).requires_grad_(true);
      auto probe = torch::randn({2, 3, 5}, options);
      auto mask = key_mask({5, 3}, 5);
      auto objective = [&](const torch::Tensor& qq, const torch::Tensor& kk) {
        return (seqlab::attention_weights(scorer->forward(qq, kk), mask) * probe).sum();
      };
      objective(q, k).backward();
      const double eps = 1e-6;
      torch::NoGradGuard no_grad;
      for (auto* input : {&q, &k}) {
        auto flat = input->view(-1);
        auto grad = input->grad().view(-1);
        for (int64_t i = 0; i < flat.numel(); i += 3) {
          double original = flat[i].item<double>();
          flat[i] = original + eps;
          double plus = objective(q, k).item<double>();
          flat[i] = original - eps;
          double minus = objective(q, k).item<double>();
          flat[i] = original;
          CHECK(grad[i].item<double>() == Approx((plus - minus) / (2 * eps)).margin(1e-6));
        }
      }
    }
  }
}

TEST_CASE("the recorder captures maps only while active") {
  seqlab::AttentionRecorder::report("ignored", torch::ones({1, 1, 1, 2}));
  {
    seqlab::AttentionRecorder recorder;
    CHECK(seqlab::AttentionRecorder::active());
    seqlab::AttentionRecorder::report("cross", torch::ones({1, 1, 1, 3}));
    seqlab::AttentionRecorder::report("cross", torch::zeros({1, 1, 1, 3}));
    REQUIRE(recorder.maps().size() == 2);
    CHECK(recorder.stacked("cross").sizes() == torch::IntArrayRef({1, 1, 2, 3}));
  }
  CHECK_FALSE(seqlab::AttentionRecorder::active());
}

TEST_CASE("the plug-in example scorer is registered with its help") {
  CHECK(scorer_registry().contains("bilinear_bias"));
  for (std::string name : {"additive", "dot", "general", "concat", "scaled_dot", "cosine"})
    CHECK(scorer_registry().contains(name));
}

TEST_CASE("the fused single-query products and their gradients equal matmul's") {
  torch::manual_seed(5);
  // Widths below, at and above the 8-lane blocks; a non-contiguous query and key set (transposed
  // views, as split heads give) and a zero weight (a masked key) among the values.
  for (int64_t width : {1, 7, 8, 19, 64}) {
    for (int64_t length : {1, 5, 33}) {
      auto q = torch::randn({width, 6, 1}).permute({1, 2, 0});    // [6, 1, width], strided
      auto k = torch::randn({6, width, length}).transpose(1, 2);  // [6, length, width], strided
      auto w = torch::softmax(torch::randn({6, 1, length}), -1);
      w.select(2, 0).zero_();
      auto v = torch::randn({6, length, width});
      torch::Tensor scores, context;
      {
        torch::InferenceMode inference;
        scores = seqlab::query_key_products(q, k);
        context = seqlab::weighted_values(w, v);
      }
      CHECK(scores.sizes() == torch::IntArrayRef({6, 1, length}));
      CHECK(context.sizes() == torch::IntArrayRef({6, 1, width}));
      CHECK(torch::allclose(scores, torch::matmul(q, k.transpose(1, 2)), 1e-5, 1e-5));
      CHECK(torch::allclose(context, torch::matmul(w, v), 1e-5, 1e-6));
    }
  }
  // With gradients, the fused products' backward passes equal matmul's.
  for (int64_t width : {3, 16}) {
    auto q = torch::randn({4, 1, width}, torch::requires_grad());
    auto k = torch::randn({4, 9, width}, torch::requires_grad());
    auto v = torch::randn({4, 9, width}, torch::requires_grad());
    auto upstream = torch::randn({4, 1, width});
    auto fused = seqlab::weighted_values(torch::softmax(seqlab::query_key_products(q, k), -1), v);
    auto fused_grads = torch::autograd::grad({fused}, {q, k, v}, {upstream});
    auto plain = torch::matmul(torch::softmax(torch::matmul(q, k.transpose(1, 2)), -1), v);
    auto plain_grads = torch::autograd::grad({plain}, {q, k, v}, {upstream});
    CHECK(torch::allclose(fused, plain, 1e-5, 1e-6));
    for (size_t i = 0; i < 3; ++i) {
      INFO("gradient " << i);
      CHECK(torch::allclose(fused_grads[i], plain_grads[i], 1e-4, 1e-6));
    }
  }
}

TEST_CASE(
    "the batched small products (many queries, rows split across threads) and their gradients "
    "equal matmul's") {
  torch::manual_seed(4);
  const int64_t rows = 24, queries = 7, keys = 9, width = 5;  // enough rows for the batched path
  auto q = torch::randn({rows, queries, width}, torch::requires_grad());
  auto k = torch::randn({rows, keys, width}, torch::requires_grad());
  auto w = torch::rand({rows, queries, keys}, torch::requires_grad());
  auto v = torch::randn({rows, keys, width}, torch::requires_grad());
  auto g1 = torch::randn({rows, queries, keys}), g2 = torch::randn({rows, queries, width});
  auto ours_s = seqlab::query_key_products(q, k);
  auto ours_c = seqlab::weighted_values(w, v);
  CHECK(torch::allclose(ours_s, torch::matmul(q, k.transpose(1, 2)), 1e-5, 1e-5));
  CHECK(torch::allclose(ours_c, torch::matmul(w, v), 1e-5, 1e-5));
  auto grads = torch::autograd::grad({(ours_s * g1).sum() + (ours_c * g2).sum()}, {q, k, w, v});
  auto expected = torch::autograd::grad(
      {(torch::matmul(q, k.transpose(1, 2)) * g1).sum() + (torch::matmul(w, v) * g2).sum()},
      {q, k, w, v});
  for (size_t i = 0; i < grads.size(); ++i) {
    INFO("input " << i);
    CHECK(torch::allclose(grads[i], expected[i], 1e-5, 1e-5));
  }
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(seqlab::weighted_values(w, v), torch::matmul(w, v), 1e-5, 1e-5));
}

TEST_CASE("StepMixer's deferred gradient equals weighted_values' step-by-step one") {
  torch::manual_seed(4);
  const int64_t batch = 6, length = 9, width = 37, steps = 5;
  auto rows_leaf = torch::randn({batch, length, width}, torch::requires_grad());
  auto logits = torch::randn({batch, steps, length}, torch::requires_grad());
  auto upstream = torch::randn({batch, steps, width});
  auto run = [&](bool mixer) {
    auto rows = rows_leaf * 2.0;  // a non-leaf, as a projection would be
    auto weights = torch::softmax(logits, -1);
    seqlab::StepMixer step_mixer(rows, steps);
    torch::Tensor total = torch::zeros({});
    for (int64_t t = 0; t < steps; ++t) {
      auto w = weights.narrow(1, t, 1);  // [B, 1, S]
      auto mixed = mixer ? step_mixer.mix(w, t) : seqlab::weighted_values(w, rows);
      total = total + (mixed.squeeze(1) * upstream.select(1, t)).sum();
    }
    total.backward();
    auto grads = std::make_pair(rows_leaf.grad().clone(), logits.grad().clone());
    rows_leaf.mutable_grad() = torch::Tensor();
    logits.mutable_grad() = torch::Tensor();
    return std::make_pair(total.detach(), grads);
  };
  auto [mixed_total, mixed_grads] = run(true);
  auto [plain_total, plain_grads] = run(false);
  CHECK(torch::allclose(mixed_total, plain_total, 1e-5, 1e-5));
  CHECK(torch::allclose(mixed_grads.first, plain_grads.first, 1e-5, 1e-5));
  CHECK(torch::allclose(mixed_grads.second, plain_grads.second, 1e-5, 1e-5));
  seqlab::StepMixer mixer(rows_leaf * 1.0, steps);
  CHECK_THROWS_WITH(mixer.mix(torch::ones({batch, 1, length}), steps),
                    Catch::Contains("outside the recurrence"));
}

TEST_CASE(
    "the fused additive scores and their gradients equal tanh, sum and matrix-vector product") {
  torch::manual_seed(8);
  for (int64_t queries : {1, 3}) {
    DYNAMIC_SECTION(queries << " queries per row") {
      // Widths with vector tails; values reaching tanh's saturation (|x| > 9) and zero.
      auto wq = (torch::randn({5, queries, 37}) * 4).requires_grad_(true);
      auto uk = (torch::randn({5, 11, 37}) * 4).requires_grad_(true);
      auto v = torch::randn({1, 37}, torch::requires_grad());
      auto upstream = torch::randn({5, queries, 11});
      upstream.narrow(2, 9, 2).zero_();  // masked keys: no gradient reaches them
      auto fused = seqlab::additive_scores(wq, uk, v);
      auto plain = torch::matmul(torch::tanh(wq.unsqueeze(2) + uk.unsqueeze(1)), v.t()).squeeze(-1);
      CHECK(torch::allclose(fused, plain, 1e-5, 1e-5));
      auto fused_grads = torch::autograd::grad({(fused * upstream).sum()}, {wq, uk, v});
      auto plain_grads = torch::autograd::grad({(plain * upstream).sum()}, {wq, uk, v});
      for (size_t i = 0; i < 3; ++i)
        CHECK(torch::allclose(fused_grads[i], plain_grads[i], 1e-4, 1e-5));
    }
  }
  auto nan = torch::full({1, 1, 8}, std::numeric_limits<float>::quiet_NaN());
  CHECK(torch::isnan(seqlab::additive_scores(nan, torch::zeros({1, 2, 8}), torch::ones({1, 8})))
            .all()
            .item<bool>());
}
