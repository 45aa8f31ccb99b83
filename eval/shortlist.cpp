#include "eval/shortlist.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/tensor_file.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {
namespace {

std::vector<int64_t> unique_ids(const std::vector<int64_t>& ids, int64_t vocab) {
  std::vector<int64_t> out;
  for (int64_t id : ids)
    if (id >= 0 && id < vocab) out.push_back(id);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

torch::Tensor Shortlist::for_sources(const torch::Tensor& ids) const {
  torch::Tensor sources = std::get<0>(torch::_unique(ids.to(torch::kCPU).reshape({-1})));
  sources = sources.masked_select((sources >= 0) & (sources < vocab));
  torch::Tensor candidates = by_source.index_select(0, sources).reshape({-1});
  candidates = candidates.masked_select(candidates >= 0);
  torch::Tensor all =
      torch::cat({torch::arange(std::min<int64_t>(Tokenizer::kNumSpecial, vocab), torch::kInt64),
                  frequent, candidates});
  return std::get<0>(torch::_unique(all, /*sorted=*/true));
}

Shortlist build_shortlist(const std::vector<Example>& examples, int64_t vocab, int64_t per_source,
                          int64_t frequent) {
  if (vocab <= 0 || per_source < 0 || frequent < 0)
    throw InputError(
        fmt::format("shortlist: vocabulary {}, {} per source token and {} frequent: "
                    "expected a positive vocabulary and counts of at least 0",
                    vocab, per_source, frequent));
  std::vector<int64_t> source_sentences(size_t(vocab), 0), target_sentences(size_t(vocab), 0);
  std::vector<int64_t> target_tokens(size_t(vocab), 0);
  std::unordered_map<int64_t, int64_t> together;  // s * vocab + t -> sentences with both
  for (const auto& example : examples) {
    const auto sources = unique_ids(example.source, vocab);
    const auto targets = unique_ids(example.target, vocab);
    for (int64_t t : example.target)
      if (t >= 0 && t < vocab) ++target_tokens[size_t(t)];
    for (int64_t s : sources) ++source_sentences[size_t(s)];
    for (int64_t t : targets) ++target_sentences[size_t(t)];
    for (int64_t s : sources)
      for (int64_t t : targets) ++together[s * vocab + t];
  }
  std::vector<std::vector<std::pair<double, int64_t>>> scored(static_cast<size_t>(vocab));
  for (const auto& [key, count] : together) {
    const int64_t s = key / vocab, t = key % vocab;
    const double dice =
        2.0 * double(count) / double(source_sentences[size_t(s)] + target_sentences[size_t(t)]);
    scored[size_t(s)].push_back({-dice, t});  // ascending order = best first, then by id
  }
  Shortlist shortlist;
  shortlist.vocab = vocab;
  shortlist.by_source = torch::full({vocab, per_source}, -1, torch::kInt64);
  auto table = shortlist.by_source.accessor<int64_t, 2>();
  for (int64_t s = 0; s < vocab; ++s) {
    auto& list = scored[size_t(s)];
    const auto keep = std::min<size_t>(list.size(), size_t(per_source));
    std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(keep), list.end());
    for (size_t i = 0; i < keep; ++i) table[s][int64_t(i)] = list[i].second;
  }
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) order[size_t(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return target_tokens[size_t(a)] > target_tokens[size_t(b)];
  });
  std::vector<int64_t> top;
  for (int64_t id : order) {
    if (int64_t(top.size()) >= frequent || target_tokens[size_t(id)] == 0) break;
    top.push_back(id);
  }
  shortlist.frequent = torch::tensor(top, torch::kInt64);
  return shortlist;
}

void save_shortlist(const Shortlist& shortlist, const std::string& path) {
  write_tensor_file(path, {{"by_source", shortlist.by_source}, {"frequent", shortlist.frequent}},
                    {{"vocab", std::to_string(shortlist.vocab)}});
}

Shortlist load_shortlist(const std::string& path, int64_t vocab) {
  TensorFile file(path);
  auto fail = [&](const std::string& what) {
    return InputError(
        fmt::format("{}: not a shortlist for this run's vocabulary of {}: {}", path, vocab, what));
  };
  if (file.metadata("vocab") != std::to_string(vocab))
    throw fail(fmt::format("it was built for {}", file.metadata("vocab")));
  if (!file.has("by_source") || !file.has("frequent"))
    throw fail("expected tensors by_source and frequent");
  Shortlist shortlist;
  shortlist.vocab = vocab;
  shortlist.by_source = file.read("by_source");
  shortlist.frequent = file.read("frequent");
  const auto& table = shortlist.by_source;
  const auto& top = shortlist.frequent;
  if (table.scalar_type() != torch::kInt64 || table.dim() != 2 || table.size(0) != vocab)
    throw fail(fmt::format("by_source should be int64 [{}, K]", vocab));
  if (top.scalar_type() != torch::kInt64 || top.dim() != 1)
    throw fail("frequent should be int64 [F]");
  if (table.numel() > 0 &&
      (table.min().item<int64_t>() < -1 || table.max().item<int64_t>() >= vocab))
    throw fail("by_source holds ids outside [-1, vocabulary)");
  if (top.numel() > 0 && (top.min().item<int64_t>() < 0 || top.max().item<int64_t>() >= vocab))
    throw fail("frequent holds ids outside the vocabulary");
  return shortlist;
}

}  // namespace seqlab
