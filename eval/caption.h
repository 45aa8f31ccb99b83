// Captioning images with a model, a tokenizer and a device, and scoring captions against all
// references: what `seqlab caption`, `seqlab eval` on a captioning run and the runner share.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "core/config.h"
#include "eval/search.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

// Captions images [N, C, H, W] uint8 in batches of `batch_images` (divided by the beam width);
// returns detokenized captions in order.
std::vector<std::string> caption_images(Seq2Seq& model, const Tokenizer& tokenizer,
                                        torch::Device device, const torch::Tensor& images,
                                        const SearchOptions& options, int64_t batch_images = 128);

// Per caption: 1 when it equals one of its references after caption tokenization, else 0 (the
// exact_match item statistics are [this, 1]).
std::vector<double> caption_exact_matches(const std::vector<std::string>& hypotheses,
                                          const std::vector<std::vector<std::string>>& references);

// CIDEr-D and coco-caption BLEU-1..4 against every reference (references[k][i], "" where image
// i has fewer), and exact match (% of captions equal to one of their references after caption
// tokenization): {"images", "cider", "bleu_1", "bleu_2", "bleu_3", "bleu_4", "exact_match",
// "cider_signature", "bleu_summary"}.
// `exact_matches`, when given, receives caption_exact_matches() (computed once for both).
Json score_captions(const std::vector<std::string>& hypotheses,
                    const std::vector<std::vector<std::string>>& references,
                    std::vector<double>* exact_matches = nullptr);

}  // namespace seqlab
