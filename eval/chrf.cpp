// chrF (Popović 2015) as sacreBLEU 2.x's default chrF2: character n-grams of orders 1-6 with
// whitespace removed, no word n-grams, beta 2; precision and recall are averaged over the orders
// that occur (effective order) from corpus-summed statistics; with several references each
// sentence uses the reference giving it the best score.
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/utf8.h"
#include "eval/metric.h"

namespace seqlab {
namespace {

constexpr int kCharOrder = 6;
constexpr double kBeta = 2.0;

using Stats = std::array<int64_t, 3 * kCharOrder>;  // per order: hyp, ref, match

std::array<std::unordered_map<std::u32string, int64_t>, kCharOrder> char_ngrams(
    const std::string& text) {
  std::u32string chars;
  for (const auto& word : split_whitespace(text)) chars += utf8_decode(word);
  std::array<std::unordered_map<std::u32string, int64_t>, kCharOrder> grams;
  for (int n = 1; n <= kCharOrder; ++n)
    for (size_t i = 0; i + n <= chars.size(); ++i) ++grams[n - 1][chars.substr(i, n)];
  return grams;
}

double f_score(const Stats& stats) {
  const double factor = kBeta * kBeta;
  double avg_precision = 0, avg_recall = 0;
  int effective_order = 0;
  for (int i = 0; i < kCharOrder; ++i) {
    int64_t hyp = stats[3 * i], ref = stats[3 * i + 1], match = stats[3 * i + 2];
    if (hyp > 0 && ref > 0) {
      avg_precision += double(match) / double(hyp);
      avg_recall += double(match) / double(ref);
      ++effective_order;
    }
  }
  if (effective_order == 0) return 0.0;
  avg_precision /= effective_order;
  avg_recall /= effective_order;
  if (avg_precision + avg_recall == 0) return 0.0;
  return 100.0 * (1 + factor) * avg_precision * avg_recall / (factor * avg_precision + avg_recall);
}

// Summed item statistics as counts; InputError unless there is one value per order and kind.
Stats to_stats(const std::vector<double>& sums) {
  if (sums.size() != std::tuple_size<Stats>::value)
    throw InputError(fmt::format("chrF statistics have {} values, not {}", sums.size(),
                                 std::tuple_size<Stats>::value));
  Stats stats{};
  for (size_t k = 0; k < stats.size(); ++k) stats[k] = static_cast<int64_t>(std::llround(sums[k]));
  return stats;
}

class ChrF : public Metric {
 public:
  // Per item, for each order 1-6: hypothesis n-grams, reference n-grams, matches (of the
  // reference giving the item its best sentence score, as sacreBLEU picks it).
  std::vector<std::vector<double>> item_statistics(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) const override {
    check_reference_lengths(hypotheses, references);
    std::vector<std::vector<double>> rows;
    rows.reserve(hypotheses.size());
    for (size_t i = 0; i < hypotheses.size(); ++i) {
      auto hyp = char_ngrams(hypotheses[i]);
      Stats best{};
      double best_score = -1.0;
      for (const auto& set : references) {
        if (set[i].empty()) continue;
        auto ref = char_ngrams(set[i]);
        Stats stats{};
        for (int n = 0; n < kCharOrder; ++n) {
          int64_t hyp_total = 0, ref_total = 0, match = 0;
          for (const auto& [gram, count] : hyp[n]) {
            hyp_total += count;
            auto it = ref[n].find(gram);
            if (it != ref[n].end()) match += std::min(count, it->second);
          }
          for (const auto& [gram, count] : ref[n]) ref_total += count;
          stats[3 * n] = hyp_total;
          stats[3 * n + 1] = ref_total;
          stats[3 * n + 2] = match;
        }
        double score = f_score(stats);
        if (score > best_score) {
          best_score = score;
          best = stats;
        }
      }
      rows.emplace_back(best.begin(), best.end());
    }
    return rows;
  }

  double score_from_statistics(const std::vector<double>& sums) const override {
    return f_score(to_stats(sums));
  }

  MetricScore corpus_score(const std::vector<std::string>& hypotheses,
                           const std::vector<std::vector<std::string>>& references) const override {
    const Stats corpus = to_stats(
        sum_statistics(item_statistics(hypotheses, references), std::tuple_size<Stats>::value));
    MetricScore result;
    result.score = f_score(corpus);
    result.signature =
        fmt::format("nrefs:{}|case:mixed|eff:yes|nc:6|nw:0|space:no", references.size());
    result.summary = fmt::format("chrF2 = {:.2f}", result.score);
    result.details = {{"statistics", corpus}, {"char_order", kCharOrder}, {"beta", kBeta}};
    return result;
  }
};

const bool registered = metric_registry().add(
    "chrf", [] { return std::unique_ptr<Metric>(new ChrF()); },
    "character n-gram F-score, sacreBLEU chrF2 defaults; Popovic 2015");

}  // namespace
}  // namespace seqlab
