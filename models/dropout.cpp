#include "models/dropout.h"

#include <fmt/format.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
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
__attribute__((target_clones("avx2", "default"))) void mask_block(const float* in, float* out, uint32_t n,
                                                                  uint32_t first, uint32_t key, uint32_t high_key,
                                                                  uint32_t threshold, float scale) {
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t h = mix(mix((first + j) ^ key) + high_key);
    out[j] = in[j] * (h >= threshold ? scale : 0.0f);  // branch-free (inf and NaN stay NaN, as in torch)
  }
}

void apply_mask(const float* in, float* out, int64_t n, uint64_t seed, double p) {
  const auto threshold = static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0));
  const auto scale = static_cast<float>(1.0 / (1.0 - p));
  const auto key = static_cast<uint32_t>(seed), high = static_cast<uint32_t>(seed >> 32);
  at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t stop = std::min<int64_t>(end, (i | int64_t{0xFFFFFFFF}) + 1);  // same high word
      mask_block(in + i, out + i, static_cast<uint32_t>(stop - i), static_cast<uint32_t>(i), key,
                 mix(high + static_cast<uint32_t>(i >> 32)), threshold, scale);
      i = stop;
    }
  });
}

torch::Tensor masked(const torch::Tensor& x, uint64_t seed, double p) {
  auto in = x.contiguous();
  auto out = torch::empty_like(in, torch::MemoryFormat::Contiguous);
  apply_mask(in.data_ptr<float>(), out.data_ptr<float>(), in.numel(), seed, p);
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

}  // namespace

torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (p >= 1) return x * 0;
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat) return torch::dropout(x, p, training);
  if (torch::GradMode::is_enabled() && x.requires_grad()) return HashedDropout::apply(x, p);
  return masked(x, draw_seed(), p);
}

DropoutImpl::DropoutImpl(double p) : p_(p) {
  if (!(p >= 0 && p <= 1)) throw InputError(fmt::format("dropout probability {} is not in [0, 1]", p));
}

}  // namespace seqlab
