// Attention heatmaps as PNG: source tokens along the top, generated tokens down the left, one
// cell per weight (white = 0, dark blue = 1). Labels are drawn in DejaVu Sans (eval/raster.h), so
// "à", "ß" and SentencePiece's "▁" appear as they are.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace seqlab {

// weights [Tq, Tk] (rows: generated tokens, columns: source tokens). Throws Error if the file
// cannot be written; InputError if the label counts do not match the shape.
void write_attention_png(const std::string& path, const torch::Tensor& weights,
                         const std::vector<std::string>& source_tokens,
                         const std::vector<std::string>& target_tokens);

// Several maps over the same tokens side by side (e.g. the heads of one layer), each panel
// under its title (none if titles is empty), all under `heading` (none if empty). weights
// [P, Tq, Tk].
void write_attention_panels_png(const std::string& path, const torch::Tensor& weights,
                                const std::vector<std::string>& source_tokens,
                                const std::vector<std::string>& target_tokens,
                                const std::vector<std::string>& titles, const std::string& heading);

}  // namespace seqlab
