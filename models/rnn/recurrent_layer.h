// One stack of vanilla RNN, GRU or LSTM layers behind a single interface, so encoders and decoders
// choose the cell by config ("rnn", "gru", "lstm") without branching on it everywhere.
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/utils/rnn.h>

namespace seqlab {

// Hidden state of a stack: h [layers * directions, B, H], and c for LSTMs (undefined otherwise).
struct RecurrentState {
  torch::Tensor h;
  torch::Tensor c;
};

class RecurrentLayerImpl : public torch::nn::Module {
 public:
  RecurrentLayerImpl(const std::string& cell, int64_t input_dim, int64_t hidden_dim,
                     int64_t layers, bool bidirectional, double dropout);

  // Batch-first padded input [B, T, I] -> outputs [B, T, H * dirs] and the final state.
  std::pair<torch::Tensor, RecurrentState> forward(const torch::Tensor& input,
                                                   const RecurrentState& initial);
  // Packed input (no compute spent on padding) -> packed outputs and the final state.
  std::pair<torch::nn::utils::rnn::PackedSequence, RecurrentState> forward_packed(
      const torch::nn::utils::rnn::PackedSequence& input, const RecurrentState& initial);

  bool is_lstm() const { return cell_ == "lstm"; }
  const std::string& cell() const { return cell_; }

 private:
  std::string cell_;
  torch::nn::RNN rnn_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
};
TORCH_MODULE(RecurrentLayer);

}  // namespace seqlab
