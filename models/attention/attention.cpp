#include "models/attention/attention.h"

#include <torch/torch.h>

namespace seqlab {
namespace {
thread_local AttentionRecorder* current_recorder = nullptr;
}

torch::Tensor attention_weights(const torch::Tensor& scores, const torch::Tensor& key_mask) {
  if (!key_mask.defined()) return torch::softmax(scores, -1);
  // key_mask [B, Tk] -> [B, 1, ..., 1, Tk] to broadcast over every dim between batch and keys.
  std::vector<int64_t> shape(static_cast<size_t>(scores.dim()), 1);
  shape.front() = key_mask.size(0);
  shape.back() = key_mask.size(1);
  return masked_attention_weights(scores, key_mask.view(shape));
}

torch::Tensor masked_attention_weights(const torch::Tensor& scores, const torch::Tensor& allowed) {
  if (!allowed.defined()) return torch::softmax(scores, -1);
  auto masked = scores.masked_fill(~allowed, -std::numeric_limits<float>::infinity());
  auto weights = torch::softmax(masked, -1);
  // A row with no allowed key is all -inf: softmax gives NaN there; make it zero attention.
  return weights.masked_fill(~allowed.any(-1, /*keepdim=*/true), 0.0);
}

AttentionRecorder::AttentionRecorder() : previous_(current_recorder) { current_recorder = this; }
AttentionRecorder::~AttentionRecorder() { current_recorder = previous_; }

bool AttentionRecorder::active() { return current_recorder != nullptr; }

void AttentionRecorder::report(const std::string& name, const torch::Tensor& weights) {
  if (current_recorder == nullptr) return;
  current_recorder->maps_.push_back({name, weights.detach().to(torch::kCPU)});
}

torch::Tensor AttentionRecorder::stacked(const std::string& name) const {
  std::vector<torch::Tensor> parts;
  for (const auto& map : maps_)
    if (map.name == name) parts.push_back(map.weights);
  return parts.empty() ? torch::Tensor() : torch::cat(parts, 2);
}

}  // namespace seqlab
