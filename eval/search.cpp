#include "eval/search.h"

#include <cmath>

#include <torch/torch.h>

#include "core/error.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {
namespace {

int64_t max_steps(const Source& source, const SearchOptions& options) {
  if (!source.ids.defined()) return options.max_length;
  return static_cast<int64_t>(options.max_length_ratio * static_cast<double>(source.length())) +
         options.max_length_extra;
}

// How often the loop asks the device whether every row has finished: each ask is a host sync.
constexpr int64_t kFinishCheckInterval = 4;

std::vector<Hypothesis> to_hypotheses(const torch::Tensor& tokens, const torch::Tensor& scores) {
  auto cpu_tokens = tokens.to(torch::kCPU);
  auto cpu_scores = scores.to(torch::kCPU, torch::kDouble);
  auto t = cpu_tokens.accessor<int64_t, 2>();
  std::vector<Hypothesis> out(static_cast<size_t>(cpu_tokens.size(0)));
  for (int64_t b = 0; b < cpu_tokens.size(0); ++b) {
    for (int64_t i = 0; i < cpu_tokens.size(1); ++i) {
      if (t[b][i] == Tokenizer::kEos) break;
      out[b].tokens.push_back(t[b][i]);
    }
    out[b].score = cpu_scores[b].item<double>();
  }
  return out;
}

// Tokens search never generates: padding and bos (an undertrained model would otherwise emit
// them). Built once per search, on the model's device.
torch::Tensor banned_tokens(torch::Device device) {
  return torch::tensor({Tokenizer::kPad, Tokenizer::kBos}, torch::dtype(torch::kInt64)).to(device);
}

// Next-token log-probabilities with the banned tokens at -inf, and eos too before min_length.
torch::Tensor next_log_probs(Seq2Seq& model, DecoderState& state, const torch::Tensor& previous,
                             const torch::Tensor& banned, bool ban_eos) {
  auto log_probs = torch::log_softmax(model->decoder->step(state, previous), -1);
  log_probs.index_fill_(-1, banned, -std::numeric_limits<float>::infinity());
  if (ban_eos) log_probs.select(-1, Tokenizer::kEos).fill_(-std::numeric_limits<float>::infinity());
  return log_probs;
}

// Restricts the decoder's output layer to the batch's shortlist while it lives.
class ShortlistScope {
 public:
  ShortlistScope(Seq2Seq& model, const Source& source, const Shortlist* shortlist) {
    if (shortlist == nullptr) return;
    if (!source.ids.defined())
      throw InputError("a vocabulary shortlist is built from source tokens; images have none");
    layer_ = model->decoder->readout();
    if (!layer_)
      throw InputError("this decoder has no separable output layer to restrict to a shortlist");
    layer_->restrict_to(shortlist->for_sources(source.ids).to(source.device()));
  }
  ~ShortlistScope() {
    if (layer_) layer_->restrict_to({});
  }
  ShortlistScope(const ShortlistScope&) = delete;
  ShortlistScope& operator=(const ShortlistScope&) = delete;

 private:
  OutputLayer layer_{nullptr};
};

}  // namespace

std::vector<Hypothesis> greedy_search(Seq2Seq& model, const Source& source,
                                      const SearchOptions& options) {
  torch::InferenceMode inference;
  ShortlistScope shortlist(model, source, options.shortlist.get());
  Memory memory = model->encode(source);
  DecoderState state = model->decoder->start(memory);
  const int64_t batch = source.batch_size();
  auto device = source.device();
  auto previous = torch::full({batch}, Tokenizer::kBos, torch::dtype(torch::kInt64).device(device));
  auto finished = torch::zeros({batch}, torch::dtype(torch::kBool).device(device));
  auto scores = torch::zeros({batch}, torch::dtype(torch::kFloat).device(device));
  std::vector<torch::Tensor> steps;
  const int64_t limit = max_steps(source, options);
  const auto banned = banned_tokens(device);
  for (int64_t t = 0; t < limit; ++t) {
    auto log_probs =
        next_log_probs(model, state, previous, banned, t < options.min_length);  // [B, V]
    auto [best, token] = log_probs.max(-1);
    // Finished rows keep emitting eos at no cost.
    token = token.masked_fill(finished, Tokenizer::kEos);
    scores = scores + best.masked_fill(finished, 0.0);
    steps.push_back(token);
    finished = finished | (token == Tokenizer::kEos);
    previous = token;
    if ((t + 1) % kFinishCheckInterval == 0 && finished.all().item<bool>()) break;
  }
  return to_hypotheses(torch::stack(steps, 1), scores);
}

std::vector<Hypothesis> beam_search(Seq2Seq& model, const Source& source,
                                    const SearchOptions& options) {
  if (options.beam < 1) throw InputError("beam size must be >= 1");
  torch::InferenceMode inference;
  ShortlistScope shortlist(model, source, options.shortlist.get());
  const int64_t batch = source.batch_size(), beam = options.beam;
  auto device = source.device();
  auto long_options = torch::dtype(torch::kInt64).device(device);
  Memory memory = DecoderImpl::repeat_memory(model->encode(source), beam);  // rows b*K + k
  DecoderState state = model->decoder->start(memory);
  // Only the first beam of each sentence is live at the start, so the first step's top-K
  // are K different tokens rather than K copies of the best one.
  auto scores = torch::full({batch, beam}, -std::numeric_limits<float>::infinity(),
                            torch::dtype(torch::kFloat).device(device));
  scores.select(1, 0).fill_(0.0);
  auto previous = torch::full({batch * beam}, Tokenizer::kBos, long_options);
  auto finished = torch::zeros({batch, beam}, torch::dtype(torch::kBool).device(device));
  auto lengths = torch::zeros({batch, beam}, long_options);  // tokens up to and including eos
  auto history = torch::empty({batch, beam, 0}, long_options);
  auto row_offset = (torch::arange(batch, long_options) * beam).unsqueeze(1);  // [B, 1]
  const int64_t limit = max_steps(source, options);
  const auto banned = banned_tokens(device);
  for (int64_t t = 0; t < limit; ++t) {
    auto log_probs =
        next_log_probs(model, state, previous, banned, t < options.min_length);  // [B*K, V]
    const int64_t vocab = log_probs.size(-1);
    log_probs = log_probs.view({batch, beam, vocab});
    // A finished beam may only extend with eos, at no cost, so its score is frozen.
    auto frozen = torch::full({vocab}, -std::numeric_limits<float>::infinity(),
                              torch::dtype(torch::kFloat).device(device));
    frozen[Tokenizer::kEos] = 0.0;
    log_probs = torch::where(finished.unsqueeze(-1), frozen.view({1, 1, vocab}), log_probs);
    auto candidates = (scores.unsqueeze(-1) + log_probs).view({batch, beam * vocab});
    auto [top_scores, top_index] = candidates.topk(beam, -1);  // [B, K]
    auto origin = top_index.div(vocab, "floor");               // which beam each came from
    auto token = top_index.remainder(vocab);
    auto flat = (origin + row_offset).view(-1);  // rows of the old state
    model->decoder->reorder(state, flat);
    history = torch::cat({history.gather(1, origin.unsqueeze(-1).expand({-1, -1, history.size(2)})),
                          token.unsqueeze(-1)},
                         2);
    auto was_finished = finished.gather(1, origin);
    lengths = lengths.gather(1, origin) + (~was_finished).to(torch::kInt64);
    finished = was_finished | (token == Tokenizer::kEos);
    scores = top_scores;
    previous = token.view(-1);
    if ((t + 1) % kFinishCheckInterval == 0 && finished.all().item<bool>()) break;
  }
  // Length-normalised choice among the final beams (GNMT length penalty).
  auto penalty = torch::pow((5.0 + lengths.to(torch::kFloat)) / 6.0, options.length_penalty);
  auto normalised = scores / penalty;
  if (options.length_penalty == 0.0) normalised = scores;
  auto best = normalised.argmax(-1, /*keepdim=*/true);  // [B, 1]
  auto tokens = history.gather(1, best.unsqueeze(-1).expand({-1, -1, history.size(2)})).squeeze(1);
  return to_hypotheses(tokens, scores.gather(1, best).squeeze(1));
}

std::vector<Hypothesis> search(Seq2Seq& model, const Source& source, const SearchOptions& options) {
  return options.beam <= 1 ? greedy_search(model, source, options)
                           : beam_search(model, source, options);
}

}  // namespace seqlab
