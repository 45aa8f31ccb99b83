#include "models/rnn/decoder_parts.h"

#include <torch/torch.h>

namespace seqlab {

SummaryBridgeImpl::SummaryBridgeImpl(int64_t summary_dim, int64_t layers, int64_t hidden_dim,
                                     bool lstm)
    : layers_(layers), hidden_dim_(hidden_dim) {
  hidden_ = register_module("hidden", torch::nn::Linear(summary_dim, layers * hidden_dim));
  if (lstm) cell_ = register_module("cell", torch::nn::Linear(summary_dim, layers * hidden_dim));
}

RecurrentState SummaryBridgeImpl::forward(const torch::Tensor& summary) {
  auto to_layers = [&](const torch::Tensor& flat) {  // [B, L*H] -> [L, B, H]
    return torch::tanh(flat)
        .view({summary.size(0), layers_, hidden_dim_})
        .transpose(0, 1)
        .contiguous();
  };
  return {to_layers(hidden_(summary)), cell_ ? to_layers(cell_(summary)) : torch::Tensor()};
}

RecurrentState read_recurrent_state(DecoderState& state) {
  auto c = state.tensors.find("c");
  return {state["h"].transpose(0, 1).contiguous(),
          c != state.tensors.end() ? c->second.transpose(0, 1).contiguous() : torch::Tensor()};
}

void write_recurrent_state(DecoderState& state, const RecurrentState& recurrent) {
  state["h"] = recurrent.h.transpose(0, 1);
  if (recurrent.c.defined()) state["c"] = recurrent.c.transpose(0, 1);
}

}  // namespace seqlab
