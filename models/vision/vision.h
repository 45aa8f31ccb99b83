// Image encoders: pixels [B, C, H, W] uint8 -> a Memory with one state per region of a feature
// grid (row-major), the grid's shape, and the mean over regions as summary. So a GRU decoder can
// start from the summary (Show and Tell, Vinyals et al. 2015), an attentional decoder can look at
// regions (Show, Attend and Tell, Xu et al. 2015) and a transformer decoder can cross-attend to
// them, through the same Memory every text encoder produces.
//
// Registered encoders: "cnn" (a small VGG-style network), "resnet18" / "resnet34" (He et al. 2016,
// BasicBlocks), "patch" (ViT, Dosovitskiy et al. 2021: patches as tokens through the transformer
// family's encoder layers, 2-D sinusoidal positions). A convolutional backbone may start from a
// file (model.vision.pretrained): a TorchScript module mapping images to a feature map, or a
// state dict of the named backbone; model.vision.freeze keeps it fixed (and its BatchNorm
// statistics too).
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>

#include "core/config.h"
#include "models/seq2seq.h"

namespace seqlab {

// The keys every image encoder reads.
struct VisionSettings {
  int64_t channels;       // input channels (data.image_channels)
  int64_t image_size;     // data.image_size (used to size the grid)
  int64_t width;          // model.vision.width: channels of the first stage
  int64_t dim;            // model.vision.dim: output width (0 = the backbone's own)
  std::string normalize;  // "imagenet" or "unit"
  std::string stem;  // ResNets: "small" (3x3, stride 1) or "imagenet" (7x7 stride 2 + max-pool)
  std::string pretrained;
  bool freeze;
  std::string positions;  // model.vision.positions: "none" or "sinusoidal" (cnn/resnet regions)
  explicit VisionSettings(const Config& config);
};

// uint8 [B, C, H, W] -> float, normalised per `mode`.
torch::Tensor normalise_pixels(const torch::Tensor& images, const std::string& mode);

// [h * w, D] fixed 2-D positions, row-major: sin/cos of the row in the first D/2 channels, of the
// column in the rest (MAE, He et al. 2022; the ViT encoder's and, with
// model.vision.positions = sinusoidal, the convolutional encoders' regions). Built with `options`
// (device and dtype), so a forward pass on a GPU makes it there rather than copying it over.
torch::Tensor sinusoidal_2d(int64_t height, int64_t width, int64_t dim,
                            const torch::TensorOptions& options = {});

// Feature map [B, D, h, w] -> Memory (states [B, h*w, D], an all-true mask, the mean as summary).
Memory memory_from_grid(const torch::Tensor& features);

// A convolutional feature extractor: normalised images [B, C, H, W] -> [B, D, h, w].
class BackboneImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
  virtual int64_t features() const = 0;
};

// A convolutional image encoder: a backbone (feature map out), optionally replaced or initialised
// from model.vision.pretrained and frozen, then a 1x1 projection to model.vision.dim.
class ConvImageEncoderImpl : public EncoderImpl {
 public:
  ConvImageEncoderImpl(const ModelContext& context, std::shared_ptr<BackboneImpl> backbone);
  ~ConvImageEncoderImpl() override;
  Memory forward(const Source& source) override;
  int64_t output_dim() const override { return output_dim_; }
  bool reads_images() const override { return true; }
  void train(bool on = true) override;  // a frozen backbone stays in eval mode

 private:
  torch::Tensor backbone_features(const torch::Tensor& pixels);
  struct Scripted;  // a TorchScript backbone, when model.vision.pretrained is one
  VisionSettings settings_;
  std::shared_ptr<BackboneImpl> backbone_;
  std::unique_ptr<Scripted> scripted_;
  torch::nn::Conv2d projection_{nullptr};
  int64_t output_dim_ = 0;
};

}  // namespace seqlab
