// The GRU recurrence with its hand-written backward pass (models/rnn/gru_sequence.h) against
// LibTorch's torch::gru, and the recurrent layer's per-sentence constant input against
// concatenating it to every step.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "models/rnn/gru_sequence.h"
#include "models/rnn/recurrent_layer.h"
#include "models/rnn/step_linear.h"

namespace {

void check_close(const torch::Tensor& a, const torch::Tensor& b) {
  INFO("max difference " << (a - b).abs().max().item<double>());
  CHECK(torch::allclose(a, b, 1e-5, 1e-5));
}

}  // namespace

TEST_CASE("gru_sequence equals torch::gru in outputs and in every gradient") {
  torch::manual_seed(11);
  const int64_t batch = 5, steps = 7, input = 6, hidden = 4;
  auto x0 = torch::randn({batch, steps, input});
  auto h00 = torch::randn({batch, hidden});
  auto w_ih0 = torch::randn({3 * hidden, input}) * 0.4,
       w_hh0 = torch::randn({3 * hidden, hidden}) * 0.4;
  auto b_ih0 = torch::randn({3 * hidden}) * 0.2, b_hh0 = torch::randn({3 * hidden}) * 0.2;
  auto upstream = torch::randn({batch, steps, hidden});
  auto leaves = [&] {
    std::vector<torch::Tensor> v;
    for (const auto& t : {x0, h00, w_ih0, w_hh0, b_ih0, b_hh0})
      v.push_back(t.clone().requires_grad_(true));
    return v;
  };
  auto ours = leaves(), theirs = leaves();
  auto out = seqlab::gru_sequence(torch::nn::functional::linear(ours[0], ours[2], ours[4]), ours[1],
                                  ours[3], ours[5]);
  auto expected = std::get<0>(torch::gru(theirs[0], theirs[1].unsqueeze(0),
                                         {theirs[2], theirs[3], theirs[4], theirs[5]}, true, 1, 0.0,
                                         false, false, true));
  check_close(out, expected);
  (out * upstream).sum().backward();
  (expected * upstream).sum().backward();
  for (size_t i = 0; i < ours.size(); ++i) {
    INFO("input " << i);
    check_close(ours[i].grad(), theirs[i].grad());
  }
  torch::NoGradGuard no_grad;  // the inference path runs the same recurrence without a graph
  check_close(
      seqlab::gru_sequence(torch::nn::functional::linear(x0, w_ih0, b_ih0), h00, w_hh0, b_hh0),
      expected);
}

TEST_CASE("a constant input projected once equals concatenating it to every step, for every cell") {
  for (const std::string cell : {"gru", "lstm", "rnn"}) {
    DYNAMIC_SECTION(cell) {
      torch::manual_seed(2);
      seqlab::RecurrentLayer layer(cell, 6 + 3, 5, /*layers=*/2, false, 0.0);
      auto x = torch::randn({4, 7, 6}), constant = torch::randn({4, 3});
      seqlab::RecurrentState initial{torch::randn({2, 4, 5}),
                                     cell == "lstm" ? torch::randn({2, 4, 5}) : torch::Tensor()};
      auto [with_constant, state_a] = layer->forward(x, initial, constant);
      auto [concatenated, state_b] =
          layer->forward(torch::cat({x, constant.unsqueeze(1).expand({4, 7, 3})}, -1), initial);
      check_close(with_constant, concatenated);
      if (cell ==
          "gru") {  // a stack of two: the same as LibTorch's own GRU module with these weights
        torch::nn::GRU reference(torch::nn::GRUOptions(9, 5).num_layers(2).batch_first(true));
        torch::NoGradGuard no_grad;
        auto ours = layer->named_parameters();
        for (auto& item : reference->named_parameters())
          item.value().copy_(ours["rnn." + item.key()]);
        auto [out, h] = reference->forward(
            torch::cat({x, constant.unsqueeze(1).expand({4, 7, 3})}, -1), initial.h);
        check_close(with_constant, out);
        check_close(state_a.h, h);
      }
      check_close(state_a.h, state_b.h);
      // Steps with the constant's gates equal the sequence.
      auto gates = layer->project_constant(constant);
      seqlab::RecurrentState state = initial;
      for (int64_t t = 0; t < 7; ++t) {
        auto [h, next] = layer->step(x.select(1, t), state, gates);
        check_close(h, concatenated.select(1, t));
        state = next;
      }
    }
  }
}

TEST_CASE("StepLinear's once-formed weight gradient equals linear's per-step ones") {
  torch::manual_seed(9);
  const int64_t batch = 5, steps = 6, in = 7, out = 9;
  auto weight = torch::randn({out, in}, torch::requires_grad());
  auto bias = torch::randn({out}, torch::requires_grad());
  auto x0 = torch::randn({batch, in}, torch::requires_grad());
  auto feedback = torch::randn({out, in}) * 0.3;
  auto run = [&](bool fused) {
    seqlab::StepLinear layer(weight, bias, steps, batch);
    torch::Tensor x = x0, total = torch::zeros({});
    for (int64_t t = 0; t < steps; ++t) {  // a recurrence: each step's input depends on the last
      auto y = fused ? layer.forward(x, t) : torch::nn::functional::linear(x, weight, bias);
      total = total + (y * y).sum() * 0.01;
      x = torch::tanh(torch::mm(y, feedback));
    }
    auto grads = torch::autograd::grad({total}, {weight, bias, x0});
    return std::make_pair(total.detach(), grads);
  };
  auto [fused_total, fused_grads] = run(true);
  auto [plain_total, plain_grads] = run(false);
  CHECK(torch::allclose(fused_total, plain_total, 1e-5, 1e-6));
  for (size_t i = 0; i < 3; ++i) CHECK(torch::allclose(fused_grads[i], plain_grads[i], 1e-4, 1e-5));
  seqlab::StepLinear layer(weight, bias, steps, batch);
  CHECK_THROWS_WITH(layer.forward(torch::zeros({batch + 1, in}), 0),
                    Catch::Contains("expected [5, 7]"));
}

TEST_CASE("the GRU's update-gate bias shift moves only z's input bias, in every layer") {
  torch::manual_seed(3);
  seqlab::RecurrentLayer gru("gru", 4, 8, 2, /*bidirectional=*/false, 0.0);
  std::vector<torch::Tensor> before;
  for (int64_t l = 0; l < 2; ++l) before.push_back(gru->layer_weights(l)[2].detach().clone());
  gru->shift_update_bias(3.0);
  for (int64_t l = 0; l < 2; ++l) {
    auto after = gru->layer_weights(l)[2];                                  // b_ih, gates r, z, n
    CHECK(torch::equal(after.narrow(0, 0, 8), before[l].narrow(0, 0, 8)));  // r
    CHECK(torch::allclose(after.narrow(0, 8, 8), before[l].narrow(0, 8, 8) + 3));  // z
    CHECK(torch::equal(after.narrow(0, 16, 8), before[l].narrow(0, 16, 8)));       // n
  }
  // An LSTM has no update gate: unchanged.
  seqlab::RecurrentLayer lstm("lstm", 4, 8, 1, false, 0.0);
  auto lstm_bias = lstm->layer_weights(0)[2].detach().clone();
  lstm->shift_update_bias(3.0);
  CHECK(torch::equal(lstm->layer_weights(0)[2], lstm_bias));
}
