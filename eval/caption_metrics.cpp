// Caption metrics as the COCO caption evaluation (coco-caption / pycocoevalcap) computes them:
//   cider    CIDEr-D (Vedantam et al. 2015): TF-IDF vectors of n-grams 1-4 with document
//            frequencies from the evaluated set's references, the hypothesis' counts clipped by
//            the reference's, a Gaussian penalty exp(-(l_h - l_r)^2 / (2 * 6^2)) on the length
//            difference, averaged over orders and references, times 10. (As in the reference
//            code, the "length" it compares is the number of bigrams.)
//   bleu-1 .. bleu-4   coco-caption's BLEU: corpus counts, clipped by the maximum count over
//            references, closest reference length (ties to the shorter), no smoothing beyond
//            its 1e-15 / 1e-9 guards; reported x 100.
// Both read text the way coco-caption's PTBTokenizer leaves it: lowercased, punctuation split
// off and dropped, contractions ('s, n't, ...) split off and kept.
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/metric.h"

namespace seqlab {

namespace {

using Ngram = std::vector<std::string>;
using Counts = std::map<Ngram, double>;

Counts ngram_counts(const std::vector<std::string>& tokens, int max_order) {
  Counts counts;
  for (int n = 1; n <= max_order; ++n)
    for (size_t i = 0; i + n <= tokens.size(); ++i)
      counts[Ngram(tokens.begin() + i, tokens.begin() + i + n)] += 1;
  return counts;
}

// The references of hypothesis i (empty ones skipped); InputError when it has none.
std::vector<std::string> references_of(const std::vector<std::vector<std::string>>& references,
                                       size_t i) {
  std::vector<std::string> out;
  for (const auto& column : references)
    if (!column[i].empty()) out.push_back(column[i]);
  if (out.empty()) throw InputError(fmt::format("hypothesis {} has no reference", i + 1));
  return out;
}

class CiderD : public Metric {
 public:
  static constexpr int kOrder = 4;
  static constexpr double kSigma = 6.0;

  // Per image [score, 1]: the document frequencies stay those of the whole reference set.
  std::vector<std::vector<double>> item_statistics(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) const override {
    std::vector<std::vector<double>> rows;
    for (double score : per_image_scores(hypotheses, references)) rows.push_back({score, 1.0});
    return rows;
  }

  double score_from_statistics(const std::vector<double>& sums) const override {
    return mean_from_statistics(sums, 1.0, "CIDEr-D");
  }

  MetricScore corpus_score(const std::vector<std::string>& hypotheses,
                           const std::vector<std::vector<std::string>>& references) const override {
    const std::vector<double> per_image = per_image_scores(hypotheses, references);
    const size_t n = per_image.size();
    double total = 0;
    for (double v : per_image) total += v;
    MetricScore score;
    score.score = n ? total / static_cast<double>(n) : 0.0;
    score.signature = "cider-d|n:4|sigma:6|df:refs|tok:ptb-lower-nopunct|x10";
    score.summary = fmt::format("CIDEr-D = {:.4f} ({} images)", score.score, n);
    score.details = {{"per_image", per_image}};
    return score;
  }

 private:
  static std::vector<double> per_image_scores(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) {
    check_reference_lengths(hypotheses, references);
    const size_t n = hypotheses.size();
    std::vector<std::vector<Counts>> refs(n);
    std::vector<Counts> hyps(n);
    std::map<Ngram, double> document_frequency;
    for (size_t i = 0; i < n; ++i) {
      hyps[i] = ngram_counts(caption_tokens(hypotheses[i]), kOrder);
      std::set<Ngram> seen;
      for (const auto& r : references_of(references, i)) {
        refs[i].push_back(ngram_counts(caption_tokens(r), kOrder));
        for (const auto& [gram, count] : refs[i].back()) seen.insert(gram);
      }
      for (const auto& gram : seen) document_frequency[gram] += 1;
    }
    const double log_images = std::log(static_cast<double>(n));
    std::vector<double> per_image(n);
    for (size_t i = 0; i < n; ++i) {
      Vector hyp = vectorise(hyps[i], document_frequency, log_images);
      std::array<double, kOrder> sum{};
      for (const auto& ref_counts : refs[i]) {
        Vector ref = vectorise(ref_counts, document_frequency, log_images);
        const double delta = hyp.length - ref.length;
        for (int k = 0; k < kOrder; ++k) {
          double value = 0;
          for (const auto& [gram, weight] : hyp.vec[k]) {
            auto it = ref.vec[k].find(gram);
            if (it != ref.vec[k].end()) value += std::min(weight, it->second) * it->second;
          }
          if (hyp.norm[k] != 0 && ref.norm[k] != 0) value /= hyp.norm[k] * ref.norm[k];
          sum[k] += value * std::exp(-(delta * delta) / (2 * kSigma * kSigma));
        }
      }
      double mean = 0;
      for (double v : sum) mean += v;
      mean /= kOrder;
      per_image[i] = mean / static_cast<double>(refs[i].size()) * 10.0;
    }
    return per_image;
  }

  struct Vector {
    std::array<std::map<Ngram, double>, kOrder> vec;
    std::array<double, kOrder> norm{};
    double length = 0;
  };

  static Vector vectorise(const Counts& counts, const std::map<Ngram, double>& df,
                          double log_images) {
    Vector v;
    for (const auto& [gram, tf] : counts) {
      auto it = df.find(gram);
      const double frequency = std::log(std::max(1.0, it == df.end() ? 0.0 : it->second));
      const size_t k = gram.size() - 1;
      const double weight = tf * (log_images - frequency);
      v.vec[k][gram] = weight;
      v.norm[k] += weight * weight;
      if (k == 1) v.length += tf;  // the reference implementation's length: bigram count
    }
    for (auto& x : v.norm) x = std::sqrt(x);
    return v;
  }
};

class CocoBleu : public Metric {
 public:
  explicit CocoBleu(int order) : order_(order) {}

  // Per caption: hypothesis length, closest reference length, guesses of orders 1-4, matches of
  // orders 1-4.
  std::vector<std::vector<double>> item_statistics(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) const override {
    check_reference_lengths(hypotheses, references);
    std::vector<std::vector<double>> rows;
    for (size_t i = 0; i < hypotheses.size(); ++i) {
      auto hyp = caption_tokens(hypotheses[i]);
      Counts max_ref;
      std::vector<size_t> lengths;
      for (const auto& r : references_of(references, i)) {
        auto tokens = caption_tokens(r);
        lengths.push_back(tokens.size());
        for (const auto& [gram, count] : ngram_counts(tokens, 4))
          max_ref[gram] = std::max(max_ref[gram], count);
      }
      // Closest reference length, ties to the shorter.
      size_t closest = lengths[0];
      for (size_t l : lengths) {
        auto d = [&](size_t x) {
          return std::abs(static_cast<double>(x) - static_cast<double>(hyp.size()));
        };
        if (d(l) < d(closest) || (d(l) == d(closest) && l < closest)) closest = l;
      }
      std::vector<double> row(10, 0.0);
      row[0] = static_cast<double>(hyp.size());
      row[1] = static_cast<double>(closest);
      for (int k = 0; k < 4; ++k) row[2 + k] = std::max(0.0, static_cast<double>(hyp.size()) - k);
      for (const auto& [gram, count] : ngram_counts(hyp, 4)) {
        auto it = max_ref.find(gram);
        if (it != max_ref.end()) row[6 + gram.size() - 1] += std::min(count, it->second);
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  double score_from_statistics(const std::vector<double>& sums) const override {
    return bleus(sums)[static_cast<size_t>(order_ - 1)];
  }

  MetricScore corpus_score(const std::vector<std::string>& hypotheses,
                           const std::vector<std::vector<std::string>>& references) const override {
    const auto sums = sum_statistics(item_statistics(hypotheses, references), 10);
    const std::vector<double> b = bleus(sums);
    constexpr double kTiny = 1e-15, kSmall = 1e-9;
    const double ratio = (sums[0] + kTiny) / (sums[1] + kSmall);
    MetricScore score;
    score.score = b[static_cast<size_t>(order_ - 1)];
    score.signature = fmt::format("coco-bleu|n:{}|ref:closest|tok:ptb-lower-nopunct", order_);
    score.summary =
        fmt::format("BLEU-{} = {:.2f} (BLEU-1..4 {:.1f}/{:.1f}/{:.1f}/{:.1f}, ratio {:.3f})",
                    order_, score.score, b[0], b[1], b[2], b[3], ratio);
    score.details = {
        {"bleu_1_to_4", b}, {"hypothesis_length", sums[0]}, {"reference_length", sums[1]}};
    return score;
  }

 private:
  // BLEU-1..4 x 100 from summed statistics, with coco-caption's 1e-15 / 1e-9 guards.
  static std::vector<double> bleus(const std::vector<double>& sums) {
    if (sums.size() != 10)
      throw InputError(fmt::format("BLEU-n statistics have {} values, not 10", sums.size()));
    constexpr double kTiny = 1e-15, kSmall = 1e-9;
    std::vector<double> out;
    double product = 1;
    const double ratio = (sums[0] + kTiny) / (sums[1] + kSmall);
    for (int k = 0; k < 4; ++k) {
      product *= (sums[6 + k] + kTiny) / (sums[2 + k] + kSmall);
      double b = std::pow(product, 1.0 / (k + 1));
      if (ratio < 1) b *= std::exp(1 - 1 / ratio);
      out.push_back(100.0 * b);
    }
    return out;
  }

  int order_;
};

const bool registered = metric_registry().add(
                            "cider", [] { return std::unique_ptr<Metric>(new CiderD()); },
                            "CIDEr-D as coco-caption computes it (n-grams 1-4, TF-IDF from the "
                            "references, length penalty, x10)") &&
                        metric_registry().add(
                            "bleu-1", [] { return std::unique_ptr<Metric>(new CocoBleu(1)); },
                            "coco-caption BLEU-1 (captions, many references)") &&
                        metric_registry().add(
                            "bleu-2", [] { return std::unique_ptr<Metric>(new CocoBleu(2)); },
                            "coco-caption BLEU-2 (captions, many references)") &&
                        metric_registry().add(
                            "bleu-3", [] { return std::unique_ptr<Metric>(new CocoBleu(3)); },
                            "coco-caption BLEU-3 (captions, many references)") &&
                        metric_registry().add(
                            "bleu-4", [] { return std::unique_ptr<Metric>(new CocoBleu(4)); },
                            "coco-caption BLEU-4 (captions, many references)");

}  // namespace
}  // namespace seqlab
