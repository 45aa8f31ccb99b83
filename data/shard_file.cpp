#include "data/shard_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"

namespace seqlab {

using Json = nlohmann::json;

namespace {

constexpr char kMagic[8] = {'S', 'E', 'Q', 'S', 'H', 'R', 'D', '1'};
constexpr int64_t kVersion = 1;
constexpr uint64_t kMaxHeaderBytes = 1 << 20;

uint64_t padded8(uint64_t n) { return (n + 7) / 8 * 8; }

template <typename T>
void put(std::ofstream& out, const T* values, size_t count) {
  out.write(reinterpret_cast<const char*>(values), static_cast<std::streamsize>(count * sizeof(T)));
}

}  // namespace

void write_shard_file(const std::string& path, const std::vector<uint64_t>& source_offsets,
                      const std::vector<uint64_t>& target_offsets,
                      const std::vector<int32_t>& source_ids,
                      const std::vector<int32_t>& target_ids, const std::string& tokenizer_digest,
                      int64_t vocab, const Json& input) {
  if (source_offsets.empty() || source_offsets.size() != target_offsets.size() ||
      source_offsets.back() != source_ids.size() || target_offsets.back() != target_ids.size())
    throw Error("write_shard_file: offsets do not span the ids");
  const Json header = {{"format", "seqlab-shard"},
                       {"version", kVersion},
                       {"tokenizer", tokenizer_digest},
                       {"vocab", vocab},
                       {"examples", source_offsets.size() - 1},
                       {"source_ids", source_ids.size()},
                       {"target_ids", target_ids.size()},
                       {"input", input}};
  const std::string text = header.dump();
  write_atomic_with(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + tmp + ": " + std::strerror(errno));
    out.write(kMagic, sizeof kMagic);
    const uint64_t header_bytes = text.size();
    put(out, &header_bytes, 1);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    const std::string zeros(padded8(text.size()) - text.size(), '\0');
    out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    put(out, source_offsets.data(), source_offsets.size());
    put(out, target_offsets.data(), target_offsets.size());
    put(out, source_ids.data(), source_ids.size());
    put(out, target_ids.data(), target_ids.size());
    out.flush();
    if (!out) throw Error("write failed for " + tmp + " (disk full?)");
  });
}

Shard::Shard(const std::string& path, const std::string& tokenizer_digest, int64_t vocab)
    : path_(path) {
  auto bad = [&](const std::string& what) {
    return InputError(fmt::format("{}: not a usable seqlab shard: {}", path, what));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    throw bad("not a regular file");
  }
  map_bytes_ = static_cast<size_t>(info.st_size);
  if (map_bytes_ < 16) {
    ::close(fd);
    throw bad(fmt::format("{} bytes, shorter than the 16-byte preamble", map_bytes_));
  }
  map_ = mmap(nullptr, map_bytes_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw InputError("cannot map " + path + ": " + std::strerror(errno));
  }
  try {
    const auto* bytes = static_cast<const char*>(map_);
    if (std::memcmp(bytes, kMagic, sizeof kMagic) != 0) throw bad("wrong magic bytes");
    uint64_t header_bytes = 0;
    std::memcpy(&header_bytes, bytes + 8, 8);
    if (header_bytes > kMaxHeaderBytes || 16 + header_bytes > map_bytes_)
      throw bad(fmt::format("header of {} bytes in a file of {}", header_bytes, map_bytes_));
    try {
      header_ = Json::parse(std::string(bytes + 16, header_bytes));
    } catch (const Json::exception& e) {
      throw bad(std::string("header is not JSON (") + e.what() + ")");
    }
    if (!header_.is_object()) throw bad("header is not a JSON object");
    auto count = [&](const char* key) -> uint64_t {
      if (!header_.contains(key) || !header_[key].is_number_unsigned())
        throw bad(fmt::format("header has no count '{}'", key));
      return header_[key].get<uint64_t>();
    };
    if (!header_.contains("format") || header_["format"] != "seqlab-shard" ||
        !header_.contains("version") || header_["version"] != kVersion)
      throw bad(fmt::format("expected format seqlab-shard version {}", kVersion));
    const std::string made_with = header_.contains("tokenizer") && header_["tokenizer"].is_string()
                                      ? header_["tokenizer"].get<std::string>()
                                      : std::string("(none)");
    if (made_with != tokenizer_digest)
      throw InputError(fmt::format(
          "{}: made with another tokenizer (sha256 {}) than the run's ({}); delete the shards "
          "to tokenize the corpus again",
          path, made_with.substr(0, 12), tokenizer_digest.substr(0, 12)));
    const uint64_t shard_vocab = count("vocab");
    if (shard_vocab != static_cast<uint64_t>(vocab))
      throw bad(fmt::format("vocabulary {} differs from the tokenizer's {}", shard_vocab, vocab));
    const uint64_t n = count("examples"), s = count("source_ids"), t = count("target_ids");
    const uint64_t limit = map_bytes_;  // every count is below the file size, so no overflow
    if (n >= limit || s >= limit || t >= limit) throw bad("counts larger than the file");
    const uint64_t start = 16 + padded8(header_bytes);
    const uint64_t expected = start + 16 * (n + 1) + 4 * (s + t);
    if (expected != map_bytes_)
      throw bad(
          fmt::format("{} bytes where the header implies {} (truncated?)", map_bytes_, expected));
    examples_ = static_cast<int64_t>(n);
    source_offsets_ = reinterpret_cast<const uint64_t*>(bytes + start);
    target_offsets_ = source_offsets_ + n + 1;
    source_ids_ = reinterpret_cast<const int32_t*>(target_offsets_ + n + 1);
    target_ids_ = source_ids_ + s;
    for (auto [offsets, total, side] :
         {std::tuple{source_offsets_, s, "source"}, std::tuple{target_offsets_, t, "target"}}) {
      if (offsets[0] != 0 || offsets[n] != total)
        throw bad(fmt::format("{} offsets do not span the {} ids", side, total));
      for (uint64_t i = 0; i < n; ++i)
        if (offsets[i + 1] < offsets[i])
          throw bad(fmt::format("{} offsets decrease at example {}", side, i));
    }
    for (auto [ids, total] : {std::pair{source_ids_, s}, std::pair{target_ids_, t}})
      for (uint64_t i = 0; i < total; ++i)
        if (ids[i] < 0 || ids[i] >= vocab)
          throw bad(fmt::format("id {} outside the vocabulary of {}", ids[i], vocab));
  } catch (...) {
    munmap(map_, map_bytes_);
    map_ = nullptr;
    throw;
  }
}

Shard::~Shard() {
  if (map_) munmap(map_, map_bytes_);
}

}  // namespace seqlab
