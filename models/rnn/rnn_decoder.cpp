// Recurrent decoder without attention: the 2014 encoder-decoder baseline. The initial state comes
// from the encoder summary through a learned bridge (tanh(W s), Cho et al. 2014 eq. 4 / Bahdanau
// et al. 2015 appendix A), and with model.feed_summary the summary is also fed with every input
// token (Cho et al. 2014), so the whole source is seen at every step without attention.
#include <torch/torch.h>

#include "models/rnn/decoder_parts.h"
#include "models/seq2seq.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(
        key_int("model.decoder_layers", 1, "stacked recurrent decoder layers").range(1, 16)) &&
    ConfigSchema::global().add(key_bool("model.feed_summary", true,
                                        "feed the source summary with every decoder input "
                                        "(Cho et al. 2014); false = Sutskever-style init only"));

class RnnDecoderImpl : public DecoderImpl {
 public:
  explicit RnnDecoderImpl(const ModelContext& context) {
    const Config& config = context.config;
    hidden_dim_ = config.get_int("model.hidden_dim");
    layers_ = config.get_int("model.decoder_layers");
    embedding_dim_ = config.get_int("model.embedding_dim");
    feed_summary_ = config.get_bool("model.feed_summary");
    const std::string cell = config.get_string("model.cell");
    embedding_ =
        register_module("embedding", token_embedding(context.target_vocab, embedding_dim_));
    dropout_ = register_module("dropout", Dropout(config.get_number("model.dropout")));
    int64_t summary_dim = context.memory_dim;
    bridge_ =
        register_module("bridge", SummaryBridge(summary_dim, layers_, hidden_dim_, cell == "lstm"));
    rnn_ = register_module(
        "rnn",
        RecurrentLayer(cell, embedding_dim_ + (feed_summary_ ? summary_dim : 0), hidden_dim_,
                       layers_, /*bidirectional=*/false, config.get_number("model.dropout")));
    rnn_->init_gate_biases(config);
    // Output: hidden -> embedding width (so it can be tied) -> vocabulary.
    pre_output_ = register_module("pre_output", torch::nn::Linear(hidden_dim_, embedding_dim_));
    output_ = register_module("output", OutputLayer(embedding_, context.target_vocab,
                                                    config.get_bool("model.tie_embeddings")));
  }

  torch::Tensor forward(const Memory& memory, const torch::Tensor& target_in) override {
    return output_(readout_features(memory, target_in));  // [B, T, V]
  }

  // The output layer reads pre_output's features; a ridge fit over them is refused because the
  // embeddings, cell and pre_output before it are trainable (train/fitter.cpp names them).
  OutputLayer readout() override { return output_; }
  torch::Tensor readout_features(const Memory& memory, const torch::Tensor& target_in) override {
    auto embedded = dropout_(embedding_(target_in));  // [B, T, E]; the summary joins every step
    auto [outputs, unused] =
        rnn_->forward(embedded, bridge_(memory.summary),
                      feed_summary_ ? memory.summary : torch::Tensor());  // [B, T, H]
    return features(outputs);                                             // [B, T, E]
  }

  DecoderState start(const Memory& memory) override {
    DecoderState state;
    write_recurrent_state(state, bridge_(memory.summary));
    // The summary's share of the first layer's input gates, projected once for all steps. The
    // CPU cell kernels take it as a per-row bias; elsewhere (CUDA's fused cells check the bias
    // shape) the summary is concatenated to every input.
    if (feed_summary_ && memory.summary.device().is_cpu())
      state.set_per_source("summary_gates", rnn_->project_constant(memory.summary));
    else if (feed_summary_)
      state.set_per_source("summary", memory.summary);
    return state;
  }

  torch::Tensor step(DecoderState& state, const torch::Tensor& previous) override {
    auto embedded = dropout_(embedding_(previous));  // [B, E]
    torch::Tensor gates;
    if (state.tensors.count("summary_gates")) gates = state["summary_gates"];
    if (state.tensors.count("summary")) embedded = torch::cat({embedded, state["summary"]}, -1);
    auto [output, next] = rnn_->step(embedded, read_recurrent_state(state), gates);  // [B, H]
    write_recurrent_state(state, next);
    ++state.step;
    return logits(output);  // [B, V]
  }

 private:
  torch::Tensor features(const torch::Tensor& outputs) {
    return dropout_(pre_output_(dropout_(outputs)));
  }
  torch::Tensor logits(const torch::Tensor& outputs) { return output_(features(outputs)); }

  int64_t hidden_dim_, layers_, embedding_dim_;
  bool feed_summary_;
  torch::nn::Embedding embedding_{nullptr};
  Dropout dropout_{nullptr};
  SummaryBridge bridge_{nullptr};
  torch::nn::Linear pre_output_{nullptr};
  OutputLayer output_{nullptr};
  RecurrentLayer rnn_{nullptr};
};

const bool registered = register_decoder<RnnDecoderImpl>(
    "rnn",
    "RNN/GRU/LSTM decoder without attention, bridged from the encoder summary; Cho et al. 2014");

}  // namespace
}  // namespace seqlab
