// The lecture's LSTM-vs-vanilla-RNN checks on a long-range dependency: classify a sequence by its
// FIRST token after 49 distractors. Gradients reaching early steps vanish for the tanh RNN
// (Bengio et al. 1994; Hochreiter and Schmidhuber 1997), so it cannot learn what the LSTM learns.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/random.h"
#include "models/rnn/recurrent_layer.h"
#include "tests/models/toy_tasks.h"

namespace {

constexpr int64_t kLength = 50, kClasses = 4, kVocab = 12, kHidden = 32;

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
    for (int64_t i = 1; i < kLength; ++i)
      t[b][i] = kClasses + static_cast<int64_t>(rng.below(kVocab - kClasses));
  }
  return {tokens, labels};
}

double accuracy(Classifier& model, const std::pair<torch::Tensor, torch::Tensor>& data) {
  torch::NoGradGuard no_grad;
  auto predicted = model.forward(data.first).first.argmax(-1);
  return (predicted == data.second).to(torch::kDouble).mean().item<double>();
}

struct Outcome {
  int steps;
  double accuracy;
};

// Adam in rounds of 100 steps until validation accuracy reaches `criterion` or `max_steps` have
// been taken; then the accuracy on 1,000 fresh sequences.
Outcome train_and_score(const std::string& cell, double criterion, int max_steps, uint64_t run) {
  using seqlab::testing::learning_seed;
  torch::manual_seed(learning_seed(21 + 100 * run));
  seqlab::testing::use_learning_threads();
  Classifier model(cell);
  if (cell == "lstm") {
    // Chrono initialisation (Tallec and Ollivier 2018): a forget-gate bias of about log(T) gives
    // the cell a memory time scale of the dependency's length; the layer's default of 1 forgets
    // at 0.73 per step, 1e-7 over 50 steps. Gate order i,f,g,o.
    torch::NoGradGuard no_grad;
    constexpr double forget = 3.0;  // about log(50)
    for (auto& item : model.rnn->named_parameters())
      if (item.key().find("bias_ih") != std::string::npos) {
        item.value().narrow(0, kHidden, kHidden).fill_(forget);
      }
  }
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(3e-3));
  seqlab::Rng rng(learning_seed(22 + 100 * run));
  seqlab::Rng held_out_rng(learning_seed(25 + 100 * run));
  auto valid = make_batch(held_out_rng, 500);
  auto test = make_batch(held_out_rng, 1000);
  int steps = 0;
  while (steps < max_steps) {
    for (int i = 0; i < 100; ++i, ++steps) {
      auto [tokens, labels] = make_batch(rng, 64);
      auto loss = torch::nn::functional::cross_entropy(model.forward(tokens).first, labels);
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model.parameters(), 1.0);
      optimizer.step();
    }
    if (accuracy(model, valid) >= criterion) break;
  }
  return {steps, accuracy(model, test)};
}

// |dLoss/dx_t| at the first step over the same at the last step, at initialisation.
double early_to_late_gradient_ratio(const std::string& cell) {
  torch::manual_seed(seqlab::testing::learning_seed(23));
  Classifier model(cell);
  seqlab::Rng rng(seqlab::testing::learning_seed(24));
  auto [tokens, labels] = make_batch(rng, 64);
  auto [logits, embedded] = model.forward(tokens);
  torch::nn::functional::cross_entropy(logits, labels).backward();
  torch::Tensor per_step = embedded.grad().pow(2).sum(std::vector<int64_t>{0, 2}).sqrt();  // [T]
  return per_step[0].item<double>() / per_step[kLength - 1].item<double>();
}

}  // namespace

TEST_CASE("an LSTM learns a 50-step dependency that a vanilla RNN cannot pick up", "[learning]") {
  // Five independent runs of each (seeds, data): every LSTM trains to 95% validation accuracy;
  // every tanh RNN gets a fixed 1,200 Adam steps (6-12 times what the LSTMs needed in every
  // measured setting). At 20 steps some RNN runs picked up half of the classes (1 run in 12
  // measured: 0.50), which is why the dependency is 50 steps long; measured RNN runs stay near
  // chance (0.23-0.30), and the claim is about their mean so that one lucky run cannot fail it
  // (docs/development.md, "Tests").
  constexpr int kRuns = 5;
  double lstm_mean = 0, rnn_mean = 0, lstm_worst = 1;
  std::string values;
  for (int run = 0; run < kRuns; ++run) {
    auto lstm = train_and_score("lstm", 0.95, 4000, run);
    auto rnn = train_and_score("rnn", 2.0, 1200, run);
    lstm_mean += lstm.accuracy / kRuns;
    rnn_mean += rnn.accuracy / kRuns;
    lstm_worst = std::min(lstm_worst, lstm.accuracy);
    values += fmt::format("{}run{}: lstm_steps={} lstm={:.3f} rnn={:.3f}", run ? " " : "", run,
                          lstm.steps, lstm.accuracy, rnn.accuracy);
  }
  seqlab::testing::report_learning("lstm-vs-rnn", values);
  INFO("mean accuracy over " << kRuns << " runs: lstm " << lstm_mean << " (worst " << lstm_worst
                             << "), rnn " << rnn_mean << " (chance 0.25); " << values);
  CHECK(rnn_mean < 0.4);
  CHECK(lstm_worst > 0.9);
}

TEST_CASE("the gradient reaching early time steps vanishes for a vanilla RNN", "[learning]") {
  double rnn = early_to_late_gradient_ratio("rnn");
  double lstm = early_to_late_gradient_ratio("lstm");
  seqlab::testing::report_learning("vanishing-gradient",
                                   fmt::format("rnn={:.3g} lstm={:.3g}", rnn, lstm));
  INFO("|grad x_0| / |grad x_T|: rnn " << rnn << ", lstm " << lstm);
  CHECK(rnn < 1e-3);
  CHECK(lstm > 10 * rnn);
}
