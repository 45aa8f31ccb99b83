// Words and punctuation as tokens, with a frequency cut-off (rarer words become <unk>).
// Punctuation is split from words; a token that was glued to the previous one (no space between
// them in the text) carries the joiner mark U+FFED in front, as in OpenNMT's tokenizer with
// joiner_annotate, so decode(encode(text)) restores the spacing: "l'homme, non !" round-trips.
#include "core/error.h"
#include "core/utf8.h"
#include "tokenizers/symbol_tokenizer.h"

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

class WordTokenizer : public SymbolTokenizer {
 public:
  std::string kind() const override { return "word"; }

 protected:
  std::vector<std::string> split(std::string_view text) const override { return split_words(text); }
  std::string join(const std::vector<std::string>& symbols) const override {
    std::string text;
    for (const auto& symbol : symbols) {
      if (symbol.rfind(kJoiner, 0) == 0) {
        text += symbol.substr(kJoiner.size());
      } else {
        if (!text.empty()) text += ' ';
        text += symbol;
      }
    }
    return text;
  }
};

const bool registered = tokenizer_registry().add(
    "word", [] { return std::unique_ptr<Tokenizer>(new WordTokenizer()); },
    "words and punctuation with a frequency cut-off; rare words become <unk>");

}  // namespace
}  // namespace seqlab
