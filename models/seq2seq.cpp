#include "models/seq2seq.h"

#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/int8_gemm.h"
#include "models/output_loss.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(encoder_registry, "encoders");
SEQLAB_DEFINE_REGISTRY(decoder_registry, "decoders");

namespace {
const bool declared =
    ConfigSchema::global().add(
        key_string("model.encoder", "rnn", "encoder component").names_from([] {
          return encoder_registry().names();
        })) &&
    ConfigSchema::global().add(
        key_string("model.decoder", "rnn", "decoder component").names_from([] {
          return decoder_registry().names();
        })) &&
    ConfigSchema::global().add(
        key_int("model.embedding_dim", 256, "token embedding width").range(1, 65536)) &&
    ConfigSchema::global().add(
        key_int("model.hidden_dim", 512, "hidden width of encoder and decoder").range(1, 65536)) &&
    ConfigSchema::global().add(
        key_number("model.dropout", 0.1, "dropout probability").range(0, 0.95)) &&
    ConfigSchema::global().add(key_bool(
        "model.tie_embeddings", false,
        "share the decoder's input embedding with its output projection (Press and Wolf 2017)"));
}  // namespace

torch::nn::Embedding token_embedding(int64_t vocab, int64_t dim) {
  return torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab, dim).padding_idx(0));
}

ScaledEmbeddingImpl::ScaledEmbeddingImpl(int64_t vocab, int64_t dim)
    : scale_(std::sqrt(double(dim))) {
  table = register_module("table", token_embedding(vocab, dim));
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(table->weight, 0.0, 1.0 / scale_);
  table->weight[0].zero_();
}

torch::Tensor ScaledEmbeddingImpl::forward(const torch::Tensor& ids) { return table(ids) * scale_; }

OutputLayerImpl::OutputLayerImpl(const torch::nn::Embedding& embedding, int64_t vocab, bool tied) {
  const int64_t width = embedding->options.embedding_dim();
  if (tied) {
    embedding_ = embedding;  // shared, registered by the decoder that owns it
    bias_ = register_parameter("bias", torch::zeros({vocab}));
  } else {
    output_ = register_module("projection", torch::nn::Linear(width, vocab));
  }
}

OutputLayerImpl::OutputLayerImpl(int64_t features, int64_t vocab) {
  output_ = register_module("projection", torch::nn::Linear(features, vocab));
}

int64_t OutputLayerImpl::in_features() const {
  return output_ ? output_->options.in_features() : embedding_->options.embedding_dim();
}

torch::Tensor OutputLayerImpl::weight() const {
  return output_ ? output_->weight : embedding_->weight;
}

torch::Tensor OutputLayerImpl::bias() const { return output_ ? output_->bias : bias_; }

void OutputLayerImpl::set_weights(const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!output_)
    throw InputError(
        "a tied output layer's weights are the input embeddings; they cannot be set alone");
  if (!weight.sizes().equals(output_->weight.sizes()) ||
      !bias.sizes().equals(output_->bias.sizes()))
    throw InputError(fmt::format(
        "output weights of shape [{}] and bias [{}] given for a layer of [{}] and [{}]",
        fmt::join(weight.sizes(), ", "), fmt::join(bias.sizes(), ", "),
        fmt::join(output_->weight.sizes(), ", "), fmt::join(output_->bias.sizes(), ", ")));
  torch::NoGradGuard no_grad;
  output_->weight.copy_(weight);
  output_->bias.copy_(bias);
}

void OutputLayerImpl::restrict_to(const torch::Tensor& ids) {
  restricted_int8_.reset();
  restricted_weight_ = restricted_bias_ = torch::Tensor();
  restricted_ids_ = ids;
  if (!ids.defined()) return;
  torch::NoGradGuard no_grad;
  const torch::Tensor full_weight = weight(), full_bias = bias();
  if (auto int8 = find_int8_weight(full_weight.t()))
    restricted_int8_ = std::make_shared<Int8Matrix>(select_rows(*int8, ids.to(torch::kCPU)));
  else
    restricted_weight_ = full_weight.index_select(0, ids);
  if (full_bias.defined()) restricted_bias_ = full_bias.index_select(0, ids);
}

torch::Tensor OutputLayerImpl::restricted_logits(const torch::Tensor& features) {
  const int64_t vocab = weight().size(0);
  const torch::Tensor rows = features.reshape({-1, features.size(-1)});
  torch::Tensor selected =
      restricted_int8_ ? int8_linear(rows, *restricted_int8_, restricted_bias_)
                       : torch::nn::functional::linear(rows, restricted_weight_, restricted_bias_);
  torch::Tensor logits = torch::full({rows.size(0), vocab}, -std::numeric_limits<float>::infinity(),
                                     selected.options());
  logits.index_copy_(1, restricted_ids_, selected);
  std::vector<int64_t> sizes = features.sizes().vec();
  sizes.back() = vocab;
  return logits.view(sizes);
}

torch::Tensor OutputLayerImpl::forward(const torch::Tensor& features) {
  if (restricted_ids_.defined()) return restricted_logits(features);
  if (output_) return output_(features);
  return torch::nn::functional::linear(features, embedding_->weight, bias_);
}

Source Source::of(const Batch& batch) {
  if (batch.images.defined()) return {{}, {}, {}, batch.images};
  return {batch.source, batch.source_lengths, batch.source_mask, {}};
}

int64_t Source::batch_size() const { return ids.defined() ? ids.size(0) : images.size(0); }

torch::Device Source::device() const { return ids.defined() ? ids.device() : images.device(); }

int64_t Source::length() const { return ids.defined() ? ids.size(1) : 0; }

void DecoderImpl::reorder(DecoderState& state, const torch::Tensor& index) {
  for (auto& [name, tensor] : state.tensors)
    if (tensor.defined() && !state.per_source.count(name)) tensor = tensor.index_select(0, index);
}

torch::Tensor DecoderImpl::readout_features(const Memory&, const torch::Tensor&) {
  throw InputError(
      "this decoder has no separable linear readout to fit in closed form; use "
      "train.method=sgd, or a reservoir/elm decoder");
}

Memory DecoderImpl::repeat_memory(const Memory& memory, int64_t times) {
  auto repeat = [times](const torch::Tensor& t) {
    return t.defined() ? t.repeat_interleave(times, 0) : t;
  };
  return {repeat(memory.states), repeat(memory.mask), repeat(memory.summary), memory.grid_height,
          memory.grid_width};
}

Seq2SeqImpl::Seq2SeqImpl(const Config& config, int64_t source_vocab, int64_t target_vocab) {
  ModelContext context{config, source_vocab, target_vocab};
  encoder = register_module("encoder",
                            encoder_registry().create(config.get_string("model.encoder"), context));
  context.memory_dim = encoder->output_dim();
  context.source_embedding = encoder->shared_embedding();
  context.image_source = encoder->reads_images();
  decoder = register_module("decoder",
                            decoder_registry().create(config.get_string("model.decoder"), context));
}

Memory Seq2SeqImpl::encode(const Source& source) {
  if (encoder->reads_images() != source.images.defined())
    throw InputError(encoder->reads_images()
                         ? "this model's encoder reads images, but the source is text (data.task "
                           "captioning needs an image corpus)"
                         : "this model's encoder reads token ids, but the source is images (a "
                           "captioning task needs an image encoder: model.encoder cnn, resnet18, "
                           "resnet34 or patch)");
  return encoder->forward(source);
}

torch::Tensor Seq2SeqImpl::forward(const Source& source, const torch::Tensor& target_in) {
  return decoder->forward(encode(source), target_in);
}

torch::Tensor Seq2SeqImpl::loss_sum(const Source& source, const torch::Tensor& target_in,
                                    const torch::Tensor& target_out, double smoothing) {
  if (OutputLayer readout = decoder->readout())
    return output_loss_sum(*readout, decoder->readout_features(encode(source), target_in),
                           target_out, smoothing, Tokenizer::kPad);
  namespace F = torch::nn::functional;
  auto logits = forward(source, target_in);
  return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), target_out.reshape(-1),
                          F::CrossEntropyFuncOptions()
                              .ignore_index(Tokenizer::kPad)
                              .label_smoothing(smoothing)
                              .reduction(torch::kSum));
}

int64_t Seq2SeqImpl::parameter_count() const {
  int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

}  // namespace seqlab
