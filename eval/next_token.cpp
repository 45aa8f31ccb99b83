#include "eval/next_token.h"

#include <cmath>
#include <map>
#include <unordered_map>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

Json score_next_tokens(Seq2Seq& model, const std::vector<Example>& examples, torch::Device device,
                       int64_t batch_tokens, std::vector<NextTokenCounts>* per_example) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<NextTokenCounts> counts(examples.size());
  for (const auto& indices : TokenBucketBatcher(examples, batch_tokens, 0, 0).sorted()) {
    Batch batch = collate(examples, indices).to(device);
    auto logits = model->forward(Source::of(batch), batch.target_in);  // [B, T, V]
    namespace F = torch::nn::functional;
    // Per sequence, in one transfer a batch: [B, 3] of nll, tokens, right.
    auto nll =
        F::cross_entropy(
            logits.reshape({-1, logits.size(-1)}), batch.target_out.reshape(-1),
            F::CrossEntropyFuncOptions().ignore_index(Tokenizer::kPad).reduction(torch::kNone))
            .reshape(batch.target_out.sizes())
            .to(torch::kDouble)
            .sum(1);
    auto right = (logits.argmax(-1).eq(batch.target_out) & batch.target_mask).sum(1);
    auto rows = torch::stack(
                    {nll, batch.target_mask.sum(1).to(torch::kDouble), right.to(torch::kDouble)}, 1)
                    .to(torch::kCPU)
                    .contiguous();
    const double* row = rows.data_ptr<double>();
    for (size_t b = 0; b < indices.size(); ++b, row += 3)
      counts[static_cast<size_t>(indices[b])] = {row[0], static_cast<int64_t>(row[1]),
                                                 static_cast<int64_t>(row[2])};
  }
  if (was_training) model->train();
  double loss = 0;
  int64_t tokens = 0, right = 0;
  for (const auto& c : counts) {
    loss += c.nll;
    tokens += c.tokens;
    right += c.right;
  }
  if (per_example) *per_example = std::move(counts);
  const double per_token = tokens ? loss / double(tokens) : 0.0;
  return {{"tokens", tokens},
          {"loss", per_token},
          {"perplexity", std::exp(per_token)},
          {"accuracy", tokens ? 100.0 * double(right) / double(tokens) : 0.0}};
}

Json ngram_baselines(const std::vector<Example>& train, const std::vector<Example>& test,
                     int64_t vocab) {
  std::vector<double> unigram(static_cast<size_t>(vocab), 0.0);
  std::unordered_map<int64_t, std::unordered_map<int64_t, double>>
      follows;  // previous -> next -> count
  double total = 0;
  auto walk = [](const Example& e, auto&& visit) {
    int64_t previous = Tokenizer::kBos;
    for (size_t i = 0; i <= e.target.size(); ++i) {
      const int64_t next = i < e.target.size() ? e.target[i] : Tokenizer::kEos;
      visit(previous, next);
      previous = next;
    }
  };
  for (const auto& e : train)
    walk(e, [&](int64_t previous, int64_t next) {
      if (next < 0 || next >= vocab)
        throw Error(fmt::format("ngram_baselines: token {} outside the vocabulary", next));
      unigram[size_t(next)] += 1;
      follows[previous][next] += 1;
      total += 1;
    });
  // Add-one over the tokens a model may predict (every id but pad and bos).
  const double predictable = double(vocab - 2);
  auto p_unigram = [&](int64_t w) { return (unigram[size_t(w)] + 1) / (total + predictable); };
  std::unordered_map<int64_t, std::pair<double, int64_t>>
      context;  // count, distinct followers; argmax
  std::unordered_map<int64_t, int64_t> best_follower;
  for (const auto& [previous, nexts] : follows) {
    double count = 0, best = -1;
    for (const auto& [next, c] : nexts) {
      count += c;
      if (c > best || (c == best && next < best_follower[previous])) {
        best = c;
        best_follower[previous] = next;
      }
    }
    context[previous] = {count, int64_t(nexts.size())};
  }
  int64_t most_frequent = 0;
  for (int64_t w = 0; w < vocab; ++w)
    if (unigram[size_t(w)] > unigram[size_t(most_frequent)]) most_frequent = w;
  double uni_nll = 0, bi_nll = 0;
  int64_t tokens = 0, right = 0;
  for (const auto& e : test)
    walk(e, [&](int64_t previous, int64_t next) {
      const double pu = p_unigram(next);
      double pb = pu;
      auto c = context.find(previous);
      if (c != context.end()) {
        const auto& [count, types] = c->second;
        const auto& row = follows[previous];
        auto seen = row.find(next);
        pb = ((seen == row.end() ? 0.0 : seen->second) + double(types) * pu) /
             (count + double(types));
      }
      uni_nll -= std::log(pu);
      bi_nll -= std::log(pb);
      auto guess = best_follower.find(previous);
      right += (guess == best_follower.end() ? most_frequent : guess->second) == next;
      ++tokens;
    });
  return {{"unigram_perplexity", tokens ? std::exp(uni_nll / double(tokens)) : 0.0},
          {"bigram_perplexity", tokens ? std::exp(bi_nll / double(tokens)) : 0.0},
          {"bigram_accuracy", tokens ? 100.0 * double(right) / double(tokens) : 0.0}};
}

std::vector<int64_t> sample_tokens(Seq2Seq& model, const std::vector<int64_t>& prefix,
                                   torch::Device device, const SampleOptions& options) {
  if (!(options.temperature > 0))
    throw InputError(fmt::format("temperature must be > 0, got {}", options.temperature));
  if (options.top_k < 0) throw InputError("top-k must be >= 0");
  torch::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();
  auto ids = torch::TensorOptions().dtype(torch::kInt64).device(device);
  Source source;
  source.ids = torch::zeros({1, 1}, ids);
  source.lengths = torch::zeros({1}, ids);
  source.mask = torch::zeros({1, 1}, ids.dtype(torch::kBool));
  auto memory = model->encode(source);
  DecoderState state = model->decoder->start(memory);
  torch::Tensor logits = model->decoder->step(state, torch::full({1}, Tokenizer::kBos, ids));
  for (int64_t token : prefix) logits = model->decoder->step(state, torch::full({1}, token, ids));
  // Draws happen on the CPU from one seeded generator, so a seed means the same piece anywhere.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(options.length));
  const int64_t vocab = logits.size(-1);
  const int64_t k = options.top_k > 0 ? std::min(options.top_k, vocab) : 0;
  for (int64_t i = 0; i < options.length; ++i) {
    auto scores = logits.reshape({-1}).to(torch::kCPU, torch::kDouble) / options.temperature;
    for (int64_t banned : {Tokenizer::kPad, Tokenizer::kUnk, Tokenizer::kBos, Tokenizer::kEos})
      if (banned < vocab) scores[banned] = -std::numeric_limits<double>::infinity();
    if (k > 0) {
      auto threshold = std::get<0>(scores.topk(k)).min();
      scores = scores.masked_fill(scores < threshold, -std::numeric_limits<double>::infinity());
    }
    auto probabilities = torch::softmax(scores, 0);
    const int64_t token = torch::multinomial(probabilities, 1, false, generator).item<int64_t>();
    out.push_back(token);
    if (i + 1 < options.length) logits = model->decoder->step(state, torch::full({1}, token, ids));
  }
  if (was_training) model->train();
  return out;
}

}  // namespace seqlab
