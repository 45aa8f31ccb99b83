// The fused vocabulary projection + cross-entropy (models/output_loss.h) against the plain path,
// output layer then torch's cross_entropy: the same loss and the same gradients.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/config.h"
#include "models/output_loss.h"
#include "models/seq2seq.h"

using seqlab::Config;
using seqlab::Json;

namespace {

namespace F = torch::nn::functional;

torch::Tensor plain_loss(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         const torch::Tensor& y, double eps) {
  return F::cross_entropy(
      F::linear(x, w, b), y,
      F::CrossEntropyFuncOptions().ignore_index(0).label_smoothing(eps).reduction(torch::kSum));
}

struct Grads {
  torch::Tensor loss, dx, dw, db;
};

template <typename Loss>
Grads run(Loss loss_fn, const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0) {
  auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true),
       b = b0.clone().requires_grad_(true);
  auto loss = loss_fn(x, w, b);
  (loss * 0.37).backward();  // a scale other than 1 reaches every gradient
  return {loss.detach(), x.grad(), w.grad(), b.grad()};
}

void check_close(const torch::Tensor& a, const torch::Tensor& b, double tolerance) {
  INFO("max difference " << (a - b).abs().max().item<double>() << ", scale "
                         << b.abs().max().item<double>());
  CHECK(torch::allclose(a, b, tolerance, tolerance * b.abs().max().item<double>()));
}

}  // namespace

TEST_CASE(
    "the fused projection loss equals output layer plus cross_entropy, in value and gradient") {
  torch::manual_seed(3);
  const int64_t rows = 37, features = 12, vocab = 101;
  auto x = torch::randn({rows, features});
  auto w = torch::randn({vocab, features}) * 0.5;
  auto b = torch::randn({vocab});
  auto y = torch::randint(1, vocab, {rows});
  for (double eps : {0.0, 0.1}) {
    for (int64_t chunk : {int64_t{1}, int64_t{8}, int64_t{37}, int64_t{64}}) {
      DYNAMIC_SECTION("smoothing " << eps << ", " << chunk << " rows per chunk") {
        auto plain = run(
            [&](auto& x_, auto& w_, auto& b_) { return plain_loss(x_, w_, b_, y, eps); }, x, w, b);
        auto fused = run(
            [&](auto& x_, auto& w_, auto& b_) {
              return seqlab::fused_projection_loss_sum(x_, w_, b_, y, eps, chunk);
            },
            x, w, b);
        check_close(fused.loss, plain.loss, 1e-5);
        check_close(fused.dx, plain.dx, 1e-5);
        check_close(fused.dw, plain.dw, 1e-5);
        check_close(fused.db, plain.db, 1e-5);
      }
    }
  }
}

TEST_CASE("the fused projection loss stays finite where a softmax probability underflows") {
  // Logit gaps of 200: p(gold) = exp(-200) is 0 in float32, its log is not.
  auto x = torch::tensor({{1.0f}, {-1.0f}});
  auto w = torch::tensor({{0.0f}, {100.0f}, {-100.0f}});
  auto y = torch::tensor({2, 1});
  auto fused = seqlab::fused_projection_loss_sum(x, w, torch::zeros({3}), y, 0.0);
  auto plain = plain_loss(x, w, torch::zeros({3}), y, 0.0);
  CHECK(std::isfinite(fused.item<double>()));
  CHECK(fused.item<double>() == Approx(plain.item<double>()).epsilon(1e-6));
}

TEST_CASE(
    "a model's loss_sum skips padding and equals forward plus cross_entropy, for every decoder "
    "family") {
  const std::vector<std::pair<std::string, Json>> models = {
      {"rnn", {{"encoder", "rnn"}, {"decoder", "rnn"}, {"hidden_dim", 16}, {"embedding_dim", 8}}},
      {"bahdanau",
       {{"encoder", "rnn"}, {"decoder", "bahdanau"}, {"hidden_dim", 16}, {"embedding_dim", 8}}},
      {"luong",
       {{"encoder", "rnn"},
        {"decoder", "luong"},
        {"hidden_dim", 16},
        {"embedding_dim", 8},
        {"input_feeding", false}}},
      {"transformer",
       {{"encoder", "transformer"},
        {"decoder", "transformer"},
        {"transformer",
         {{"d_model", 16},
          {"heads", 2},
          {"ffn_dim", 32},
          {"encoder_layers", 1},
          {"decoder_layers", 1}}},
        {"tie_embeddings", true}}},
  };
  for (const auto& [name, model_json] : models) {
    DYNAMIC_SECTION(name) {
      torch::manual_seed(5);
      auto config = Config::from_json(Json{{"model", model_json}});
      seqlab::Seq2Seq model(config, 30, 30);
      model->eval();  // no dropout: both paths see the same features
      auto source = torch::randint(4, 30, {3, 5});
      auto lengths = torch::tensor({5, 4, 2});
      auto mask = torch::arange(5).unsqueeze(0) < lengths.unsqueeze(1);
      source.masked_fill_(~mask, 0);
      auto target_in = torch::randint(4, 30, {3, 6});
      auto target_out = torch::randint(4, 30, {3, 6});
      target_out.narrow(1, 4, 2).select(0, 1).fill_(0);  // padding
      target_out.narrow(1, 1, 5).select(0, 2).fill_(0);
      seqlab::Source src{source, lengths, mask, {}};
      auto fused = model->loss_sum(src, target_in, target_out, 0.1);
      fused.backward();
      std::vector<torch::Tensor> fused_grads;
      for (const auto& p : model->parameters()) {
        fused_grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
        p.mutable_grad() = torch::Tensor();
      }
      auto logits = model->forward(src, target_in);
      auto plain = F::cross_entropy(
          logits.reshape({-1, 30}), target_out.reshape(-1),
          F::CrossEntropyFuncOptions().ignore_index(0).label_smoothing(0.1).reduction(torch::kSum));
      plain.backward();
      CHECK(fused.item<double>() == Approx(plain.item<double>()).epsilon(1e-5));
      size_t i = 0;
      for (const auto& p : model->parameters()) {
        auto expected = p.grad().defined() ? p.grad() : torch::zeros_like(p);
        check_close(fused_grads[i++], expected, 1e-4);
      }
      CHECK(model->decoder->readout());
    }
  }
}
