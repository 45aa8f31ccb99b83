// The seam every model family meets at: an encoder turns a source into a Memory, a decoder turns
// a Memory and target prefixes into next-token logits. Trainer, search and metrics only ever see
// these interfaces, so any encoder works with any decoder.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/config.h"
#include "core/registry.h"
#include "data/batch.h"
#include "models/dropout.h"

namespace seqlab {

struct Int8Matrix;  // core/int8_gemm.h

// What any encoder hands any decoder.
struct Memory {
  torch::Tensor states;   // [B, S, D] one vector per source position
  torch::Tensor mask;     // [B, S] bool, true where real (false = padding)
  torch::Tensor summary;  // [B, D] one vector for the whole source
  // Image encoders: states are the regions of a grid_height x grid_width grid in row-major order
  // (so attention over them can be drawn back onto the image); 0 for text.
  int64_t grid_height = 0, grid_width = 0;
};

// What encoders read: token ids (text) or pixels (images); unused fields stay undefined.
struct Source {
  torch::Tensor ids;      // [B, S] int64
  torch::Tensor lengths;  // [B] int64
  torch::Tensor mask;     // [B, S] bool
  torch::Tensor images;   // [B, C, H, W] uint8 (vision encoders normalise)

  // The one way from a batch to what an encoder reads (text ids or images, whichever it has).
  static Source of(const Batch& batch);
  // Rows, device and source length (0 for images), whichever input the source holds.
  int64_t batch_size() const;
  torch::Device device() const;
  int64_t length() const;
};

// A decoder's search state: named batch-first tensors, so reordering beams is one generic
// index_select per tensor. Families with unusual state override reorder().
//
// Tensors computed from the source alone (the memory, its projected keys, cross-attention keys
// and values) are the same for every beam of a sentence, and search only moves rows between the
// beams of one sentence; set_per_source() marks them so that reorder() leaves them in place
// instead of copying them at every step.
struct DecoderState {
  std::map<std::string, torch::Tensor> tensors;
  std::set<std::string> per_source;
  int64_t step = 0;
  torch::Tensor& operator[](const std::string& name) { return tensors[name]; }
  void set_per_source(const std::string& name, const torch::Tensor& tensor) {
    tensors[name] = tensor;
    per_source.insert(name);
  }
  bool has(const std::string& name) const { return tensors.count(name) > 0; }
};

// Token embeddings with the padding id's row fixed at zero.
torch::nn::Embedding token_embedding(int64_t vocab, int64_t dim);

// Transformer-style token embeddings (Vaswani et al. 2017, section 3.4): the table starts at
// N(0, 1/D) and lookups are multiplied by sqrt(D), so features start at unit scale while a tied
// output layer (which reads the table unscaled) starts with small logits.
class ScaledEmbeddingImpl : public torch::nn::Module {
 public:
  ScaledEmbeddingImpl(int64_t vocab, int64_t dim);
  torch::Tensor forward(const torch::Tensor& ids);  // [B, T] -> [B, T, D]
  torch::nn::Embedding table{nullptr};

 private:
  double scale_;
};
TORCH_MODULE(ScaledEmbedding);

// Features [.., E] -> logits [.., V]; tied: the input embedding's matrix (Press and Wolf 2017).
class OutputLayerImpl : public torch::nn::Module {
 public:
  OutputLayerImpl(const torch::nn::Embedding& embedding, int64_t vocab, bool tied);
  OutputLayerImpl(int64_t features, int64_t vocab);  // untied
  torch::Tensor forward(const torch::Tensor& features);

  // For closed-form fits (train/fitter.h): an untied layer's weights can be read and set.
  bool tied() const { return !output_; }
  int64_t in_features() const;
  // The matrix [V, F] and bias [V] the layer applies (tied: the embedding table and own bias).
  torch::Tensor weight() const;
  torch::Tensor bias() const;
  void set_weights(const torch::Tensor& weight, const torch::Tensor& bias);  // [V, F], [V]

  // Decoding over a lexical shortlist (eval/shortlist.h): logits for the sorted ids `ids` ([V']
  // int64 on the layer's device) only, the rest -infinity; the rows are copied once here (int8
  // rows when the weight is registered in core/int8_gemm.h). An undefined tensor lifts it.
  void restrict_to(const torch::Tensor& ids);
  bool restricted() const { return restricted_ids_.defined(); }

 private:
  torch::Tensor restricted_logits(const torch::Tensor& features);

  torch::nn::Embedding embedding_{nullptr};
  torch::nn::Linear output_{nullptr};
  torch::Tensor bias_;
  torch::Tensor restricted_ids_, restricted_weight_, restricted_bias_;
  std::shared_ptr<const Int8Matrix> restricted_int8_;
};
TORCH_MODULE(OutputLayer);

class EncoderImpl : public torch::nn::Module {
 public:
  virtual Memory forward(const Source& source) = 0;
  virtual int64_t output_dim() const = 0;
  // Token embeddings a decoder may share (model.transformer.share_embeddings); null if none.
  virtual ScaledEmbedding shared_embedding() { return nullptr; }
  // Image encoders read Source::images rather than ids.
  virtual bool reads_images() const { return false; }
};
TORCH_MODULE(Encoder);

class DecoderImpl : public torch::nn::Module {
 public:
  // Teacher forcing: [B, T] target inputs -> [B, T, V] logits.
  virtual torch::Tensor forward(const Memory& memory, const torch::Tensor& target_in) = 0;
  // Search: initial state for a batch (or beams laid out as batch rows).
  virtual DecoderState start(const Memory& memory) = 0;
  // One token per row ([B] int64) -> [B, V] logits, advancing the state.
  virtual torch::Tensor step(DecoderState& state, const torch::Tensor& previous) = 0;
  // Beam bookkeeping: row i of the new state is row index[i] of the old one; index[i] is always
  // a beam of the same sentence as row i (per-source tensors are skipped, see DecoderState).
  virtual void reorder(DecoderState& state, const torch::Tensor& index);

  // The output layer and the teacher-forced features it reads ([B, T, F], so that forward() ==
  // readout()(readout_features())): the trainer fuses that layer with the loss, and closed-form
  // fitting (train.method=ridge) fits it. Decoders without a separable readout return null and
  // throw (training then goes through forward()).
  virtual OutputLayer readout() { return nullptr; }
  virtual torch::Tensor readout_features(const Memory& memory, const torch::Tensor& target_in);

  // Memory rows must follow beams too: search calls this once after expanding the batch.
  static Memory repeat_memory(const Memory& memory, int64_t times);
};
TORCH_MODULE(Decoder);

// Sizes every component is built from, besides the config.
struct ModelContext {
  const Config& config;
  int64_t source_vocab;
  int64_t target_vocab;
  int64_t memory_dim = 0;  // the encoder's output width (filled in before decoders are built)
  ScaledEmbedding source_embedding{nullptr};  // the encoder's shareable embeddings, if any
  bool image_source = false;  // the encoder reads images (there are no source tokens to share)
};

SEQLAB_DECLARE_REGISTRY(encoder_registry, Encoder, const ModelContext&);
SEQLAB_DECLARE_REGISTRY(decoder_registry, Decoder, const ModelContext&);

// Registers an encoder / decoder class constructible from a ModelContext: one line per family.
template <typename Impl>
bool register_encoder(const std::string& name, const std::string& help) {
  return encoder_registry().add(
      name,
      [](const ModelContext& c) {
        return Encoder(std::shared_ptr<EncoderImpl>(std::make_shared<Impl>(c)));
      },
      help);
}
template <typename Impl, typename... Extra>
bool register_decoder(const std::string& name, const std::string& help, Extra... extra) {
  return decoder_registry().add(
      name,
      [extra...](const ModelContext& c) {
        return Decoder(std::shared_ptr<DecoderImpl>(std::make_shared<Impl>(c, extra...)));
      },
      help);
}

class Seq2SeqImpl : public torch::nn::Module {
 public:
  Seq2SeqImpl(const Config& config, int64_t source_vocab, int64_t target_vocab);
  torch::Tensor forward(const Source& source, const torch::Tensor& target_in);  // [B, T, V]
  Memory encode(const Source& source);
  // Teacher-forced cross-entropy summed over the target tokens that are not padding, label
  // smoothing `smoothing` (what training minimises). The decoder's readout is fused with the loss
  // (models/output_loss.h) when it has one; otherwise forward() and cross_entropy.
  torch::Tensor loss_sum(const Source& source, const torch::Tensor& target_in,
                         const torch::Tensor& target_out, double smoothing);
  Encoder encoder{nullptr};
  Decoder decoder{nullptr};
  int64_t parameter_count() const;
};
TORCH_MODULE(Seq2Seq);

}  // namespace seqlab
