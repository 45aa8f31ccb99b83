// Decoding over the Decoder interface only: greedy and batched beam search. Neither knows which
// family it drives; the decoder's state is reordered through Decoder::reorder.
#pragma once

#include <memory>
#include <vector>

#include "eval/shortlist.h"
#include "models/seq2seq.h"

namespace seqlab {

struct SearchOptions {
  int64_t beam = 1;               // 1 = greedy
  double length_penalty = 1.0;    // GNMT alpha (Wu et al. 2016): score / ((5 + len) / 6)^alpha
  double max_length_ratio = 2.0;  // max output tokens = ratio * source length + max_length_extra
  int64_t max_length_extra = 10;
  // The output limit when the source has no length to scale (images): this many tokens.
  int64_t max_length = 100;
  // No eos before this many tokens (fairseq's --min-len). At or above the length limit every
  // hypothesis runs to the limit: benchmarks use it so that both sides of a comparison decode the
  // same number of tokens whatever the model predicts.
  int64_t min_length = 0;
  // Decode over a lexical shortlist (eval/shortlist.h) of each batch's source tokens: the output
  // layer computes those rows only. Text sources only.
  std::shared_ptr<const Shortlist> shortlist;
};

struct Hypothesis {
  std::vector<int64_t> tokens;  // without bos/eos
  double score = 0;             // sum of log-probabilities (eos included)
};

// One best hypothesis per source row. Runs under InferenceMode; the model should be in eval().
std::vector<Hypothesis> greedy_search(Seq2Seq& model, const Source& source,
                                      const SearchOptions& options);
std::vector<Hypothesis> beam_search(Seq2Seq& model, const Source& source,
                                    const SearchOptions& options);
// Dispatches on options.beam.
std::vector<Hypothesis> search(Seq2Seq& model, const Source& source, const SearchOptions& options);

}  // namespace seqlab
