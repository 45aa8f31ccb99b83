// Tokenizers whose pieces are whole symbols from a counted vocabulary (char, word): they differ
// only in how text splits into symbols and how symbols join back into text.
#pragma once

#include "tokenizers/tokenizer.h"
#include "tokenizers/vocabulary.h"

namespace seqlab {

class SymbolTokenizer : public Tokenizer {
 public:
  void train(const std::vector<std::string>& sentences, const TokenizerOptions& options) override;
  std::vector<int64_t> encode(std::string_view text) const override;
  // Joins the symbols of ids (pad/bos/eos skipped, unk kept as "<unk>").
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string piece(int64_t id) const override { return vocab_.symbol(id); }
  int64_t vocab_size() const override { return vocab_.size(); }

 protected:
  virtual std::vector<std::string> split(std::string_view text) const = 0;
  virtual std::string join(const std::vector<std::string>& symbols) const = 0;
  Json state() const override { return {{"vocab", vocab_.to_json()}}; }
  void restore(const Json& state, const std::string& origin) override;

 private:
  Vocabulary vocab_;
};

}  // namespace seqlab
