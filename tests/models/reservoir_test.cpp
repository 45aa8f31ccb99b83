// The reservoir family: fixed random matrices as configured, the echo-state property, and the
// seq2seq encoder/decoder meeting the other families (the ridge readout is tested in
// tests/train/ridge_test.cpp, series models in tests/train/series_test.cpp, forecasting in
// tests/bench/forecast_test.cpp).
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/config.h"
#include "core/error.h"
#include "core/registry.h"
#include "models/reservoir/reservoir.h"
#include "models/seq2seq.h"
#include "tests/models/toy_tasks.h"
#include "train/ridge.h"

using seqlab::Config;
using seqlab::Json;

namespace {

seqlab::ReservoirOptions options(int64_t units, double radius, double connectivity) {
  seqlab::ReservoirOptions o;
  o.units = units;
  o.spectral_radius = radius;
  o.connectivity = connectivity;
  o.seed = 7;
  return o;
}

Config reservoir_config(const std::string& encoder, const std::string& decoder, Json extra = {}) {
  Json model = {{"encoder", encoder},  {"decoder", decoder},
                {"embedding_dim", 16}, {"hidden_dim", 24},
                {"dropout", 0.0},      {"reservoir", {{"units", 64}, {"connectivity", 0.2}}}};
  for (auto& [k, v] : extra.items()) model[k] = v;
  return Config::from_json(Json{{"model", model}});
}

}  // namespace

TEST_CASE("the recurrent matrix has the configured spectral radius, dense and sparse") {
  for (double connectivity : {1.0, 0.2, 0.02}) {
    seqlab::Reservoir reservoir(options(400, 0.85, connectivity));
    auto w = reservoir->recurrent_weight().to(torch::kFloat64);
    // Independently of the code that rescaled it: all eigenvalues, and Gelfand's formula.
    double rho = torch::linalg::eigvals(w).abs().max().item<double>();
    INFO("connectivity " << connectivity);
    CHECK(rho == Approx(0.85).epsilon(0.01));
    CHECK(seqlab::spectral_radius_by_powers(w) == Approx(0.85).epsilon(0.01));
    double nonzero = w.ne(0).to(torch::kFloat64).mean().item<double>();
    CHECK(nonzero == Approx(connectivity).epsilon(0.15));
  }
}

TEST_CASE("a run's seed draws its reservoir unless model.reservoir.seed holds it fixed") {
  // Seeds of an experiment cell are replicates: an ESN cell whose matrices ignored run.seed
  // repeated one reservoir, and its spread over seeds was a false zero.
  auto matrix = [](int64_t run_seed, int64_t reservoir_seed) {
    Json reservoir = {{"units", 30}, {"connectivity", 0.3}};
    if (reservoir_seed > 0) reservoir["seed"] = reservoir_seed;
    auto config = Config::from_json(
        Json{{"run", {{"seed", run_seed}}}, {"model", {{"reservoir", reservoir}}}});
    auto options = seqlab::ReservoirOptions::from_config(config);
    return seqlab::Reservoir(options)->recurrent_weight().clone();
  };
  CHECK(seqlab::ReservoirOptions::from_config(Config::from_json(Json::object())).seed == 1);
  CHECK(torch::equal(matrix(2, 0), matrix(2, 0)));
  CHECK_FALSE(torch::equal(matrix(1, 0), matrix(2, 0)));
  CHECK(torch::equal(matrix(1, 0), matrix(1, 1)));  // run.seed 1 is the former default
  CHECK(torch::equal(matrix(1, 9), matrix(2, 9)));
  CHECK_FALSE(torch::equal(matrix(1, 9), matrix(1, 0)));
}

TEST_CASE("Gelfand's formula finds the spectral radius of rotations and non-normal matrices") {
  torch::manual_seed(3);
  // A random orthogonal matrix times 0.7: every eigenvalue has modulus 0.7 (complex pairs).
  auto q = std::get<0>(torch::linalg::qr(torch::randn({300, 300}, torch::kFloat64)));
  CHECK(seqlab::spectral_radius_by_powers(q * 0.7) == Approx(0.7).epsilon(0.01));
  // Non-normal: a strictly upper-triangular part (nilpotent alone) plus a diagonal of at most 0.5.
  auto t = torch::randn({300, 300}, torch::kFloat64).triu(1) * 0.3 +
           torch::diag(torch::linspace(-0.5, 0.4, 300, torch::kFloat64));
  CHECK(seqlab::spectral_radius_by_powers(t) == Approx(0.5).epsilon(0.01));
  CHECK(seqlab::spectral_radius_by_powers(torch::randn({50, 50}, torch::kFloat64).triu(1)) < 1e-3);
}

TEST_CASE("a reservoir has the echo-state property: two initial states driven alike converge") {
  for (double leak : {1.0, 0.3}) {
    auto o = options(200, 0.9, 0.1);
    o.leak = leak;
    o.bias_scaling = 0.2;
    seqlab::Reservoir reservoir(o);
    torch::manual_seed(1);
    auto drive = torch::randn({1, 300, 200}) * 0.5;
    auto drive2 = drive.repeat({2, 1, 1});
    auto initial = torch::stack({torch::rand({200}) * 2 - 1, torch::rand({200}) * 2 - 1});
    auto states = reservoir->run(drive2, {}, initial);
    double start = (initial[0] - initial[1]).norm().item<double>();
    double end = (states[0][-1] - states[1][-1]).norm().item<double>();
    INFO("leak " << leak << ": distance " << start << " -> " << end);
    CHECK(end < 1e-6 * start);
  }
}

TEST_CASE("padding does not move a reservoir's state, and the ELM has no recurrence") {
  seqlab::Reservoir reservoir(options(32, 0.9, 0.3));
  auto drive = torch::randn({1, 5, 32}).repeat({2, 1, 1});
  auto mask = torch::tensor({1, 1, 1, 0, 0}, torch::kBool).unsqueeze(0).repeat({2, 1});
  mask[1].fill_(true);
  auto states = reservoir->run(drive, mask);
  CHECK(torch::equal(states[0][2], states[0][4]));
  CHECK(torch::allclose(states[0].slice(0, 0, 3), states[1].slice(0, 0, 3)));
  auto o = options(32, 0.9, 0.3);
  o.recurrent = false;
  seqlab::Reservoir elm(o);
  CHECK_FALSE(elm->recurrent_weight().defined());
  auto alone = elm->run(drive.slice(1, 2, 3));
  CHECK(torch::allclose(elm->run(drive).select(1, 2), alone.select(1, 0)));
}

TEST_CASE("a fitted reservoir recalls the symbol it saw five steps ago", "[learning]") {
  seqlab::testing::use_learning_threads();
  auto o = options(200, 0.9, 0.1);
  o.seed = seqlab::testing::learning_seed(7);
  seqlab::Reservoir reservoir(o);
  const int64_t symbols = 4, delay = 5, length = 3000, washout = 100;
  auto table = reservoir->random_matrix(symbols, 200, 1.0, 1.0).to(torch::kFloat32);
  torch::manual_seed(seqlab::testing::learning_seed(11));
  auto sequence = torch::randint(0, symbols, {2, length}, torch::kLong);  // row 0 fits, row 1 tests
  auto states = reservoir->run(torch::nn::functional::embedding(sequence, table));  // [2, L, N]
  auto fit_states = states[0].slice(0, washout), test_states = states[1].slice(0, washout);
  auto fit_targets = sequence[0].slice(0, washout - delay, length - delay);
  auto test_targets = sequence[1].slice(0, washout - delay, length - delay);
  seqlab::RidgeAccumulator sums(200, symbols);
  sums.add_classes(fit_states, fit_targets);
  auto readout = seqlab::RidgeSolver(sums).solve(1e-6);
  double accuracy = readout.predict(test_states.to(torch::kFloat64))
                        .argmax(1)
                        .eq(test_targets)
                        .to(torch::kFloat64)
                        .mean()
                        .item<double>();
  seqlab::testing::report_learning("reservoir delayed recall",
                                   "accuracy=" + std::to_string(accuracy));
  INFO("held-out accuracy " << accuracy);
  CHECK(accuracy > 0.9);  // chance is 0.25
}

TEST_CASE("bad reservoir settings are rejected naming the key and the accepted range") {
  auto rejects = [](const std::string& key, Json value, const std::string& range) {
    Json model = {{"reservoir", {{key, value}}}};
    try {
      Config::from_json(Json{{"model", model}});
      FAIL("model.reservoir." << key << " = " << value.dump() << " was accepted");
    } catch (const seqlab::InputError& e) {
      std::string message = e.what();
      INFO(message);
      CHECK(message.find("model.reservoir." + key) != std::string::npos);
      CHECK(message.find(range) != std::string::npos);
    }
  };
  rejects("leak", 0.0, "(0, 1]");
  rejects("leak", 1.5, "(0, 1]");
  rejects("spectral_radius", 0.0, "(0, 100]");
  rejects("spectral_radius", -0.5, "(0, 100]");
  rejects("connectivity", 0.0, "(0, 1]");
  rejects("connectivity", 1.2, "(0, 1]");
  // Options built in code are checked the same way.
  auto o = options(10, 0.9, 0.5);
  o.leak = 0;
  CHECK_THROWS_WITH(seqlab::Reservoir(o),
                    Catch::Contains("model.reservoir.leak") && Catch::Contains("(0, 1]"));
}

TEST_CASE("the reservoir family is listed among encoders and decoders") {
  auto encoders = seqlab::RegistryCatalog::list("encoders");
  auto decoders = seqlab::RegistryCatalog::list("decoders");
  auto has = [](const std::vector<seqlab::RegistryEntryInfo>& list, const std::string& name) {
    for (const auto& e : list)
      if (e.name == name) return true;
    return false;
  };
  CHECK(has(encoders, "reservoir"));
  CHECK(has(encoders, "elm"));
  CHECK(has(decoders, "reservoir"));
  CHECK(has(decoders, "elm"));
}

TEST_CASE("a reservoir decoder's step-by-step logits equal its teacher-forced ones") {
  for (std::string attention : {"none", "dot", "scaled_dot", "cosine"}) {
    INFO("attention " << attention);
    auto config = reservoir_config(
        "reservoir", "reservoir",
        {{"reservoir", {{"units", 48}, {"connectivity", 0.2}, {"attention", attention}}}});
    seqlab::Seq2Seq model(config, 20, 20);
    model->eval();
    torch::manual_seed(4);
    auto ids = torch::randint(3, 20, {3, 6}, torch::kLong);
    seqlab::Source source{
        ids, torch::full({3}, 6, torch::kLong), torch::ones({3, 6}, torch::kBool), {}};
    auto target = torch::randint(3, 20, {3, 5}, torch::kLong);
    auto memory = model->encode(source);
    auto full = model->decoder->forward(memory, target);
    auto features = model->decoder->readout_features(memory, target);
    CHECK(torch::allclose(model->decoder->readout()->forward(features), full));
    auto state = model->decoder->start(memory);
    for (int64_t t = 0; t < 5; ++t)
      CHECK(torch::allclose(model->decoder->step(state, target.select(1, t)), full.select(1, t),
                            1e-5, 1e-5));
    // Only the readout is a trainable parameter.
    for (const auto& item : model->named_parameters())
      if (item.value().requires_grad()) CHECK(item.key().rfind("decoder.readout.", 0) == 0);
  }
}

TEST_CASE(
    "reservoirs mix with the other families, and gradients reach a trained encoder through a fixed "
    "reservoir") {
  SECTION("reservoir encoder under a GRU attention decoder") {
    seqlab::Seq2Seq model(reservoir_config("reservoir", "bahdanau"), 20, 20);
    seqlab::Source source{torch::randint(3, 20, {2, 4}, torch::kLong),
                          torch::full({2}, 4, torch::kLong),
                          torch::ones({2, 4}, torch::kBool),
                          {}};
    auto logits = model->forward(source, torch::randint(3, 20, {2, 3}, torch::kLong));
    CHECK(logits.sizes() == std::vector<int64_t>{2, 3, 20});
    logits.sum().backward();
    for (const auto& item : model->named_parameters()) CHECK(item.key().rfind("decoder.", 0) == 0);
  }
  SECTION("GRU encoder under a reservoir decoder with attention") {
    auto config = reservoir_config(
        "rnn", "reservoir",
        {{"reservoir", {{"units", 40}, {"connectivity", 0.2}, {"attention", "dot"}}}});
    seqlab::Seq2Seq model(config, 20, 20);
    model->train();
    seqlab::Source source{torch::randint(3, 20, {2, 4}, torch::kLong),
                          torch::full({2}, 4, torch::kLong),
                          torch::ones({2, 4}, torch::kBool),
                          {}};
    auto logits = model->forward(source, torch::randint(3, 20, {2, 3}, torch::kLong));
    logits.square().sum().backward();
    double encoder_gradient = 0;
    for (const auto& item : model->named_parameters())
      if (item.key().rfind("encoder.", 0) == 0 && item.value().grad().defined())
        encoder_gradient += item.value().grad().abs().sum().item<double>();
    CHECK(encoder_gradient > 0);
  }
}

TEST_CASE("reservoir misuse is an input error that says what was expected") {
  // A recurrent matrix with no cycle (radius 0) cannot be rescaled.
  CHECK_THROWS_WITH(seqlab::Reservoir(options(50, 0.9, 1e-4)),
                    Catch::Contains("without cycles") && Catch::Contains("raise"));
  seqlab::Reservoir reservoir(options(16, 0.9, 0.5));
  CHECK_THROWS_WITH(reservoir->run(torch::zeros({1, 3, 15})),
                    Catch::Contains("width 15, expected 16 units"));
  CHECK_THROWS_WITH(seqlab::spectral_radius(torch::zeros({3, 4})),
                    Catch::Contains("expected a square matrix"));
}

TEST_CASE(
    "an output layer's weights can be set only untied and at its own shape, and only separable "
    "decoders hand out features") {
  seqlab::OutputLayer untied(8, 5);
  untied->set_weights(torch::ones({5, 8}), torch::zeros({5}));
  CHECK(untied->forward(torch::ones({1, 8})).sum().item<double>() == 40.0);
  CHECK(untied->in_features() == 8);
  CHECK_THROWS_WITH(untied->set_weights(torch::ones({5, 7}), torch::zeros({5})),
                    Catch::Contains("shape [5, 7]") && Catch::Contains("[5, 8]"));
  seqlab::OutputLayer tied(torch::nn::Embedding(5, 8), 5, /*tied=*/true);
  CHECK(tied->tied());
  CHECK_THROWS_WITH(tied->set_weights(torch::ones({5, 8}), torch::zeros({5})),
                    Catch::Contains("tied"));

  // A decoder that does not say how its logits are made has no readout; every built-in one does.
  struct OpaqueDecoder : seqlab::DecoderImpl {
    torch::Tensor forward(const seqlab::Memory&, const torch::Tensor& t) override { return t; }
    seqlab::DecoderState start(const seqlab::Memory&) override { return {}; }
    torch::Tensor step(seqlab::DecoderState&, const torch::Tensor& t) override { return t; }
  };
  OpaqueDecoder opaque;
  CHECK_FALSE(opaque.readout());
  seqlab::Memory memory{torch::zeros({1, 2, 256}), torch::ones({1, 2}, torch::kBool),
                        torch::zeros({1, 256})};
  CHECK_THROWS_WITH(opaque.readout_features(memory, torch::ones({1, 2}, torch::kLong)),
                    Catch::Contains("train.method=sgd"));
  auto config =
      Config::from_json(Json{{"model", {{"encoder", "transformer"}, {"decoder", "transformer"}}}});
  seqlab::Seq2Seq model(config, 20, 20);
  model->eval();
  auto target = torch::ones({1, 2}, torch::kLong);
  seqlab::Memory wide{torch::randn({1, 2, 512}), torch::ones({1, 2}, torch::kBool),
                      torch::zeros({1, 512})};
  CHECK(torch::allclose(
      model->decoder->readout()->forward(model->decoder->readout_features(wide, target)),
      model->decoder->forward(wide, target)));
}
