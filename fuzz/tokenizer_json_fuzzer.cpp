// tokenizers/tokenizer.cpp and friends: tokenizer.json of the char and word kinds (the JSON, the
// vocabulary, encode/decode with what loads), and for SentencePiece kinds the check seqlab runs on
// the model before the library sees it (tokenizers/spm_proto.cpp).
#include "core/base64.h"
#include "core/config.h"
#include "fuzz/fuzz_support.h"
#include "tokenizers/spm_proto.h"
#include "tokenizers/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  return seqlab::fuzz::expect_input_errors_only([&] {
           const auto tokenizer =
               seqlab::Tokenizer::load(seqlab::fuzz::as_file(data, size, "tokenizer.json"));
           const auto ids = tokenizer->encode("Größe ändern, l'œuvre « ok » 12");
           (void)tokenizer->decode(ids);
           for (int64_t id = 0; id < std::min<int64_t>(tokenizer->vocab_size(), 64); ++id)
             (void)tokenizer->piece(id);
         }) +
         seqlab::fuzz::expect_input_errors_only([&] {
           // The model field of a SentencePiece tokenizer.json, and the raw bytes as a model too.
           const auto json = seqlab::Json::parse(bytes, nullptr, false);
           if (json.is_object() && json.contains("model") && json["model"].is_string())
             (void)seqlab::read_spm_normalizers(
                 seqlab::base64_decode(json["model"].get<std::string>(), "fuzz"), "fuzz");
           (void)seqlab::read_spm_normalizers(bytes, "fuzz");
         });
}
