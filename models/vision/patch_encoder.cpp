// ViT-style image encoder (Dosovitskiy et al. 2021): the image cut into p x p patches, each
// linearly embedded (a stride-p convolution), plus a fixed 2-D sinusoidal position (half the
// channels encode the row, half the column, as in MAE, He et al. 2022), then the transformer
// family's encoder layers (model.transformer.*: width, heads, layers, norm, scorer). Relative
// positional variants (ALiBi, T5 buckets, rotary) see the patches in row-major order.
#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/transformer/transformer_layers.h"
#include "models/vision/vision.h"

namespace seqlab {
namespace {

class PatchEncoderImpl : public EncoderImpl {
 public:
  explicit PatchEncoderImpl(const ModelContext& context)
      : settings_(context.config),
        vision_(context.config),
        patch_(context.config.get_int("model.vision.patch_size")) {
    const Config& config = context.config;
    if (vision_.image_size % patch_ != 0)
      throw InputError(fmt::format("model.vision.patch_size {} does not divide data.image_size {}",
                                   patch_, vision_.image_size));
    const int64_t d = settings_.model_dim;
    embed_ = register_module(
        "patches",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(vision_.channels, d, patch_).stride(patch_)));
    positions_ = register_module(
        "positions",
        positional_registry().create(settings_.positional,
                                     PositionalContext{config, d, settings_.heads, false}));
    dropout_ = register_module("dropout", Dropout(settings_.dropout));
    layers_ = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < settings_.encoder_layers; ++i)
      layers_->push_back(TransformerEncoderLayer(config, settings_, positions_,
                                                 "encoder.layer" + std::to_string(i)));
    if (settings_.pre_norm())
      final_norm_ = register_module("final_norm",
                                    norm_registry().create(settings_.norm, NormContext{config, d}));
  }

  Memory forward(const Source& source) override {
    auto grid = embed_(normalise_pixels(source.images, vision_.normalize));  // [B, D, h, w]
    const int64_t height = grid.size(2), width = grid.size(3), d = grid.size(1);
    auto x = grid.flatten(2).transpose(1, 2);  // [B, h*w, D]
    x = dropout_(x + sinusoidal_2d(height, width, d, x.options()).unsqueeze(0));
    auto mask = torch::ones({x.size(0), x.size(1)}, torch::dtype(torch::kBool).device(x.device()));
    auto positions =
        position_range(1, x.size(1), {}, torch::dtype(torch::kInt64).device(x.device()));
    for (const auto& layer : *layers_)
      x = layer->as<TransformerEncoderLayer>()->forward(x, positions, mask);
    if (final_norm_) x = final_norm_(x);
    Memory memory{x, mask, x.mean(1)};
    memory.grid_height = height;
    memory.grid_width = width;
    return memory;
  }
  int64_t output_dim() const override { return settings_.model_dim; }
  bool reads_images() const override { return true; }

 private:
  TransformerSettings settings_;
  VisionSettings vision_;
  int64_t patch_;
  torch::nn::Conv2d embed_{nullptr};
  PositionalEncoding positions_{nullptr};
  Dropout dropout_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  Norm final_norm_{nullptr};
};

const bool registered = register_encoder<PatchEncoderImpl>(
    "patch", "images: ViT patches through transformer encoder layers, 2-D sinusoidal positions");

}  // namespace
}  // namespace seqlab
