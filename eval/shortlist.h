// A lexical shortlist (Marian's "lexical shortlist", CTranslate2's vocabulary map): the target
// tokens a batch of sources may produce, so that decoding computes the output projection and the
// softmax over those alone.
//
// Built from the training pairs without an aligner: for each source token, the `per_source`
// target tokens with the highest Dice coefficient of sentence-level co-occurrence,
// 2 c(s, t) / (c(s) + c(t)) (each token counted once per sentence; ties by id), plus the
// `frequent` most frequent target tokens and the special tokens. Search (eval/search.h) applies it
// through the decoder's output layer: logits outside the shortlist are -infinity, so the softmax
// normalises over the shortlist, and a shortlist holding the whole vocabulary changes nothing.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "data/batch.h"

namespace seqlab {

struct Shortlist {
  int64_t vocab = 0;        // the token ids it covers: [0, vocab)
  torch::Tensor by_source;  // [vocab, per_source] int64, -1 where a token had fewer candidates
  torch::Tensor frequent;   // [F] int64, the most frequent targets (and the special tokens)

  int64_t per_source() const { return by_source.defined() ? by_source.size(1) : 0; }
  // Sorted unique target ids for sources `ids` ([B, S] int64, padding included): the special
  // tokens, the frequent ones and every source token's candidates.
  torch::Tensor for_sources(const torch::Tensor& ids) const;
};

// From tokenized pairs (Example::source / target ids without bos/eos) over a shared vocabulary.
Shortlist build_shortlist(const std::vector<Example>& examples, int64_t vocab, int64_t per_source,
                          int64_t frequent);

// One safetensors file (by_source, frequent; metadata vocab). Reading checks shapes, dtypes and
// that every id lies in the vocabulary: InputError naming the file otherwise.
void save_shortlist(const Shortlist& shortlist, const std::string& path);
Shortlist load_shortlist(const std::string& path, int64_t vocab);

}  // namespace seqlab
