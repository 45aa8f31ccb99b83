#include "core/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace seqlab {
namespace {

using Json = nlohmann::json;

uint64_t read_le64(const std::string& bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(bytes[size_t(i)]);
  return value;
}

std::string le64(uint64_t value) {
  std::string out(8, '\0');
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

}  // namespace

int64_t safetensors_dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

TensorFileHeader parse_safetensors_header(const std::string& prefix, uint64_t file_size,
                                          const std::string& origin) {
  auto fail = [&](const std::string& what) -> void {
    throw InputError(fmt::format("{}: not a valid safetensors file: {}", origin, what));
  };
  if (prefix.size() < 8 || file_size < 8) fail("shorter than its 8-byte header length");
  const uint64_t header_length = read_le64(prefix);
  if (header_length < 2 || header_length > kMaxSafetensorsHeader)
    fail(fmt::format("header length {} (expected 2 to {} bytes)", header_length,
                     kMaxSafetensorsHeader));
  if (8 + header_length > file_size || 8 + header_length > prefix.size())
    fail(fmt::format("the header announces {} bytes, the file has {} after the length",
                     header_length, file_size - 8));
  Json json;
  try {
    json = Json::parse(prefix.begin() + 8,
                       prefix.begin() + 8 + static_cast<std::ptrdiff_t>(header_length));
  } catch (const Json::exception& e) {
    fail(fmt::format("header is not valid JSON ({})", e.what()));
  }
  if (!json.is_object()) fail("header is not a JSON object");
  TensorFileHeader header;
  header.data_offset = 8 + header_length;
  const uint64_t data_size = file_size - header.data_offset;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& item : json.items()) {
    const std::string& name = item.key();
    const Json& value = item.value();
    if (name == "__metadata__") {
      if (!value.is_object()) fail("__metadata__ is not an object");
      for (const auto& m : value.items()) {
        if (!m.value().is_string()) fail(fmt::format("__metadata__.{} is not a string", m.key()));
        header.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = fmt::format("tensor '{}'", name);
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets"))
      fail(where + ": expected an object with dtype, shape and data_offsets");
    if (value.size() != 3) fail(where + ": unexpected keys beside dtype, shape and data_offsets");
    TensorEntry entry;
    if (!value["dtype"].is_string()) fail(where + ": dtype is not a string");
    entry.dtype = value["dtype"].get<std::string>();
    const int64_t item_size = safetensors_dtype_size(entry.dtype);
    if (item_size == 0) fail(fmt::format("{}: unknown dtype '{}'", where, entry.dtype));
    if (!value["shape"].is_array() || value["shape"].size() > 16)
      fail(where + ": shape is not a list of at most 16 sizes");
    uint64_t elements = 1;
    for (const auto& size : value["shape"]) {
      if (!size.is_number_unsigned()) fail(where + ": a shape entry is not an integer >= 0");
      const uint64_t n = size.get<uint64_t>();
      if (n > uint64_t(std::numeric_limits<int64_t>::max()) || (n != 0 && elements > data_size / n))
        fail(where + ": its shape holds more elements than the file has bytes");
      elements *= n;
      entry.shape.push_back(static_cast<int64_t>(n));
    }
    const Json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(where + ": data_offsets is not [begin, end]");
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.begin > entry.end || entry.end > data_size)
      fail(fmt::format("{}: bytes [{}, {}) are not inside the {} bytes of data", where, entry.begin,
                       entry.end, data_size));
    if (entry.end - entry.begin != elements * uint64_t(item_size))
      fail(fmt::format("{}: {} bytes for {} elements of {} ({} expected)", where,
                       entry.end - entry.begin, elements, entry.dtype,
                       elements * uint64_t(item_size)));
    ranges.emplace_back(entry.begin, entry.end);
    header.tensors[name] = std::move(entry);
  }
  // The data section is indexed whole: ranges in order, each starting where the last ended.
  std::sort(ranges.begin(), ranges.end());
  uint64_t at = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin != at)
      fail(begin < at ? "two tensors share bytes" : "the data section has a hole between tensors");
    at = end;
  }
  if (at != data_size) fail(fmt::format("{} bytes after the last tensor", data_size - at));
  return header;
}

TensorFileHeader read_safetensors_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  std::string prefix(8, '\0');
  if (file_size < 8 || !in.read(prefix.data(), 8))
    throw InputError(path +
                     ": not a valid safetensors file: shorter than its 8-byte header length");
  const uint64_t header_length =
      std::min(read_le64(prefix), std::min(kMaxSafetensorsHeader, file_size - 8));
  prefix.resize(8 + header_length);
  if (!in.read(prefix.data() + 8, static_cast<std::streamsize>(header_length)))
    throw InputError(path + ": cannot read its header");
  return parse_safetensors_header(prefix, file_size, path);
}

std::string format_safetensors_header(const std::vector<TensorLayout>& tensors,
                                      const std::map<std::string, std::string>& metadata) {
  Json json = Json::object();
  uint64_t at = 0;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__") throw Error("a tensor cannot be named __metadata__");
    json[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {at, at + t.bytes}}};
    at += t.bytes;
  }
  if (!metadata.empty()) json["__metadata__"] = metadata;
  std::string text = json.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  return le64(text.size()) + text;
}

bool looks_like_torchscript_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {0, 0, 0, 0};
  return in.read(magic, 4) && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

}  // namespace seqlab
