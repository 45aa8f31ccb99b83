// Bag of words: the source as a vector over the vocabulary, no order, no parameters. Under the
// classification head's linear readout this is logistic regression over bag-of-words features, the
// honest floor for small labelled corpora (model.encoder bag, model.decoder classifier).
//   model.bag.weighting  binary     1 where a token occurs
//                        count      how often it occurs
//                        frequency  count / sentence length
// Memory: summary [B, V]; no per-position states (pooling=summary).
#include <torch/torch.h>

#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(key_string("model.bag.weighting", "binary",
                                          "bag-of-words encoder: feature per vocabulary entry")
                                   .one_of({"binary", "count", "frequency"}));

class BagEncoderImpl : public EncoderImpl {
 public:
  explicit BagEncoderImpl(const ModelContext& context)
      : vocab_(context.source_vocab),
        weighting_(context.config.get_string("model.bag.weighting")) {}

  Memory forward(const Source& source) override {
    const int64_t batch = source.ids.size(0);
    auto real = source.mask.defined() ? source.mask : source.ids.ne(Tokenizer::kPad);
    auto ones = real.to(torch::kFloat);
    auto bag = torch::zeros({batch, vocab_}, ones.options()).scatter_add_(1, source.ids, ones);
    // Padding positions add zeros; markers are not words (unknown words count, as one feature).
    for (int64_t marker : {Tokenizer::kBos, Tokenizer::kEos}) bag.select(1, marker).zero_();
    if (weighting_ == "binary") bag = bag.clamp_max(1);
    if (weighting_ == "frequency") bag = bag / ones.sum(1, true).clamp_min(1);
    auto options = bag.options();
    return {torch::zeros({batch, 0, vocab_}, options),
            torch::zeros({batch, 0}, options.dtype(torch::kBool)), bag};
  }
  int64_t output_dim() const override { return vocab_; }

 private:
  int64_t vocab_;
  std::string weighting_;
};

const bool registered =
    register_encoder<BagEncoderImpl>("bag",
                                     "bag of words (binary, count or frequency per vocabulary "
                                     "entry); with the classifier head: logistic regression");

}  // namespace
}  // namespace seqlab
