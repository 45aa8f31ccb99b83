// Images for captioning: PNG and JPEG decoding through Debian's stb, resizing to a square of
// data.image_size pixels, a split's images decoded once and cached in memory as uint8, and
// training-time augmentation that is a pure function of (seed, epoch, example), so a resumed run
// sees exactly the pixels an uninterrupted one would.
//
// Bad files never crash and never allocate what their header claims before it is checked: a
// missing, truncated or corrupt file, or one whose header announces more than
// ImageOptions::max_pixels, is an InputError naming the file, or (skip_bad) is skipped and
// counted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/config.h"
#include "data/image_decode.h"

namespace seqlab {

// Decodes a PNG or JPEG file -> [C, size, size] uint8 (data/image_decode.h). InputError naming the
// file for anything wrong with it.
torch::Tensor load_image(const std::string& path, const ImageOptions& options);
// The same from bytes already in memory; `name` is what errors call it.
torch::Tensor decode_image(const std::string& bytes, const std::string& name,
                           const ImageOptions& options);

// A split's distinct images, decoded once.
struct ImageSet {
  std::vector<std::string> paths;    // as given (one per row of pixels)
  torch::Tensor pixels;              // [N, C, H, W] uint8
  std::vector<std::string> skipped;  // paths skipped as bad (skip_bad), with the reason
};

// Decodes `paths` (in order, showing progress for large sets). With options.skip_bad a bad image
// is left out: the returned set's paths then omit it and `skipped` says why.
ImageSet load_images(const std::vector<std::string>& paths, const ImageOptions& options);

struct AugmentOptions {
  int64_t shift = 0;      // random translation by up to this many pixels (edges replicated)
  bool flip = false;      // random horizontal flip (off by default: it swaps "left" and "right")
  double brightness = 0;  // random brightness factor in [1 - b, 1 + b]
  static AugmentOptions from_config(const Config& config);  // data.augment.* keys
  bool any() const { return shift > 0 || flip || brightness > 0; }
};

// Augments a batch of images [B, C, H, W] uint8; example `indices[b]` of epoch `epoch` always
// gets the same transformation for the same seed.
torch::Tensor augment_images(const torch::Tensor& images, const std::vector<int64_t>& indices,
                             uint64_t seed, int64_t epoch, const AugmentOptions& options);

// Writes [C, H, W] uint8 (C = 1 or 3) as PNG, atomically.
void save_png(const std::string& path, const torch::Tensor& image);

}  // namespace seqlab
