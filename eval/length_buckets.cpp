#include "eval/length_buckets.h"

#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/metric.h"

namespace seqlab {

std::vector<LengthBucketScore> bleu_by_source_length(const std::vector<std::string>& sources,
                                                     const std::vector<std::string>& hypotheses,
                                                     const std::vector<std::string>& references,
                                                     const std::vector<size_t>& upper_edges) {
  if (sources.size() != hypotheses.size() || sources.size() != references.size())
    throw InputError("length buckets need as many sources, hypotheses and references");
  for (size_t i = 0; i < upper_edges.size(); ++i)
    if (upper_edges[i] < 1 || (i > 0 && upper_edges[i] <= upper_edges[i - 1]))
      throw InputError(fmt::format("length bucket edges must be positive and increasing, got {}",
                                   fmt::join(upper_edges, ", ")));
  auto bleu = metric_registry().create("bleu");
  std::vector<LengthBucketScore> out;
  size_t low = 1;
  for (size_t e = 0; e <= upper_edges.size(); ++e) {
    size_t high = e < upper_edges.size() ? upper_edges[e] : std::numeric_limits<size_t>::max();
    std::vector<std::string> hyps, refs;
    for (size_t i = 0; i < sources.size(); ++i) {
      size_t words = split_whitespace(sources[i]).size();
      if (words >= low && words <= high) {
        hyps.push_back(hypotheses[i]);
        refs.push_back(references[i]);
      }
    }
    if (!hyps.empty())
      out.push_back({low, high, hyps.size(), bleu->corpus_score(hyps, {refs}).score});
    if (e < upper_edges.size()) low = upper_edges[e] + 1;
  }
  return out;
}

std::vector<LengthBucketScore> bleu_by_source_length(const std::vector<std::string>& sources,
                                                     const std::vector<std::string>& hypotheses,
                                                     const std::vector<std::string>& references,
                                                     size_t width, size_t open_from) {
  std::vector<size_t> edges;
  for (size_t high = width; high < open_from; high += width) edges.push_back(high);
  return bleu_by_source_length(sources, hypotheses, references, edges);
}

Json to_json(const std::vector<LengthBucketScore>& buckets) {
  Json out = Json::array();
  for (const auto& b : buckets)
    out.push_back({{"words", b.max_words == std::numeric_limits<size_t>::max()
                                 ? fmt::format("{}+", b.min_words)
                                 : fmt::format("{}-{}", b.min_words, b.max_words)},
                   {"sentences", b.sentences},
                   {"bleu", b.bleu}});
  return out;
}

}  // namespace seqlab
