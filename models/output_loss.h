// The vocabulary projection fused with its cross-entropy, for training (Marian and fairseq
// compute the loss the same way in spirit: never hold [tokens, vocab] probabilities twice).
//
// The plain path, logits = output(features) then cross_entropy(logits), materialises the
// [tokens, V] logits, their log-softmax, a [tokens, V] gradient filled with zeros and scattered,
// and the log-softmax backward: five passes over 128 MB for a 4,000-token batch over 8k words,
// which on a 2-core CPU cost about a fifth of a GRU training step. Here the rows of real tokens
// only (padding dropped before the projection) go through in chunks that stay in cache: per
// chunk one GEMM for the logits, one softmax in place, and the gradient's two GEMMs right away
// (d logits = p - (1 - eps) onehot(y) - eps / V; the two constant terms are applied to the
// feature and weight gradients in closed form, not over the chunk). The backward pass only scales
// the gradients kept from the forward pass.
//
// Equal to the plain path up to float rounding, in value and gradient (tests/models/
// output_loss_test.cpp); the weights and checkpoints are those of OutputLayer.
#pragma once

#include <torch/types.h>

#include "models/seq2seq.h"

namespace seqlab {

// Cross-entropy summed over the target tokens that are not padding, with label smoothing eps as
// torch's cross_entropy(label_smoothing=eps, ignore_index=pad, reduction=sum). features
// [B, T, F] (or [N, F]), targets [B, T] (or [N]). Gradients flow to the features and to the
// output layer's weight and bias when grad mode is on.
torch::Tensor output_loss_sum(OutputLayerImpl& output, const torch::Tensor& features,
                              const torch::Tensor& targets, double smoothing, int64_t pad = 0);

// The same for a plain weight [V, F] and bias [V] (bias may be undefined). chunk_rows: rows per
// chunk (0: chosen from V so that a chunk of logits is about 8 MB).
torch::Tensor fused_projection_loss_sum(const torch::Tensor& features, const torch::Tensor& weight,
                                        const torch::Tensor& bias, const torch::Tensor& targets,
                                        double smoothing, int64_t chunk_rows = 0);

}  // namespace seqlab
