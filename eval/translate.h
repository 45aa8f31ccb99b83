// Translating and scoring sentences with a model, a tokenizer and a device: what `seqlab eval`,
// `seqlab translate`, the experiment runner and the tests share. Nothing here knows about run
// directories (train/evaluate.h loads a run and calls these).
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "core/config.h"
#include "data/batch.h"
#include "eval/search.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

// Search options from the config's eval.* keys (declared here: eval.beam, eval.length_penalty,
// eval.max_length_ratio).
SearchOptions search_options(const Config& config);

// The lines of a translation job as examples: the non-empty ones' source ids, and the line each
// came from. An empty (or all-blank) line is left out and translates to an empty line, as in
// Marian, rather than to whatever the model says after nothing but end-of-sentence.
struct SourceExamples {
  std::vector<Example> examples;
  std::vector<size_t> line_of;  // examples[i] is lines[line_of[i]]
};
SourceExamples encode_sources(const Tokenizer& tokenizer, const std::vector<std::string>& lines);

// The padded tokens a batch of sources may hold when each becomes `beam` rows: the budget divided
// by the beam, so a batch costs about the same at any width (at least 64).
int64_t beam_batch_tokens(int64_t batch_tokens, int64_t beam);

// Translates sentences in length-sorted batches of about `batch_tokens` padded tokens; returns
// detokenized text in input order. An empty line translates to an empty line.
std::vector<std::string> translate_sentences(Seq2Seq& model, const Tokenizer& tokenizer,
                                             torch::Device device,
                                             const std::vector<std::string>& sources,
                                             const SearchOptions& options,
                                             int64_t batch_tokens = 4000);

// Corpus BLEU (sacreBLEU's 13a defaults) and chrF2 of `hypotheses` against one reference each,
// and BLEU by source length in words (eval/length_buckets.h):
//   {"sentences", "exact_match" (% of hypotheses equal to their reference), "bleu", "chrf",
//   "bleu_summary", "bleu_signature", "chrf_signature",
//    "bleu_by_source_length": [{"words", "sentences", "bleu"}, ...]}
Json score_translations(const std::vector<std::string>& sources,
                        const std::vector<std::string>& hypotheses,
                        const std::vector<std::string>& references);

}  // namespace seqlab
