// Characters (Unicode code points) as tokens: lossless, tiny vocabulary, long sequences.
#include "core/utf8.h"
#include "tokenizers/symbol_tokenizer.h"

namespace seqlab {
namespace {

class CharTokenizer : public SymbolTokenizer {
 public:
  std::string kind() const override { return "char"; }

 protected:
  std::vector<std::string> split(std::string_view text) const override { return utf8_chars(text); }
  std::string join(const std::vector<std::string>& symbols) const override {
    std::string text;
    for (const auto& s : symbols) text += s;
    return text;
  }
};

const bool registered = tokenizer_registry().add(
    "char", [] { return std::unique_ptr<Tokenizer>(new CharTokenizer()); },
    "Unicode characters; lossless, smallest vocabulary, longest sequences");

}  // namespace
}  // namespace seqlab
