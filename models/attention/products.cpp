// The batched products of attention, with a fused path for one query per row (see attention.h):
// the forward kernels below, and an autograd function around them so that training through one
// decoder step at a time (RNN attention decoders) gets them too.
#include <ATen/Parallel.h>
#include <cblas.h>
#include <torch/torch.h>

#include "models/attention/attention.h"

namespace seqlab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One query per row, float32 on the CPU: where the fused kernels apply.
bool single_query(const torch::Tensor& a, const torch::Tensor& b) {
  return a.dim() == 3 && b.dim() == 3 && a.size(1) == 1 && a.size(0) == b.size(0) && a.device().is_cpu() &&
         b.device().is_cpu() && a.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat;
}

bool needs_graph(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
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

// q [N, 1, D], k [N, T, D] -> [N, 1, T]
torch::Tensor scores_kernel(const torch::Tensor& q, const torch::Tensor& k) {
  const auto query = q.contiguous(), keys = k.contiguous();
  const int64_t rows = keys.size(0), length = keys.size(1), width = keys.size(2);
  auto out = torch::empty({rows, 1, length}, query.options());
  const float* qp = query.data_ptr<float>();
  const float* kp = keys.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, rows, grain(length * width), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n)
      for (int64_t t = 0; t < length; ++t) op[n * length + t] = dot(qp + n * width, kp + (n * length + t) * width, width);
  });
  return out;
}

// w [N, 1, T], v [N, T, D] -> [N, 1, D]
torch::Tensor context_kernel(const torch::Tensor& w, const torch::Tensor& v) {
  const auto weights = w.contiguous(), values = v.contiguous();
  const int64_t rows = values.size(0), length = values.size(1), width = values.size(2);
  auto out = torch::zeros({rows, 1, width}, values.options());
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

// s = q k^T: ds/dq = g k (a context product), ds/dk = g^T q (an outer product per row).
struct QueryKeyProducts : public torch::autograd::Function<QueryKeyProducts> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k) {
    ctx->save_for_backward({q, k});
    return scores_kernel(q, k);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& g = grads[0];  // [N, 1, T]
    torch::Tensor dq, dk;
    if (ctx->needs_input_grad(0)) dq = context_kernel(g, saved[1]);
    if (ctx->needs_input_grad(1)) dk = g.transpose(1, 2) * saved[0];  // [N, T, 1] x [N, 1, D]
    return {dq, dk};
  }
};

// c = w v: dc/dw = g v^T (a score product), dc/dv = w^T g (an outer product per row).
struct WeightedValues : public torch::autograd::Function<WeightedValues> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& w, const torch::Tensor& v) {
    ctx->save_for_backward({w, v});
    return context_kernel(w, v);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& g = grads[0];  // [N, 1, D]
    torch::Tensor dw, dv;
    if (ctx->needs_input_grad(0)) dw = scores_kernel(g, saved[1]);
    if (ctx->needs_input_grad(1)) dv = saved[0].transpose(1, 2) * g;  // [N, T, 1] x [N, 1, D]
    return {dw, dv};
  }
};

// Many small products at once: C[n] = A[n] op(B[n]) with op = transpose when `b_transposed`,
// or C[n] = A[n]^T B[n] when `a_transposed`, float32 on the CPU. LibTorch's CPU bmm (without
// MKL) calls the BLAS once per matrix through the dispatcher, one after another, each call using
// every thread on a 25 x 64 x 25 product; here the rows are split across threads and each thread
// calls sgemm directly for its matrices (single-threaded inside the parallel region).
torch::Tensor small_gemms(const torch::Tensor& a_in, const torch::Tensor& b_in, bool a_transposed,
                          bool b_transposed) {
  const auto a = a_in.contiguous(), b = b_in.contiguous();
  const int64_t n = a.size(0);
  const int64_t m = a_transposed ? a.size(2) : a.size(1), k = a_transposed ? a.size(1) : a.size(2);
  const int64_t p = b_transposed ? b.size(1) : b.size(2);
  auto c = torch::empty({n, m, p}, a.options());
  const float* ap = a.data_ptr<float>();
  const float* bp = b.data_ptr<float>();
  float* cp = c.data_ptr<float>();
  const int64_t a_step = a.size(1) * a.size(2), b_step = b.size(1) * b.size(2), c_step = m * p;
  const int lda = static_cast<int>(a.size(2)), ldb = static_cast<int>(b.size(2)), ldc = static_cast<int>(p);
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      cblas_sgemm(CblasRowMajor, a_transposed ? CblasTrans : CblasNoTrans, b_transposed ? CblasTrans : CblasNoTrans,
                  static_cast<int>(m), static_cast<int>(p), static_cast<int>(k), 1.0f, ap + i * a_step, lda,
                  bp + i * b_step, ldb, 0.0f, cp + i * c_step, ldc);
  });
  return c;
}

// Where the batch of small products pays: float32 CPU tensors of three dimensions, enough
// matrices to share among the threads, each small enough that one BLAS call cannot use them all.
bool small_batch(const torch::Tensor& a, const torch::Tensor& b) {
  return a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.device().is_cpu() && b.device().is_cpu() &&
         a.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat && a.numel() > 0 && b.numel() > 0 &&
         a.size(0) >= 2 * at::get_num_threads() && a.size(1) * a.size(2) <= (1 << 16) &&
         b.size(1) * b.size(2) <= (1 << 16);
}

// q k^T [N, Tq, Tk] and its gradients dq = g k, dk = g^T q.
struct SmallQueryKey : public torch::autograd::Function<SmallQueryKey> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k) {
    ctx->save_for_backward({q, k});
    return small_gemms(q, k, false, true);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto g = grads[0].contiguous();
    torch::Tensor dq, dk;
    if (ctx->needs_input_grad(0)) dq = small_gemms(g, saved[1], false, false);
    if (ctx->needs_input_grad(1)) dk = small_gemms(g, saved[0], true, false);
    return {dq, dk};
  }
};

// w v [N, Tq, D] and its gradients dw = g v^T, dv = w^T g.
struct SmallWeighted : public torch::autograd::Function<SmallWeighted> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& w, const torch::Tensor& v) {
    ctx->save_for_backward({w, v});
    return small_gemms(w, v, false, false);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto g = grads[0].contiguous();
    torch::Tensor dw, dv;
    if (ctx->needs_input_grad(0)) dw = small_gemms(g, saved[1], false, true);
    if (ctx->needs_input_grad(1)) dv = small_gemms(saved[0], g, true, false);
    return {dw, dv};
  }
};

}  // namespace

torch::Tensor query_key_products(const torch::Tensor& q, const torch::Tensor& k) {
  if (!single_query(q, k) || q.size(2) != k.size(2)) {
    if (small_batch(q, k) && q.size(2) == k.size(2))
      return needs_graph(q, k) ? SmallQueryKey::apply(q, k) : small_gemms(q, k, false, true);
    return torch::matmul(q, k.transpose(1, 2));
  }
  return needs_graph(q, k) ? QueryKeyProducts::apply(q, k) : scores_kernel(q, k);
}

torch::Tensor weighted_values(const torch::Tensor& w, const torch::Tensor& v) {
  if (!single_query(w, v) || w.size(2) != v.size(1)) {
    if (small_batch(w, v) && w.size(2) == v.size(1))
      return needs_graph(w, v) ? SmallWeighted::apply(w, v) : small_gemms(w, v, false, false);
    return torch::matmul(w, v);
  }
  return needs_graph(w, v) ? WeightedValues::apply(w, v) : context_kernel(w, v);
}

}  // namespace seqlab
