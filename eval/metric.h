// Corpus-level text metrics behind one registry ("metrics"): `seqlab score NAME` and validation
// look them up by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/registry.h"

namespace seqlab {

struct MetricScore {
  double score = 0;       // the headline number, 0-100
  std::string signature;  // how it was computed (sacreBLEU-style), for reports
  std::string summary;    // one line a person reads, e.g. "BLEU = 48.53 82.4/50.0/45.5/37.5 ..."
  Json details;           // everything else, machine-readable
};

class Metric {
 public:
  virtual ~Metric() = default;
  // references[k][i] is the k-th reference of hypothesis i; an empty reference is skipped (a
  // variable number of references per hypothesis). InputError when lengths differ.
  virtual MetricScore corpus_score(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) const = 0;

  // Sufficient statistics of each hypothesis (sacreBLEU's `_extract_corpus_statistics`): the corpus
  // score is score_from_statistics() of their column sums, so a paired test resamples items
  // without decoding or tokenising again. Every row has the same length. Metrics whose corpus
  // score is not a function of summed counts (CIDEr-D, whose document frequencies come from the
  // whole reference set) keep those global parts fixed and give per-item scores [score_i, 1].
  virtual std::vector<std::vector<double>> item_statistics(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) const = 0;
  // The corpus score (0-100, as `score`) from column sums of item_statistics() rows.
  virtual double score_from_statistics(const std::vector<double>& sums) const = 0;
  // False for a metric of a model's probabilities (perplexity): its item statistics come from the
  // evaluation that scored the model, and the text entry points throw InputError.
  virtual bool scores_text() const { return true; }
};

// Column sums of item statistics (the whole set: what corpus_score scores); `width` zeros when
// there are no rows (a metric scoring an empty set).
std::vector<double> sum_statistics(const std::vector<std::vector<double>>& rows, size_t width = 0);

// The score of metrics whose item statistics are [value, 1] (accuracy, exact match, CIDEr-D per
// image): scale x the sum of values / the number of items, 0 without items. InputError naming
// `metric` unless `sums` holds two values.
double mean_from_statistics(const std::vector<double>& sums, double scale, const char* metric);

SEQLAB_DECLARE_REGISTRY(metric_registry, std::unique_ptr<Metric>);

// Checks that every reference set has one line per hypothesis.
void check_reference_lengths(const std::vector<std::string>& hypotheses,
                             const std::vector<std::vector<std::string>>& references);

// Python's str.split(): splits on Unicode whitespace, dropping empty pieces.
std::vector<std::string> split_whitespace(const std::string& text);

// sacreBLEU's default 13a tokenizer (mteval-v13a.pl).
std::string tokenize_13a(const std::string& line);

// Caption text as coco-caption's PTBTokenizer leaves it for CIDEr-D and its BLEU: lowercased,
// punctuation split off and dropped, clitics ('s, n't, 're, ...) split off and kept.
std::vector<std::string> caption_tokens(const std::string& text);

}  // namespace seqlab
