// Transformer decoder (Vaswani et al. 2017, section 3.1): masked self-attention, cross-attention
// over the memory, feed-forward; or, with model.transformer.decoder_only, no cross-attention and
// the memory read as a prefix of one causal sequence (a language model over source + target).
//
// Search state (DecoderState): per layer the cached keys and values of every earlier position
// ("layerI.k", "layerI.v", [B, H, T, *]) and of the memory ("layerI.cross.k/v", computed once in
// start), the positions and mask of the cached positions, and the next position of each row. All
// batch-first, so beam search reorders the cache with the generic index_select. With
// model.transformer.kv_cache = false, step() instead re-runs forward() over the whole prefix.
#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/seq2seq.h"
#include "models/transformer/transformer_layers.h"

namespace seqlab {
namespace {

class TransformerDecoderImpl : public DecoderImpl {
 public:
  explicit TransformerDecoderImpl(const ModelContext& context) : settings_(context.config) {
    const Config& config = context.config;
    const int64_t d = settings_.model_dim;
    // An image encoder has no source tokens: with share_embeddings the decoder keeps its own table
    // (still tied to the output layer by tie_embeddings), so captioning presets can inherit it.
    if (settings_.share_embeddings && !context.image_source) {
      if (!context.source_embedding)
        throw InputError(
            "model.transformer.share_embeddings needs an encoder with token embeddings "
            "(transformer, embedding)");
      if (context.source_embedding->table->options.embedding_dim() != d ||
          context.source_vocab != context.target_vocab)
        throw InputError(fmt::format(
            "model.transformer.share_embeddings: the encoder's embeddings "
            "are {} x {}, the decoder needs {} x {}",
            context.source_vocab, context.source_embedding->table->options.embedding_dim(),
            context.target_vocab, d));
      embedding_ = context.source_embedding;  // owned (and saved) by the encoder
    } else {
      embedding_ = register_module("embedding", ScaledEmbedding(context.target_vocab, d));
    }
    positions_ = register_module(
        "positions",
        positional_registry().create(settings_.positional,
                                     PositionalContext{config, d, settings_.heads, true}));
    dropout_ = register_module("dropout", Dropout(settings_.dropout));
    if (settings_.decoder_only && context.memory_dim != d)
      prefix_ = register_module("prefix", torch::nn::Linear(context.memory_dim, d));
    layers_ = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < settings_.decoder_layers; ++i) {
      layer_list_.emplace_back(config, settings_, settings_.decoder_only ? 0 : context.memory_dim,
                               positions_, "decoder.layer" + std::to_string(i));
      layers_->push_back(layer_list_.back());
    }
    if (settings_.pre_norm())
      final_norm_ = register_module("final_norm",
                                    norm_registry().create(settings_.norm, NormContext{config, d}));
    output_ = register_module(
        "output", OutputLayer(embedding_->table, context.target_vocab, settings_.tie_embeddings));
  }

  torch::Tensor forward(const Memory& memory, const torch::Tensor& target_in) override {
    return logits(features(memory, target_in));
  }

  // What the output layer reads: the last layer's output after the final norm.
  OutputLayer readout() override { return output_; }
  torch::Tensor readout_features(const Memory& memory, const torch::Tensor& target_in) override {
    auto x = features(memory, target_in);
    return final_norm_ ? final_norm_(x) : x;
  }

  // The last layer's output [B, T, D] for every target position (before the final norm).
  torch::Tensor features(const Memory& memory, const torch::Tensor& target_in) {
    const int64_t batch = target_in.size(0), length = target_in.size(1);
    // Positions are [1, T] whenever every row has the same ones (the positional encodings and the
    // causal mask broadcast over the batch), so score biases, offsets and the mask are built once
    // per layer rather than once per row (T5 buckets over [B, T, T]: dropping them doubled the
    // training tokens/s of the music spec's 2 x 64 transformer on 260-event sequences).
    if (!settings_.decoder_only) {
      auto positions = position_range(1, length, {}, target_in.options());
      return run_layers(embed_tokens(target_in, positions), positions, {}, &memory, nullptr);
    }
    // Decoder-only: [prefix; target] in one causal pass; target positions continue each row's
    // real prefix, so padding inside the prefix never shifts them.
    const int64_t prefix_length = memory.states.size(1);
    auto real = memory.mask.sum(1);  // [B]
    const bool shared = prefix_length == 0 || (real == prefix_length).all().item<bool>();
    auto positions =
        shared ? position_range(1, prefix_length + length, {}, target_in.options())
               : torch::cat({position_range(batch, prefix_length, {}, target_in.options()),
                             position_range(batch, length, real, target_in.options())},
                            1);
    auto mask = torch::cat({memory.mask, torch::ones({batch, length}, memory.mask.options())}, 1);
    auto x = torch::cat({embed_prefix(memory.states, positions.narrow(1, 0, prefix_length)),
                         embed_tokens(target_in, positions.narrow(1, prefix_length, length))},
                        1);
    return run_layers(x, positions, mask, nullptr, nullptr).narrow(1, prefix_length, length);
  }

  DecoderState start(const Memory& memory) override {
    DecoderState state;
    const int64_t batch = memory.states.size(0);
    auto long_options = memory.mask.options().dtype(torch::kLong);
    if (!settings_.kv_cache) {
      state.set_per_source("memory.states", memory.states);
      state.set_per_source("memory.mask", memory.mask);
      state["tokens"] = torch::zeros({batch, 0}, long_options);
      return state;
    }
    if (!settings_.decoder_only) {
      for (int64_t i = 0; i < layer_count(); ++i) {
        auto cross = layer(i)->cross_key_values(memory.states, memory.mask);
        state.set_per_source(cache_name(i, "cross.k"), cross.keys);
        state.set_per_source(cache_name(i, "cross.v"), cross.values);
      }
      state.set_per_source("memory.mask", memory.mask);
      state["positions"] = torch::zeros({batch, 0}, long_options);
      state["next"] = torch::zeros({batch}, long_options);
      return state;
    }
    // Decoder-only: run the prefix once, keeping every layer's keys and values.
    const int64_t prefix_length = memory.states.size(1);
    auto positions = position_range(batch, prefix_length, {}, long_options);
    state["positions"] = positions;
    state["mask"] = memory.mask;
    state["next"] = memory.mask.sum(1);
    if (prefix_length > 0)
      run_layers(embed_prefix(memory.states, positions), positions, memory.mask, nullptr, &state);
    return state;
  }

  torch::Tensor step(DecoderState& state, const torch::Tensor& previous) override {
    if (!settings_.kv_cache) {  // recompute the whole prefix (the benchmark's baseline)
      auto tokens = torch::cat({state["tokens"], previous.unsqueeze(1)}, 1);
      state["tokens"] = tokens;
      auto x = features(Memory{state["memory.states"], state["memory.mask"], {}}, tokens);
      return logits(x.narrow(1, x.size(1) - 1, 1)).squeeze(1);  // only the new position's logits
    }
    auto position = state["next"].unsqueeze(1);  // [B, 1]
    auto positions = torch::cat({state["positions"], position}, 1);
    torch::Tensor mask;
    if (settings_.decoder_only)
      mask = torch::cat({state["mask"], torch::ones_like(position, state["mask"].options())}, 1);
    auto x = embed_tokens(previous.unsqueeze(1), position);
    for (int64_t i = 0; i < layer_count(); ++i) {
      KeyValues self{cached(state, cache_name(i, "k")), cached(state, cache_name(i, "v")),
                     positions, mask};
      KeyValues cross;
      if (!settings_.decoder_only)
        cross = {state[cache_name(i, "cross.k")],
                 state[cache_name(i, "cross.v")],
                 {},
                 state["memory.mask"]};
      x = layer(i)->forward(x, position, self, cross,
                            /*causal=*/false);  // one position, after all cached
      state[cache_name(i, "k")] = self.keys;
      state[cache_name(i, "v")] = self.values;
    }
    state["positions"] = positions;
    if (mask.defined()) state["mask"] = mask;
    state["next"] = state["next"] + 1;
    ++state.step;
    return logits(x).squeeze(1);
  }

 private:
  int64_t layer_count() const { return static_cast<int64_t>(layer_list_.size()); }
  TransformerDecoderLayer& layer(int64_t i) { return layer_list_[static_cast<size_t>(i)]; }
  static std::string cache_name(int64_t layer, const char* what) {
    return fmt::format("layer{}.{}", layer, what);
  }
  static torch::Tensor cached(const DecoderState& state, const std::string& name) {
    auto it = state.tensors.find(name);
    return it == state.tensors.end() ? torch::Tensor() : it->second;
  }

  // Every layer over all positions of x at once (causal self-attention over x itself, with key
  // mask `mask`; cross-attention over `memory` unless null). With `cache`, each layer's keys and
  // values are kept there for later steps.
  torch::Tensor run_layers(torch::Tensor x, const torch::Tensor& positions,
                           const torch::Tensor& mask, const Memory* memory, DecoderState* cache) {
    for (int64_t i = 0; i < layer_count(); ++i) {
      KeyValues self{{}, {}, positions, mask};
      x = layer(i)->forward(
          x, positions, self,
          memory ? layer(i)->cross_key_values(memory->states, memory->mask) : KeyValues{});
      if (cache) {
        (*cache)[cache_name(i, "k")] = self.keys;
        (*cache)[cache_name(i, "v")] = self.values;
      }
    }
    return x;
  }

  torch::Tensor embed_tokens(const torch::Tensor& ids, const torch::Tensor& positions) {
    return dropout_(positions_->embed(embedding_(ids), positions));
  }
  torch::Tensor embed_prefix(const torch::Tensor& states, const torch::Tensor& positions) {
    return dropout_(positions_->embed(prefix_ ? prefix_(states) : states, positions));
  }
  torch::Tensor logits(const torch::Tensor& x) { return output_(final_norm_ ? final_norm_(x) : x); }

  TransformerSettings settings_;
  ScaledEmbedding embedding_{nullptr};
  PositionalEncoding positions_{nullptr};
  Dropout dropout_{nullptr};
  torch::nn::Linear prefix_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  std::vector<TransformerDecoderLayer> layer_list_;  // the same modules, typed
  Norm final_norm_{nullptr};
  OutputLayer output_{nullptr};
};

const bool registered = register_decoder<TransformerDecoderImpl>(
    "transformer", "Vaswani et al. 2017 decoder with a key/value cache; decoder-only mode for LMs");

}  // namespace
}  // namespace seqlab
