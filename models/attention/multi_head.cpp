#include "models/attention/multi_head.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/attention/attention.h"
#include "models/packed_rows.h"

namespace seqlab {

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const MultiHeadOptions& o,
                                               PositionalEncoding positions)
    : model_dim_(o.model_dim),
      heads_(o.heads),
      record_name_(o.record_name),
      positions_(std::move(positions)) {
  if (o.heads < 1 || o.model_dim % o.heads != 0)
    throw InputError(
        fmt::format("multi-head attention: d_model = {} is not divisible by heads = {} "
                    "(each head gets d_model / heads channels)",
                    o.model_dim, o.heads));
  head_dim_ = o.model_dim / o.heads;
  if (o.self_attention) {
    if (o.key_dim != o.model_dim)
      throw InputError(fmt::format("self-attention needs keys as wide as queries, got {} and {}",
                                   o.key_dim, o.model_dim));
    in_ = register_module("in_projection", torch::nn::Linear(o.model_dim, 3 * o.model_dim));
  } else {
    query_ = register_module("query", torch::nn::Linear(o.model_dim, o.model_dim));
    key_value_ = register_module("key_value", torch::nn::Linear(o.key_dim, 2 * o.model_dim));
  }
  output_ = register_module("output", torch::nn::Linear(o.model_dim, o.model_dim));
  dropout_ = register_module("dropout", Dropout(o.dropout));
  // One scorer shared by the heads: it sees B * H rows of head-width queries and keys.
  scorer_ = register_module(
      "scorer", scorer_registry().create(o.scorer, ScorerDims{head_dim_, head_dim_, head_dim_}));
}

namespace {
// [B, T, H * dh] -> [B, H, T, dh]
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, -1}).transpose(1, 2);
}
torch::Tensor append(const torch::Tensor& cache, const torch::Tensor& fresh) {
  return cache.defined() ? torch::cat({cache, fresh}, 2) : fresh;
}
}  // namespace

torch::Tensor MultiHeadAttentionImpl::project_query(const torch::Tensor& x) {
  if (query_) return query_(x);
  return torch::nn::functional::linear(x, in_->weight.narrow(0, 0, model_dim_),
                                       in_->bias.narrow(0, 0, model_dim_));
}

std::pair<torch::Tensor, torch::Tensor> MultiHeadAttentionImpl::project_key_value(
    const torch::Tensor& x) {
  auto kv = key_value_ ? key_value_(x)
                       : torch::nn::functional::linear(
                             x, in_->weight.narrow(0, model_dim_, 2 * model_dim_),
                             in_->bias.narrow(0, model_dim_, 2 * model_dim_));
  auto parts = kv.chunk(2, -1);
  return {parts[0], parts[1]};
}

torch::Tensor MultiHeadAttentionImpl::prepare_keys(const torch::Tensor& keys,
                                                   const torch::Tensor& positions) {
  const int64_t batch = keys.size(0), length = keys.size(1);
  auto k = split_heads(keys, heads_);
  if (positions_) k = positions_->rotate(k, positions);
  k = scorer_->project_keys(k.reshape({batch * heads_, length, head_dim_}));
  return k.view({batch, heads_, length, -1});
}

KeyValues MultiHeadAttentionImpl::key_values(const torch::Tensor& x, const torch::Tensor& positions,
                                             const torch::Tensor& mask) {
  auto [keys, values] = project_key_value(x);
  // Contiguous per head once here, rather than copied by every matmul that reads them.
  return {prepare_keys(keys, positions), split_heads(values, heads_).contiguous(), positions, mask};
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& positions, const KeyValues& kv,
                                              bool causal) {
  return attend(project_query(x), positions, kv, causal);
}

torch::Tensor MultiHeadAttentionImpl::self_attention(const torch::Tensor& x,
                                                     const torch::Tensor& positions, KeyValues& kv,
                                                     bool causal) {
  torch::Tensor queries, keys, values;
  if (in_) {
    auto parts = in_(x).chunk(3, -1);
    queries = parts[0], keys = parts[1], values = parts[2];
  } else {
    queries = query_(x);
    std::tie(keys, values) = project_key_value(x);
  }
  kv.keys = append(kv.keys, prepare_keys(keys, positions));
  kv.values = append(kv.values, split_heads(values, heads_));
  return attend(queries, positions, kv, causal);
}

torch::Tensor MultiHeadAttentionImpl::packed_self_attention(const torch::Tensor& x,
                                                            const torch::Tensor& rows,
                                                            int64_t batch, int64_t length,
                                                            const torch::Tensor& positions,
                                                            const torch::Tensor& mask) {
  auto projected = in_ ? in_(x) : torch::cat({query_(x), key_value_(x)}, -1);  // [N, 3D]
  auto parts = scatter_rows(projected, rows, batch * length).view({batch, length, -1}).chunk(3, -1);
  KeyValues kv{prepare_keys(parts[1], positions), split_heads(parts[2], heads_), positions, mask};
  auto padded = context(parts[0], positions, kv, false);  // [B, T, D]
  return output_(gather_rows(padded.reshape({batch * length, model_dim_}), rows));
}

torch::Tensor MultiHeadAttentionImpl::attend(const torch::Tensor& queries,
                                             const torch::Tensor& positions, const KeyValues& kv,
                                             bool causal) {
  return output_(context(queries, positions, kv, causal));
}

torch::Tensor MultiHeadAttentionImpl::context(const torch::Tensor& queries,
                                              const torch::Tensor& positions, const KeyValues& kv,
                                              bool causal) {
  const int64_t batch = queries.size(0), length = queries.size(1), keys = kv.keys.size(2);
  auto q = split_heads(queries, heads_);  // [B, H, Tq, dh]
  if (positions_) q = positions_->rotate(q, positions);
  auto scores = scorer_
                    ->score(q.reshape({batch * heads_, length, head_dim_}),
                            kv.keys.reshape({batch * heads_, keys, kv.keys.size(3)}))
                    .view({batch, heads_, length, keys});
  if (positions_) {
    auto bias = positions_->score_bias(positions, kv.positions);
    if (bias.defined()) scores = scores + bias;
  }
  torch::Tensor allowed;
  if (kv.mask.defined()) allowed = kv.mask.view({batch, 1, 1, keys});
  if (causal) {
    auto visible =
        (kv.positions.unsqueeze(1) <= positions.unsqueeze(2)).unsqueeze(1);  // [B|1, 1, Tq, Tk]
    allowed = allowed.defined() ? allowed.logical_and(visible) : visible;
  }
  auto weights = masked_attention_weights(scores, allowed);  // [B, H, Tq, Tk]
  if (AttentionRecorder::active()) AttentionRecorder::report(record_name_, weights);
  auto mixed = weighted_values(dropout_(weights).reshape({batch * heads_, length, keys}),
                               kv.values.reshape({batch * heads_, keys, head_dim_}))
                   .view({batch, heads_, length, head_dim_});
  return mixed.transpose(1, 2).reshape({batch, length, heads_ * head_dim_});
}

}  // namespace seqlab
