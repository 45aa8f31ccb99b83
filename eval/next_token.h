// Next-token models (the sequence task: music events): teacher-forced loss, perplexity and
// next-token accuracy of a model on a split, the unigram and bigram baselines they are read
// against, and sampling new sequences (temperature, top-k, seeded).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "core/config.h"
#include "data/batch.h"
#include "models/seq2seq.h"

namespace seqlab {

// What one sequence contributes: summed negative log-likelihood (nats), target tokens (eos
// included) and how many of them are the model's argmax. The split's perplexity is
// exp(sum nll / sum tokens), its accuracy sum right / sum tokens: sufficient statistics for a
// bootstrap over sequences (the "perplexity" and "accuracy" item statistics).
struct NextTokenCounts {
  double nll = 0;
  int64_t tokens = 0, right = 0;
};

// Over every target token of `examples` (eos included): {"tokens", "loss" (nats per token),
// "perplexity", "accuracy" (% of tokens that are the model's argmax)}. Eval mode inside.
// `per_example`, when given, receives each example's counts in the order of `examples`.
Json score_next_tokens(Seq2Seq& model, const std::vector<Example>& examples, torch::Device device,
                       int64_t batch_tokens = 4000,
                       std::vector<NextTokenCounts>* per_example = nullptr);

// Count baselines fitted on `train`'s targets, scored on `test`'s the same way (bos before, eos
// after every sequence): {"unigram_perplexity" (add-one), "bigram_perplexity" (Witten-Bell
// interpolation with the unigram, no tuning), "bigram_accuracy" (% of tokens that are the most
// frequent follower of their predecessor)}.
Json ngram_baselines(const std::vector<Example>& train, const std::vector<Example>& test,
                     int64_t vocab);

struct SampleOptions {
  int64_t length = 512;      // tokens to generate (eos, pad, bos and unk are never drawn)
  double temperature = 1.0;  // logits / temperature; must be > 0
  int64_t top_k = 0;         // draw among the k most likely; 0 = all
  uint64_t seed = 1;         // the same seed, model and prefix give the same tokens
};

// Continues `prefix` (token ids, no bos) with `options.length` sampled tokens from a model with
// an empty source (model.encoder none); returns the new tokens only.
std::vector<int64_t> sample_tokens(Seq2Seq& model, const std::vector<int64_t>& prefix,
                                   torch::Device device, const SampleOptions& options);

}  // namespace seqlab
