// Recurrent encoder (Cho et al. 2014; Sutskever et al. 2014; bidirectional as in Bahdanau et al.
// 2015): embeddings -> a stack of RNN/GRU/LSTM layers over the padded batch, each direction
// reading only real tokens before padding, so padding never leaks into the states.
// Memory.summary is the last layer's final state of both directions.
#include <torch/torch.h>

#include "models/rnn/recurrent_layer.h"
#include "models/seq2seq.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(key_string("model.cell", "gru",
                                          "recurrent cell of RNN encoders "
                                          "and decoders")
                                   .one_of({"gru", "lstm", "rnn"})) &&
    ConfigSchema::global().add(
        key_int("model.encoder_layers", 1, "stacked recurrent encoder layers").range(1, 16)) &&
    ConfigSchema::global().add(
        key_bool("model.bidirectional", true, "read the source in both directions")) &&
    ConfigSchema::global().add(
        key_number("model.forget_bias", 1.0,
                   "LSTM forget-gate bias at initialisation (encoder and decoder); "
                   "about log(T) for T-step dependencies (Tallec and Ollivier 2018)")
            .range(-20, 20)) &&
    ConfigSchema::global().add(
        key_number("model.update_bias", 0.0,
                   "added to the GRU update-gate bias at initialisation (encoder and decoder; 0 "
                   "leaves it as initialised); about log(T) keeps the state for T steps, as "
                   "model.forget_bias does for the LSTM")
            .range(-20, 20));

class RnnEncoderImpl : public EncoderImpl {
 public:
  explicit RnnEncoderImpl(const ModelContext& context) {
    const Config& config = context.config;
    hidden_dim_ = config.get_int("model.hidden_dim");
    layers_ = config.get_int("model.encoder_layers");
    directions_ = config.get_bool("model.bidirectional") ? 2 : 1;
    embedding_ = register_module(
        "embedding", token_embedding(context.source_vocab, config.get_int("model.embedding_dim")));
    dropout_ = register_module("dropout", Dropout(config.get_number("model.dropout")));
    rnn_ = register_module(
        "rnn",
        RecurrentLayer(config.get_string("model.cell"), config.get_int("model.embedding_dim"),
                       hidden_dim_, layers_, directions_ == 2, config.get_number("model.dropout")));
    rnn_->init_gate_biases(config);
  }

  Memory forward(const Source& source) override {
    auto embedded = dropout_(embedding_(source.ids));  // [B, S, E]
    // An empty source still runs one (padding) step; its mask stays all false.
    auto [states, final_state] = rnn_->forward_lengths(embedded, source.lengths);
    // h: [layers * dirs, B, H] -> last layer's directions side by side: [B, H * dirs]
    auto last = final_state.view({layers_, directions_, -1, hidden_dim_}).select(0, layers_ - 1);
    auto summary = last.transpose(0, 1).reshape({last.size(1), directions_ * hidden_dim_});
    return {dropout_(states), source.mask, summary};
  }

  int64_t output_dim() const override { return hidden_dim_ * directions_; }

 private:
  int64_t hidden_dim_, layers_, directions_;
  torch::nn::Embedding embedding_{nullptr};
  Dropout dropout_{nullptr};
  RecurrentLayer rnn_{nullptr};
};

const bool registered = register_encoder<RnnEncoderImpl>(
    "rnn", "RNN/GRU/LSTM encoder (model.cell), optionally bidirectional; Cho et al. 2014");

}  // namespace
}  // namespace seqlab
