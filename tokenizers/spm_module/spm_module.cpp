// libseqlab_spm.so: the only code that touches libsentencepiece. Built as a MODULE library and
// loaded in its own link namespace (see spm_c_api.h for why). No C++ type crosses this boundary.
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "tokenizers/spm_module/spm_c_api.h"

// libsentencepiece_train's compiler of the built-in normalisation rules. Debian ships no header
// for it; this is its declaration (the symbol the library exports).
namespace sentencepiece::normalizer {
class Builder {
 public:
  static util::Status GetPrecompiledCharsMap(std::string_view name, std::string* output);
};
}  // namespace sentencepiece::normalizer

struct seqlab_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

char* copy_out(const std::string& text, size_t* size) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  if (size) *size = text.size();
  return out;
}

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  VectorIterator(const char* const* sentences, const size_t* lengths, size_t count)
      : sentences_(sentences), lengths_(lengths), count_(count) {
    load();
  }
  bool done() const override { return index_ >= count_; }
  void Next() override {
    ++index_;
    load();
  }
  const std::string& value() const override { return current_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void load() {
    if (index_ < count_) current_.assign(sentences_[index_], lengths_[index_]);
  }
  const char* const* sentences_;
  const size_t* lengths_;
  size_t count_;
  size_t index_ = 0;
  std::string current_;
};

}  // namespace

extern "C" {

int seqlab_spm_train(const char* args, const char* const* sentences, const size_t* lengths,
                     size_t count, char** model, size_t* model_size, char** error) {
  try {
    VectorIterator iterator(sentences, lengths, count);
    std::string serialized;
    auto status = sentencepiece::SentencePieceTrainer::Train(args, &iterator, &serialized);
    // The module has a C library (and heap) of its own in its namespace: what training freed is
    // handed back to the system here, or the trainer would hold it for the whole run.
    malloc_trim(0);
    if (!status.ok()) {
      *error = copy_out(status.ToString(), nullptr);
      return 1;
    }
    *model = copy_out(serialized, model_size);
    return 0;
  } catch (const std::exception& e) {
    *error = copy_out(e.what(), nullptr);
    return 1;
  }
}

seqlab_spm* seqlab_spm_load(const char* model, size_t model_size, char** error) {
  auto* spm = new seqlab_spm();
  auto status = spm->processor.LoadFromSerializedProto(std::string(model, model_size));
  if (!status.ok()) {
    *error = copy_out(status.ToString(), nullptr);
    delete spm;
    return nullptr;
  }
  return spm;
}

void seqlab_spm_unload(seqlab_spm* spm) { delete spm; }

int seqlab_spm_builtin_charsmap(const char* name, char** map, size_t* map_size, char** error) {
  try {
    std::string compiled;
    const auto status = sentencepiece::normalizer::Builder::GetPrecompiledCharsMap(name, &compiled);
    if (!status.ok()) {
      *error = copy_out(status.ToString(), nullptr);
      return 1;
    }
    *map = copy_out(compiled, map_size);
    return 0;
  } catch (const std::exception& e) {
    *error = copy_out(e.what(), nullptr);
    return 1;
  }
}

int32_t seqlab_spm_vocab_size(const seqlab_spm* spm) { return spm->processor.GetPieceSize(); }

int seqlab_spm_encode(const seqlab_spm* spm, const char* text, size_t size, int32_t** ids,
                      size_t* count) {
  std::vector<int> pieces;
  if (!spm->processor.Encode(std::string(text, size), &pieces).ok()) return 1;
  *ids = static_cast<int32_t*>(std::malloc(sizeof(int32_t) * (pieces.size() + 1)));
  for (size_t i = 0; i < pieces.size(); ++i) (*ids)[i] = pieces[i];
  *count = pieces.size();
  return 0;
}

int seqlab_spm_decode(const seqlab_spm* spm, const int32_t* ids, size_t count, char** text,
                      size_t* size) {
  std::vector<int> pieces(ids, ids + count);
  std::string decoded;
  if (!spm->processor.Decode(pieces, &decoded).ok()) return 1;
  *text = copy_out(decoded, size);
  return 0;
}

int seqlab_spm_id_to_piece(const seqlab_spm* spm, int32_t id, char** piece, size_t* size) {
  if (id < 0 || id >= spm->processor.GetPieceSize()) return 1;
  *piece = copy_out(spm->processor.IdToPiece(id), size);
  return 0;
}

void seqlab_spm_free(void* pointer) { std::free(pointer); }

}  // extern "C"
