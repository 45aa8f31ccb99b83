// Float32 CPU tensors take parallel row copies with hand-written gradients (each the other
// operation); elsewhere index_select and index_copy. (LibTorch 1.13's CPU index_select backward
// is index_add_, one small tensor operation per row.)
#include "models/packed_rows.h"

#include <cstring>

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace seqlab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool fast(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 2;
}

// out[to(i)] = in[from(i)] for i < count; rows of `width` floats.
template <typename To, typename From>
void copy_rows(const float* in, float* out, int64_t count, int64_t width, To to, From from) {
  at::parallel_for(0, count, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, width)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t i = begin; i < end; ++i)
                       std::memcpy(out + to(i) * width, in + from(i) * width,
                                   static_cast<size_t>(width) * sizeof(float));
                   });
}

torch::Tensor gather_kernel(const torch::Tensor& x_in, const torch::Tensor& rows) {
  const auto x = x_in.contiguous();
  const int64_t count = rows.size(0), width = x.size(1);
  auto out = torch::empty({count, width}, x.options());
  const int64_t* r = rows.data_ptr<int64_t>();
  copy_rows(
      x.data_ptr<float>(), out.data_ptr<float>(), count, width, [](int64_t i) { return i; },
      [r](int64_t i) { return r[i]; });
  return out;
}

torch::Tensor scatter_kernel(const torch::Tensor& x_in, const torch::Tensor& rows, int64_t total) {
  const auto x = x_in.contiguous();
  const int64_t count = rows.size(0), width = x.size(1);
  auto out = torch::zeros({total, width}, x.options());
  const int64_t* r = rows.data_ptr<int64_t>();
  copy_rows(
      x.data_ptr<float>(), out.data_ptr<float>(), count, width, [r](int64_t i) { return r[i]; },
      [](int64_t i) { return i; });
  return out;
}

struct GatherRows : public torch::autograd::Function<GatherRows> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& rows) {
    ctx->saved_data["rows"] = rows;
    ctx->saved_data["total"] = x.size(0);
    return gather_kernel(x, rows);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {scatter_kernel(grads[0], ctx->saved_data["rows"].toTensor(),
                           ctx->saved_data["total"].toInt()),
            torch::Tensor()};
  }
};

struct ScatterRows : public torch::autograd::Function<ScatterRows> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& rows, int64_t total) {
    ctx->saved_data["rows"] = rows;
    return scatter_kernel(x, rows, total);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {gather_kernel(grads[0], ctx->saved_data["rows"].toTensor()), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor gather_rows(const torch::Tensor& x, const torch::Tensor& rows) {
  if (!fast(x)) return x.index_select(0, rows);
  const auto r = rows.to(torch::kLong).contiguous();
  return torch::GradMode::is_enabled() && x.requires_grad() ? GatherRows::apply(x, r)
                                                            : gather_kernel(x, r);
}

torch::Tensor scatter_rows(const torch::Tensor& x, const torch::Tensor& rows, int64_t total) {
  if (!fast(x)) return torch::zeros({total, x.size(1)}, x.options()).index_copy(0, rows, x);
  const auto r = rows.to(torch::kLong).contiguous();
  return torch::GradMode::is_enabled() && x.requires_grad() ? ScatterRows::apply(x, r, total)
                                                            : scatter_kernel(x, r, total);
}

}  // namespace seqlab
