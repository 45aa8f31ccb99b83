#include "models/rnn/step_linear.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace seqlab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The head turns the weight and bias into a token that every step's output depends on, so
// autograd runs its backward after every step's; the steps fill the buffers it reads.
struct StepLinearHead : public torch::autograd::Function<StepLinearHead> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& inputs,
                               const torch::Tensor& grads) {
    ctx->saved_data["inputs"] = inputs;
    ctx->saved_data["grads"] = grads;
    ctx->saved_data["bias"] = bias.defined();
    return torch::zeros({}, weight.options());
  }
  static variable_list backward(AutogradContext* ctx, variable_list) {
    auto inputs = ctx->saved_data["inputs"].toTensor(), grads = ctx->saved_data["grads"].toTensor();
    auto g = grads.view({-1, grads.size(2)});                       // [T B, N]
    auto dw = torch::mm(g.t(), inputs.view({-1, inputs.size(2)}));  // [N, K]
    torch::Tensor db;
    if (ctx->saved_data["bias"].toBool()) db = g.sum(0);
    return {dw, db, torch::Tensor(), torch::Tensor()};
  }
};

struct StepLinearStep : public torch::autograd::Function<StepLinearStep> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& token, const torch::Tensor& grads,
                               int64_t step) {
    ctx->saved_data["weight"] = weight;
    ctx->saved_data["grads"] = grads;
    ctx->saved_data["step"] = step;
    auto y = bias.defined() ? torch::addmm(bias, x, weight.t()) : torch::mm(x, weight.t());
    return y + token;  // + 0: the edge to the head
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto& g = grads[0];  // [B, N]
    ctx->saved_data["grads"].toTensor().select(0, ctx->saved_data["step"].toInt()).copy_(g);
    torch::Tensor dx;
    if (ctx->needs_input_grad(0)) dx = torch::mm(g, ctx->saved_data["weight"].toTensor());
    return {dx,
            torch::Tensor(),
            torch::Tensor(),
            torch::zeros({}, g.options()),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

StepLinear::StepLinear(const torch::Tensor& weight, const torch::Tensor& bias, int64_t steps,
                       int64_t batch)
    : weight_(weight), bias_(bias), steps_(steps) {
  if (torch::GradMode::is_enabled() && weight.requires_grad() && weight.device().is_cpu()) {
    auto options = weight.options().requires_grad(false);
    inputs_ = torch::zeros({steps, batch, weight.size(1)}, options);
    grads_ = torch::zeros({steps, batch, weight.size(0)}, options);
    token_ = StepLinearHead::apply(weight, bias, inputs_, grads_);
  }
}

torch::Tensor StepLinear::forward(const torch::Tensor& x, int64_t step) {
  if (!token_.defined()) return torch::nn::functional::linear(x, weight_, bias_);
  if (step < 0 || step >= steps_ || x.sizes() != inputs_.select(0, 0).sizes())
    throw Error(fmt::format("StepLinear: step {} of {} with input {} (expected [{}, {}])", step,
                            steps_, fmt::join(x.sizes(), "x"), inputs_.size(1), inputs_.size(2)));
  inputs_.select(0, step).copy_(x.detach());
  return StepLinearStep::apply(x, weight_.detach(), bias_.defined() ? bias_.detach() : bias_,
                               token_, grads_, step);
}

}  // namespace seqlab
