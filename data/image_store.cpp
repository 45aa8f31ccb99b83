#include "data/image_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/config.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/image.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

constexpr char kMagic[8] = {'S', 'E', 'Q', 'I', 'M', 'G', 'C', '1'};
constexpr uint8_t kEmpty = 0, kDecoded = 1, kBad = 2;

uint64_t padded8(uint64_t n) { return (n + 7) / 8 * 8; }

}  // namespace

ImageStore::ImageStore(std::vector<std::string> paths, ImageOptions options, std::string cache_path)
    : paths_(std::move(paths)),
      options_(options),
      cache_path_(std::move(cache_path)),
      row_bytes_(options.channels * options.size * options.size) {
  if (cache_path_.empty())
    skipped_rows_.assign(paths_.size(), 0);
  else
    open_cache();
}

ImageStore::~ImageStore() {
  if (map_) munmap(map_, map_bytes_);
}

void ImageStore::open_cache() {
  std::string names;
  for (const auto& path : paths_) names += path + "\n";
  const Json header = {{"format", "seqlab-image-cache"}, {"version", 1},
                       {"paths", sha256_hex(names)},     {"images", paths_.size()},
                       {"channels", options_.channels},  {"size", options_.size}};
  const std::string text = header.dump();
  const uint64_t n = paths_.size();
  const uint64_t state_at = 16 + padded8(text.size());
  const uint64_t pixels_at = state_at + padded8(n);
  const uint64_t total = pixels_at + n * static_cast<uint64_t>(row_bytes_);
  fs::create_directories(fs::path(cache_path_).parent_path());
  // An existing cache is reused only when its preamble matches byte for byte and its size is
  // right; anything else (another split, a crafted or truncated file) is replaced.
  bool reuse = false;
  if (fs::exists(cache_path_) && fs::is_regular_file(cache_path_) &&
      fs::file_size(cache_path_) == total) {
    std::string preamble(16 + text.size(), '\0');
    std::ifstream in(cache_path_, std::ios::binary);
    in.read(preamble.data(), static_cast<std::streamsize>(preamble.size()));
    uint64_t length = text.size();
    std::string expected(kMagic, 8);
    expected.append(reinterpret_cast<const char*>(&length), 8);
    expected += text;
    reuse = in && preamble == expected;
  }
  if (!reuse) {
    const std::string tmp = cache_path_ + ".partial";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error("cannot write " + tmp + ": " + std::strerror(errno));
      out.write(kMagic, 8);
      const uint64_t length = text.size();
      out.write(reinterpret_cast<const char*>(&length), 8);
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
      if (!out) throw Error("write failed for " + tmp + " (disk full?)");
    }
    if (truncate(tmp.c_str(), static_cast<off_t>(total)) != 0)  // sparse: zero states, no pixels
      throw Error("cannot size " + tmp + ": " + std::strerror(errno));
    fs::rename(tmp, cache_path_);
  }
  const int fd = ::open(cache_path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + cache_path_ + ": " + std::strerror(errno));
  map_bytes_ = static_cast<size_t>(total);
  map_ = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw Error("cannot map " + cache_path_ + ": " + std::strerror(errno));
  }
  state_ = static_cast<uint8_t*>(map_) + state_at;
  pixels_ = static_cast<uint8_t*>(map_) + pixels_at;
  int64_t ready = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (state_[i] > kBad) state_[i] = kEmpty;  // a crafted state byte: decode again
    ready += state_[i] == kDecoded;
  }
  log_info(fmt::format("image cache {}: {} of {} images decoded before", cache_path_, ready, n));
}

torch::Tensor ImageStore::get(int64_t row) {
  if (row < 0 || row >= size())
    throw Error(fmt::format("image row {} outside a store of {}", row, size()));
  const auto r = static_cast<size_t>(row);
  const int64_t c = options_.channels, s = options_.size;
  if (state_) {
    const uint8_t state = __atomic_load_n(&state_[r], __ATOMIC_ACQUIRE);
    if (state == kDecoded)
      return torch::from_blob(pixels_ + r * static_cast<size_t>(row_bytes_), {c, s, s},
                              torch::kUInt8)
          .clone();
    if (state == kBad) return {};  // reported when it was found
  }
  torch::Tensor chw;  // [C, S, S] uint8, contiguous (data/image.h)
  try {
    chw = load_image(paths_[r], options_);
  } catch (const InputError& e) {
    if (!options_.skip_bad) throw;
    std::lock_guard<std::mutex> lock(skipped_mutex_);
    const bool first = state_ ? state_[r] != kBad : skipped_rows_[r] == 0;
    if (first) skipped_.push_back(e.what());
    if (state_)
      __atomic_store_n(&state_[r], kBad, __ATOMIC_RELEASE);
    else
      skipped_rows_[r] = 1;
    return {};
  }
  ++decoded_;
  if (state_) {
    std::memcpy(pixels_ + r * static_cast<size_t>(row_bytes_), chw.data_ptr<uint8_t>(),
                static_cast<size_t>(row_bytes_));
    __atomic_store_n(&state_[r], kDecoded, __ATOMIC_RELEASE);
  }
  return chw;
}

std::vector<std::string> ImageStore::skipped() const {
  std::lock_guard<std::mutex> lock(skipped_mutex_);
  return skipped_;
}

}  // namespace seqlab
