// Characters (Unicode code points) as tokens: lossless, tiny vocabulary, long sequences.
#include "core/error.h"
#include "core/utf8.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/vocabulary.h"

namespace seqlab {
namespace {

class CharTokenizer : public Tokenizer {
 public:
  std::string kind() const override { return "char"; }

  void train(const std::vector<std::string>& sentences, const TokenizerOptions& options) override {
    std::vector<std::vector<std::string>> chars;
    chars.reserve(sentences.size());
    for (const auto& s : sentences) chars.push_back(utf8_chars(s));
    vocab_ = Vocabulary::build(chars, options.min_frequency, options.vocab_size);
  }

  std::vector<int64_t> encode(std::string_view text) const override {
    std::vector<int64_t> ids;
    for (const auto& c : utf8_chars(text)) ids.push_back(vocab_.id(c));
    return ids;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string text;
    for (int64_t id : ids)
      if (id == kUnk || id >= kNumSpecial) text += vocab_.symbol(id);
    return text;
  }

  std::string piece(int64_t id) const override { return vocab_.symbol(id); }
  int64_t vocab_size() const override { return vocab_.size(); }

 protected:
  Json state() const override { return {{"vocab", vocab_.to_json()}}; }
  void restore(const Json& state, const std::string& origin) override {
    vocab_ = Vocabulary::from_json(state.value("vocab", Json()), origin);
  }

 private:
  Vocabulary vocab_;
};

const bool registered = TokenizerRegistry().add(
    "char", [] { return std::unique_ptr<Tokenizer>(new CharTokenizer()); },
    "Unicode characters; lossless, smallest vocabulary, longest sequences");

}  // namespace
}  // namespace seqlab
