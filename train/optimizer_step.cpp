#include "train/optimizer_step.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <c10/util/C++17.h>
#include <torch/torch.h>

namespace seqlab {
namespace {

bool fusable(const torch::Tensor& p) {
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous() &&
         (!p.grad().defined() || (p.grad().is_contiguous() && !p.grad().is_sparse() &&
                                  p.grad().scalar_type() == torch::kFloat));
}

// sum of g^2 over every gradient, in double
double squared_norm(const std::vector<torch::Tensor>& parameters) {
  double total = 0;
  for (const auto& p : parameters) {
    if (!p.grad().defined()) continue;
    const float* g = p.grad().data_ptr<float>();
    total += at::parallel_reduce(
        0, p.numel(), 32768, 0.0,
        [&](int64_t begin, int64_t end, double partial) {
          double sum = 0;
          for (int64_t i = begin; i < end; ++i) sum += double(g[i]) * double(g[i]);
          return partial + sum;
        },
        std::plus<double>());
  }
  return total;
}

struct AdamWScalars {
  float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, root_correction2, eps, neg_step_size,
      grad_scale;
};

// AdamW::step's arithmetic for one parameter, element by element, in its order:
// p *= 1 - lr wd; m = m b1 + (1 - b1) g; v = v b2 + (1 - b2) g g;
// p += -(lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). g is the (clipped) gradient.
__attribute__((target_clones("avx2", "default"))) void adamw_block(float* __restrict p,
                                                                   const float* __restrict g_in,
                                                                   float* __restrict m,
                                                                   float* __restrict v, int64_t n,
                                                                   const AdamWScalars s) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = s.grad_scale == 1.0f ? g_in[i] : g_in[i] * s.grad_scale;
    const float decayed = p[i] * s.decay;
    const float m1 = m[i] * s.beta1 + g * s.one_minus_beta1;
    const float v1 = v[i] * s.beta2 + s.one_minus_beta2 * g * g;
    const float denom = std::sqrt(v1) / s.root_correction2 + s.eps;
    m[i] = m1;
    v[i] = v1;
    p[i] = decayed + s.neg_step_size * (m1 / denom);
  }
}

}  // namespace

void clip_and_step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& parameters,
                   double clip) {
  auto* adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer);
  bool fused = adamw != nullptr;
  if (fused)
    for (const auto& group : adamw->param_groups()) {
      fused = fused && !static_cast<const torch::optim::AdamWOptions&>(group.options()).amsgrad();
      for (const auto& p : group.params()) fused = fused && fusable(p);
    }
  for (const auto& p : parameters) fused = fused && fusable(p);
  if (!fused) {
    if (clip > 0) torch::nn::utils::clip_grad_norm_(parameters, clip);
    optimizer.step();
    return;
  }
  torch::NoGradGuard no_grad;
  float grad_scale = 1.0f;
  if (clip > 0) {  // clip_grad_norm_: max_norm / (norm + 1e-6) in float, at most 1
    const float norm = static_cast<float>(std::sqrt(squared_norm(parameters)));
    const float coefficient = static_cast<float>(clip) / (norm + 1e-6f);
    grad_scale = coefficient < 1.0f || std::isnan(coefficient) ? coefficient : 1.0f;
  }
  auto& states = adamw->state();
  for (auto& group : adamw->param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = c10::guts::to_string(p.unsafeGetTensorImpl());  // AdamW's own key
      if (states.find(key) == states.end()) {
        auto state = std::make_unique<torch::optim::AdamWParamState>();
        state->step(0);
        state->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        state->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        states[key] = std::move(state);
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*states[key]);
      // The kernel walks the moments with the parameter's element count: they must match it.
      for (const auto* moment : {&state.exp_avg(), &state.exp_avg_sq()})
        TORCH_CHECK(moment->defined() && moment->sizes() == p.sizes() &&
                        moment->scalar_type() == torch::kFloat && moment->is_contiguous() &&
                        moment->device() == p.device(),
                    "AdamW state does not match its parameter (", p.sizes(), ")");
      state.step(state.step() + 1);
      const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
      const double correction1 = 1 - std::pow(beta1, state.step());
      const double correction2 = 1 - std::pow(beta2, state.step());
      const AdamWScalars s{static_cast<float>(1 - options.lr() * options.weight_decay()),
                           static_cast<float>(beta1),
                           static_cast<float>(1 - beta1),
                           static_cast<float>(beta2),
                           static_cast<float>(1 - beta2),
                           static_cast<float>(std::sqrt(correction2)),
                           static_cast<float>(options.eps()),
                           static_cast<float>(-options.lr() / correction1),
                           grad_scale};
      float* pp = p.data_ptr<float>();
      const float* gp = p.grad().data_ptr<float>();
      float* mp = state.exp_avg().data_ptr<float>();
      float* vp = state.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), 16384, [&](int64_t begin, int64_t end) {
        adamw_block(pp + begin, gp + begin, mp + begin, vp + begin, end - begin, s);
      });
    }
  }
}

}  // namespace seqlab
