#include "tokenizers/spm_module.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "core/error.h"
#include "seqlab_paths.h"
#include "tokenizers/spm_module/spm_c_api.h"
#include "tokenizers/spm_proto.h"

namespace fs = std::filesystem;

namespace seqlab {

struct SpmModule::Api {
  decltype(&seqlab_spm_train) train;
  decltype(&seqlab_spm_load) load;
  decltype(&seqlab_spm_unload) unload;
  decltype(&seqlab_spm_vocab_size) vocab_size;
  decltype(&seqlab_spm_encode) encode;
  decltype(&seqlab_spm_decode) decode;
  decltype(&seqlab_spm_id_to_piece) id_to_piece;
  decltype(&seqlab_spm_free) free;
  decltype(&seqlab_spm_builtin_charsmap) builtin_charsmap;
};

namespace {

// Candidates: $SEQLAB_SPM_MODULE, beside the library holding this code, the build directory.
std::vector<std::string> module_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("SEQLAB_SPM_MODULE"); env && *env) out.push_back(env);
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&module_candidates), &info) && info.dli_fname) {
    fs::path here = fs::path(info.dli_fname).parent_path();
    out.push_back((here / "libseqlab_spm.so").string());
    out.push_back((here / "../lib/libseqlab_spm.so").string());
  }
#ifdef SEQLAB_SPM_MODULE_PATH
  out.push_back(SEQLAB_SPM_MODULE_PATH);
#endif
  return out;
}

template <typename F>
F symbol(void* handle, const char* name, const std::string& path) {
  void* address = dlsym(handle, name);
  if (!address) throw Error("SentencePiece module " + path + " lacks symbol " + name);
  return reinterpret_cast<F>(address);
}

}  // namespace

SpmModule::SpmModule() {
  std::string tried;
  for (const auto& candidate : module_candidates()) {
    if (!fs::exists(candidate)) {
      tried += "\n  " + candidate + " (missing)";
      continue;
    }
    // A new link namespace: the module's libsentencepiece, protobuf-lite and libstdc++ stay
    // invisible to libtorch's libprotobuf in the main namespace.
    handle_ = dlmopen(LM_ID_NEWLM, candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_) {
      path_ = fs::weakly_canonical(candidate).string();
      isolated_ = true;
      break;
    }
    const char* why = dlerror();
    tried += "\n  " + candidate + " (" + (why ? why : "unknown error") + ")";
  }
  if (!handle_)
    throw Error("cannot load the SentencePiece module libseqlab_spm.so; tried:" + tried);
  api_ = new Api{
      symbol<decltype(Api::train)>(handle_, "seqlab_spm_train", path_),
      symbol<decltype(Api::load)>(handle_, "seqlab_spm_load", path_),
      symbol<decltype(Api::unload)>(handle_, "seqlab_spm_unload", path_),
      symbol<decltype(Api::vocab_size)>(handle_, "seqlab_spm_vocab_size", path_),
      symbol<decltype(Api::encode)>(handle_, "seqlab_spm_encode", path_),
      symbol<decltype(Api::decode)>(handle_, "seqlab_spm_decode", path_),
      symbol<decltype(Api::id_to_piece)>(handle_, "seqlab_spm_id_to_piece", path_),
      symbol<decltype(Api::free)>(handle_, "seqlab_spm_free", path_),
      symbol<decltype(Api::builtin_charsmap)>(handle_, "seqlab_spm_builtin_charsmap", path_),
  };
}

SpmModule& SpmModule::get() {
  static SpmModule* module = new SpmModule();  // never unloaded: models may outlive main()
  return *module;
}

std::string SpmModule::train(const std::string& args,
                             const std::vector<std::string>& sentences) const {
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
  pointers.reserve(sentences.size());
  lengths.reserve(sentences.size());
  for (const auto& s : sentences) {
    pointers.push_back(s.data());
    lengths.push_back(s.size());
  }
  char* model = nullptr;
  size_t model_size = 0;
  char* error = nullptr;
  if (api_->train(args.c_str(), pointers.data(), lengths.data(), sentences.size(), &model,
                  &model_size, &error) != 0) {
    std::string message = error ? error : "unknown error";
    api_->free(error);
    throw InputError("SentencePiece training failed: " + message);
  }
  std::string serialized(model, model_size);
  api_->free(model);
  return serialized;
}

const std::string& SpmModule::builtin_charsmap(const std::string& rule) const {
  static std::mutex mutex;
  static std::map<std::string, std::string> compiled;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = compiled.find(rule);
  if (it != compiled.end()) return it->second;
  char* map = nullptr;
  size_t size = 0;
  char* error = nullptr;
  if (api_->builtin_charsmap(rule.c_str(), &map, &size, &error) != 0) {
    std::string message = error ? error : "unknown error";
    api_->free(error);
    throw Error("SentencePiece could not compile its rule " + rule + ": " + message);
  }
  std::string bytes(map, size);
  api_->free(map);
  return compiled.emplace(rule, std::move(bytes)).first->second;
}

namespace {

// Each normaliser's map must be empty or the built-in map of the rule it names (spm_proto.h).
void check_normalizers(const SpmModule& module, const std::string& serialized,
                       const std::string& origin) {
  const SpmNormalizers found = read_spm_normalizers(serialized, origin);
  for (const auto* spec : {&found.normalizer, &found.denormalizer}) {
    if (spec->charsmap.empty()) continue;
    bool builtin = false;
    for (const char* const* rule = spm_builtin_rules(); *rule; ++rule)
      builtin = builtin || spec->name == *rule;
    if (!builtin || module.builtin_charsmap(spec->name) != spec->charsmap)
      throw InputError(fmt::format(
          "{}: the SentencePiece model's {} map is not the built-in map of a rule it names ('{}'); "
          "seqlab loads "
          "only the built-in rules (nmt_nfkc, nfkc, nmt_nfkc_cf, nfkc_cf, identity), since a "
          "modified map is an "
          "unchecked binary structure the library follows blindly",
          origin, spec == &found.normalizer ? "normalisation" : "denormalisation", spec->name));
  }
}

}  // namespace

SpmModel::SpmModel(const std::string& serialized, const std::string& origin)
    : module_(SpmModule::get()) {
  check_normalizers(module_, serialized, origin);
  char* error = nullptr;
  model_ = module_.api_->load(serialized.data(), serialized.size(), &error);
  if (!model_) {
    std::string message = error ? error : "unknown error";
    module_.api_->free(error);
    throw InputError(origin + ": not a valid SentencePiece model: " + message);
  }
}

SpmModel::~SpmModel() { module_.api_->unload(static_cast<seqlab_spm*>(model_)); }

int32_t SpmModel::vocab_size() const {
  return module_.api_->vocab_size(static_cast<seqlab_spm*>(model_));
}

std::vector<int32_t> SpmModel::encode(const std::string& text) const {
  int32_t* ids = nullptr;
  size_t count = 0;
  if (module_.api_->encode(static_cast<seqlab_spm*>(model_), text.data(), text.size(), &ids,
                           &count) != 0)
    throw InputError("SentencePiece could not encode: " + text);
  std::vector<int32_t> out(ids, ids + count);
  module_.api_->free(ids);
  return out;
}

std::string SpmModel::decode(const std::vector<int32_t>& ids) const {
  char* text = nullptr;
  size_t size = 0;
  if (module_.api_->decode(static_cast<seqlab_spm*>(model_), ids.data(), ids.size(), &text,
                           &size) != 0)
    throw InputError("SentencePiece could not decode the given ids");
  std::string out(text, size);
  module_.api_->free(text);
  return out;
}

std::string SpmModel::id_to_piece(int32_t id) const {
  char* piece = nullptr;
  size_t size = 0;
  if (module_.api_->id_to_piece(static_cast<seqlab_spm*>(model_), id, &piece, &size) != 0)
    throw InputError("SentencePiece id " + std::to_string(id) + " out of range");
  std::string out(piece, size);
  module_.api_->free(piece);
  return out;
}

}  // namespace seqlab
