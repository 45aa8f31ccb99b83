// The safetensors format (https://github.com/huggingface/safetensors), which seqlab's weights and
// checkpoints use because loading one runs no code: an 8-byte little-endian header length N, N
// bytes of JSON naming each tensor's dtype, shape and byte range, then the raw little-endian bytes.
// The JSON may carry "__metadata__", an object of string values (seqlab keeps its training state
// there). This part knows bytes and JSON only; core/tensor_file.h moves tensors in and out.
//
// The header is untrusted input: every entry is checked (known dtype, shape whose size fits,
// byte range inside the file and exactly the size the dtype and shape give, ranges that neither
// overlap nor leave holes) before anything reads a tensor's bytes. Fuzzed:
// fuzz/safetensors_fuzzer.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace seqlab {

struct TensorEntry {
  std::string dtype;  // "F32", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F16", "BF16"
  std::vector<int64_t> shape;   // each >= 0
  uint64_t begin = 0, end = 0;  // byte range within the data section
};

struct TensorFileHeader {
  std::map<std::string, TensorEntry> tensors;
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data section starts in the file (8 + header length)
};

// Bytes per element of a safetensors dtype; 0 for an unknown one.
int64_t safetensors_dtype_size(const std::string& dtype);

// The first 8 bytes say how long the header is: at most this many bytes are accepted.
constexpr uint64_t kMaxSafetensorsHeader = uint64_t(100) << 20;

// Parses and checks a header. `prefix` holds at least the file's first 8 + N bytes (more is
// fine); `file_size` is the whole file's size. InputError naming `origin` on anything wrong.
TensorFileHeader parse_safetensors_header(const std::string& prefix, uint64_t file_size,
                                          const std::string& origin);

// Reads a file's header (only the header's bytes are read).
TensorFileHeader read_safetensors_header(const std::string& path);

// The header bytes (length prefix, JSON, space padding to an 8-byte boundary) for tensors laid
// out in the data section in the order given, each `bytes` long.
struct TensorLayout {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
};
std::string format_safetensors_header(const std::vector<TensorLayout>& tensors,
                                      const std::map<std::string, std::string>& metadata);

// True when the file starts like a zip archive (a TorchScript / torch.save file): the format before
// safetensors, which loads only behind --trust-code.
bool looks_like_torchscript_archive(const std::string& path);

}  // namespace seqlab
