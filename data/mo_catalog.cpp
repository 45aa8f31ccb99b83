#include "data/mo_catalog.h"

#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"

namespace seqlab {
namespace {

constexpr uint32_t kMagic = 0x950412de;
constexpr uint32_t kMagicSwapped = 0xde120495;

uint32_t byteswap(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
}

std::vector<std::string> split_nul(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t nul = text.find('\0', start);
    parts.push_back(text.substr(start, nul == std::string::npos ? std::string::npos : nul - start));
    if (nul == std::string::npos) break;
    start = nul + 1;
  }
  return parts;
}

}  // namespace

std::vector<MoMessage> parse_mo(const std::string& bytes, const std::string& origin) {
  if (bytes.size() < 28)
    throw InputError(fmt::format("{}: truncated .mo file ({} bytes; the header alone is 28)",
                                 origin, bytes.size()));
  uint32_t magic;
  std::memcpy(&magic, bytes.data(), 4);
  bool swapped;
  if (magic == kMagic) {
    swapped = false;
  } else if (magic == kMagicSwapped) {
    swapped = true;
  } else {
    throw InputError(fmt::format(
        "{}: not a gettext .mo file (magic number 0x{:08x}, expected 0x950412de)", origin, magic));
  }
  auto word = [&](size_t offset) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + offset, 4);
    return swapped ? byteswap(v) : v;
  };
  uint32_t revision = word(4);
  if ((revision >> 16) > 1)
    throw InputError(fmt::format("{}: unsupported .mo major revision {}", origin, revision >> 16));
  uint64_t count = word(8);
  uint64_t originals = word(12);
  uint64_t translations = word(16);
  auto check_table = [&](uint64_t table, const char* name) {
    if (table + count * 8 > bytes.size())
      throw InputError(fmt::format(
          "{}: truncated .mo file: the {} table ({} entries at offset {}) ends past the end of "
          "the file ({} bytes)",
          origin, name, count, table, bytes.size()));
  };
  check_table(originals, "original-strings");
  check_table(translations, "translations");
  auto string_at = [&](uint64_t table, uint64_t index, const char* name) {
    uint64_t length = word(table + index * 8);
    uint64_t offset = word(table + index * 8 + 4);
    if (offset + length + 1 > bytes.size())
      throw InputError(fmt::format(
          "{}: truncated .mo file: {} string {} ({} bytes at offset {}) ends past the end of the "
          "file ({} bytes)",
          origin, name, index, length, offset, bytes.size()));
    return bytes.substr(offset, length);
  };
  std::vector<MoMessage> messages;
  messages.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string original = string_at(originals, i, "original");
    std::string translated = string_at(translations, i, "translated");
    MoMessage message;
    auto eot = original.find('\x04');
    if (eot != std::string::npos) {
      message.context = original.substr(0, eot);
      original = original.substr(eot + 1);
    }
    auto ids = split_nul(original);
    message.id = ids[0];
    if (ids.size() > 1) message.plural_id = ids[1];
    message.translations = split_nul(translated);
    messages.push_back(std::move(message));
  }
  return messages;
}

std::vector<MoMessage> read_mo(const std::string& path) { return parse_mo(read_file(path), path); }

std::string write_mo(const std::vector<MoMessage>& messages) {
  auto originals = std::vector<std::string>();
  auto translations = std::vector<std::string>();
  for (const auto& m : messages) {
    std::string original = m.context.empty() ? m.id : m.context + '\x04' + m.id;
    if (!m.plural_id.empty()) original += std::string(1, '\0') + m.plural_id;
    std::string translated;
    for (size_t i = 0; i < m.translations.size(); ++i) {
      if (i) translated += '\0';
      translated += m.translations[i];
    }
    originals.push_back(original);
    translations.push_back(translated);
  }
  const uint32_t n = static_cast<uint32_t>(messages.size());
  const uint32_t header = 28;
  const uint32_t originals_table = header;
  const uint32_t translations_table = header + 8 * n;
  uint32_t data = header + 16 * n;
  std::string out(data, '\0');
  auto put = [&](size_t offset, uint32_t v) { std::memcpy(&out[offset], &v, 4); };
  put(0, kMagic);
  put(4, 0);
  put(8, n);
  put(12, originals_table);
  put(16, translations_table);
  put(20, 0);
  put(24, data);
  auto append = [&](uint32_t table, uint32_t index, const std::string& s) {
    put(table + index * 8, static_cast<uint32_t>(s.size()));
    put(table + index * 8 + 4, static_cast<uint32_t>(out.size()));
    out += s;
    out += '\0';
  };
  for (uint32_t i = 0; i < n; ++i) append(originals_table, i, originals[i]);
  for (uint32_t i = 0; i < n; ++i) append(translations_table, i, translations[i]);
  return out;
}

}  // namespace seqlab
