// What seqlab reads of a serialized SentencePiece model (a ModelProto, protobuf wire format) before
// libsentencepiece sees it. The library trusts its normaliser's precompiled character map, a
// double-array trie whose offsets it follows unchecked: a corrupted map in a tokenizer.json from
// elsewhere made it read out of bounds. seqlab's SentencePiece tokenizers only ever use the
// built-in normalisation rules, so a model is loaded only when each map is empty or byte for byte
// the built-in map of the rule it names (tokenizers/spm_module.cpp compares). The walk checks the
// wire format too (varints, lengths inside the message, known wire types). Fuzzed:
// fuzz/tokenizer_json_fuzzer.cpp.
#pragma once

#include <string>

namespace seqlab {

struct SpmNormalizer {
  bool present = false;
  std::string name;      // NormalizerSpec.name (field 1)
  std::string charsmap;  // NormalizerSpec.precompiled_charsmap (field 2)
};

struct SpmNormalizers {
  SpmNormalizer normalizer;    // ModelProto.normalizer_spec (field 3)
  SpmNormalizer denormalizer;  // ModelProto.denormalizer_spec (field 5)
  int64_t pieces = 0;          // ModelProto.pieces (field 1)
};

// InputError naming `origin` when `serialized` is not well-formed protobuf wire format.
SpmNormalizers read_spm_normalizers(const std::string& serialized, const std::string& origin);

// The names of SentencePiece's built-in normalisation rules.
const char* const* spm_builtin_rules();  // null-terminated

}  // namespace seqlab
