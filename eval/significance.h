// Significance of a difference between systems, from per-item sufficient statistics
// (Metric::item_statistics), so nothing is decoded again:
//   - paired tests of two systems on one test set: paired bootstrap resampling (Koehn 2004) and
//     approximate randomization (Riezler and Maxwell 2005), computed the way sacreBLEU 2.x's
//     --paired-bs / --paired-ar compute them (the corpus metric recomputed from resampled sums,
//     p = (c + 1) / (trials + 1), sacreBLEU's mean +- half-width of the 95% resample interval),
//     plus the percentile interval of the difference itself. c counts trials at least as extreme
//     as the observed difference (>=, as Riezler and Maxwell write it; sacreBLEU counts >, which
//     differs only on exact ties and calls a system compared with itself significant);
//   - groups of runs (seeds) of two configurations on one test set: the difference of their mean
//     scores with an interval that carries both sources of noise, the spread over seeds and the
//     test set's sampling error (a bootstrap over test items shared by every run), combined with
//     a Welch-Satterthwaite t. The comparison is paired when the two sides share two or more
//     seeds (the runner's seed i shuffles the data and seeds both models' initialisation alike,
//     so their scores move together): over the shared seeds only (a run whose seed the other
//     side lacks is left out), the variance of the per-seed differences over n, n - 1 degrees of
//     freedom. Otherwise it is Welch's variance of two independent means over every run.
// Everything is seeded and reproducible: the same statistics and seed give the same figures on
// every machine (own index draws from std::mt19937_64, whose sequence the standard fixes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "eval/metric.h"

namespace seqlab {

using ItemStatistics = std::vector<std::vector<double>>;  // one row per test item

struct PairedTestOptions {
  std::string method = "bs";        // "bs": paired bootstrap; "ar": approximate randomization
  int64_t samples = 0;              // resamples (bs) or trials (ar); 0: 1,000 for bs, 10,000 for ar
  int64_t interval_samples = 1000;  // ar: bootstrap resamples for the intervals
  uint64_t seed = 12345;            // sacreBLEU's default SACREBLEU_SEED
  double confidence = 0.95;
};

struct PairedTestResult {
  std::string method;
  int64_t samples = 0, items = 0;
  uint64_t seed = 0;
  double baseline = 0, system = 0;  // corpus scores
  double difference = 0;            // system - baseline
  double low = 0, high = 0;         // interval of the difference (bootstrap percentiles)
  double p_value = 1;               // two-sided
  // sacreBLEU's "mean (+- ci)" of each system over the bootstrap resamples.
  double baseline_mean = 0, baseline_ci = 0, system_mean = 0, system_ci = 0;
  Json to_json() const;
};

// InputError when the two sets differ in items or row width, or a method is unknown.
PairedTestResult paired_test(const Metric& metric, const ItemStatistics& baseline,
                             const ItemStatistics& system, const PairedTestOptions& options = {});

// A group of runs of one configuration: each run's score (the headline value, whatever produced
// it) and, where kept, its item statistics on the shared test set.
struct RunGroup {
  std::vector<double> scores;
  std::vector<ItemStatistics> items;  // empty, or one per score
  std::vector<uint64_t> seeds;        // empty (unknown: never paired), or one per score
};

struct GroupComparisonOptions {
  int64_t samples = 1000;  // bootstrap resamples of test items
  uint64_t seed = 12345;
};

struct GroupComparison {
  double difference = 0;                               // mean(left) - mean(right)
  int64_t left_seeds = 0, right_seeds = 0, items = 0;  // runs compared; items 0: none kept
  double seed_variance = 0;  // variance of the difference from the spread over seeds (NaN: unknown)
  double item_variance = 0;  // from the test set's sampling error (NaN: unknown)
  bool paired = false;       // over the seeds both sides ran, from per-seed differences
  int64_t unpaired_runs = 0;  // paired: runs left out, their seed missing on the other side
  double standard_error = 0, degrees_of_freedom = 0;  // of the combined variance
  double p_value = 1;        // two-sided, H0: no difference (NaN when no variance is known)
  bool seeds_known() const;  // 2+ seeds a side
  bool items_known() const;
  // Two-sided interval at `confidence` (t with degrees_of_freedom); +-inf when nothing is known.
  std::pair<double, double> interval(double confidence) const;
  std::string dominant_noise() const;  // "seeds", "test items" or "unknown"
};

// `metric` recomputes scores from resampled item statistics; without it (or without statistics
// on every run) only the seed spread is used.
GroupComparison compare_groups(const Metric* metric, const RunGroup& left, const RunGroup& right,
                               const GroupComparisonOptions& options = {});

// The item statistics of one evaluation, kept beside its hypotheses
// (RUN/<split>.beam<N>.items.json):
//   {"format": "seqlab-item-statistics", "version": 1, "items": N,
//    "references_sha256": "...", "metrics": {"bleu": [[...], ...], "chrf": [...]},
//    "source_words": [...]}   (translation: each source's length in words, for length buckets)
// The references' digest names the test set: two files are compared only when it agrees.
struct ItemStatisticsFile {
  int64_t items = 0;
  std::string references_sha256;
  std::map<std::string, ItemStatistics> metrics;
  std::vector<int64_t> source_words;  // empty when not kept
  Json to_json() const;
};

std::string references_digest(const std::vector<std::vector<std::string>>& references);
ItemStatisticsFile compute_item_statistics(const std::vector<std::string>& metrics,
                                           const std::vector<std::string>& hypotheses,
                                           const std::vector<std::vector<std::string>>& references);
void write_item_statistics(const std::string& path, const ItemStatisticsFile& file);
// Validated whole (format, counts, widths, finite values, known metric names); InputError naming
// the file and the key.
ItemStatisticsFile read_item_statistics(const std::string& path);
// The file an evaluation of `split` at `beam` keeps in `run_dir`; `variant` (".int8") names a
// decoding in another precision than the run's own.
std::string item_statistics_path(const std::string& run_dir, const std::string& split, int64_t beam,
                                 const std::string& variant = "");

// "p = 0.0123", or "p < 0.0001" below that.
std::string format_p_value(double p);

// Student's t distribution: the two-sided tail P(|T| > t) and the quantile of probability p.
double student_t_two_sided_p(double t, double degrees_of_freedom);
double student_t_quantile(double p, double degrees_of_freedom);

}  // namespace seqlab
