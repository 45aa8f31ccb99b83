#include "tokenizers/symbol_tokenizer.h"

namespace seqlab {

void SymbolTokenizer::train(const std::vector<std::string>& sentences,
                            const TokenizerOptions& options) {
  std::vector<std::vector<std::string>> symbols;
  symbols.reserve(sentences.size());
  for (const auto& s : sentences) symbols.push_back(split(s));
  vocab_ = Vocabulary::build(symbols, options.min_frequency, options.vocab_size);
}

std::vector<int64_t> SymbolTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  for (const auto& symbol : split(text)) ids.push_back(vocab_.id(symbol));
  return ids;
}

std::string SymbolTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> symbols;
  for (int64_t id : ids)
    if (id == kUnk || id >= kNumSpecial) symbols.push_back(vocab_.symbol(id));
  return join(symbols);
}

void SymbolTokenizer::restore(const Json& state, const std::string& origin) {
  vocab_ = Vocabulary::from_json(state.value("vocab", Json()), origin);
}

}  // namespace seqlab
