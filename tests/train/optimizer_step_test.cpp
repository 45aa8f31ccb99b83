// The fused clip + AdamW update (train/optimizer_step.h) against clip_grad_norm_ + AdamW::step.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "train/optimizer_step.h"

namespace {

std::vector<torch::Tensor> make_parameters() {
  torch::manual_seed(2);
  return {torch::randn({33, 17}, torch::requires_grad()),
          torch::randn({70001}, torch::requires_grad()), torch::randn({5}, torch::requires_grad())};
}

// Gradients of a fixed function of the parameters, scaled so that clipping does or does not act.
void backward(const std::vector<torch::Tensor>& parameters, double scale) {
  for (const auto& p : parameters) p.mutable_grad() = torch::Tensor();
  torch::Tensor loss = torch::zeros({});
  for (const auto& p : parameters) loss = loss + (torch::sin(p) * p).sum() * scale;
  loss.backward();
}

}  // namespace

TEST_CASE("fused clipping and AdamW equal clip_grad_norm_ and AdamW::step, and share its state") {
  for (double scale : {1e-4, 10.0}) {  // the global norm below and above the clip
    DYNAMIC_SECTION("gradient scale " << scale) {
      auto fused_params = make_parameters(), plain_params = make_parameters();
      auto options = torch::optim::AdamWOptions(3e-3).weight_decay(0.05).betas({0.9, 0.98});
      torch::optim::AdamW fused(fused_params, options), plain(plain_params, options);
      for (int step = 0; step < 4; ++step) {
        backward(fused_params, scale);
        seqlab::clip_and_step(fused, fused_params, 1.0);
        backward(plain_params, scale);
        torch::nn::utils::clip_grad_norm_(plain_params, 1.0);
        plain.step();
      }
      // Continuing with LibTorch's own step from the fused state: the state is AdamW's.
      backward(fused_params, scale);
      fused.step();
      backward(plain_params, scale);
      plain.step();
      for (size_t i = 0; i < fused_params.size(); ++i)
        CHECK(torch::allclose(fused_params[i], plain_params[i], 1e-6,
                              1e-6));  // a few roundings apart
      auto key = [](const torch::Tensor& p) {
        return c10::guts::to_string(p.unsafeGetTensorImpl());
      };
      auto& state =
          static_cast<torch::optim::AdamWParamState&>(*fused.state().at(key(fused_params[0])));
      CHECK(state.step() == 5);
    }
  }
}

TEST_CASE("other optimizers take the plain clip and step") {
  auto parameters = make_parameters();
  torch::optim::SGD sgd(parameters, torch::optim::SGDOptions(0.1));
  backward(parameters, 10.0);
  auto before = parameters[2].detach().clone();
  seqlab::clip_and_step(sgd, parameters, 1.0);
  CHECK_FALSE(parameters[2].equal(before));
  CHECK(sgd.param_groups().size() == 1);
}
