// The SentencePiece module, loaded once per process in its own link namespace with dlmopen
// (see tokenizers/spm_module/spm_c_api.h for why libsentencepiece cannot be linked directly).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqlab {

class SpmModel;

class SpmModule {
 public:
  // The loaded module; throws Error with the paths tried and dlerror() when it cannot load.
  static SpmModule& get();
  // Where the module was loaded from, and whether it lives in a namespace of its own.
  const std::string& path() const { return path_; }
  bool isolated() const { return isolated_; }

  // Trains a model; returns the serialized model proto. InputError with SentencePiece's message.
  std::string train(const std::string& args, const std::vector<std::string>& sentences) const;

  // The compiled character map of a built-in normalisation rule (cached). Error for an unknown
  // rule.
  const std::string& builtin_charsmap(const std::string& rule) const;

 private:
  friend class SpmModel;
  SpmModule();
  void* handle_ = nullptr;
  std::string path_;
  bool isolated_ = false;
  struct Api;
  Api* api_ = nullptr;
};

// A loaded SentencePiece model (owned by the module's namespace).
class SpmModel {
 public:
  SpmModel(const std::string& serialized, const std::string& origin);
  ~SpmModel();
  SpmModel(const SpmModel&) = delete;
  SpmModel& operator=(const SpmModel&) = delete;

  int32_t vocab_size() const;
  std::vector<int32_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  std::string id_to_piece(int32_t id) const;

 private:
  const SpmModule& module_;
  void* model_ = nullptr;
};

}  // namespace seqlab
