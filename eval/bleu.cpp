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

// Item statistics, sacreBLEU's order: hypothesis length, closest reference length, matches of
// orders 1-4, n-gram totals of orders 1-4.
constexpr size_t kStatistics = 2 + 2 * kMaxOrder;

struct BleuParts {
  std::array<double, kMaxOrder> precisions{};
  double brevity = 1, score = 0;
};

BleuParts bleu_from_sums(const std::vector<double>& sums) {
  if (sums.size() != kStatistics)
    throw InputError(
        fmt::format("BLEU statistics have {} values, not {}", sums.size(), kStatistics));
  const double hyp_length = sums[0], ref_length = sums[1];
  BleuParts parts;
  double smooth = 1.0;
  for (size_t n = 0; n < kMaxOrder; ++n) {
    const double correct = sums[2 + n], total = sums[2 + kMaxOrder + n];
    if (total == 0) break;
    if (correct == 0) {
      smooth *= 2;
      parts.precisions[n] = 100.0 / (smooth * total);
    } else {
      parts.precisions[n] = 100.0 * correct / total;
    }
  }
  if (hyp_length < ref_length)
    parts.brevity = hyp_length > 0 ? std::exp(1.0 - ref_length / hyp_length) : 0.0;
  double log_sum = 0;
  for (double p : parts.precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;
  parts.score = hyp_length == 0 ? 0.0 : parts.brevity * std::exp(log_sum / kMaxOrder);
  return parts;
}

class Bleu : public Metric {
 public:
  std::vector<std::vector<double>> item_statistics(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) const override {
    check_reference_lengths(hypotheses, references);
    std::vector<std::vector<double>> rows;
    rows.reserve(hypotheses.size());
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
      std::vector<double> row(kStatistics, 0.0);
      row[0] = double(hyp_len);
      row[1] = double(closest_len);
      for (const auto& [ngram, count] : count_ngrams(hyp)) {
        size_t n = ngram.size() - 1;
        row[2 + kMaxOrder + n] += double(count);
        auto it = max_ref_counts.find(ngram);
        if (it != max_ref_counts.end()) row[2 + n] += double(std::min(count, it->second));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  double score_from_statistics(const std::vector<double>& sums) const override {
    return bleu_from_sums(sums).score;
  }

  MetricScore corpus_score(const std::vector<std::string>& hypotheses,
                           const std::vector<std::vector<std::string>>& references) const override {
    const auto sums = sum_statistics(item_statistics(hypotheses, references), kStatistics);
    const BleuParts parts = bleu_from_sums(sums);
    const auto hyp_length = static_cast<int64_t>(sums[0]),
               ref_length = static_cast<int64_t>(sums[1]);
    std::array<int64_t, kMaxOrder> correct{}, total{};
    for (size_t n = 0; n < kMaxOrder; ++n) {
      correct[n] = static_cast<int64_t>(sums[2 + n]);
      total[n] = static_cast<int64_t>(sums[2 + kMaxOrder + n]);
    }
    MetricScore result;
    result.score = parts.score;
    result.signature =
        fmt::format("nrefs:{}|case:mixed|eff:no|tok:13a|smooth:exp", references.size());
    double ratio = ref_length > 0 ? double(hyp_length) / double(ref_length) : 0.0;
    const auto& p = parts.precisions;
    result.summary = fmt::format(
        "BLEU = {:.2f} {:.1f}/{:.1f}/{:.1f}/{:.1f} (BP = {:.3f} ratio = {:.3f} hyp_len = {} "
        "ref_len = {})",
        parts.score, p[0], p[1], p[2], p[3], parts.brevity, ratio, hyp_length, ref_length);
    result.details = {{"precisions", p},       {"bp", parts.brevity},   {"ratio", ratio},
                      {"hyp_len", hyp_length}, {"ref_len", ref_length}, {"counts", correct},
                      {"totals", total}};
    return result;
  }
};

const bool registered = metric_registry().add(
    "bleu", [] { return std::unique_ptr<Metric>(new Bleu()); },
    "corpus BLEU, sacreBLEU defaults (13a tokens, exp smoothing); Papineni et al. 2002");

}  // namespace
}  // namespace seqlab
