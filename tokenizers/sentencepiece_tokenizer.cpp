// SentencePiece BPE (Sennrich et al. 2016) and unigram LM (Kudo 2018) subwords, through the real
// library in its isolated module. Special ids are pinned to seqlab's (pad 0, unk 1, bos 2, eos 3).
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "core/base64.h"
#include "core/error.h"
#include "tokenizers/spm_module.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(std::string model_type) : model_type_(std::move(model_type)) {}

  std::string kind() const override { return model_type_; }

  void train(const std::vector<std::string>& sentences, const TokenizerOptions& options) override {
    if (options.vocab_size <= kNumSpecial)
      throw InputError(fmt::format("{} tokenizer: vocab size must be above {}, got {}", model_type_,
                                   kNumSpecial, options.vocab_size));
    // hard_vocab_limit=false: a small corpus yields a smaller vocabulary instead of an error.
    std::string args = fmt::format(
        "--model_type={} --vocab_size={} --character_coverage={} --pad_id=0 --unk_id=1 "
        "--bos_id=2 --eos_id=3 --hard_vocab_limit=false --input_sentence_size={} "
        "--shuffle_input_sentence=true --num_threads=2 --max_sentence_length=20000 "
        "--minloglevel=2",
        model_type_, options.vocab_size, options.character_coverage, options.max_sentences);
    serialized_ = SpmModule::get().train(args, sentences);
    model_ = std::make_unique<SpmModel>(serialized_, model_type_ + " tokenizer");
  }

  std::vector<int64_t> encode(std::string_view text) const override {
    auto ids = model().encode(std::string(text));
    return std::vector<int64_t>(ids.begin(), ids.end());
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::vector<int32_t> kept;
    for (int64_t id : ids)
      if (id == kUnk || id >= kNumSpecial) kept.push_back(static_cast<int32_t>(id));
    return model().decode(kept);
  }

  std::string piece(int64_t id) const override {
    return model().id_to_piece(static_cast<int32_t>(id));
  }
  int64_t vocab_size() const override { return model().vocab_size(); }

 protected:
  Json state() const override { return {{"model", base64_encode(serialized_)}}; }
  void restore(const Json& state, const std::string& origin) override {
    if (!state.contains("model") || !state["model"].is_string())
      throw InputError(origin + ": expected a base64 'model' field");
    serialized_ = base64_decode(state["model"].get<std::string>(), origin);
    model_ = std::make_unique<SpmModel>(serialized_, origin);
  }

 private:
  const SpmModel& model() const {
    if (!model_) throw Error(model_type_ + " tokenizer used before training or loading");
    return *model_;
  }
  std::string model_type_;
  std::string serialized_;
  std::unique_ptr<SpmModel> model_;
};

const bool registered_bpe = tokenizer_registry().add(
    "bpe", [] { return std::unique_ptr<Tokenizer>(new SentencePieceTokenizer("bpe")); },
    "SentencePiece byte-pair encoding subwords (Sennrich et al. 2016)");
const bool registered_unigram = tokenizer_registry().add(
    "unigram", [] { return std::unique_ptr<Tokenizer>(new SentencePieceTokenizer("unigram")); },
    "SentencePiece unigram language-model subwords (Kudo 2018)");

}  // namespace
}  // namespace seqlab
