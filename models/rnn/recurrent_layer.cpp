#include "models/rnn/recurrent_layer.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/registry.h"

namespace seqlab {

RecurrentLayerImpl::RecurrentLayerImpl(const std::string& cell, int64_t input_dim,
                                       int64_t hidden_dim, int64_t layers, bool bidirectional,
                                       double dropout)
    : cell_(cell) {
  // Dropout between stacked layers only (torch warns for one layer).
  double between = layers > 1 ? dropout : 0.0;
  if (cell == "gru") {
    gru_ = register_module("rnn", torch::nn::GRU(torch::nn::GRUOptions(input_dim, hidden_dim)
                                                     .num_layers(layers)
                                                     .bidirectional(bidirectional)
                                                     .batch_first(true)
                                                     .dropout(between)));
  } else if (cell == "lstm") {
    lstm_ = register_module("rnn", torch::nn::LSTM(torch::nn::LSTMOptions(input_dim, hidden_dim)
                                                       .num_layers(layers)
                                                       .bidirectional(bidirectional)
                                                       .batch_first(true)
                                                       .dropout(between)));
    // Forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015): the cell starts out
    // remembering, which long-range dependencies need to be learnable at all. Gate order i,f,g,o.
    torch::NoGradGuard no_grad;
    for (auto& item : lstm_->named_parameters())
      if (item.key().rfind("bias_ih", 0) == 0) item.value().narrow(0, hidden_dim, hidden_dim).fill_(1.0);
  } else if (cell == "rnn") {
    rnn_ = register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(input_dim, hidden_dim)
                                                     .num_layers(layers)
                                                     .bidirectional(bidirectional)
                                                     .batch_first(true)
                                                     .nonlinearity(torch::kTanh)
                                                     .dropout(between)));
  } else {
    throw_unknown_name("recurrent cell", cell, {"gru", "lstm", "rnn"});
  }
}

std::pair<torch::Tensor, RecurrentState> RecurrentLayerImpl::forward(const torch::Tensor& input,
                                                                     const RecurrentState& initial) {
  if (lstm_) {
    auto [out, hc] = lstm_->forward(input, initial.h.defined()
                                               ? torch::optional<std::tuple<torch::Tensor, torch::Tensor>>(
                                                     std::make_tuple(initial.h, initial.c))
                                               : torch::nullopt);
    return {out, {std::get<0>(hc), std::get<1>(hc)}};
  }
  auto [out, h] = gru_ ? gru_->forward(input, initial.h) : rnn_->forward(input, initial.h);
  return {out, {h, torch::Tensor()}};
}

std::pair<torch::nn::utils::rnn::PackedSequence, RecurrentState> RecurrentLayerImpl::forward_packed(
    const torch::nn::utils::rnn::PackedSequence& input, const RecurrentState& initial) {
  if (lstm_) {
    auto [out, hc] = lstm_->forward_with_packed_input(
        input, initial.h.defined() ? torch::optional<std::tuple<torch::Tensor, torch::Tensor>>(
                                         std::make_tuple(initial.h, initial.c))
                                   : torch::nullopt);
    return {out, {std::get<0>(hc), std::get<1>(hc)}};
  }
  auto [out, h] = gru_ ? gru_->forward_with_packed_input(input, initial.h)
                       : rnn_->forward_with_packed_input(input, initial.h);
  return {out, {h, torch::Tensor()}};
}

}  // namespace seqlab
