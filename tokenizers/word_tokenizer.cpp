// Words and punctuation as tokens, with a frequency cut-off (rarer words become <unk>).
// Punctuation is split from words; a token that was glued to the previous one (no space between
// them in the text) carries the joiner mark U+FFED in front, as in OpenNMT's tokenizer with
// joiner_annotate, so decode(encode(text)) restores the spacing: "l'homme, non !" round-trips.
#include "core/error.h"
#include "core/utf8.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/vocabulary.h"

namespace seqlab {
namespace {

const std::string kJoiner = "\xEF\xBF\xAD";  // U+FFED HALFWIDTH BLACK SQUARE

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  bool glued = false;  // the next token starts right after the previous one (no space)
  auto flush = [&] {
    if (current.empty()) return;
    tokens.push_back(glued ? kJoiner + current : current);
    current.clear();
    glued = true;
  };
  for (char32_t c : utf8_decode(text)) {
    if (is_space(c)) {
      flush();
      glued = false;
    } else if (is_punctuation(c)) {
      flush();
      current = utf8_encode(c);
      flush();
    } else {
      current += utf8_encode(c);
    }
  }
  flush();
  return tokens;
}

class WordTokenizer : public Tokenizer {
 public:
  std::string kind() const override { return "word"; }

  void train(const std::vector<std::string>& sentences, const TokenizerOptions& options) override {
    std::vector<std::vector<std::string>> words;
    words.reserve(sentences.size());
    for (const auto& s : sentences) words.push_back(split_words(s));
    vocab_ = Vocabulary::build(words, options.min_frequency, options.vocab_size);
  }

  std::vector<int64_t> encode(std::string_view text) const override {
    std::vector<int64_t> ids;
    for (const auto& w : split_words(text)) ids.push_back(vocab_.id(w));
    return ids;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string text;
    for (int64_t id : ids) {
      if (id != kUnk && id < kNumSpecial) continue;
      const std::string& symbol = vocab_.symbol(id);
      if (symbol.rfind(kJoiner, 0) == 0) {
        text += symbol.substr(kJoiner.size());
      } else {
        if (!text.empty()) text += ' ';
        text += symbol;
      }
    }
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
    "word", [] { return std::unique_ptr<Tokenizer>(new WordTokenizer()); },
    "words and punctuation with a frequency cut-off; rare words become <unk>");

}  // namespace
}  // namespace seqlab
