#include "models/rnn/recurrent_layer.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/registry.h"
#include "models/dropout.h"
#include "models/rnn/gru_sequence.h"

namespace seqlab {

RecurrentLayerImpl::RecurrentLayerImpl(const std::string& cell, int64_t input_dim,
                                       int64_t hidden_dim, int64_t layers, bool bidirectional,
                                       double dropout)
    : cell_(cell),
      layers_(layers),
      hidden_dim_(hidden_dim),
      bidirectional_(bidirectional),
      dropout_(layers > 1 ? dropout : 0.0) {
  // Dropout between stacked layers only (torch warns for one layer).
  const double between = dropout_;
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
    set_forget_bias(1.0);
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

std::pair<torch::Tensor, RecurrentState> RecurrentLayerImpl::forward(
    const torch::Tensor& input, const RecurrentState& initial, const torch::Tensor& constant) {
  if (gru_ && !bidirectional_) {
    const int64_t batch = input.size(0);
    std::vector<torch::Tensor> finals;
    torch::Tensor x = input;
    for (int64_t l = 0; l < layers_; ++l) {
      if (l > 0 && dropout_ > 0) x = seqlab::dropout(x, dropout_, is_training());
      auto w = cell_weights(std::to_string(l));  // w_ih, w_hh, b_ih, b_hh
      torch::Tensor gates;                       // [B, T, 3H]
      if (l == 0 && constant.defined()) {
        gates = torch::matmul(x, w[0].narrow(1, 0, x.size(-1)).t()) +
                project_constant(constant).unsqueeze(1);
      } else {
        gates = torch::nn::functional::linear(x, w[0], w[2]);
      }
      auto h0 =
          initial.h.defined() ? initial.h[l] : torch::zeros({batch, hidden_dim_}, input.options());
      x = gru_sequence(gates, h0, w[1], w[3]);  // [B, T, H]
      finals.push_back(x.select(1, x.size(1) - 1));
    }
    return {x, {torch::stack(finals), torch::Tensor()}};
  }
  torch::Tensor x = input;
  if (constant.defined())
    x = torch::cat({input, constant.unsqueeze(1).expand({-1, input.size(1), -1})}, -1);
  if (lstm_) {
    auto [out, hc] = lstm_->forward(
        x, initial.h.defined() ? torch::optional<std::tuple<torch::Tensor, torch::Tensor>>(
                                     std::make_tuple(initial.h, initial.c))
                               : torch::nullopt);
    return {out, {std::get<0>(hc), std::get<1>(hc)}};
  }
  auto [out, h] = gru_ ? gru_->forward(x, initial.h) : rnn_->forward(x, initial.h);
  return {out, {h, torch::Tensor()}};
}

torch::Tensor RecurrentLayerImpl::project_constant(const torch::Tensor& constant, bool with_bias) {
  auto w = cell_weights("0");
  const int64_t width = constant.size(-1);
  return torch::nn::functional::linear(constant, w[0].narrow(1, w[0].size(1) - width, width),
                                       with_bias ? w[2] : torch::Tensor());
}

torch::Tensor RecurrentLayerImpl::input_bias() { return cell_weights("0")[2]; }

std::pair<torch::Tensor, RecurrentState> RecurrentLayerImpl::step(
    const torch::Tensor& input, const RecurrentState& state, const torch::Tensor& constant_gates) {
  if (bidirectional_)
    throw Error("RecurrentLayer::step: a bidirectional layer cannot run one step at a time");
  const int64_t batch = input.size(0);
  auto zeros = [&] { return torch::zeros({batch, hidden_dim_}, input.options()); };
  std::vector<torch::Tensor> hs, cs;
  torch::Tensor x = input;
  for (int64_t l = 0; l < layers_; ++l) {
    if (l > 0 && dropout_ > 0) x = seqlab::dropout(x, dropout_, is_training());
    auto h = state.h.defined() ? state.h[l] : zeros();
    auto w = cell_weights(std::to_string(l));  // w_ih, w_hh, b_ih, b_hh
    if (l == 0 && constant_gates.defined()) {
      // The constant part of the input is projected already: the cells' input projection
      // W_ih x + b_ih takes a bias per row ([B, G]) as well as one per gate.
      w[0] = w[0].narrow(1, 0, x.size(-1));
      w[2] = constant_gates;
    }
    if (lstm_) {
      auto c = state.c.defined() ? state.c[l] : zeros();
      std::tie(h, c) = torch::lstm_cell(x, {h, c}, w[0], w[1], w[2], w[3]);
      cs.push_back(c);
    } else if (gru_) {
      h = torch::gru_cell(x, h, w[0], w[1], w[2], w[3]);
    } else {
      h = torch::rnn_tanh_cell(x, h, w[0], w[1], w[2], w[3]);
    }
    hs.push_back(h);
    x = h;
  }
  return {x, {torch::stack(hs), lstm_ ? torch::stack(cs) : torch::Tensor()}};
}

std::pair<torch::Tensor, torch::Tensor> RecurrentLayerImpl::forward_lengths(
    const torch::Tensor& input, const torch::Tensor& lengths) {
  const int64_t batch = input.size(0), steps = input.size(1);
  auto length = lengths.to(input.device(), torch::kLong).clamp_min(1).view({batch, 1});  // [B, 1]
  auto position = torch::arange(steps, length.options()).view({1, steps});
  auto real = position < length;  // [B, S]
  // Reversing each sentence within its length (and leaving padding in place) is its own inverse.
  auto reversed = torch::where(real, length - 1 - position, position);
  auto flip = [&](const torch::Tensor& x) {
    return x.gather(1, reversed.unsqueeze(-1).expand({batch, steps, x.size(2)}));
  };
  auto last = (length - 1).view({batch, 1, 1}).expand({batch, 1, hidden_dim_});
  auto initial = torch::zeros({1, batch, hidden_dim_}, input.options());
  std::vector<torch::Tensor> finals;
  torch::Tensor x = input;
  for (int64_t l = 0; l < layers_; ++l) {
    if (l > 0 && dropout_ > 0) x = seqlab::dropout(x, dropout_, is_training());
    std::vector<torch::Tensor> outputs;
    for (int direction = 0; direction < (bidirectional_ ? 2 : 1); ++direction) {
      auto weights = cell_weights(std::to_string(l) + (direction == 1 ? "_reverse" : ""));
      auto in = direction == 1 ? flip(x) : x;
      torch::Tensor out;
      if (lstm_)
        out = std::get<0>(
            torch::lstm(in, {initial, initial}, weights, true, 1, 0.0, is_training(), false, true));
      else if (gru_)
        out = gru_sequence(torch::nn::functional::linear(in, weights[0], weights[2]), initial[0],
                           weights[1], weights[3]);
      else
        out = std::get<0>(
            torch::rnn_tanh(in, initial, weights, true, 1, 0.0, is_training(), false, true));
      finals.push_back(out.gather(1, last).squeeze(1));  // [B, H] at each sentence's last token
      outputs.push_back(direction == 1 ? flip(out) : out);
    }
    x = outputs.size() == 1 ? outputs[0] : torch::cat(outputs, -1);
  }
  return {x.masked_fill(~real.unsqueeze(-1), 0.0), torch::stack(finals)};
}

std::vector<torch::Tensor> RecurrentLayerImpl::cell_weights(const std::string& suffix) {
  torch::nn::Module& inner = lstm_  ? static_cast<torch::nn::Module&>(*lstm_)
                             : gru_ ? static_cast<torch::nn::Module&>(*gru_)
                                    : static_cast<torch::nn::Module&>(*rnn_);
  auto parameters = inner.named_parameters(/*recurse=*/false);
  return {parameters["weight_ih_l" + suffix], parameters["weight_hh_l" + suffix],
          parameters["bias_ih_l" + suffix], parameters["bias_hh_l" + suffix]};
}

void RecurrentLayerImpl::set_forget_bias(double value) {
  if (!lstm_) return;
  torch::NoGradGuard no_grad;
  const int64_t hidden = lstm_->options.hidden_size();
  for (auto& item : lstm_->named_parameters())
    if (item.key().rfind("bias_ih", 0) == 0) item.value().narrow(0, hidden, hidden).fill_(value);
}

void RecurrentLayerImpl::init_gate_biases(const Config& config) {
  set_forget_bias(config.get_number("model.forget_bias"));
  shift_update_bias(config.get_number("model.update_bias"));
}

void RecurrentLayerImpl::shift_update_bias(double value) {
  if (!gru_ || value == 0) return;
  torch::NoGradGuard no_grad;
  const int64_t hidden = gru_->options.hidden_size();
  for (auto& item : gru_->named_parameters())  // gate order r, z, n
    if (item.key().rfind("bias_ih", 0) == 0) item.value().narrow(0, hidden, hidden).add_(value);
}

}  // namespace seqlab
