// The batched products of attention, with a fused path for one query per row (see attention.h):
// the forward kernels below, and an autograd function around them so that training through one
// decoder step at a time (RNN attention decoders) gets them too.
#include <ATen/Parallel.h>
#include <cblas.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/attention/attention.h"

namespace seqlab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One query per row, float32 on the CPU: where the fused kernels apply.
bool single_query(const torch::Tensor& a, const torch::Tensor& b) {
  return a.dim() == 3 && b.dim() == 3 && a.size(1) == 1 && a.size(0) == b.size(0) &&
         a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == torch::kFloat &&
         b.scalar_type() == torch::kFloat;
}

bool needs_graph(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
}

// Rows per parallel task: enough work per task to amortise the thread hand-off.
int64_t grain(int64_t work_per_row) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work_per_row));
}

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
      for (int64_t t = 0; t < length; ++t)
        op[n * length + t] = dot(qp + n * width, kp + (n * length + t) * width, width);
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
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& k) {
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
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& w,
                               const torch::Tensor& v) {
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
  const int lda = static_cast<int>(a.size(2)), ldb = static_cast<int>(b.size(2)),
            ldc = static_cast<int>(p);
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      cblas_sgemm(CblasRowMajor, a_transposed ? CblasTrans : CblasNoTrans,
                  b_transposed ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                  static_cast<int>(p), static_cast<int>(k), 1.0f, ap + i * a_step, lda,
                  bp + i * b_step, ldb, 0.0f, cp + i * c_step, ldc);
  });
  return c;
}

// Where the batch of small products pays: float32 CPU tensors of three dimensions, enough
// matrices to share among the threads, each small enough that one BLAS call cannot use them all.
bool small_batch(const torch::Tensor& a, const torch::Tensor& b) {
  return a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.device().is_cpu() &&
         b.device().is_cpu() && a.scalar_type() == torch::kFloat &&
         b.scalar_type() == torch::kFloat && a.numel() > 0 && b.numel() > 0 &&
         a.size(0) >= 2 * at::get_num_threads() && a.size(1) * a.size(2) <= (1 << 16) &&
         b.size(1) * b.size(2) <= (1 << 16);
}

// q k^T [N, Tq, Tk] and its gradients dq = g k, dk = g^T q.
struct SmallQueryKey : public torch::autograd::Function<SmallQueryKey> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& k) {
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
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& w,
                               const torch::Tensor& v) {
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

// exp(y) for 0 <= y <= 20 and tanh, branch-free so that the loops below vectorise: Cody-Waite
// reduction y = n ln2 + r, |r| <= ln2 / 2, a degree-6 Taylor polynomial (relative error below
// 2e-7), and 2^n from the exponent bits. tanh(x) = sign(x) (1 - 2 / (e^{2|x|} + 1)): within
// 1.2e-7 of the true value everywhere (|x| >= 9 rounds to +-1 in float anyway).
inline float exp_small(float y) {
  const float shifted = y * 1.44269504f + 12582912.0f;  // adding 1.5 * 2^23 rounds to an integer
  const float n = shifted - 12582912.0f;
  const float r = (y - n * 0.693145752f) - n * 1.42860677e-6f;
  const float p =
      1.0f +
      r * (1.0f + r * (0.5f + r * (0.166666667f + r * (0.0416666667f + r * (0.00833333333f +
                                                                            r * 0.00138888889f)))));
  // n clamped to the exponents a float has; a NaN input goes to -127 (converting NaN to an integer
  // is undefined behaviour) and comes out NaN through p.
  const float exponent = n > -127.0f ? (n < 128.0f ? n : 128.0f) : -127.0f;
  return p * __builtin_bit_cast(float, (static_cast<int32_t>(exponent) + 127) << 23);
}

inline float tanh_fast(float x) {
  const auto bits = __builtin_bit_cast(uint32_t, x);
  float a = __builtin_bit_cast(float, bits & 0x7FFFFFFFu);
  a = a > 9.0f ? 9.0f : a;  // NaN stays NaN
  const float t = 1.0f - 2.0f / (exp_small(2.0f * a) + 1.0f);
  return __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, t) | (bits & 0x80000000u));
}

// One query row against `length` keys: out[s] = sum_a v[a] tanh(q[a] + k[s, a]).
__attribute__((target_clones("avx2", "default"))) void additive_row(const float* q, const float* k,
                                                                    const float* v, float* out,
                                                                    int64_t length, int64_t width) {
  for (int64_t s = 0; s < length; ++s) {
    const float* key = k + s * width;
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // independent partial sums: vector lanes
    int64_t a = 0;
    for (; a + 8 <= width; a += 8)
      for (int j = 0; j < 8; ++j) lanes[j] += v[a + j] * tanh_fast(q[a + j] + key[a + j]);
    float acc = 0.0f;
    for (; a < width; ++a) acc += v[a] * tanh_fast(q[a] + key[a]);
    for (float lane : lanes) acc += lane;
    out[s] = acc;
  }
}

// Its gradient for one query row: with p = g[s] v (1 - t^2), dq += p, dk[s] += p, dv += g[s] t.
__attribute__((target_clones("avx2", "default"))) void additive_row_backward(
    const float* __restrict q, const float* __restrict k, const float* __restrict v,
    const float* __restrict g, float* __restrict dq, float* __restrict dk, float* __restrict dv,
    int64_t length, int64_t width) {
  for (int64_t s = 0; s < length; ++s) {
    const float c = g[s];
    if (c == 0.0f) continue;  // masked keys: the softmax passes them no gradient
    const float* __restrict key = k + s * width;
    float* __restrict dkey = dk + s * width;
    for (int64_t a = 0; a < width; ++a) {
      const float t = tanh_fast(q[a] + key[a]);
      const float p = c * v[a] * (1.0f - t * t);
      dq[a] += p;
      dkey[a] += p;
      dv[a] += c * t;
    }
  }
}

struct AdditiveScores : public torch::autograd::Function<AdditiveScores> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& wq_in,
                               const torch::Tensor& uk_in, const torch::Tensor& v_in) {
    const auto wq = wq_in.contiguous(), uk = uk_in.contiguous(), v = v_in.contiguous();
    ctx->save_for_backward({wq, uk, v});
    const int64_t batch = wq.size(0), queries = wq.size(1), length = uk.size(1), width = uk.size(2);
    auto out = torch::empty({batch, queries, length}, wq.options());
    const float *qp = wq.data_ptr<float>(), *kp = uk.data_ptr<float>(), *vp = v.data_ptr<float>();
    float* op = out.data_ptr<float>();
    at::parallel_for(0, batch * queries, grain(length * width * 4),
                     [&](int64_t begin, int64_t end) {
                       for (int64_t r = begin; r < end; ++r)
                         additive_row(qp + r * width, kp + (r / queries) * length * width, vp,
                                      op + r * length, length, width);
                     });
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &wq = saved[0], &uk = saved[1], &v = saved[2];
    const auto g = grads[0].contiguous();
    const int64_t batch = wq.size(0), queries = wq.size(1), length = uk.size(1), width = uk.size(2);
    auto dq = torch::zeros_like(wq), dk = torch::zeros_like(uk);
    auto dv_parts = torch::zeros({at::get_num_threads(), width}, v.options());
    const float *qp = wq.data_ptr<float>(), *kp = uk.data_ptr<float>(), *vp = v.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float *dqp = dq.data_ptr<float>(), *dkp = dk.data_ptr<float>(),
          *dvp = dv_parts.data_ptr<float>();
    // Split by batch row: a row's keys gradient is written by its own queries only.
    at::parallel_for(
        0, batch, grain(queries * length * width * 8), [&](int64_t begin, int64_t end) {
          float* dv = dvp + at::get_thread_num() * width;
          for (int64_t b = begin; b < end; ++b)
            for (int64_t i = 0; i < queries; ++i) {
              const int64_t r = b * queries + i;
              additive_row_backward(qp + r * width, kp + b * length * width, vp, gp + r * length,
                                    dqp + r * width, dkp + b * length * width, dv, length, width);
            }
        });
    return {dq, dk, dv_parts.sum(0).view_as(v)};
  }
};

// StepMixer's graph: the head turns the rows into a token that every step's mix depends on, so
// autograd runs the head's backward after every step's; the steps' backward passes fill the
// buffers, and the head turns them into the rows' gradient.
struct MixerHead : public torch::autograd::Function<MixerHead> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& rows,
                               const torch::Tensor& weights, const torch::Tensor& grads) {
    ctx->saved_data["weights"] = weights;
    ctx->saved_data["grads"] = grads;
    return torch::zeros({}, rows.options());
  }
  static variable_list backward(AutogradContext* ctx, variable_list) {
    auto weights = ctx->saved_data["weights"].toTensor(),
         grads = ctx->saved_data["grads"].toTensor();
    return {torch::bmm(weights.transpose(1, 2), grads), torch::Tensor(),
            torch::Tensor()};  // [B, S, D]
  }
};

struct MixStep : public torch::autograd::Function<MixStep> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& w,
                               const torch::Tensor& rows, const torch::Tensor& token,
                               const torch::Tensor& grads, int64_t step) {
    ctx->save_for_backward({rows});
    ctx->saved_data["grads"] = grads;
    ctx->saved_data["step"] = step;
    return context_kernel(w, rows) + token;  // + 0: the edge to the head
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto g = grads[0];  // [B, 1, D]
    torch::Tensor dw;
    if (ctx->needs_input_grad(0)) dw = scores_kernel(g, ctx->get_saved_variables()[0]);
    ctx->saved_data["grads"]
        .toTensor()
        .select(1, ctx->saved_data["step"].toInt())
        .copy_(g.squeeze(1));
    return {dw, torch::Tensor(), torch::zeros({}, g.options()), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

StepMixer::StepMixer(const torch::Tensor& rows, int64_t steps) : rows_(rows), steps_(steps) {
  if (rows.dim() != 3) throw Error("StepMixer: rows must be [B, S, D]");
  if (torch::GradMode::is_enabled() && rows.requires_grad() && rows.device().is_cpu() &&
      rows.scalar_type() == torch::kFloat) {
    weights_ =
        torch::zeros({rows.size(0), steps, rows.size(1)}, rows.options().requires_grad(false));
    grads_ = torch::zeros({rows.size(0), steps, rows.size(2)}, rows.options().requires_grad(false));
    token_ = MixerHead::apply(rows, weights_, grads_);
  }
}

torch::Tensor StepMixer::mix(const torch::Tensor& weights, int64_t step) {
  if (!token_.defined() || !single_query(weights, rows_) || weights.size(2) != rows_.size(1))
    return weighted_values(weights, rows_);
  if (step < 0 || step >= steps_) throw Error("StepMixer::mix: step outside the recurrence");
  weights_.select(1, step).copy_(weights.detach().squeeze(1));
  return MixStep::apply(weights, rows_.detach(), token_, grads_, step);
}

torch::Tensor additive_scores(const torch::Tensor& wq, const torch::Tensor& uk,
                              const torch::Tensor& v) {
  const bool fused = wq.dim() == 3 && uk.dim() == 3 && wq.size(0) == uk.size(0) &&
                     wq.size(2) == uk.size(2) && v.numel() == wq.size(2) && wq.device().is_cpu() &&
                     uk.device().is_cpu() && wq.scalar_type() == torch::kFloat &&
                     uk.scalar_type() == torch::kFloat && v.scalar_type() == torch::kFloat;
  if (!fused)  // [B, Tq, 1, A] + [B, 1, S, A] -> [B, Tq, S]
    return torch::matmul(torch::tanh(wq.unsqueeze(2) + uk.unsqueeze(1)), v.reshape({-1, 1}))
        .squeeze(-1);
  return AdditiveScores::apply(wq, uk, v);
}

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
