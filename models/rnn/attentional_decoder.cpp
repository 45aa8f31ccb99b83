// Recurrent decoders with attention over the encoder states, any registered scorer by config
// (model.attention). The style is a named switch, after the two papers:
//
//   bahdanau (Bahdanau et al. 2015): attend with the previous state s_{i-1} (eq. 6), feed the
//     context with the previous token to the cell, s_i = f(s_{i-1}, [E y_{i-1}; c_i]), and predict
//     from the deep output t_i = tanh(W [s_i; c_i; E y_{i-1}]) (appendix A.2.2, tanh for maxout).
//   luong (Luong et al. 2015): step the cell first, attend with h_t, form the attentional state
//     h~_t = tanh(W_c [c_t; h_t]) (eq. 5) and predict from it; with input feeding (section 3.3)
//     h~_{t-1} joins the next input.
//
// The initial state is bridged from the encoder summary as in the no-attention decoder.
#include <torch/torch.h>

#include "models/attention/attention.h"
#include "models/attention/scorer.h"
#include "models/dropout.h"
#include "models/rnn/decoder_parts.h"
#include "models/rnn/step_linear.h"
#include "models/seq2seq.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(
        key_string("model.attention", "additive", "attention scorer").names_from([] {
          return scorer_registry().names();
        })) &&
    ConfigSchema::global().add(
        key_int("model.attention_dim", 0, "inner width of additive/concat scorers; 0 = hidden_dim")
            .range(0, 65536)) &&
    ConfigSchema::global().add(key_bool("model.input_feeding", true,
                                        "luong: feed the previous attentional state with the "
                                        "next input (Luong et al. 2015, section 3.3)"));

enum class Style { kBahdanau, kLuong };

class AttentionalDecoderImpl : public DecoderImpl {
 public:
  AttentionalDecoderImpl(const ModelContext& context, Style style) : style_(style) {
    const Config& config = context.config;
    hidden_dim_ = config.get_int("model.hidden_dim");
    layers_ = config.get_int("model.decoder_layers");
    embedding_dim_ = config.get_int("model.embedding_dim");
    memory_dim_ = context.memory_dim;
    input_feeding_ = style == Style::kLuong && config.get_bool("model.input_feeding");
    const std::string cell = config.get_string("model.cell");
    embedding_ =
        register_module("embedding", token_embedding(context.target_vocab, embedding_dim_));
    dropout_ = register_module("dropout", Dropout(config.get_number("model.dropout")));
    bridge_ =
        register_module("bridge", SummaryBridge(memory_dim_, layers_, hidden_dim_, cell == "lstm"));
    int64_t attention_dim = config.get_int("model.attention_dim");
    scorer_ = register_module(
        "scorer",
        scorer_registry().create(
            config.get_string("model.attention"),
            ScorerDims{hidden_dim_, memory_dim_, attention_dim > 0 ? attention_dim : hidden_dim_}));
    int64_t input_dim = embedding_dim_;
    if (style_ == Style::kBahdanau) input_dim += memory_dim_;
    if (input_feeding_) input_dim += hidden_dim_;
    rnn_ = register_module("rnn", RecurrentLayer(cell, input_dim, hidden_dim_, layers_, false,
                                                 config.get_number("model.dropout")));
    rnn_->init_gate_biases(config);
    if (style_ == Style::kBahdanau) {
      combine_ = register_module(
          "deep_output",
          torch::nn::Linear(hidden_dim_ + memory_dim_ + embedding_dim_, embedding_dim_));
    } else {
      combine_ =
          register_module("attentional", torch::nn::Linear(hidden_dim_ + memory_dim_, hidden_dim_));
      pre_output_ = register_module("pre_output", torch::nn::Linear(hidden_dim_, embedding_dim_));
    }
    output_ = register_module("output", OutputLayer(embedding_, context.target_vocab,
                                                    config.get_bool("model.tie_embeddings")));
  }

  torch::Tensor forward(const Memory& memory, const torch::Tensor& target_in) override {
    return output_(readout_features(memory, target_in));  // [B, T, V]
  }

  OutputLayer readout() override { return output_; }
  torch::Tensor readout_features(const Memory& memory, const torch::Tensor& target_in) override {
    DecoderState state = start(memory);
    auto embedded = dropout_(embedding_(target_in));  // [B, T, E]
    if (style_ == Style::kLuong && !input_feeding_) {
      // Without input feeding no step waits for the previous step's attention: run the cell over
      // the whole sequence in one call, then attend from every position at once.
      auto [outputs, unused] = rnn_->forward(embedded, read_recurrent_state(state));  // [B, T, H]
      auto weights =
          attention_weights(scorer_->score(outputs, state["keys"]), state["mask"]);  // [B, T, S]
      if (AttentionRecorder::active())
        AttentionRecorder::report("decoder.cross", weights.unsqueeze(1));
      auto context = weighted_values(weights, state["states"]);  // [B, T, D]
      auto attentional = torch::tanh(combine_(torch::cat({context, outputs}, -1)));
      return dropout_(pre_output_(dropout_(attentional)));
    }
    if (style_ == Style::kBahdanau && state.has("context_gates")) {
      // Only the attention and the cell wait for the previous step; the contexts and the deep
      // output of all steps are then one batched product each.
      std::vector<torch::Tensor> outputs, weights;
      StepMixer mixer(state["context_gates"], embedded.size(1));
      if (rnn_->cell() == "gru") {
        gru_recurrence(state, embedded, mixer, outputs, weights);
      } else {
        for (const auto& token : embedded.unbind(1)) {
          auto [s, w] = bahdanau_cell(state, token, &mixer);
          outputs.push_back(s);
          weights.push_back(w);
        }
      }
      auto all = torch::cat(weights, 1);  // [B, T, S]
      if (AttentionRecorder::active()) AttentionRecorder::report("decoder.cross", all.unsqueeze(1));
      auto contexts = weighted_values(all, state["states"]);  // [B, T, D]
      return dropout_(deep_output(torch::stack(outputs, 1), contexts, embedded));
    }
    std::vector<torch::Tensor> features;
    features.reserve(static_cast<size_t>(target_in.size(1)));
    for (const auto& token : embedded.unbind(1)) features.push_back(advance(state, token));
    return dropout_(torch::stack(features, 1));  // [B, T, E]
  }

  DecoderState start(const Memory& memory) override {
    const int64_t batch = memory.summary.size(0);
    DecoderState state;
    write_recurrent_state(state, bridge_(memory.summary));
    state.set_per_source("states", memory.states);  // [B, S, D]
    state.set_per_source("keys",
                         scorer_->project_keys(memory.states));  // [B, S, *], once per source
    state.set_per_source("mask", memory.mask);                   // [B, S]
    // Bahdanau's cell reads [E y_{i-1}; c_i] with c_i = sum_j a_ij h_j, so the context's share of
    // its input gates is sum_j a_ij (W h_j): every memory row is projected once per sentence and
    // each step mixes the projections (S x G multiply-adds a row instead of D x G). The CPU cell
    // kernels take the mix as a per-row bias; CUDA's fused cells refuse one, so there the context
    // is concatenated to the input as written.
    if (style_ == Style::kBahdanau && memory.states.device().is_cpu())
      state.set_per_source("context_gates",
                           rnn_->project_constant(memory.states, /*with_bias=*/false));
    if (input_feeding_) state["feed"] = torch::zeros({batch, hidden_dim_}, memory.states.options());
    return state;
  }

  torch::Tensor step(DecoderState& state, const torch::Tensor& previous) override {
    auto embedded = dropout_(embedding_(previous));                   // [B, E]
    return logits(advance(state, embedded).unsqueeze(1)).squeeze(1);  // [B, V]
  }

 private:
  // Attention weights [B, 1, S] of queries [B, H] over the memory.
  torch::Tensor attention(DecoderState& state, const torch::Tensor& query) {
    auto scores = scorer_->score(query.unsqueeze(1), state["keys"]);  // [B, 1, S]
    return attention_weights(scores, state["mask"]);
  }

  // Attention of queries [B, H] over the memory: context [B, D] (weights reported when recording).
  torch::Tensor attend(DecoderState& state, const torch::Tensor& query) {
    auto weights = attention(state, query);
    if (AttentionRecorder::active())
      AttentionRecorder::report("decoder.cross", weights.unsqueeze(1));
    return weighted_values(weights, state["states"]).squeeze(1);  // [B, D]
  }

  // Bahdanau's recurrence with projected memory rows (state "context_gates"): attend from
  // s_{i-1}, step the cell on [E y_{i-1}; c_i]. Returns s_i [B, H] and the weights [B, 1, S].
  // `mixer` (teacher forcing): the projected rows' gradient formed once for all steps.
  std::pair<torch::Tensor, torch::Tensor> bahdanau_cell(DecoderState& state,
                                                        const torch::Tensor& embedded,
                                                        StepMixer* mixer = nullptr) {
    RecurrentState current = read_recurrent_state(state);
    auto weights = attention(state, current.h[layers_ - 1]);
    auto mixed =
        mixer ? mixer->mix(weights, state.step) : weighted_values(weights, state["context_gates"]);
    auto gates = mixed.squeeze(1) + rnn_->input_bias();
    auto [s, next] = rnn_->step(embedded, current, gates);
    write_recurrent_state(state, next);
    ++state.step;
    return {s, weights};
  }

  // Teacher-forced Bahdanau recurrence of a GRU stack, the cell written out (the equations of
  // torch::gru_cell) so that its products batch: the embedding's share of the first layer's
  // input gates for all steps is one GEMM before the loop, and every per-step product's weight
  // gradient is one GEMM after it (StepLinear), where gru_cell's backward forms one per step and
  // autograd sums them (and, for the first layer's input weights, a full-size zero-padded one).
  void gru_recurrence(DecoderState& state, const torch::Tensor& embedded, StepMixer& mixer,
                      std::vector<torch::Tensor>& outputs, std::vector<torch::Tensor>& weights) {
    const int64_t batch = embedded.size(0), steps = embedded.size(1), layers = rnn_->layers();
    std::vector<std::vector<torch::Tensor>> w;
    std::vector<StepLinear> hidden, input;
    for (int64_t l = 0; l < layers; ++l) {
      w.push_back(rnn_->layer_weights(l));  // w_ih, w_hh, b_ih, b_hh
      hidden.emplace_back(w[l][1], w[l][3], steps, batch);
      if (l > 0) input.emplace_back(w[l][0], w[l][2], steps, batch);
    }
    // [B, T, 3H]: W_ih[:, :E] E y + b_ih for every step
    // (unbind, not select per step: the backward of select writes a zero-filled [B, T, 3H] each)
    auto embedded_gates =
        torch::nn::functional::linear(embedded, w[0][0].narrow(1, 0, embedded.size(2)), w[0][2])
            .unbind(1);
    std::vector<torch::Tensor> h = read_recurrent_state(state).h.unbind(0);
    const double dropout = rnn_->between_layers_dropout();
    for (int64_t t = 0; t < steps; ++t) {
      auto attention_weights = attention(state, h[layers - 1]);  // [B, 1, S], from s_{i-1}
      torch::Tensor x;
      for (int64_t l = 0; l < layers; ++l) {
        auto gi = l == 0 ? embedded_gates[static_cast<size_t>(t)] +
                               mixer.mix(attention_weights, t).squeeze(1)
                         : input[l - 1].forward(seqlab::dropout(x, dropout, is_training()), t);
        auto gh = hidden[l].forward(h[l], t);
        auto i = gi.chunk(3, 1), g = gh.chunk(3, 1);
        auto reset = torch::sigmoid(i[0] + g[0]), update = torch::sigmoid(i[1] + g[1]);
        auto candidate = torch::tanh(i[2] + reset * g[2]);
        h[l] = candidate + update * (h[l] - candidate);
        x = h[l];
      }
      outputs.push_back(x);
      weights.push_back(attention_weights);
    }
    write_recurrent_state(state, {torch::stack(h), torch::Tensor()});
    state.step += steps;
  }

  // t_i = tanh(W [s_i; c_i; E y_{i-1}]) (appendix A.2.2, tanh for maxout), for one step or many.
  torch::Tensor deep_output(const torch::Tensor& s, const torch::Tensor& context,
                            const torch::Tensor& embedded) {
    return torch::tanh(combine_(dropout_(torch::cat({s, context, embedded}, -1))));
  }

  // One decoder step from an embedded token [B, E]; returns the pre-output features [B, E].
  torch::Tensor advance(DecoderState& state, const torch::Tensor& embedded) {
    torch::Tensor features;
    if (style_ == Style::kBahdanau && state.has("context_gates")) {
      auto [s, weights] = bahdanau_cell(state, embedded);
      if (AttentionRecorder::active())
        AttentionRecorder::report("decoder.cross", weights.unsqueeze(1));
      return deep_output(s, weighted_values(weights, state["states"]).squeeze(1), embedded);
    } else if (style_ == Style::kBahdanau) {
      RecurrentState current = read_recurrent_state(state);
      auto context = attend(state, current.h[layers_ - 1]);                       // from s_{i-1}
      auto [s, next] = rnn_->step(torch::cat({embedded, context}, -1), current);  // s [B, H]
      write_recurrent_state(state, next);
      features = deep_output(s, context, embedded);
    } else {
      RecurrentState current = read_recurrent_state(state);
      auto input = input_feeding_ ? torch::cat({embedded, state["feed"]}, -1) : embedded;
      auto [h, next] = rnn_->step(input, current);  // h [B, H]
      write_recurrent_state(state, next);
      auto context = attend(state, h);
      auto attentional = torch::tanh(combine_(torch::cat({context, h}, -1)));  // h~_t
      if (input_feeding_) state["feed"] = attentional;
      features = pre_output_(dropout_(attentional));
    }
    ++state.step;
    return features;
  }

  torch::Tensor logits(const torch::Tensor& features) { return output_(dropout_(features)); }

  Style style_;
  int64_t hidden_dim_, layers_, embedding_dim_, memory_dim_;
  bool input_feeding_;
  torch::nn::Embedding embedding_{nullptr};
  Dropout dropout_{nullptr};
  SummaryBridge bridge_{nullptr};
  torch::nn::Linear combine_{nullptr}, pre_output_{nullptr};
  OutputLayer output_{nullptr};
  Scorer scorer_{nullptr};
  RecurrentLayer rnn_{nullptr};
};

const bool registered =
    register_decoder<AttentionalDecoderImpl>(
        "bahdanau",
        "RNN decoder attending from the previous state, deep output; Bahdanau et al. 2015",
        Style::kBahdanau) &&
    register_decoder<AttentionalDecoderImpl>(
        "luong", "RNN decoder attending after the cell step, input feeding; Luong et al. 2015",
        Style::kLuong);

}  // namespace
}  // namespace seqlab
