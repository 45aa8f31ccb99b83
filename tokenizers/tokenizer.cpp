#include "tokenizers/tokenizer.h"

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(tokenizer_registry, "tokenizers");

std::vector<std::string> Tokenizer::pieces(std::string_view text) const {
  std::vector<std::string> out;
  for (int64_t id : encode(text)) out.push_back(piece(id));
  return out;
}

void Tokenizer::save(const std::string& path) const {
  Json json = state();
  json["format"] = "seqlab-tokenizer";
  json["kind"] = kind();
  write_file_atomic(path, json.dump() + "\n");
}

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& path) {
  Json json = Json::parse(read_file(path), nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("format") ||
      json["format"] != "seqlab-tokenizer")
    throw InputError(path +
                     ": not a seqlab tokenizer file (expected JSON with "
                     "\"format\": \"seqlab-tokenizer\"; make one with `seqlab tokenizer train`)");
  return with_json_context(path, [&] {
    auto tokenizer = tokenizer_registry().create(json.value("kind", ""));
    tokenizer->restore(json, path);
    return tokenizer;
  });
}

std::unique_ptr<Tokenizer> train_tokenizer(const std::string& kind,
                                           const std::vector<std::string>& sentences,
                                           const TokenizerOptions& options) {
  auto tokenizer = tokenizer_registry().create(kind);
  for (size_t i = 0; i < sentences.size(); ++i)
    require_utf8(sentences[i], "tokenizer training sentence " + std::to_string(i + 1));
  tokenizer->train(sentences, options);
  return tokenizer;
}

std::vector<std::string> read_training_sentences(const std::string& path) {
  std::vector<std::string> sentences;
  auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    require_utf8(lines[i], path + ":" + std::to_string(i + 1));
    size_t start = 0;
    while (true) {
      size_t tab = lines[i].find('\t', start);
      std::string field =
          lines[i].substr(start, tab == std::string::npos ? std::string::npos : tab - start);
      if (!field.empty()) sentences.push_back(std::move(field));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
  }
  if (sentences.empty()) throw InputError(path + ": no sentences to train a tokenizer on");
  return sentences;
}

}  // namespace seqlab
