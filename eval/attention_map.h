// The attention map of one translation: greedy-translates a sentence while an AttentionRecorder
// listens, then draws the headline map (generated tokens over source tokens, heads averaged) and
// every layer's heads as PNGs, with the tokens and weights as JSON beside them.
#pragma once

#include <string>

#include <torch/types.h>

#include "core/config.h"
#include "eval/search.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

// Writes out_png (the headline map), <stem>.<layer>.png per recorded map and <stem>.json; returns
// {"source", "translation", "source_tokens", "target_tokens", "png", "maps", "json"}.
// InputError when `text` is empty or not UTF-8, or the model has no attention (`decoder_name`
// is named in that message).
Json write_attention_map(Seq2Seq& model, const Tokenizer& tokenizer, torch::Device device,
                         const SearchOptions& options, const std::string& decoder_name,
                         const std::string& text, const std::string& out_png);

}  // namespace seqlab
