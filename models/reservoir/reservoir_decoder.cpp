// Reservoir decoders: the reservoir is driven by the previous token's fixed random input column
// plus the source summary through fixed random weights (model.reservoir.summary_scaling), and a
// linear readout over the vocabulary reads its state. With model.reservoir.attention the readout
// also reads a context over the encoder states, attended with the reservoir state as query by a
// parameter-free scorer (dot, scaled_dot, cosine with its temperature fixed), so a fit stays
// closed-form (the attention does not feed back into the reservoir). "elm": no recurrence, so
// each step sees only the previous token, the summary and the context.
//
// The readout is the only trained part: train.method=ridge fits it in closed form (the target is
// the one-hot next token), train.method=sgd trains it by cross-entropy with the reservoir fixed.
#include <cmath>

#include <torch/torch.h>

#include "models/attention/attention.h"
#include "models/attention/scorer.h"
#include "models/reservoir/reservoir.h"
#include "models/seq2seq.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(key_number("model.reservoir.summary_scaling", 0.5,
                                          "decoder: weights of the source summary, uniform in "
                                          "[-s, s]")
                                   .range(0, 1e6)) &&
    ConfigSchema::global().add(key_string("model.reservoir.attention", "none",
                                          "decoder: parameter-free attention over the encoder "
                                          "states for the readout")
                                   .one_of({"none", "dot", "scaled_dot", "cosine"}));

class ReservoirDecoderImpl : public DecoderImpl {
 public:
  ReservoirDecoderImpl(const ModelContext& context, bool recurrent) {
    const Config& config = context.config;
    ReservoirOptions options = ReservoirOptions::from_config(config);
    options.recurrent = recurrent;
    options.seed += 1;  // not the encoder's matrices when both are reservoirs
    reservoir_ = register_module("reservoir", Reservoir(options));
    const int64_t n = options.units, d = context.memory_dim;
    torch::NoGradGuard no_grad;
    input_ = register_buffer("input", reservoir_->token_inputs(context.target_vocab));
    summary_ = register_buffer(
        "summary",
        reservoir_->random_matrix(n, d, config.get_number("model.reservoir.summary_scaling"), 1.0)
            .to(torch::kFloat32));
    int64_t features = n;
    const std::string attention = config.get_string("model.reservoir.attention");
    if (attention != "none") {
      if (d != n)  // a fixed random projection of the query to the memory's width
        query_ = register_buffer(
            "query", (reservoir_->random_matrix(d, n, 1.0, 1.0) * std::sqrt(3.0 / double(n)))
                         .to(torch::kFloat32));
      scorer_ = register_module("scorer", scorer_registry().create(attention, ScorerDims{d, d, d}));
      for (auto& p : scorer_->parameters()) p.set_requires_grad(false);  // fixed temperature
      features += d;
    }
    readout_ = register_module("readout", OutputLayer(features, context.target_vocab));
  }

  torch::Tensor forward(const Memory& memory, const torch::Tensor& target_in) override {
    return readout_(readout_features(memory, target_in));
  }

  torch::Tensor readout_features(const Memory& memory, const torch::Tensor& target_in) override {
    // No autograd unless the memory comes from a trained encoder (then its gradient flows through
    // the fixed reservoir).
    torch::AutoGradMode grad(torch::GradMode::is_enabled() && memory.summary.requires_grad());
    auto drive = torch::nn::functional::embedding(target_in, input_) +
                 torch::mm(memory.summary, summary_.t()).unsqueeze(1);  // [B, T, N]
    auto states = reservoir_->run(drive, target_in.ne(0));              // [B, T, N]
    if (!scorer_) return states;
    return with_context(states, scorer_->project_keys(memory.states), memory.states, memory.mask);
  }

  OutputLayer readout() override { return readout_; }

  DecoderState start(const Memory& memory) override {
    DecoderState state;
    state["x"] =
        torch::zeros({memory.summary.size(0), reservoir_->units()}, memory.summary.options());
    state["summary_drive"] = torch::mm(memory.summary, summary_.t());
    if (scorer_) {
      state["keys"] = scorer_->project_keys(memory.states);
      state["values"] = memory.states;
      state["mask"] = memory.mask;
    }
    return state;
  }

  torch::Tensor step(DecoderState& state, const torch::Tensor& previous) override {
    auto drive = torch::nn::functional::embedding(previous, input_) + state["summary_drive"];
    auto x = reservoir_->step(state["x"], drive);  // [B, N]
    state["x"] = x;
    ++state.step;
    if (!scorer_) return readout_(x);
    return readout_(
        with_context(x.unsqueeze(1), state["keys"], state["values"], state["mask"]).squeeze(1));
  }

 private:
  // states [B, T, N] (also the queries) -> readout features [B, T, N + D]: each state beside its
  // context over the encoder states.
  torch::Tensor with_context(const torch::Tensor& states, const torch::Tensor& keys,
                             const torch::Tensor& values, const torch::Tensor& mask) {
    auto query = query_.defined() ? torch::matmul(states, query_.t()) : states;
    auto weights = attention_weights(scorer_->score(query, keys), mask);  // [B, T, S]
    if (AttentionRecorder::active())
      AttentionRecorder::report("decoder.cross", weights.unsqueeze(1));
    return torch::cat({states, torch::matmul(weights, values)}, -1);
  }

  Reservoir reservoir_{nullptr};
  torch::Tensor input_, summary_, query_;
  Scorer scorer_{nullptr};
  OutputLayer readout_{nullptr};
};

const bool registered =
    decoder_registry().add(
        "reservoir",
        [](const ModelContext& c) {
          return Decoder(
              std::shared_ptr<DecoderImpl>(std::make_shared<ReservoirDecoderImpl>(c, true)));
        },
        "echo-state decoder: fixed random reservoir, linear readout (ridge fit or SGD), optional "
        "parameter-free attention; Jaeger 2001") &&
    decoder_registry().add(
        "elm",
        [](const ModelContext& c) {
          return Decoder(
              std::shared_ptr<DecoderImpl>(std::make_shared<ReservoirDecoderImpl>(c, false)));
        },
        "extreme-learning-machine decoder: fixed random features of the previous token and the "
        "summary, linear readout; Huang et al. 2006");

}  // namespace
}  // namespace seqlab
