// seqlab's hashed dropout (models/dropout.h): torch::nn::Dropout's distribution and scaling, the
// same mask in the backward pass, fixed by torch::manual_seed.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "models/dropout.h"

TEST_CASE(
    "hashed dropout zeroes a fraction p, scales the rest by 1 / (1 - p), and is the identity in "
    "eval") {
  for (double p : {0.1, 0.5, 0.9}) {
    DYNAMIC_SECTION("p = " << p) {
      torch::manual_seed(0);
      seqlab::Dropout layer(p);
      auto x = torch::rand({1000, 1000}) + 0.5;  // no zeros of its own
      auto y = layer(x);
      const double dropped = (y == 0).to(torch::kDouble).mean().item<double>();
      CHECK(dropped == Approx(p).margin(0.002));  // 1e6 draws: the standard error is below 5e-4
      auto kept = y != 0;
      CHECK(torch::allclose(y.masked_select(kept), x.masked_select(kept) / (1 - p)));
      // Neighbouring elements are independent: both dropped as often as p^2.
      auto both = (y.narrow(1, 0, 999) == 0).logical_and(y.narrow(1, 1, 999) == 0);
      CHECK(both.to(torch::kDouble).mean().item<double>() == Approx(p * p).margin(0.002));
      layer->eval();
      CHECK(layer(x).equal(x));
    }
  }
}

TEST_CASE(
    "hashed dropout's gradient uses the forward mask, and torch::manual_seed fixes the masks") {
  auto x = torch::rand({64, 33}).add_(0.5).requires_grad_(true);
  torch::manual_seed(7);
  auto y = seqlab::dropout(x, 0.3, true);
  auto upstream = torch::randn({64, 33});
  (y * upstream).sum().backward();
  auto kept = (y != 0).to(torch::kFloat);
  CHECK(torch::allclose(x.grad(), upstream * kept / 0.7));
  torch::manual_seed(7);
  CHECK(seqlab::dropout(x.detach(), 0.3, true).equal(y.detach()));
  CHECK_FALSE(
      seqlab::dropout(x.detach(), 0.3, true).equal(y.detach()));  // the next call draws anew
  CHECK(seqlab::dropout(x, 0.0, true).equal(x));
  CHECK((seqlab::dropout(x, 1.0, true) == 0).all().item<bool>());
  CHECK_THROWS_WITH(seqlab::Dropout(1.5), Catch::Contains("not in [0, 1]"));
}

TEST_CASE("fused ReLU-dropout equals dropout after ReLU, in value and gradient") {
  for (double p : {0.0, 0.1, 0.6}) {
    DYNAMIC_SECTION("p = " << p) {
      auto input = torch::randn({37, 129});  // odd sizes: vector tails
      input.index_put_({0, 0}, 0.0);         // ReLU's kink: derivative 0 on both paths
      auto upstream = torch::randn({37, 129});
      auto fused_x = input.clone().requires_grad_(true),
           plain_x = input.clone().requires_grad_(true);
      torch::manual_seed(11);
      auto fused = seqlab::relu_dropout(fused_x, p, true);
      torch::manual_seed(11);
      auto plain = seqlab::dropout(torch::relu(plain_x), p, true);
      CHECK(fused.equal(plain));
      (fused * upstream).sum().backward();
      (plain * upstream).sum().backward();
      CHECK(torch::allclose(fused_x.grad(), plain_x.grad(), 0, 0));
      CHECK(seqlab::relu_dropout(input, p, false).equal(torch::relu(input)));  // eval: ReLU alone
      torch::manual_seed(11);
      torch::NoGradGuard no_grad;  // the inference path: no graph, the same mask
      CHECK(seqlab::relu_dropout(fused_x, p, true).equal(plain));
    }
  }
}
