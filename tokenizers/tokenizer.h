// One interface for every tokenizer. Ids 0-3 are the same special tokens in every kind
// (pad, unk, bos, eos), so batching, models and search never ask which tokenizer they hold.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/registry.h"

namespace seqlab {

struct TokenizerOptions {
  int64_t vocab_size = 8000;  // upper bound including the 4 specials; 0 = no limit (char/word)
  int64_t min_frequency = 1;  // char/word: rarer symbols become <unk>
  double character_coverage = 1.0;  // SentencePiece: share of characters covered
  int64_t max_sentences = 2000000;  // SentencePiece: sentences sampled for training
};

class Tokenizer {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kUnk = 1;
  static constexpr int64_t kBos = 2;
  static constexpr int64_t kEos = 3;
  static constexpr int64_t kNumSpecial = 4;

  virtual ~Tokenizer() = default;
  virtual std::string kind() const = 0;

  // Learns the vocabulary (and merges/pieces) from sentences. InputError on invalid UTF-8.
  virtual void train(const std::vector<std::string>& sentences,
                     const TokenizerOptions& options) = 0;

  // Text -> ids, without bos/eos (models add them).
  virtual std::vector<int64_t> encode(std::string_view text) const = 0;
  // Ids -> text; specials other than unk are skipped.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual std::string piece(int64_t id) const = 0;
  virtual int64_t vocab_size() const = 0;

  // Surface pieces of `text` (for attention-map axes).
  std::vector<std::string> pieces(std::string_view text) const;

  // Single-file format: JSON {"format": "seqlab-tokenizer", "kind": ..., ...}, written atomically.
  void save(const std::string& path) const;
  static std::unique_ptr<Tokenizer> load(const std::string& path);

 protected:
  virtual Json state() const = 0;
  virtual void restore(const Json& state, const std::string& origin) = 0;
};

SEQLAB_DECLARE_REGISTRY(tokenizer_registry, std::unique_ptr<Tokenizer>);

// Trains a tokenizer of `kind` ("char", "word", "bpe", "unigram").
std::unique_ptr<Tokenizer> train_tokenizer(const std::string& kind,
                                           const std::vector<std::string>& sentences,
                                           const TokenizerOptions& options);

// Sentences of a text file for tokenizer training: one per line, and a line with tabs (a TSV
// corpus) gives one sentence per field, so a joint source+target vocabulary is one call.
std::vector<std::string> read_training_sentences(const std::string& path);

}  // namespace seqlab
