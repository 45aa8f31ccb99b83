#include "models/rnn/gru_sequence.h"

#include <torch/torch.h>

namespace seqlab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using torch::indexing::Slice;

// The forward recurrence. Keeps what the backward pass reads: every state (hs [T + 1, B, H]),
// the gates r and z ([T, B, 2H]), the candidate n and the recurrent part of its gate.
struct Trace {
  torch::Tensor hs, rz, n, gh_n;
};

Trace run_forward(const torch::Tensor& gates, const torch::Tensor& h0, const torch::Tensor& w_hh,
                  const torch::Tensor& b_hh) {
  const int64_t steps = gates.size(0), batch = gates.size(1), hidden = h0.size(1);
  Trace tr;
  tr.hs = torch::empty({steps + 1, batch, hidden}, h0.options());
  tr.hs[0].copy_(h0);
  tr.rz = torch::empty({steps, batch, 2 * hidden}, h0.options());
  tr.n = torch::empty({steps, batch, hidden}, h0.options());
  tr.gh_n = torch::empty({steps, batch, hidden}, h0.options());
  auto gh = torch::empty({batch, 3 * hidden}, h0.options());
  const auto w_hh_t = w_hh.t();
  for (int64_t t = 0; t < steps; ++t) {
    auto h = tr.hs[t], g = gates[t], rz = tr.rz[t], n = tr.n[t], gh_n = tr.gh_n[t];
    auto h_next = tr.hs[t + 1];
    torch::addmm_out(gh, b_hh, h, w_hh_t);  // W_hh h + b_hh
    torch::add_out(rz, g.narrow(1, 0, 2 * hidden), gh.narrow(1, 0, 2 * hidden)).sigmoid_();
    gh_n.copy_(gh.narrow(1, 2 * hidden, hidden));
    torch::addcmul_out(n, g.narrow(1, 2 * hidden, hidden), rz.narrow(1, 0, hidden), gh_n).tanh_();
    torch::lerp_out(h_next, n, h, rz.narrow(1, hidden, hidden));  // n + z (h - n)
  }
  return tr;
}

struct GruSequence : public torch::autograd::Function<GruSequence> {
  // gates [T, B, 3H] time-major -> outputs [T, B, H]
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gates,
                               const torch::Tensor& h0, const torch::Tensor& w_hh,
                               const torch::Tensor& b_hh) {
    Trace tr = run_forward(gates, h0, w_hh, b_hh);
    ctx->saved_data["hs"] = tr.hs;
    ctx->saved_data["rz"] = tr.rz;
    ctx->saved_data["n"] = tr.n;
    ctx->saved_data["gh_n"] = tr.gh_n;
    ctx->saved_data["w_hh"] = w_hh;
    return tr.hs.narrow(0, 1, gates.size(0)).clone();
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto hs = ctx->saved_data["hs"].toTensor(), rz = ctx->saved_data["rz"].toTensor();
    auto n_all = ctx->saved_data["n"].toTensor(), gh_n_all = ctx->saved_data["gh_n"].toTensor();
    auto w_hh = ctx->saved_data["w_hh"].toTensor();
    const int64_t steps = rz.size(0), batch = rz.size(1), hidden = hs.size(2);
    const auto& d_out = grads[0];  // [T, B, H] (may be undefined)
    // Gradients of the recurrent gates W_hh h + b_hh (r, z: also those of the input gates) and of
    // the input gate of n, per step.
    auto d_gh = torch::empty({steps, batch, 3 * hidden}, hs.options());
    auto d_gi_n = torch::empty({steps, batch, hidden}, hs.options());
    auto dh = torch::zeros({batch, hidden}, hs.options());
    auto scratch = torch::empty({batch, hidden}, hs.options());
    for (int64_t t = steps - 1; t >= 0; --t) {
      if (d_out.defined()) dh.add_(d_out[t]);
      auto r = rz[t].narrow(1, 0, hidden), z = rz[t].narrow(1, hidden, hidden);
      auto n = n_all[t], h = hs[t];
      auto dr = d_gh[t].narrow(1, 0, hidden), dz = d_gh[t].narrow(1, hidden, hidden);
      auto dgh_n = d_gh[t].narrow(1, 2 * hidden, hidden), dn = d_gi_n[t];
      // h' = n + z (h - n): dz = dh (h - n), dn = dh (1 - z), dh_prev = dh z (+ through W_hh)
      torch::sub_out(dz, h, n).mul_(dh);
      torch::sigmoid_backward_out(dz, dz, z);
      torch::mul_out(scratch, dh, z);
      torch::sub_out(dn, dh, scratch);
      torch::tanh_backward_out(dn, dn, n);  // n = tanh(gi_n + r gh_n)
      torch::mul_out(dgh_n, dn, r);
      torch::mul_out(dr, dn, gh_n_all[t]);
      torch::sigmoid_backward_out(dr, dr, r);
      dh.copy_(scratch).addmm_(d_gh[t], w_hh);  // dh z + d_gh W_hh
    }
    auto flat = d_gh.view({steps * batch, 3 * hidden});
    auto d_w_hh = flat.t().mm(hs.narrow(0, 0, steps).reshape({steps * batch, hidden}));
    auto d_b_hh = flat.sum(0);
    auto d_gates = torch::cat({d_gh.narrow(2, 0, 2 * hidden), d_gi_n}, 2);
    return {d_gates, dh, d_w_hh, d_b_hh};
  }
};

}  // namespace

torch::Tensor gru_sequence(const torch::Tensor& gates, const torch::Tensor& h0,
                           const torch::Tensor& w_hh, const torch::Tensor& b_hh) {
  TORCH_CHECK(gates.dim() == 3 && h0.dim() == 2 && gates.size(0) == h0.size(0) &&
                  gates.size(2) == 3 * h0.size(1) && w_hh.size(0) == gates.size(2) &&
                  w_hh.size(1) == h0.size(1),
              "gru_sequence: gates [B, T, 3H], h0 [B, H], w_hh [3H, H] expected, got ",
              gates.sizes(), ", ", h0.sizes(), ", ", w_hh.sizes());
  auto time_major = gates.transpose(0, 1).contiguous();
  if (!torch::GradMode::is_enabled() || !(gates.requires_grad() || h0.requires_grad() ||
                                          w_hh.requires_grad() || b_hh.requires_grad())) {
    Trace tr = run_forward(time_major, h0, w_hh, b_hh);
    return tr.hs.narrow(0, 1, gates.size(1)).transpose(0, 1);
  }
  return GruSequence::apply(time_major, h0.contiguous(), w_hh, b_hh).transpose(0, 1);
}

}  // namespace seqlab
