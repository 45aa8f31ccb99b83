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

// Captioning: greedy-captions one image [C, H, W] uint8 and returns, per generated word (eos
// excluded), the decoder's attention over the encoder's grid, heads averaged, from the last
// attention that reads the image regions. InputError when the model has no attention over regions.
struct ImageAttention {
  std::string caption;
  std::vector<std::string> tokens;  // generated pieces
  std::vector<std::string> words;   // each piece decoded alone (no joiner marks), for labels
  torch::Tensor weights;            // [T, grid_height, grid_width], rows sum to one
};
ImageAttention image_attention(Seq2Seq& model, const Tokenizer& tokenizer, torch::Device device,
                               const SearchOptions& options, const std::string& decoder_name,
                               const torch::Tensor& image);

// Draws a strip: the image, then one frame per generated word with its attention laid over the
// image (bright where the decoder looked) and the word below; writes <stem>.json with the
// weights. Returns {"caption", "tokens", "grid", "png", "json"}.
Json write_image_attention_map(Seq2Seq& model, const Tokenizer& tokenizer, torch::Device device,
                               const SearchOptions& options, const std::string& decoder_name,
                               const torch::Tensor& image, const std::string& out_png);

}  // namespace seqlab
