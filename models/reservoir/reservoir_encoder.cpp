// Reservoir encoders: a token's input weights are a fixed random column (the input matrix times
// the token's one-hot), the reservoir runs over the source, and every position's state is the
// memory. "reservoir": an echo-state network; the summary is the state after the last real token.
// "elm": no recurrence (an extreme learning machine per position); the summary is the mean state.
// Nothing here is trained: the encoder has buffers and no parameters.
#include <torch/torch.h>

#include "models/reservoir/reservoir.h"
#include "models/seq2seq.h"

namespace seqlab {
namespace {

class ReservoirEncoderImpl : public EncoderImpl {
 public:
  ReservoirEncoderImpl(const ModelContext& context, bool recurrent) {
    ReservoirOptions options = ReservoirOptions::from_config(context.config);
    options.recurrent = recurrent;
    reservoir_ = register_module("reservoir", Reservoir(options));
    torch::NoGradGuard no_grad;
    input_ = register_buffer("input", reservoir_->token_inputs(context.source_vocab));
  }

  Memory forward(const Source& source) override {
    torch::NoGradGuard no_grad;
    auto drive = torch::nn::functional::embedding(source.ids, input_);  // [B, S, N]
    auto states = reservoir_->run(drive, source.mask);                  // [B, S, N]
    torch::Tensor summary;
    if (reservoir_->options().recurrent) {
      // The state after the last real token (it stays put over padding): the last column.
      summary = states.select(1, states.size(1) - 1);
    } else {
      auto mask = source.mask.unsqueeze(-1).to(states.dtype());
      summary = (states * mask).sum(1) / mask.sum(1).clamp_min(1);
    }
    return {states, source.mask, summary};
  }

  int64_t output_dim() const override { return reservoir_->units(); }

 private:
  Reservoir reservoir_{nullptr};
  torch::Tensor input_;
};

const bool registered =
    encoder_registry().add(
        "reservoir",
        [](const ModelContext& c) {
          return Encoder(
              std::shared_ptr<EncoderImpl>(std::make_shared<ReservoirEncoderImpl>(c, true)));
        },
        "echo-state network over the source, fixed random weights (model.reservoir.*); Jaeger "
        "2001") &&
    encoder_registry().add(
        "elm",
        [](const ModelContext& c) {
          return Encoder(
              std::shared_ptr<EncoderImpl>(std::make_shared<ReservoirEncoderImpl>(c, false)));
        },
        "extreme learning machine: fixed random features per source token, mean summary; Huang et "
        "al. 2006");

}  // namespace
}  // namespace seqlab
