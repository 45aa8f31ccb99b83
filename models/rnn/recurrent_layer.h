// One stack of vanilla RNN, GRU or LSTM layers behind a single interface, so encoders and decoders
// choose the cell by config ("rnn", "gru", "lstm") without branching on it everywhere.
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/utils/rnn.h>

#include "core/config.h"

namespace seqlab {

// Hidden state of a stack: h [layers * directions, B, H], and c for LSTMs (undefined otherwise).
struct RecurrentState {
  torch::Tensor h;
  torch::Tensor c;
};

class RecurrentLayerImpl : public torch::nn::Module {
 public:
  RecurrentLayerImpl(const std::string& cell, int64_t input_dim, int64_t hidden_dim, int64_t layers,
                     bool bidirectional, double dropout);

  // Batch-first padded input [B, T, I] -> outputs [B, T, H * dirs] and the final state.
  // `constant` [B, C] (optional) joins every step's input, as if concatenated after it ([B, T,
  // I + C]); a GRU projects it once per sentence instead of once per step. GRU layers run
  // through gru_sequence (models/rnn/gru_sequence.h), the others through LibTorch's kernels.
  std::pair<torch::Tensor, RecurrentState> forward(const torch::Tensor& input,
                                                   const RecurrentState& initial,
                                                   const torch::Tensor& constant = {});
  // Padded input [B, S, I] with real lengths [B] -> outputs [B, S, H * dirs] (zero at padding)
  // and every layer's and direction's final hidden state [layers * dirs, B, H], taken at each
  // sentence's own last position. Padding never reaches a real position: the forward direction
  // reads it only after the real tokens, and the backward one reads each sentence reversed
  // within its length. (LibTorch's packed sequences do the same, but their backward pass
  // allocates a full-size gradient per time step: quadratic in the source length.)
  std::pair<torch::Tensor, torch::Tensor> forward_lengths(const torch::Tensor& input,
                                                          const torch::Tensor& lengths);

  // One time step of a unidirectional layer stack: input [B, I] -> output [B, H] and the next
  // state, through the cell kernels (gru_cell, lstm_cell, rnn_tanh_cell) with the same parameters
  // and result as forward() on a length-1 sequence, minus the sequence machinery (per call it
  // splits, re-stacks and slices tensors whose gradients cost a full-size copy each).
  // constant_gates: project_constant(c) for a per-sequence input c that joins `input` (the
  // first layer's input projection of it, computed once before the steps). CPU tensors only:
  // the cell kernels take it as a per-row bias, which CUDA's fused cells refuse.
  std::pair<torch::Tensor, RecurrentState> step(const torch::Tensor& input,
                                                const RecurrentState& state,
                                                const torch::Tensor& constant_gates = {});
  // W_ih[:, I:] c + b_ih of the first layer for an input split as [x (I); c (C)]: [.., C] -> [..,
  // G]. Without the bias, for rows that are averaged before they join the input (an attention
  // decoder projects every memory row once and mixes the projections); input_bias() is b_ih.
  torch::Tensor project_constant(const torch::Tensor& constant, bool with_bias = true);
  torch::Tensor input_bias();

  // Layer l's parameters in the cell kernels' order w_ih, w_hh, b_ih, b_hh (unidirectional
  // stacks), and the dropout between layers: for decoders that write the cell's step themselves.
  std::vector<torch::Tensor> layer_weights(int64_t layer) {
    return cell_weights(std::to_string(layer));
  }
  double between_layers_dropout() const { return dropout_; }
  int64_t layers() const { return layers_; }

  bool is_lstm() const { return cell_ == "lstm"; }
  // LSTM only: the forget-gate bias of every layer (input-hidden bias; 1 at construction). About
  // log(T) gives a memory time scale of T steps (chrono initialisation, Tallec and Ollivier 2018).
  void set_forget_bias(double value);
  // GRU only: adds `value` to the update gate's input-hidden bias of every layer (0 leaves the
  // initialisation as it is). h' = (1 - z) n + z h, so a bias of about log(T) keeps the state for
  // T steps at the start, the GRU's form of the chrono initialisation.
  void shift_update_bias(double value);
  // Both of the above from model.forget_bias and model.update_bias (each acts on its own cell).
  void init_gate_biases(const Config& config);
  const std::string& cell() const { return cell_; }

 private:
  // One layer's (and direction's) parameters of the torch module, in the cell kernels' order
  // w_ih, w_hh, b_ih, b_hh; suffix "0", "1_reverse", ...
  std::vector<torch::Tensor> cell_weights(const std::string& suffix);

  std::string cell_;
  int64_t layers_ = 1, hidden_dim_ = 0;
  bool bidirectional_ = false;
  double dropout_ = 0.0;  // between layers
  torch::nn::RNN rnn_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
};
TORCH_MODULE(RecurrentLayer);

}  // namespace seqlab
