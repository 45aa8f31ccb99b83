#include "eval/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"

namespace seqlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Uniform integer in [0, n) by rejection from mt19937_64 (whose sequence the standard fixes;
// std::uniform_int_distribution is implementation-defined).
uint64_t draw_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % n;
}

// Item statistics as one row-major block; InputError when rows differ in width.
struct Block {
  size_t items = 0, width = 0;
  std::vector<double> values;
  explicit Block(const ItemStatistics& rows, const std::string& what) {
    items = rows.size();
    width = rows.empty() ? 0 : rows.front().size();
    values.reserve(items * width);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].size() != width)
        throw InputError(fmt::format("{}: item {} has {} statistics, item 1 has {}", what, i + 1,
                                     rows[i].size(), width));
      values.insert(values.end(), rows[i].begin(), rows[i].end());
    }
  }
  const double* row(size_t i) const { return values.data() + i * width; }
  void add(std::vector<double>& into, size_t i) const {
    const double* r = row(i);
    for (size_t k = 0; k < width; ++k) into[k] += r[k];
  }
};

// The lower and upper percentile of sorted values at `confidence`, with sacreBLEU's indices
// (for 95% and n values: n // 40 and n - n // 40 - 1).
std::pair<double, double> percentile_interval(std::vector<double> values, double confidence) {
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  const auto lower = static_cast<size_t>(std::floor(double(n) * (1 - confidence) / 2));
  return {values[lower], values[n - lower - 1]};
}

double mean_of(const std::vector<double>& values) {
  double s = 0;
  for (double v : values) s += v;
  return values.empty() ? 0.0 : s / double(values.size());
}

double variance_of(const std::vector<double>& values) {
  if (values.size() < 2) return kNaN;
  const double m = mean_of(values);
  double ss = 0;
  for (double v : values) ss += (v - m) * (v - m);
  return ss / double(values.size() - 1);
}

// sacreBLEU's mean and half-width of the 95% interval of one system's resample scores.
std::pair<double, double> mean_and_half_width(const std::vector<double>& scores,
                                              double confidence) {
  auto [low, high] = percentile_interval(scores, confidence);
  return {mean_of(scores), 0.5 * (high - low)};
}

// Paired bootstrap: the same resampled items for both systems. Returns the resample scores.
void bootstrap(const Metric& metric, const Block& a, const Block& b, int64_t samples,
               std::mt19937_64& rng, std::vector<double>& scores_a, std::vector<double>& scores_b) {
  std::vector<double> sum_a(a.width), sum_b(b.width);
  for (int64_t s = 0; s < samples; ++s) {
    std::fill(sum_a.begin(), sum_a.end(), 0.0);
    std::fill(sum_b.begin(), sum_b.end(), 0.0);
    for (size_t i = 0; i < a.items; ++i) {
      const size_t j = draw_below(rng, a.items);
      a.add(sum_a, j);
      b.add(sum_b, j);
    }
    scores_a.push_back(metric.score_from_statistics(sum_a));
    scores_b.push_back(metric.score_from_statistics(sum_b));
  }
}

// The regularised incomplete beta function I_x(a, b) by its continued fraction (modified Lentz).
double incomplete_beta(double x, double a, double b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(1 - x, b, a);
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  constexpr double kTiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double f = d;
  for (int m = 1; m <= 10000; ++m) {
    for (int part = 0; part < 2; ++part) {
      const double numerator = part == 0
                                   ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                                   : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
      d = 1 + numerator * d;
      if (std::abs(d) < kTiny) d = kTiny;
      c = 1 + numerator / c;
      if (std::abs(c) < kTiny) c = kTiny;
      d = 1 / d;
      f *= c * d;
      if (part == 1 && std::abs(c * d - 1) < 1e-15) return std::exp(log_front) * f / a;
    }
  }
  return std::exp(log_front) * f / a;
}

}  // namespace

Json PairedTestResult::to_json() const {
  return {{"method", method},
          {"samples", samples},
          {"items", items},
          {"seed", seed},
          {"baseline", baseline},
          {"system", system},
          {"difference", difference},
          {"interval", {low, high}},
          {"p_value", p_value},
          {"baseline_mean", baseline_mean},
          {"baseline_ci", baseline_ci},
          {"system_mean", system_mean},
          {"system_ci", system_ci}};
}

PairedTestResult paired_test(const Metric& metric, const ItemStatistics& baseline,
                             const ItemStatistics& system, const PairedTestOptions& options) {
  if (options.method != "bs" && options.method != "ar")
    throw InputError(fmt::format("unknown paired test '{}' (valid: bs, ar)", options.method));
  if (!(options.confidence > 0 && options.confidence < 1))
    throw InputError(fmt::format("confidence {} is not between 0 and 1", options.confidence));
  const Block a(baseline, "baseline"), b(system, "system");
  if (a.items != b.items)
    throw InputError(
        fmt::format("the systems have {} and {} items: a paired test needs the same test set",
                    a.items, b.items));
  if (a.items == 0) throw InputError("a paired test needs at least one test item");
  if (a.width != b.width)
    throw InputError(
        fmt::format("the systems have {} and {} statistics per item", a.width, b.width));
  PairedTestResult r;
  r.method = options.method;
  r.samples = options.samples > 0 ? options.samples : options.method == "bs" ? 1000 : 10000;
  r.items = static_cast<int64_t>(a.items);
  r.seed = options.seed;
  r.baseline = metric.score_from_statistics(sum_statistics(baseline));
  r.system = metric.score_from_statistics(sum_statistics(system));
  r.difference = r.system - r.baseline;
  const double observed = std::abs(r.difference);
  std::mt19937_64 rng(options.seed);
  std::vector<double> scores_a, scores_b;
  int64_t exceed = 0;  // trials at least as extreme as the observed difference
  const int64_t bootstrap_samples =
      options.method == "bs" ? r.samples : std::max<int64_t>(1, options.interval_samples);
  if (options.method == "bs") {
    bootstrap(metric, a, b, bootstrap_samples, rng, scores_a, scores_b);
    // sacreBLEU / Moses: the absolute resample differences, shifted to mean zero (the null
    // hypothesis), against the observed absolute difference.
    std::vector<double> centred(scores_a.size());
    for (size_t s = 0; s < scores_a.size(); ++s) centred[s] = std::abs(scores_b[s] - scores_a[s]);
    const double shift = mean_of(centred);
    for (double d : centred) exceed += d - shift >= observed;
  } else {
    // Each trial swaps each item's statistics between the systems with probability 1/2.
    std::vector<double> sum_a(a.width), sum_b(a.width);
    for (int64_t s = 0; s < r.samples; ++s) {
      std::fill(sum_a.begin(), sum_a.end(), 0.0);
      std::fill(sum_b.begin(), sum_b.end(), 0.0);
      uint64_t bits = 0;
      for (size_t i = 0; i < a.items; ++i) {
        if (i % 64 == 0) bits = rng();
        const bool swap = (bits >> (i % 64)) & 1;
        a.add(swap ? sum_b : sum_a, i);
        b.add(swap ? sum_a : sum_b, i);
      }
      exceed += std::abs(metric.score_from_statistics(sum_a) -
                         metric.score_from_statistics(sum_b)) >= observed;
    }
    bootstrap(metric, a, b, bootstrap_samples, rng, scores_a, scores_b);
  }
  r.p_value = double(exceed + 1) / double(r.samples + 1);
  std::vector<double> differences(scores_a.size());
  for (size_t s = 0; s < scores_a.size(); ++s) differences[s] = scores_b[s] - scores_a[s];
  std::tie(r.low, r.high) = percentile_interval(differences, options.confidence);
  std::tie(r.baseline_mean, r.baseline_ci) = mean_and_half_width(scores_a, 0.95);
  std::tie(r.system_mean, r.system_ci) = mean_and_half_width(scores_b, 0.95);
  return r;
}

bool GroupComparison::seeds_known() const { return std::isfinite(seed_variance); }
bool GroupComparison::items_known() const { return std::isfinite(item_variance); }

std::pair<double, double> GroupComparison::interval(double confidence) const {
  if (!std::isfinite(standard_error)) return {-kInf, kInf};
  const double t = student_t_quantile(0.5 + confidence / 2, degrees_of_freedom);
  return {difference - t * standard_error, difference + t * standard_error};
}

std::string GroupComparison::dominant_noise() const {
  if (!seeds_known() && !items_known()) return "unknown";
  if (!seeds_known()) return "test items";
  if (!items_known()) return "seeds";
  return seed_variance >= item_variance ? "seeds" : "test items";
}

namespace {

// The runs of both sides on the seeds they share, in one order, when they share 2+ seeds and no
// side ran a seed twice (a side that spans several cells); nullopt otherwise.
std::optional<std::pair<RunGroup, RunGroup>> matched_runs(const RunGroup& left,
                                                          const RunGroup& right) {
  if (left.seeds.size() != left.scores.size() || right.seeds.size() != right.scores.size())
    return std::nullopt;
  auto index_of = [](const RunGroup& g) -> std::optional<std::map<uint64_t, size_t>> {
    std::map<uint64_t, size_t> index;
    for (size_t i = 0; i < g.seeds.size(); ++i)
      if (!index.emplace(g.seeds[i], i).second) return std::nullopt;
    return index;
  };
  const auto left_index = index_of(left), right_index = index_of(right);
  if (!left_index || !right_index) return std::nullopt;
  std::pair<RunGroup, RunGroup> matched;
  // Item statistics travel with their runs when every run of both sides has them.
  const bool items = left.items.size() == left.scores.size() &&
                     right.items.size() == right.scores.size() && !left.items.empty();
  for (const auto& [seed, i] : *left_index) {
    auto it = right_index->find(seed);
    if (it == right_index->end()) continue;
    const size_t j = it->second;
    for (auto [group, from, k] :
         {std::tuple<RunGroup*, const RunGroup*, size_t>{&matched.first, &left, i},
          {&matched.second, &right, j}}) {
      group->scores.push_back(from->scores[k]);
      group->seeds.push_back(seed);
      if (items) group->items.push_back(from->items[k]);
    }
  }
  if (matched.first.scores.size() < 2) return std::nullopt;
  return matched;
}

// The comparison itself; `paired`: left and right hold the same seeds in the same order.
GroupComparison compare_runs(const Metric* metric, const RunGroup& left, const RunGroup& right,
                             const GroupComparisonOptions& options, bool paired) {
  GroupComparison c;
  c.left_seeds = static_cast<int64_t>(left.scores.size());
  c.right_seeds = static_cast<int64_t>(right.scores.size());
  c.difference = mean_of(left.scores) - mean_of(right.scores);
  // Seeds: paired (the shared seeds, matched by compare_groups), otherwise Welch's variance of a
  // difference of two means. `seed_df_term` is the seed part's share of the Welch-Satterthwaite
  // denominator.
  double seed_df_term = 0;
  if (paired) {  // left and right hold the same seeds in the same order
    c.paired = true;
    std::vector<double> differences;
    for (size_t i = 0; i < left.scores.size(); ++i)
      differences.push_back(left.scores[i] - right.scores[i]);
    const double n = double(differences.size());
    c.seed_variance = variance_of(differences) / n;
    seed_df_term = c.seed_variance * c.seed_variance / (n - 1);
  } else {
    const double part_left = variance_of(left.scores) / double(c.left_seeds),
                 part_right = variance_of(right.scores) / double(c.right_seeds);
    c.seed_variance = part_left + part_right;  // NaN with one run on a side
    if (c.seeds_known())
      seed_df_term = part_left * part_left / double(c.left_seeds - 1) +
                     part_right * part_right / double(c.right_seeds - 1);
  }
  // Test items: one bootstrap over the shared items for every run of both sides.
  c.item_variance = kNaN;
  const bool have_items = metric && left.items.size() == left.scores.size() &&
                          right.items.size() == right.scores.size();
  if (have_items) {
    std::vector<Block> blocks_left, blocks_right;
    for (const auto& s : left.items) blocks_left.emplace_back(s, "left run");
    for (const auto& s : right.items) blocks_right.emplace_back(s, "right run");
    const size_t n = blocks_left.front().items;
    for (const auto* side : {&blocks_left, &blocks_right})
      for (const auto& block : *side)
        if (block.items != n)
          throw InputError(
              fmt::format("runs scored on {} and {} test items: not one test set", n, block.items));
    if (n > 0) {
      c.items = static_cast<int64_t>(n);
      std::mt19937_64 rng(options.seed);
      std::vector<size_t> picks(n);
      std::vector<double> differences;
      for (int64_t s = 0; s < std::max<int64_t>(2, options.samples); ++s) {
        for (auto& p : picks) p = draw_below(rng, n);
        double means[2] = {0, 0};
        int side = 0;
        for (const auto* blocks : {&blocks_left, &blocks_right}) {
          for (const auto& block : *blocks) {
            std::vector<double> sums(block.width, 0.0);
            for (size_t p : picks) block.add(sums, p);
            means[side] += metric->score_from_statistics(sums) / double(blocks->size());
          }
          ++side;
        }
        differences.push_back(means[0] - means[1]);
      }
      c.item_variance = variance_of(differences);
    }
  }
  // Combined: the variances add; Welch-Satterthwaite degrees of freedom, the item part counted as
  // known (many items).
  double variance = 0, denominator = 0;
  if (c.seeds_known()) {
    variance += c.seed_variance;
    denominator += seed_df_term;
  }
  if (c.items_known()) variance += c.item_variance;
  if (!c.seeds_known() && !c.items_known()) {
    c.standard_error = kInf;
    c.degrees_of_freedom = kNaN;
    c.p_value = kNaN;
    return c;
  }
  c.standard_error = std::sqrt(variance);
  c.degrees_of_freedom = denominator > 0 ? variance * variance / denominator : kInf;
  if (c.standard_error > 0) {
    c.p_value = student_t_two_sided_p(c.difference / c.standard_error, c.degrees_of_freedom);
  } else {
    c.p_value = c.difference == 0 ? 1.0 : 0.0;
  }
  return c;
}

}  // namespace

GroupComparison compare_groups(const Metric* metric, const RunGroup& left, const RunGroup& right,
                               const GroupComparisonOptions& options) {
  if (left.scores.empty() || right.scores.empty())
    throw InputError("a comparison needs at least one run a side");
  // Paired: only the seeds both sides ran; a run without its partner is left out.
  const auto matched = matched_runs(left, right);
  if (matched) {
    GroupComparison c = compare_runs(metric, matched->first, matched->second, options, true);
    c.unpaired_runs = static_cast<int64_t>(left.scores.size() + right.scores.size() -
                                           2 * matched->first.scores.size());
    return c;
  }
  return compare_runs(metric, left, right, options, false);
}

Json ItemStatisticsFile::to_json() const {
  Json out = {{"format", "seqlab-item-statistics"},
              {"version", 1},
              {"items", items},
              {"references_sha256", references_sha256},
              {"metrics", Json::object()}};
  for (const auto& [name, rows] : metrics) out["metrics"][name] = rows;
  if (!source_words.empty()) out["source_words"] = source_words;
  return out;
}

std::string references_digest(const std::vector<std::vector<std::string>>& references) {
  std::string joined;
  for (const auto& set : references) {
    for (const auto& line : set) joined += line + "\n";
    joined += '\0';
  }
  return sha256_hex(joined);
}

ItemStatisticsFile compute_item_statistics(
    const std::vector<std::string>& metrics, const std::vector<std::string>& hypotheses,
    const std::vector<std::vector<std::string>>& references) {
  ItemStatisticsFile file;
  file.items = static_cast<int64_t>(hypotheses.size());
  file.references_sha256 = references_digest(references);
  for (const auto& name : metrics)
    file.metrics[name] = metric_registry().create(name)->item_statistics(hypotheses, references);
  return file;
}

void write_item_statistics(const std::string& path, const ItemStatisticsFile& file) {
  write_file_atomic(path, file.to_json().dump() + "\n");
}

std::string item_statistics_path(const std::string& run_dir, const std::string& split, int64_t beam,
                                 const std::string& variant) {
  return fmt::format("{}/{}.beam{}{}.items.json", run_dir, split, beam, variant);
}

ItemStatisticsFile read_item_statistics(const std::string& path) {
  const Json json = read_json_file(path);
  return with_json_context(path, [&] {
    auto fail = [&](const std::string& what) {
      throw InputError(fmt::format("{}: {}", path, what));
    };
    if (!json.is_object() || json.value("format", "") != "seqlab-item-statistics")
      fail("not a seqlab item statistics file (\"format\": \"seqlab-item-statistics\" expected)");
    if (json.value("version", 0) != 1) fail("unsupported version (1 expected)");
    for (const auto& [key, value] : json.items())
      if (key != "format" && key != "version" && key != "items" && key != "references_sha256" &&
          key != "metrics" && key != "source_words")
        fail(fmt::format("unknown key '{}'", key));
    ItemStatisticsFile file;
    file.items = json.at("items").get<int64_t>();
    if (file.items < 0) fail("\"items\" is negative");
    file.references_sha256 = json.at("references_sha256").get<std::string>();
    if (!json.at("metrics").is_object()) fail("\"metrics\" is not an object");
    for (const auto& [name, rows] : json.at("metrics").items()) {
      if (!metric_registry().contains(name))
        fail(fmt::format("unknown metric '{}' (valid: {})", name,
                         join_names(metric_registry().names())));
      if (!rows.is_array() || static_cast<int64_t>(rows.size()) != file.items)
        fail(fmt::format("metric '{}' has {} rows, \"items\" says {}", name,
                         rows.is_array() ? rows.size() : 0, file.items));
      ItemStatistics parsed;
      parsed.reserve(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        auto row = rows[i].get<std::vector<double>>();
        if (!parsed.empty() && row.size() != parsed.front().size())
          fail(fmt::format("metric '{}' item {} has {} values, item 1 has {}", name, i + 1,
                           row.size(), parsed.front().size()));
        for (double v : row)
          if (!std::isfinite(v) || v < 0)
            fail(fmt::format("metric '{}' item {} has a value that is not a finite count", name,
                             i + 1));
        parsed.push_back(std::move(row));
      }
      file.metrics[name] = std::move(parsed);
    }
    if (json.contains("source_words")) {
      file.source_words = json.at("source_words").get<std::vector<int64_t>>();
      if (static_cast<int64_t>(file.source_words.size()) != file.items)
        fail(fmt::format("\"source_words\" has {} values, \"items\" says {}",
                         file.source_words.size(), file.items));
    }
    return file;
  });
}

std::string format_p_value(double p) {
  return p < 0.0001 ? "p < 0.0001" : fmt::format("p = {:.4f}", p);
}

double student_t_two_sided_p(double t, double degrees_of_freedom) {
  if (std::isnan(t) || !(degrees_of_freedom > 0)) return kNaN;
  if (std::isinf(t)) return 0.0;
  if (!std::isfinite(degrees_of_freedom) || degrees_of_freedom > 1e7)
    return std::erfc(std::abs(t) / std::sqrt(2.0));
  return incomplete_beta(degrees_of_freedom / (degrees_of_freedom + t * t), degrees_of_freedom / 2,
                         0.5);
}

double student_t_quantile(double p, double degrees_of_freedom) {
  if (!(p > 0 && p < 1) || !(degrees_of_freedom > 0)) return kNaN;
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -student_t_quantile(1 - p, degrees_of_freedom);
  const double two_sided = 2 * (1 - p);
  // P(|T| > t) falls with t: bisect on [0, hi].
  double lo = 0, hi = 1;
  while (student_t_two_sided_p(hi, degrees_of_freedom) > two_sided && hi < 1e300) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * std::max(1.0, hi); ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_two_sided_p(mid, degrees_of_freedom) > two_sided ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace seqlab
