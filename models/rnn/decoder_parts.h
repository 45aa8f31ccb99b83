// Pieces every recurrent decoder has: the bridge from the encoder summary to the initial state,
// and moving the recurrent state in and out of the batch-first DecoderState. (The output layer,
// shared with the transformer, is in models/seq2seq.h.)
#pragma once

#include <torch/nn/modules/linear.h>

#include "models/rnn/recurrent_layer.h"
#include "models/seq2seq.h"

namespace seqlab {

// Initial state tanh(W s) for each layer, and for LSTM cells a second bridge (Cho et al. 2014,
// eq. 4; Bahdanau et al. 2015, appendix A.2.2).
class SummaryBridgeImpl : public torch::nn::Module {
 public:
  SummaryBridgeImpl(int64_t summary_dim, int64_t layers, int64_t hidden_dim, bool lstm);
  RecurrentState forward(const torch::Tensor& summary);  // [B, D] -> h (and c) [L, B, H]

 private:
  int64_t layers_, hidden_dim_;
  torch::nn::Linear hidden_{nullptr}, cell_{nullptr};
};
TORCH_MODULE(SummaryBridge);

// DecoderState keeps h/c batch-first ([B, L, H]) so beams reorder with one index_select.
RecurrentState read_recurrent_state(DecoderState& state);
void write_recurrent_state(DecoderState& state, const RecurrentState& recurrent);

}  // namespace seqlab
