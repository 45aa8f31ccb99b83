#include "models/output_loss.h"

#include <torch/torch.h>

namespace seqlab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Loss and (when asked) the gradients of features, weight and bias, computed in one pass over
// the rows. Gradients are for a loss scale of 1; backward multiplies them by the incoming one.
struct Pass {
  torch::Tensor loss, dx, dw, db;
};

Pass run_pass(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
              const torch::Tensor& y, double eps, int64_t chunk, bool want_dx, bool want_dw,
              bool want_db) {
  const int64_t rows = x.size(0), vocab = w.size(0);
  Pass out;
  out.loss = torch::zeros({}, x.options());
  if (want_dx) out.dx = torch::empty_like(x);
  if (want_dw) out.dw = torch::zeros_like(w);
  if (want_db) out.db = torch::zeros({vocab}, x.options());
  if (rows == 0) return out;
  const auto wt = w.t();  // [F, V]
  const double keep = 1.0 - eps, spread = eps / static_cast<double>(vocab);
  // sum_j z_j = x . (sum_j w_j) + sum_j b_j: the smoothing term's logit sum without a pass.
  torch::Tensor w_sum, b_sum;
  if (eps > 0) {
    w_sum = w.sum(0);  // [F]
    b_sum = b.defined() ? b.sum() : torch::zeros({}, x.options());
  }
  auto buffer = torch::empty({std::min(chunk, rows), vocab}, x.options());
  for (int64_t start = 0; start < rows; start += chunk) {
    const int64_t n = std::min(chunk, rows - start);
    auto xc = x.narrow(0, start, n);
    auto yc = y.narrow(0, start, n).unsqueeze(1);  // [n, 1]
    auto z = buffer.narrow(0, 0, n);               // [n, V], in cache
    if (b.defined())
      torch::addmm_out(z, b, xc, wt);
    else
      torch::mm_out(z, xc, wt);
    auto gold = z.gather(1, yc).squeeze(1);              // z_y [n]
    auto [top, top_index] = z.max(1, /*keepdim=*/true);  // [n, 1]
    at::_softmax_out(z, z, 1, false);                    // p, in place
    // log-sum-exp from the most likely word's probability (>= 1/V, never underflows).
    auto lse = (top - z.gather(1, top_index).log()).squeeze(1);  // [n]
    auto row_loss = lse - keep * gold;
    if (eps > 0) row_loss = row_loss - spread * (xc.mv(w_sum) + b_sum);
    out.loss.add_(row_loss.sum());
    // d loss / d z = p - keep onehot(y) - spread; here only p, the rest in closed form below.
    if (want_dx) {
      auto dxc = out.dx.narrow(0, start, n);
      torch::mm_out(dxc, z, w);  // [n, V] x [V, F]
    }
    if (want_dw) out.dw.addmm_(z.t(), xc);  // [V, n] x [n, F]
    if (want_db) out.db.add_(z.sum(0));
  }
  if (want_dx) {
    out.dx.sub_(w.index_select(0, y), keep);
    if (eps > 0) out.dx.sub_(w_sum.unsqueeze(0), spread);
  }
  if (want_dw) {
    out.dw.index_add_(0, y, x, -keep);
    if (eps > 0) out.dw.sub_(x.sum(0).unsqueeze(0), spread);
  }
  if (want_db) {
    out.db.index_add_(0, y, torch::full({rows}, -keep, x.options()));
    if (eps > 0) out.db.sub_(spread * static_cast<double>(rows));
  }
  return out;
}

struct FusedProjectionLoss : public torch::autograd::Function<FusedProjectionLoss> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, const torch::Tensor& y, double eps,
                               int64_t chunk) {
    const bool has_bias = b.defined();
    Pass pass = run_pass(x, w, b, y, eps, chunk, x.requires_grad(), w.requires_grad(),
                         has_bias && b.requires_grad());
    ctx->saved_data["dx"] = pass.dx;
    ctx->saved_data["dw"] = pass.dw;
    ctx->saved_data["db"] = pass.db;
    return pass.loss;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto& g = grads[0];  // scalar
    auto scaled = [&](const char* name) {
      auto d = ctx->saved_data[name].toTensor();
      return d.defined() ? d * g : torch::Tensor();
    };
    return {scaled("dx"),    scaled("dw"),    scaled("db"),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fused_projection_loss_sum(const torch::Tensor& features, const torch::Tensor& weight,
                                        const torch::Tensor& bias, const torch::Tensor& targets,
                                        double smoothing, int64_t chunk_rows) {
  TORCH_CHECK(features.dim() == 2 && weight.dim() == 2 && features.size(1) == weight.size(1),
              "fused_projection_loss_sum: features [N, F] and weight [V, F] expected, got ",
              features.sizes(), " and ", weight.sizes());
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == features.size(0),
              "fused_projection_loss_sum: one target per feature row expected, got ",
              targets.sizes(), " for ", features.sizes());
  const int64_t vocab = weight.size(0);
  // About 8 MB of logits per chunk: in a core's share of L3, and enough rows for the GEMMs.
  const int64_t chunk =
      chunk_rows > 0 ? chunk_rows : std::max<int64_t>(16, (int64_t{2} << 20) / vocab);
  const auto x = features.contiguous();
  const auto y = targets.to(torch::kLong).contiguous();
  const bool graph =
      torch::GradMode::is_enabled() &&
      (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  if (!graph) return run_pass(x, weight, bias, y, smoothing, chunk, false, false, false).loss;
  return FusedProjectionLoss::apply(x, weight, bias, y, smoothing, chunk);
}

torch::Tensor output_loss_sum(OutputLayerImpl& output, const torch::Tensor& features,
                              const torch::Tensor& targets, double smoothing, int64_t pad) {
  auto x = features.reshape({-1, features.size(-1)});
  auto y = targets.reshape(-1);
  TORCH_CHECK(x.size(0) == y.size(0), "output_loss_sum: ", x.size(0), " feature rows for ",
              y.size(0), " targets");
  if (x.scalar_type() !=
      torch::kFloat) {  // the fused kernels are float32; anything else the plain way
    namespace F = torch::nn::functional;
    return F::cross_entropy(
        output.forward(x), y,
        F::CrossEntropyFuncOptions().ignore_index(pad).label_smoothing(smoothing).reduction(
            torch::kSum));
  }
  auto real = y != pad;
  auto rows = real.nonzero().squeeze(1);
  if (rows.size(0) < y.size(0)) {  // padding never reaches the projection
    x = x.index_select(0, rows);
    y = y.index_select(0, rows);
  }
  return fused_projection_loss_sum(x, output.weight(), output.bias(), y, smoothing);
}

}  // namespace seqlab
