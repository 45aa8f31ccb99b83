// Corpus BLEU (Papineni et al. 2002) exactly as sacreBLEU 2.x computes it by default: 13a
// tokenization, mixed case, n-grams up to 4 clipped by the maximum count over references, the
// closest reference length (ties to the shorter) for the brevity penalty, and 'exp' smoothing
// (Chen and Cherry 2014, method 3) for orders with no match.
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/metric.h"

namespace seqlab {
namespace {

constexpr int kMaxOrder = 4;

using NgramCounts = std::map<std::vector<std::string>, int64_t>;

NgramCounts count_ngrams(const std::vector<std::string>& tokens) {
  NgramCounts counts;
  for (int n = 1; n <= kMaxOrder; ++n)
    for (size_t i = 0; i + n <= tokens.size(); ++i)
      ++counts[std::vector<std::string>(tokens.begin() + i, tokens.begin() + i + n)];
  return counts;
}

class Bleu : public Metric {
 public:
  MetricScore corpus_score(const std::vector<std::string>& hypotheses,
                           const std::vector<std::vector<std::string>>& references) const override {
    check_reference_lengths(hypotheses, references);
    std::array<int64_t, kMaxOrder> correct{}, total{};
    int64_t hyp_length = 0, ref_length = 0;
    for (size_t i = 0; i < hypotheses.size(); ++i) {
      auto hyp = split_whitespace(tokenize_13a(hypotheses[i]));
      auto hyp_len = static_cast<int64_t>(hyp.size());
      NgramCounts max_ref_counts;
      int64_t closest_len = -1, closest_diff = -1;
      for (const auto& set : references) {
        if (set[i].empty()) continue;
        auto ref = split_whitespace(tokenize_13a(set[i]));
        auto len = static_cast<int64_t>(ref.size());
        int64_t diff = std::abs(hyp_len - len);
        if (closest_diff < 0 || diff < closest_diff) {
          closest_diff = diff;
          closest_len = len;
        } else if (diff == closest_diff) {
          closest_len = std::min(closest_len, len);
        }
        for (const auto& [ngram, count] : count_ngrams(ref)) {
          auto& best = max_ref_counts[ngram];
          best = std::max(best, count);
        }
      }
      if (closest_len < 0)
        throw InputError(fmt::format("hypothesis {} has no non-empty reference", i + 1));
      hyp_length += hyp_len;
      ref_length += closest_len;
      for (const auto& [ngram, count] : count_ngrams(hyp)) {
        size_t n = ngram.size() - 1;
        total[n] += count;
        auto it = max_ref_counts.find(ngram);
        if (it != max_ref_counts.end()) correct[n] += std::min(count, it->second);
      }
    }
    std::array<double, kMaxOrder> precisions{};
    double smooth = 1.0;
    for (int n = 0; n < kMaxOrder; ++n) {
      if (total[n] == 0) break;
      if (correct[n] == 0) {
        smooth *= 2;
        precisions[n] = 100.0 / (smooth * static_cast<double>(total[n]));
      } else {
        precisions[n] = 100.0 * static_cast<double>(correct[n]) / static_cast<double>(total[n]);
      }
    }
    double brevity = 1.0;
    if (hyp_length < ref_length)
      brevity = hyp_length > 0 ? std::exp(1.0 - double(ref_length) / double(hyp_length)) : 0.0;
    double log_sum = 0;
    for (double p : precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;
    double score = hyp_length == 0 ? 0.0 : brevity * std::exp(log_sum / kMaxOrder);
    MetricScore result;
    result.score = score;
    result.signature = fmt::format("nrefs:{}|case:mixed|eff:no|tok:13a|smooth:exp",
                                   references.size());
    double ratio = ref_length > 0 ? double(hyp_length) / double(ref_length) : 0.0;
    result.summary = fmt::format(
        "BLEU = {:.2f} {:.1f}/{:.1f}/{:.1f}/{:.1f} (BP = {:.3f} ratio = {:.3f} hyp_len = {} "
        "ref_len = {})",
        score, precisions[0], precisions[1], precisions[2], precisions[3], brevity, ratio,
        hyp_length, ref_length);
    result.details = {{"precisions", precisions}, {"bp", brevity},
                      {"ratio", ratio},           {"hyp_len", hyp_length},
                      {"ref_len", ref_length},    {"counts", correct},
                      {"totals", total}};
    return result;
  }
};

const bool registered = MetricRegistry().add(
    "bleu", [] { return std::unique_ptr<Metric>(new Bleu()); },
    "corpus BLEU, sacreBLEU defaults (13a tokens, exp smoothing); Papineni et al. 2002");

}  // namespace
}  // namespace seqlab
