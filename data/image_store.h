// A split's images decoded as batches ask for them (data.streaming), so no limit comes from RAM:
// the loader's worker threads decode the images of the batches ahead of the trainer
// (data/prefetch.h), and with a disk cache each distinct image is decoded once, into a
// memory-mapped uint8 file that later epochs (and resumed runs) read instead of the image file.
//
// Cache file: "SEQIMGC1" | u64 header bytes | header JSON (the paths' SHA-256, count, channels,
// size) | padding to 8 | u8 state[N] (0 not yet, 1 decoded, 2 bad) | padding to 8 |
// u8 pixels[N][C][S][S]. It is sparse until filled; one whose header differs from the split's is
// made again. A row's state is set after its pixels (release/acquire), so a reader never sees a
// half-written image, and a kill -9 leaves at worst rows to decode again.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <torch/types.h>

#include "data/image_decode.h"

namespace seqlab {

class ImageStore {
 public:
  // `cache_path` empty: no disk cache, every request decodes the file.
  ImageStore(std::vector<std::string> paths, ImageOptions options, std::string cache_path = "");
  ~ImageStore();
  ImageStore(const ImageStore&) = delete;
  ImageStore& operator=(const ImageStore&) = delete;

  int64_t size() const { return static_cast<int64_t>(paths_.size()); }
  const std::string& path(int64_t row) const { return paths_[static_cast<size_t>(row)]; }
  // The pixels of `row`, [C, S, S] uint8; thread-safe. A bad image is an InputError naming the
  // file, or under options.skip_bad an undefined tensor (counted once per image in skipped()).
  torch::Tensor get(int64_t row);
  int64_t decoded() const { return decoded_.load(); }  // files decoded by this process
  std::vector<std::string> skipped() const;

 private:
  void open_cache();
  std::vector<std::string> paths_;
  ImageOptions options_;
  std::string cache_path_;
  int64_t row_bytes_ = 0;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  uint8_t* state_ = nullptr;
  uint8_t* pixels_ = nullptr;
  std::atomic<int64_t> decoded_{0};
  mutable std::mutex skipped_mutex_;
  std::vector<std::string> skipped_;
  std::vector<uint8_t> skipped_rows_;  // without a cache: which rows were reported
};

}  // namespace seqlab
