#include "tests/models/toy_tasks.h"

#include <cstdlib>
#include <iostream>
#include <numeric>

#include <torch/torch.h>

#include "core/int8_gemm.h"
#include "eval/search.h"

namespace seqlab::testing {

std::vector<Example> random_sequences(Rng& rng, int count, int64_t min_length, int64_t max_length,
                                      int64_t vocab, bool reverse) {
  std::vector<Example> out;
  for (int i = 0; i < count; ++i) {
    Example ex;
    int64_t length =
        min_length +
        static_cast<int64_t>(rng.below(static_cast<uint64_t>(max_length - min_length + 1)));
    for (int64_t t = 0; t < length; ++t)
      ex.source.push_back(4 + static_cast<int64_t>(rng.below(vocab - 4)));
    ex.target = ex.source;
    if (reverse) std::reverse(ex.target.begin(), ex.target.end());
    out.push_back(ex);
  }
  return out;
}

namespace {
std::vector<int64_t> all_indices(size_t n) {
  std::vector<int64_t> indices(n);
  std::iota(indices.begin(), indices.end(), 0);
  return indices;
}
Source source_of(const Batch& batch) {
  return {batch.source, batch.source_lengths, batch.source_mask, {}};
}
}  // namespace

struct ToyTrainer::Optimizer {
  torch::optim::Adam adam;
};

ToyTrainer::ToyTrainer(Seq2Seq& model, std::function<std::vector<Example>()> next_batch, double lr)
    : model_(model),
      next_batch_(std::move(next_batch)),
      optimizer_(
          new Optimizer{torch::optim::Adam(model->parameters(), torch::optim::AdamOptions(lr))}) {}

ToyTrainer::~ToyTrainer() = default;

void ToyTrainer::train(int steps) {
  model_->train();
  for (int step = 0; step < steps; ++step) {
    auto examples = next_batch_();
    auto batch = collate(examples, all_indices(examples.size()));
    auto logits = model_->forward(source_of(batch), batch.target_in);
    auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), batch.target_out.reshape(-1),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(0));
    optimizer_->adam.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model_->parameters(), 1.0);
    optimizer_->adam.step();
  }
  steps_ += steps;
  model_->eval();
}

int ToyTrainer::train_until(const std::function<bool()>& reached, int round, int max_steps) {
  while (steps_ < max_steps) {
    train(std::min(round, max_steps - steps_));
    if (reached()) break;
  }
  return steps_;
}

void train_teacher_forced(Seq2Seq& model, const std::function<std::vector<Example>()>& next_batch,
                          int steps, double lr) {
  ToyTrainer(model, next_batch, lr).train(steps);
}

int exact_matches(Seq2Seq& model, const std::vector<Example>& held_out) {
  torch::NoGradGuard no_grad;
  auto batch = collate(held_out, all_indices(held_out.size()));
  auto found = greedy_search(model, source_of(batch), {});
  int exact = 0;
  for (size_t i = 0; i < held_out.size(); ++i) exact += found[i].tokens == held_out[i].target;
  return exact;
}

double int8_worst_error(Seq2Seq& model) {
  torch::NoGradGuard no_grad;
  auto generator = at::detail::createCPUGenerator(7);
  double worst = 0;
  for (const auto& weight : model->parameters()) {
    if (weight.dim() != 2 || weight.size(0) < 8 || weight.size(1) < 8) continue;
    auto x = at::randn({32, weight.size(1)}, generator);
    auto fp32 = torch::mm(x, weight.t());
    auto int8 = int8_linear(x, quantize_rows(weight));
    worst = std::max(worst, (int8 - fp32).norm().item<double>() / fp32.norm().item<double>());
  }
  return worst;
}

int int8_agreement(Seq2Seq& model, const std::vector<Example>& held_out) {
  torch::NoGradGuard no_grad;
  auto batch = collate(held_out, all_indices(held_out.size()));
  auto fp32 = greedy_search(model, source_of(batch), {});
  Int8Weights int8(*model);
  auto quantized = greedy_search(model, source_of(batch), {});
  int same = 0;
  for (size_t i = 0; i < held_out.size(); ++i) same += fp32[i].tokens == quantized[i].tokens;
  return same;
}

}  // namespace seqlab::testing
