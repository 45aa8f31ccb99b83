#include "models/transformer/transformer_layers.h"

#include <numeric>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace seqlab {
namespace {

const bool declared = [] {
  auto& schema = ConfigSchema::global();
  schema.add(key_int("model.transformer.d_model", 512, "transformer width").range(1, 65536));
  schema.add(key_int("model.transformer.heads", 8, "attention heads (d_model must divide by it)")
                 .range(1, 1024));
  schema.add(key_int("model.transformer.ffn_dim", 2048, "inner width of the feed-forward blocks")
                 .range(1, 1 << 20));
  schema.add(
      key_int("model.transformer.encoder_layers", 6, "transformer encoder layers").range(0, 128));
  schema.add(
      key_int("model.transformer.decoder_layers", 6, "transformer decoder layers").range(1, 128));
  schema.add(key_string("model.transformer.activation", "relu", "feed-forward activation")
                 .one_of({"relu", "gelu"}));
  schema.add(
      key_string("model.transformer.norm", "layer_norm", "normalisation layer").names_from([] {
        return norm_registry().names();
      }));
  schema.add(
      key_string("model.transformer.norm_placement", "pre",
                 "post (Vaswani et al. 2017) or pre (Xiong et al. 2020: norm before each sublayer)")
          .one_of({"pre", "post"}));
  schema.add(key_string("model.transformer.positional", "sinusoidal", "positional encoding")
                 .names_from([] { return positional_registry().names(); }));
  schema.add(
      key_string("model.transformer.attention", "scaled_dot", "scorer used by every attention head")
          .names_from([] { return scorer_registry().names(); }));
  schema.add(key_number("model.transformer.attention_dropout", 0.0, "dropout on attention weights")
                 .range(0, 0.95));
  schema.add(
      key_bool("model.transformer.decoder_only", false,
               "no cross-attention: the decoder reads the encoder's output as a prefix of its "
               "own sequence (a language model; with encoder 'none', of the target text alone)"));
  schema.add(
      key_bool("model.transformer.kv_cache", true,
               "decode with cached keys/values; false recomputes the whole prefix every step "
               "(for the benchmark comparison)"));
  schema.add(key_bool("model.transformer.share_embeddings", false,
                      "the decoder uses the encoder's token embeddings (joint vocabulary)"));
  return true;
}();

}  // namespace

TransformerSettings::TransformerSettings(const Config& c)
    : model_dim(c.get_int("model.transformer.d_model")),
      heads(c.get_int("model.transformer.heads")),
      ffn_dim(c.get_int("model.transformer.ffn_dim")),
      encoder_layers(c.get_int("model.transformer.encoder_layers")),
      decoder_layers(c.get_int("model.transformer.decoder_layers")),
      activation(c.get_string("model.transformer.activation")),
      norm(c.get_string("model.transformer.norm")),
      placement(c.get_string("model.transformer.norm_placement")),
      positional(c.get_string("model.transformer.positional")),
      scorer(c.get_string("model.transformer.attention")),
      dropout(c.get_number("model.dropout")),
      attention_dropout(c.get_number("model.transformer.attention_dropout")),
      decoder_only(c.get_bool("model.transformer.decoder_only")),
      kv_cache(c.get_bool("model.transformer.kv_cache")),
      share_embeddings(c.get_bool("model.transformer.share_embeddings")),
      tie_embeddings(c.get_bool("model.tie_embeddings")) {
  if (model_dim % heads != 0)
    throw InputError(
        fmt::format("model.transformer.d_model = {} is not divisible by "
                    "model.transformer.heads = {}: each head gets d_model / heads "
                    "channels (try heads = {})",
                    model_dim, heads, std::gcd(model_dim, heads)));
}

FeedForwardImpl::FeedForwardImpl(const TransformerSettings& s) : gelu_(s.activation == "gelu") {
  in_ = register_module("expand", torch::nn::Linear(s.model_dim, s.ffn_dim));
  out_ = register_module("contract", torch::nn::Linear(s.ffn_dim, s.model_dim));
  dropout_ = register_module("dropout", Dropout(s.dropout));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto h = in_(x);
  if (gelu_) return out_(dropout_(torch::gelu(h)));
  return out_(relu_dropout(h, dropout_->p(), is_training()));
}

ResidualNormImpl::ResidualNormImpl(const Config& config, const TransformerSettings& s)
    : pre_(s.pre_norm()) {
  norm_ = register_module("norm", norm_registry().create(s.norm, NormContext{config, s.model_dim}));
  dropout_ = register_module("dropout", Dropout(s.dropout));
}

namespace {
MultiHeadOptions attention_options(const TransformerSettings& s, int64_t key_dim,
                                   const std::string& name, bool self_attention) {
  MultiHeadOptions o;
  o.self_attention = self_attention;
  o.model_dim = s.model_dim;
  o.key_dim = key_dim;
  o.heads = s.heads;
  o.scorer = s.scorer;
  o.dropout = s.attention_dropout;
  o.record_name = name;
  return o;
}
}  // namespace

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(const Config& config,
                                                         const TransformerSettings& s,
                                                         PositionalEncoding positions,
                                                         const std::string& name) {
  self_ = register_module(
      "self_attention",
      MultiHeadAttention(attention_options(s, s.model_dim, name + ".self", true), positions));
  feed_forward_ = register_module("feed_forward", FeedForward(s));
  self_norm_ = register_module("self_norm", ResidualNorm(config, s));
  feed_forward_norm_ = register_module("feed_forward_norm", ResidualNorm(config, s));
}

torch::Tensor TransformerEncoderLayerImpl::forward(const torch::Tensor& x,
                                                   const torch::Tensor& positions,
                                                   const torch::Tensor& mask) {
  KeyValues kv{{}, {}, positions, mask};
  auto y = self_norm_->output(x, self_->self_attention(self_norm_->input(x), positions, kv, false));
  return feed_forward_norm_->output(y, feed_forward_(feed_forward_norm_->input(y)));
}

torch::Tensor TransformerEncoderLayerImpl::forward_packed(const torch::Tensor& x,
                                                          const torch::Tensor& rows, int64_t batch,
                                                          int64_t length,
                                                          const torch::Tensor& positions,
                                                          const torch::Tensor& mask) {
  auto attended =
      self_->packed_self_attention(self_norm_->input(x), rows, batch, length, positions, mask);
  auto y = self_norm_->output(x, attended);
  return feed_forward_norm_->output(y, feed_forward_(feed_forward_norm_->input(y)));
}

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(const Config& config,
                                                         const TransformerSettings& s,
                                                         int64_t memory_dim,
                                                         PositionalEncoding positions,
                                                         const std::string& name) {
  self_ = register_module(
      "self_attention",
      MultiHeadAttention(attention_options(s, s.model_dim, name + ".self", true), positions));
  self_norm_ = register_module("self_norm", ResidualNorm(config, s));
  if (memory_dim > 0) {
    cross_ = register_module(
        "cross_attention",
        MultiHeadAttention(attention_options(s, memory_dim, name + ".cross", false), nullptr));
    cross_norm_ = register_module("cross_norm", ResidualNorm(config, s));
  }
  feed_forward_ = register_module("feed_forward", FeedForward(s));
  feed_forward_norm_ = register_module("feed_forward_norm", ResidualNorm(config, s));
}

KeyValues TransformerDecoderLayerImpl::cross_key_values(const torch::Tensor& memory,
                                                        const torch::Tensor& mask) {
  return cross_->key_values(memory, torch::Tensor(), mask);
}

torch::Tensor TransformerDecoderLayerImpl::forward(const torch::Tensor& x,
                                                   const torch::Tensor& positions, KeyValues& self,
                                                   const KeyValues& cross, bool causal) {
  auto y =
      self_norm_->output(x, self_->self_attention(self_norm_->input(x), positions, self, causal));
  if (cross_) y = cross_norm_->output(y, cross_(cross_norm_->input(y), positions, cross, false));
  return feed_forward_norm_->output(y, feed_forward_(feed_forward_norm_->input(y)));
}

torch::Tensor position_range(int64_t batch, int64_t length, const torch::Tensor& offsets,
                             const torch::TensorOptions& options) {
  auto range =
      torch::arange(length, options.dtype(torch::kLong)).unsqueeze(0).expand({batch, length});
  return offsets.defined() ? range + offsets.unsqueeze(1) : range.contiguous();
}

torch::Tensor masked_mean(const torch::Tensor& states, const torch::Tensor& mask) {
  auto weights = mask.to(states.dtype()).unsqueeze(-1);  // [B, S, 1]
  return (states * weights).sum(1) / weights.sum(1).clamp_min(1.0);
}

}  // namespace seqlab
