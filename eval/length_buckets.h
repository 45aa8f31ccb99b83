// Scores by source length (Bahdanau et al. 2015, Fig. 2): corpus BLEU within buckets of source
// sentence length in words, to show how a model degrades as sentences grow.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace seqlab {

struct LengthBucketScore {
  size_t min_words, max_words;  // inclusive; max_words = SIZE_MAX for the last bucket
  size_t sentences;
  double bleu;
};

// Buckets of `width` words (1-10, 11-20, ...); the last one is open-ended from `open_from`.
std::vector<LengthBucketScore> bleu_by_source_length(const std::vector<std::string>& sources,
                                                     const std::vector<std::string>& hypotheses,
                                                     const std::vector<std::string>& references,
                                                     size_t width = 10, size_t open_from = 41);

// Buckets 1-e0, e0+1-e1, ..., and one open-ended above the last edge (empty buckets are left out).
std::vector<LengthBucketScore> bleu_by_source_length(const std::vector<std::string>& sources,
                                                     const std::vector<std::string>& hypotheses,
                                                     const std::vector<std::string>& references,
                                                     const std::vector<size_t>& upper_edges);
Json to_json(const std::vector<LengthBucketScore>& buckets);

}  // namespace seqlab
