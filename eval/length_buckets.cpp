#include "eval/length_buckets.h"

#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/metric.h"

namespace seqlab {

std::vector<LengthBucketScore> bleu_by_source_length(const std::vector<std::string>& sources,
                                                     const std::vector<std::string>& hypotheses,
                                                     const std::vector<std::string>& references,
                                                     size_t width, size_t open_from) {
  if (sources.size() != hypotheses.size() || sources.size() != references.size())
    throw InputError("length buckets need as many sources, hypotheses and references");
  auto bleu = MetricRegistry().create("bleu");
  std::vector<LengthBucketScore> out;
  for (size_t low = 1; low <= open_from; low += width) {
    size_t high = low >= open_from ? std::numeric_limits<size_t>::max() : low + width - 1;
    std::vector<std::string> hyps, refs;
    for (size_t i = 0; i < sources.size(); ++i) {
      size_t words = split_whitespace(sources[i]).size();
      if (words >= low && words <= high) {
        hyps.push_back(hypotheses[i]);
        refs.push_back(references[i]);
      }
    }
    if (hyps.empty()) continue;
    out.push_back({low, high, hyps.size(), bleu->corpus_score(hyps, {refs}).score});
  }
  return out;
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
