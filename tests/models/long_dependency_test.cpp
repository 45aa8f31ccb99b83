// The lecture's LSTM-vs-vanilla-RNN checks on a long-range dependency: classify a sequence by its
// FIRST token after 19 distractors. Gradients reaching early steps vanish for the tanh RNN
// (Bengio et al. 1994; Hochreiter and Schmidhuber 1997), so it cannot learn what the LSTM learns.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/random.h"
#include "models/rnn/recurrent_layer.h"

namespace {

constexpr int64_t kLength = 20, kClasses = 4, kVocab = 12, kHidden = 32;

struct Classifier : torch::nn::Module {
  explicit Classifier(const std::string& cell)
      : embedding(register_module("embedding", torch::nn::Embedding(kVocab, 16))),
        rnn(register_module("rnn", seqlab::RecurrentLayer(cell, 16, kHidden, 1, false, 0.0))),
        head(register_module("head", torch::nn::Linear(kHidden, kClasses))) {}
  // Returns logits and the embedded inputs (to measure gradients per time step).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& tokens) {
    auto embedded = embedding(tokens);
    if (embedded.requires_grad()) embedded.retain_grad();
    auto [outputs, state] = rnn->forward(embedded, {});
    return {head(outputs.select(1, kLength - 1)), embedded};
  }
  torch::nn::Embedding embedding;
  seqlab::RecurrentLayer rnn;
  torch::nn::Linear head;
};

std::pair<torch::Tensor, torch::Tensor> make_batch(seqlab::Rng& rng, int64_t batch) {
  auto tokens = torch::empty({batch, kLength}, torch::kInt64);
  auto labels = torch::empty({batch}, torch::kInt64);
  auto t = tokens.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    int64_t label = static_cast<int64_t>(rng.below(kClasses));
    labels[b] = label;
    t[b][0] = label;  // the class marker, tokens 0-3
    for (int64_t i = 1; i < kLength; ++i) t[b][i] = kClasses + static_cast<int64_t>(rng.below(kVocab - kClasses));
  }
  return {tokens, labels};
}

double train_and_score(const std::string& cell) {
  torch::manual_seed(21);
  at::set_num_threads(1);
  Classifier model(cell);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(3e-3));
  seqlab::Rng rng(22);
  for (int step = 0; step < 1200; ++step) {
    auto [tokens, labels] = make_batch(rng, 64);
    auto loss = torch::nn::functional::cross_entropy(model.forward(tokens).first, labels);
    optimizer.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model.parameters(), 1.0);
    optimizer.step();
  }
  torch::NoGradGuard no_grad;
  auto [tokens, labels] = make_batch(rng, 1000);
  auto predicted = model.forward(tokens).first.argmax(-1);
  return (predicted == labels).to(torch::kDouble).mean().item<double>();
}

// |dLoss/dx_t| at the first step over the same at the last step, at initialisation.
double early_to_late_gradient_ratio(const std::string& cell) {
  torch::manual_seed(23);
  Classifier model(cell);
  seqlab::Rng rng(24);
  auto [tokens, labels] = make_batch(rng, 64);
  auto [logits, embedded] = model.forward(tokens);
  torch::nn::functional::cross_entropy(logits, labels).backward();
  torch::Tensor per_step = embedded.grad().pow(2).sum(std::vector<int64_t>{0, 2}).sqrt();  // [T]
  return per_step[0].item<double>() / per_step[kLength - 1].item<double>();
}

}  // namespace

TEST_CASE("an LSTM learns a 20-step dependency that a vanilla RNN cannot pick up") {
  double lstm = train_and_score("lstm");
  double rnn = train_and_score("rnn");
  INFO("accuracy: lstm " << lstm << ", rnn " << rnn << " (chance 0.25)");
  // Same budget (1,200 Adam steps): the tanh RNN stays at chance, the LSTM is far above it.
  CHECK(rnn < 0.35);
  CHECK(lstm > 0.6);
}

TEST_CASE("the gradient reaching early time steps vanishes for a vanilla RNN") {
  double rnn = early_to_late_gradient_ratio("rnn");
  double lstm = early_to_late_gradient_ratio("lstm");
  INFO("|grad x_0| / |grad x_T|: rnn " << rnn << ", lstm " << lstm);
  CHECK(rnn < 1e-3);
  CHECK(lstm > 10 * rnn);
}
