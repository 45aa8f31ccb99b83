#include "models/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace seqlab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// A 32-bit integer mixer (Wellons' "lowbias32"): every input bit reaches every output bit.
inline uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// out[i] = keep(i) ? in[i] * scale : 0 for n elements whose indices share one high word; keep
// is true with probability 1 - p. 32-bit lanes only, so the loop vectorises (AVX2 where the CPU
// has it, chosen when the library loads; SSE2 otherwise).
__attribute__((target_clones("avx2", "default"))) void mask_block(const float* in, float* out,
                                                                  uint32_t n, uint32_t first,
                                                                  uint32_t key, uint32_t high_key,
                                                                  uint32_t threshold, float scale) {
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t h = mix(mix((first + j) ^ key) + high_key);
    out[j] =
        in[j] * (h >= threshold ? scale : 0.0f);  // branch-free (inf and NaN stay NaN, as in torch)
  }
}

// The same with ReLU first: out[i] = keep(i) ? max(in[i], 0) * scale : 0 (NaN stays NaN).
__attribute__((target_clones("avx2", "default"))) void relu_mask_block(
    const float* in, float* out, uint32_t n, uint32_t first, uint32_t key, uint32_t high_key,
    uint32_t threshold, float scale) {
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t h = mix(mix((first + j) ^ key) + high_key);
    const float x = in[j] < 0.0f ? 0.0f : in[j];
    out[j] = x * (h >= threshold ? scale : 0.0f);
  }
}

// ReLU-dropout's backward: the output is positive exactly where the input was and the element
// was kept, and there its derivative is `scale`.
__attribute__((target_clones("avx2", "default"))) void relu_mask_backward_block(
    const float* grad, const float* out, float* result, int64_t n, float scale) {
  for (int64_t j = 0; j < n; ++j) result[j] = out[j] > 0.0f ? grad[j] * scale : 0.0f;
}

template <typename Block>
void apply_mask(const float* in, float* out, int64_t n, uint64_t seed, double p, Block block) {
  const auto threshold = static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0));
  const auto scale = static_cast<float>(1.0 / (1.0 - p));
  const auto key = static_cast<uint32_t>(seed), high = static_cast<uint32_t>(seed >> 32);
  at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t stop = std::min<int64_t>(end, (i | int64_t{0xFFFFFFFF}) + 1);  // same high word
      block(in + i, out + i, static_cast<uint32_t>(stop - i), static_cast<uint32_t>(i), key,
            mix(high + static_cast<uint32_t>(i >> 32)), threshold, scale);
      i = stop;
    }
  });
}

torch::Tensor masked(const torch::Tensor& x, uint64_t seed, double p, bool relu = false) {
  auto in = x.contiguous();
  auto out = torch::empty_like(in, torch::MemoryFormat::Contiguous);
  if (relu)
    apply_mask(in.data_ptr<float>(), out.data_ptr<float>(), in.numel(), seed, p, relu_mask_block);
  else
    apply_mask(in.data_ptr<float>(), out.data_ptr<float>(), in.numel(), seed, p, mask_block);
  return out;
}

uint64_t draw_seed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get<at::CPUGeneratorImpl>()->random64();
}

struct HashedDropout : public torch::autograd::Function<HashedDropout> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double p) {
    const uint64_t seed = draw_seed();
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["p"] = p;
    return masked(x, seed, p);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {masked(grads[0], seed, ctx->saved_data["p"].toDouble()), torch::Tensor()};
  }
};

struct HashedReluDropout : public torch::autograd::Function<HashedReluDropout> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double p) {
    auto out = masked(x, draw_seed(), p, /*relu=*/true);
    ctx->save_for_backward({out});  // the next layer keeps it anyway (its input)
    ctx->saved_data["p"] = p;
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto out = ctx->get_saved_variables()[0];
    const auto grad = grads[0].contiguous();
    auto result = torch::empty_like(out);
    const auto scale = static_cast<float>(1.0 / (1.0 - ctx->saved_data["p"].toDouble()));
    const float *g = grad.data_ptr<float>(), *o = out.data_ptr<float>();
    float* r = result.data_ptr<float>();
    at::parallel_for(0, out.numel(), 16384, [&](int64_t begin, int64_t end) {
      relu_mask_backward_block(g + begin, o + begin, r + begin, end - begin, scale);
    });
    return {result, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor relu_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return torch::relu(x);
  if (p >= 1 || !x.device().is_cpu() || x.scalar_type() != torch::kFloat)
    return seqlab::dropout(torch::relu(x), p, training);
  if (torch::GradMode::is_enabled() && x.requires_grad()) return HashedReluDropout::apply(x, p);
  return masked(x, draw_seed(), p, /*relu=*/true);
}

torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (p >= 1) return x * 0;
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat)
    return torch::dropout(x, p, training);
  if (torch::GradMode::is_enabled() && x.requires_grad()) return HashedDropout::apply(x, p);
  return masked(x, draw_seed(), p);
}

DropoutImpl::DropoutImpl(double p) : p_(p) {
  if (!(p >= 0 && p <= 1))
    throw InputError(fmt::format("dropout probability {} is not in [0, 1]", p));
}

}  // namespace seqlab
