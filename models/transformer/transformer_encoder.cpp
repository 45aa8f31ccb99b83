// Transformer encoder (Vaswani et al. 2017, section 3.1): scaled token embeddings plus absolute
// positions (if the positional encoding has them), then layers of self-attention and feed-forward.
// Memory.summary is the mean of the real positions (model.transformer.summary=mean), so RNN
// decoders and classification heads can sit on top of it; or, with summary=class_token, the output
// at a learned token put before the source (BERT's [CLS], Devlin et al. 2019), which the states
// then leave out.
#include <torch/torch.h>

#include "models/packed_rows.h"
#include "models/seq2seq.h"
#include "models/transformer/transformer_layers.h"

namespace seqlab {
namespace {

const bool declared = ConfigSchema::global().add(
    key_string("model.transformer.summary", "mean",
               "encoder summary: mean of the real states, or the output at a learned class token")
        .one_of({"mean", "class_token"}));

class TransformerEncoderImpl : public EncoderImpl {
 public:
  explicit TransformerEncoderImpl(const ModelContext& context) : settings_(context.config) {
    const Config& config = context.config;
    embedding_ =
        register_module("embedding", ScaledEmbedding(context.source_vocab, settings_.model_dim));
    positions_ = register_module(
        "positions", positional_registry().create(
                         settings_.positional,
                         PositionalContext{config, settings_.model_dim, settings_.heads, false}));
    dropout_ = register_module("dropout", Dropout(settings_.dropout));
    layers_ = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < settings_.encoder_layers; ++i)
      layers_->push_back(TransformerEncoderLayer(config, settings_, positions_,
                                                 "encoder.layer" + std::to_string(i)));
    if (settings_.pre_norm())
      final_norm_ = register_module(
          "final_norm",
          norm_registry().create(settings_.norm, NormContext{config, settings_.model_dim}));
    if (config.get_string("model.transformer.summary") == "class_token")
      class_token_ = register_parameter("class_token", torch::randn({1, 1, settings_.model_dim}));
  }

  Memory forward(const Source& source) override {
    const int64_t batch = source.ids.size(0), length = source.ids.size(1);
    auto tokens = embedding_(source.ids);
    auto mask = source.mask;
    if (class_token_.defined()) {  // the class token goes first, at position 0
      tokens = torch::cat({class_token_.expand({batch, 1, settings_.model_dim}), tokens}, 1);
      if (mask.defined()) mask = torch::cat({torch::ones({batch, 1}, mask.options()), mask}, 1);
    }
    auto states = layers(tokens, mask);
    if (!class_token_.defined()) return {states, source.mask, masked_mean(states, source.mask)};
    return {states.narrow(1, 1, length), source.mask, states.select(1, 0)};
  }

  int64_t output_dim() const override { return settings_.model_dim; }
  ScaledEmbedding shared_embedding() override { return embedding_; }

 private:
  // Embedded tokens [B, L, D] -> the last layer's states (padding positions zero).
  torch::Tensor layers(const torch::Tensor& tokens, const torch::Tensor& mask) {
    const int64_t batch = tokens.size(0), length = tokens.size(1);
    auto positions =
        position_range(1, length, {}, tokens.options().dtype(torch::kInt64));  // [1, L]
    auto x = dropout_(positions_->embed(tokens, positions));
    // With padding, the layers run on the real positions alone (the projections and feed-forward
    // blocks skip it; attention pads around itself); padding positions of the output are zero.
    const bool padded = mask.defined() && x.device().is_cpu() && !mask.all().item<bool>();
    if (!padded) {
      for (const auto& layer : *layers_)
        x = layer->as<TransformerEncoderLayer>()->forward(x, positions, mask);
      if (final_norm_) x = final_norm_(x);
      return x;
    }
    auto rows = mask.reshape({-1}).nonzero().view({-1});  // real positions in B x L
    auto packed = gather_rows(x.reshape({batch * length, -1}), rows);
    for (const auto& layer : *layers_)
      packed = layer->as<TransformerEncoderLayer>()->forward_packed(packed, rows, batch, length,
                                                                    positions, mask);
    if (final_norm_) packed = final_norm_(packed);
    return scatter_rows(packed, rows, batch * length).view({batch, length, -1});
  }

  TransformerSettings settings_;
  torch::Tensor class_token_;
  ScaledEmbedding embedding_{nullptr};
  PositionalEncoding positions_{nullptr};
  Dropout dropout_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  Norm final_norm_{nullptr};
};

// Token embeddings alone (no layers): with a decoder-only transformer this is the usual
// "source, then target, in one causal sequence" language-model translator.
class EmbeddingEncoderImpl : public EncoderImpl {
 public:
  explicit EmbeddingEncoderImpl(const ModelContext& context)
      : dim_(context.config.get_int("model.transformer.d_model")) {
    embedding_ = register_module("embedding", ScaledEmbedding(context.source_vocab, dim_));
  }
  Memory forward(const Source& source) override {
    auto x = embedding_(source.ids);
    return {x, source.mask, masked_mean(x, source.mask)};
  }
  int64_t output_dim() const override { return dim_; }
  ScaledEmbedding shared_embedding() override { return embedding_; }

 private:
  int64_t dim_;
  ScaledEmbedding embedding_{nullptr};
};

// No source at all: an empty memory, so a decoder-only transformer is a plain language model of
// the target side.
class NoEncoderImpl : public EncoderImpl {
 public:
  explicit NoEncoderImpl(const ModelContext& context)
      : dim_(context.config.get_int("model.transformer.d_model")) {}
  Memory forward(const Source& source) override {
    const int64_t batch = source.batch_size();
    auto options = torch::TensorOptions().device(source.device());
    return {torch::zeros({batch, 0, dim_}, options),
            torch::zeros({batch, 0}, options.dtype(torch::kBool)),
            torch::zeros({batch, dim_}, options)};
  }
  int64_t output_dim() const override { return dim_; }

 private:
  int64_t dim_;
};

const bool registered =
    register_encoder<TransformerEncoderImpl>(
        "transformer", "Vaswani et al. 2017 encoder; positions, norms and scorer by config") &&
    register_encoder<EmbeddingEncoderImpl>(
        "embedding", "token embeddings only (source prefix of a decoder-only transformer)") &&
    register_encoder<NoEncoderImpl>("none", "no source: an empty memory (language modelling)");

}  // namespace
}  // namespace seqlab
