// The batched products of attention, with a fused single-query path for incremental decoding
// (see attention.h).
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "models/attention/attention.h"

namespace seqlab {
namespace {

// One query per row, float32 on the CPU, and no gradient needed through the result.
bool single_query_fast_path(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.dim() != 3 || b.dim() != 3 || a.size(1) != 1 || a.size(0) != b.size(0)) return false;
  if (!a.device().is_cpu() || !b.device().is_cpu()) return false;
  if (a.scalar_type() != torch::kFloat || b.scalar_type() != torch::kFloat) return false;
  return !(torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad()));
}

// Rows per parallel task: enough work per task to amortise the thread hand-off.
int64_t grain(int64_t work_per_row) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work_per_row)); }

// Dot product with eight independent partial sums, which the compiler turns into vector lanes
// (a single running sum cannot be vectorised without reassociating float additions).
inline float dot(const float* x, const float* y, int64_t n) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += x[i + j] * y[i + j];
  float sum = 0;
  for (; i < n; ++i) sum += x[i] * y[i];
  for (float lane : lanes) sum += lane;
  return sum;
}

}  // namespace

torch::Tensor query_key_products(const torch::Tensor& q, const torch::Tensor& k) {
  if (!single_query_fast_path(q, k) || q.size(2) != k.size(2)) return torch::matmul(q, k.transpose(1, 2));
  const auto query = q.contiguous(), keys = k.contiguous();
  const int64_t rows = keys.size(0), length = keys.size(1), width = keys.size(2);
  auto out = torch::empty({rows, 1, length}, q.options());
  const float* qp = query.data_ptr<float>();
  const float* kp = keys.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, rows, grain(length * width), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n)
      for (int64_t t = 0; t < length; ++t) op[n * length + t] = dot(qp + n * width, kp + (n * length + t) * width, width);
  });
  return out;
}

torch::Tensor weighted_values(const torch::Tensor& w, const torch::Tensor& v) {
  if (!single_query_fast_path(w, v) || w.size(2) != v.size(1)) return torch::matmul(w, v);
  const auto weights = w.contiguous(), values = v.contiguous();
  const int64_t rows = values.size(0), length = values.size(1), width = values.size(2);
  auto out = torch::zeros({rows, 1, width}, v.options());
  const float* wp = weights.data_ptr<float>();
  const float* vp = values.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, rows, grain(length * width), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      float* row = op + n * width;
      for (int64_t t = 0; t < length; ++t) {
        const float weight = wp[n * length + t];
        if (weight == 0.0f) continue;  // masked keys (padding, the future)
        const float* value = vp + (n * length + t) * width;
        for (int64_t d = 0; d < width; ++d) row[d] += weight * value[d];
      }
    }
  });
  return out;
}

}  // namespace seqlab
