#include "models/attention/multi_head.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/attention/attention.h"

namespace seqlab {

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const MultiHeadOptions& o, PositionalEncoding positions)
    : heads_(o.heads), record_name_(o.record_name), positions_(std::move(positions)) {
  if (o.heads < 1 || o.model_dim % o.heads != 0)
    throw InputError(fmt::format("multi-head attention: d_model = {} is not divisible by heads = {} "
                                 "(each head gets d_model / heads channels)",
                                 o.model_dim, o.heads));
  head_dim_ = o.model_dim / o.heads;
  query_ = register_module("query", torch::nn::Linear(o.model_dim, o.model_dim));
  key_ = register_module("key", torch::nn::Linear(o.key_dim, o.model_dim));
  value_ = register_module("value", torch::nn::Linear(o.key_dim, o.model_dim));
  output_ = register_module("output", torch::nn::Linear(o.model_dim, o.model_dim));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  // One scorer shared by the heads: it sees B * H rows of head-width queries and keys.
  scorer_ = register_module("scorer", ScorerRegistry().create(o.scorer, ScorerDims{head_dim_, head_dim_, head_dim_}));
}

namespace {
// [B, T, H * dh] -> [B, H, T, dh]
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, -1}).transpose(1, 2);
}
}  // namespace

KeyValues MultiHeadAttentionImpl::key_values(const torch::Tensor& x, const torch::Tensor& positions,
                                             const torch::Tensor& mask) {
  const int64_t batch = x.size(0), length = x.size(1);
  auto keys = split_heads(key_(x), heads_);
  if (positions_) keys = positions_->rotate(keys, positions);
  keys = scorer_->project_keys(keys.reshape({batch * heads_, length, head_dim_}));
  return {keys.view({batch, heads_, length, -1}), split_heads(value_(x), heads_), positions, mask};
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& positions,
                                              const KeyValues& kv, bool causal) {
  const int64_t batch = x.size(0), queries = x.size(1), keys = kv.keys.size(2);
  auto q = split_heads(query_(x), heads_);  // [B, H, Tq, dh]
  if (positions_) q = positions_->rotate(q, positions);
  auto scores = scorer_->score(q.reshape({batch * heads_, queries, head_dim_}),
                               kv.keys.reshape({batch * heads_, keys, kv.keys.size(3)}))
                    .view({batch, heads_, queries, keys});
  if (positions_) {
    auto bias = positions_->score_bias(positions, kv.positions);
    if (bias.defined()) scores = scores + bias;
  }
  torch::Tensor allowed;
  if (kv.mask.defined()) allowed = kv.mask.view({batch, 1, 1, keys});
  if (causal) {
    auto visible = (kv.positions.unsqueeze(1) <= positions.unsqueeze(2)).unsqueeze(1);  // [B|1, 1, Tq, Tk]
    allowed = allowed.defined() ? allowed.logical_and(visible) : visible;
  }
  auto weights = masked_attention_weights(scores, allowed);  // [B, H, Tq, Tk]
  if (AttentionRecorder::active()) AttentionRecorder::report(record_name_, weights);
  auto context = torch::matmul(dropout_(weights), kv.values);  // [B, H, Tq, dh]
  return output_(context.transpose(1, 2).reshape({batch, queries, heads_ * head_dim_}));
}

}  // namespace seqlab
