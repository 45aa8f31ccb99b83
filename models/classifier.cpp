// Classification head (many-to-one): a decoder that reads the whole Memory once and scores the
// labels, so sequence classification is the same encoder + decoder machine as translation and
// every encoder family (RNN, transformer, reservoir, ELM, bag of words) gets it unchanged. The
// target is one label id per sentence (Framing::kLabel): forward() gives [B, T, V] with the same
// scores at every position T (T is 1 in classification batches).
//   pooling  summary    the encoder's Memory::summary (RNN final states, transformer mean or
//                       class token, reservoir last state, bag-of-words vector)
//            mean, max  over the real positions of Memory::states
//            attention  learned attention pooling (Yang et al. 2016): a = softmax(u^T tanh(W h +
//            b))
//                       over the real positions; the weights are reported as "classifier.pool"
//   hidden   0: the label scores are a linear readout of the pooled vector (logistic regression
//            over fixed features, so a reservoir/ELM/BoW encoder can be ridge-fitted by
//            train.method=ridge); N: one tanh layer of N units first
#include <torch/torch.h>

#include "core/error.h"
#include "models/attention/attention.h"
#include "models/seq2seq.h"
#include "models/transformer/transformer_layers.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(key_string("model.classifier.pooling", "summary",
                                          "classification head: what the labels are scored from")
                                   .one_of({"summary", "mean", "max", "attention"})) &&
    ConfigSchema::global().add(
        key_int("model.classifier.hidden", 0,
                "classification head: tanh units before the readout; 0 = linear readout")
            .range(0, 100000)) &&
    ConfigSchema::global().add(
        key_number("model.classifier.dropout", 0.0,
                   "classification head: dropout on the pooled vector (and hidden layer)")
            .range(0, 0.99)) &&
    ConfigSchema::global().add(key_int("model.classifier.attention_dim", 128,
                                       "classification head: attention pooling's hidden width")
                                   .range(1, 100000));

class ClassifierImpl : public DecoderImpl {
 public:
  explicit ClassifierImpl(const ModelContext& context)
      : pooling_(context.config.get_string("model.classifier.pooling")),
        width_(context.memory_dim) {
    const Config& config = context.config;
    if (pooling_ == "attention") {
      const int64_t dim = config.get_int("model.classifier.attention_dim");
      attention_ = register_module("attention", torch::nn::Linear(width_, dim));
      context_ = register_parameter("context", torch::randn({dim}) / std::sqrt(double(dim)));
    }
    dropout_ = register_module("dropout", Dropout(config.get_number("model.classifier.dropout")));
    int64_t features = width_;
    if (const int64_t hidden = config.get_int("model.classifier.hidden"); hidden > 0) {
      hidden_ = register_module("hidden", torch::nn::Linear(width_, hidden));
      features = hidden;
    }
    output_ = register_module("output", OutputLayer(features, context.target_vocab));
  }

  torch::Tensor forward(const Memory& memory, const torch::Tensor& target_in) override {
    return output_(readout_features(memory, target_in));
  }
  OutputLayer readout() override { return output_; }
  torch::Tensor readout_features(const Memory& memory, const torch::Tensor& target_in) override {
    auto features = this->features(memory);  // [B, F]
    return features.unsqueeze(1).expand({features.size(0), target_in.size(1), features.size(1)});
  }

  DecoderState start(const Memory& memory) override {
    DecoderState state;
    state["features"] = features(memory);
    return state;
  }
  torch::Tensor step(DecoderState& state, const torch::Tensor&) override {
    ++state.step;
    return output_(state["features"]);
  }

 private:
  torch::Tensor features(const Memory& memory) {
    torch::Tensor pooled;
    if (pooling_ == "summary") {
      if (!memory.summary.defined())
        throw InputError("model.classifier.pooling=summary: this encoder gives no summary");
      pooled = memory.summary;
    } else {
      if (memory.states.size(1) == 0)
        throw InputError("model.classifier.pooling=" + pooling_ +
                         " needs the encoder's states; this encoder has "
                         "none (use pooling=summary)");
      auto mask = memory.mask.defined() ? memory.mask
                                        : torch::ones(memory.states.sizes().slice(0, 2),
                                                      memory.states.options().dtype(torch::kBool));
      if (pooling_ == "mean") {
        pooled = masked_mean(memory.states, mask);
      } else if (pooling_ == "max") {
        pooled =
            memory.states.masked_fill(~mask.unsqueeze(-1), -std::numeric_limits<float>::infinity())
                .amax(1);
        pooled = pooled.masked_fill(~mask.any(1, true), 0);  // an empty source pools to zeros
      } else {
        auto scores = torch::matmul(torch::tanh(attention_(memory.states)), context_);  // [B, S]
        auto weights =
            torch::softmax(scores.masked_fill(~mask, -std::numeric_limits<float>::infinity()), 1);
        weights = weights.masked_fill(~mask, 0);  // all-padding rows: zeros, not NaN
        if (AttentionRecorder::active())
          AttentionRecorder::report("classifier.pool", weights.detach().unsqueeze(1).unsqueeze(1));
        pooled = torch::bmm(weights.unsqueeze(1), memory.states).squeeze(1);
      }
    }
    if (pooled.size(-1) != width_)
      throw InputError("classification head: the encoder gives " + std::to_string(pooled.size(-1)) +
                       "-wide vectors, the head expects " + std::to_string(width_));
    pooled = dropout_(pooled);
    if (hidden_) pooled = dropout_(torch::tanh(hidden_(pooled)));
    return pooled;
  }

  std::string pooling_;
  int64_t width_;
  torch::nn::Linear attention_{nullptr}, hidden_{nullptr};
  torch::Tensor context_;
  Dropout dropout_{nullptr};
  OutputLayer output_{nullptr};
};

const bool registered =
    register_decoder<ClassifierImpl>("classifier",
                                     "classification head over the memory (pooling: summary, mean, "
                                     "max, attention); task classification");

}  // namespace
}  // namespace seqlab
