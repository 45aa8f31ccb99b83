// The reservoir family: fixed random matrices as configured, the echo-state property, the ridge
// readout, forecasting, and the seq2seq encoder/decoder meeting the other families.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "bench/forecast.h"
#include "core/config.h"
#include "core/error.h"
#include "core/registry.h"
#include "data/mackey_glass.h"
#include "models/reservoir/reservoir.h"
#include "models/seq2seq.h"
#include "tests/models/toy_tasks.h"
#include "train/ridge.h"
#include "train/series.h"

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

TEST_CASE("streamed ridge sums give the direct least-squares solution") {
  torch::manual_seed(5);
  const int64_t n = 600, f = 24, o = 3;
  auto x = torch::randn({n, f}, torch::kFloat64) + 0.5;
  auto y = torch::mm(x, torch::randn({f, o}, torch::kFloat64)) + 2.0 +
           0.1 * torch::randn({n, o}, torch::kFloat64);
  seqlab::RidgeAccumulator sums(f, o);
  for (int64_t start = 0; start < n; start += 64)
    sums.add(x.slice(0, start, std::min(n, start + 64)).to(torch::kFloat32),
             y.slice(0, start, std::min(n, start + 64)));
  seqlab::RidgeSolver solver(sums);
  auto x32 = x.to(torch::kFloat32).to(torch::kFloat64);  // what the sums saw
  SECTION("no penalty: ordinary least squares with an intercept") {
    auto design = torch::cat({x32, torch::ones({n, 1}, torch::kFloat64)}, 1);
    auto direct = std::get<0>(torch::linalg::lstsq(design, y, {}, {}));  // [F + 1, O]
    auto solution = solver.solve(0.0);
    CHECK(torch::allclose(solution.weight.t(), direct.slice(0, 0, f), 1e-7, 1e-9));
    CHECK(torch::allclose(solution.bias, direct[f], 1e-7, 1e-9));
  }
  SECTION("a penalty: the normal equations of the centred problem, bias unpenalised") {
    const double penalty = 0.05;
    auto xc = x32 - x32.mean(0), yc = y - y.mean(0);
    auto direct =
        torch::linalg::solve(torch::mm(xc.t(), xc) + penalty * n * torch::eye(f, torch::kFloat64),
                             torch::mm(xc.t(), yc), true);
    auto solution = solver.solve(penalty);
    CHECK(torch::allclose(solution.weight.t(), direct, 1e-8, 1e-10));
    auto predicted = solution.predict(x32);
    CHECK(predicted.mean(0).sub(y.mean(0)).abs().max().item<double>() < 1e-9);
    // The error computed from sums equals the error of the predictions.
    double mse = (predicted - y).square().mean().item<double>();
    CHECK(seqlab::ridge_mean_squared_error(solution, sums) == Approx(mse).epsilon(1e-6));
  }
  SECTION("class targets without one-hot rows equal explicit one-hot targets") {
    auto classes = torch::randint(0, o, {n}, torch::kLong);
    seqlab::RidgeAccumulator by_class(f, o), one_hot(f, o);
    by_class.add_classes(x, classes);
    one_hot.add(x, torch::one_hot(classes, o).to(torch::kFloat64));
    auto a = seqlab::RidgeSolver(by_class).solve(1e-3),
         b = seqlab::RidgeSolver(one_hot).solve(1e-3);
    CHECK(torch::allclose(a.weight, b.weight, 1e-10, 1e-12));
    CHECK(torch::allclose(a.bias, b.bias, 1e-10, 1e-12));
  }
  SECTION(
      "the SVD of the data gives the same solution, and stays accurate where the Gram matrix "
      "cannot") {
    seqlab::RidgeSolver direct(x32, y);
    for (double penalty : {0.0, 1e-3}) {
      auto a = direct.solve(penalty), b = solver.solve(penalty);
      CHECK(torch::allclose(a.weight, b.weight, 1e-7, 1e-9));
      CHECK(torch::allclose(a.bias, b.bias, 1e-7, 1e-9));
    }
    // Nearly collinear columns (condition number ~1e7, squared ~1e14 in the Gram matrix): the
    // data solve recovers the generating weights, the normal equations lose digits.
    auto base = torch::randn({n, 1}, torch::kFloat64);
    auto close = torch::cat({base, base + 1e-7 * torch::randn({n, 1}, torch::kFloat64),
                             torch::randn({n, 2}, torch::kFloat64)},
                            1);
    auto truth = torch::tensor({{1.0}, {-2.0}, {0.5}, {3.0}}, torch::kFloat64);
    auto target = torch::mm(close, truth);
    auto from_data = seqlab::RidgeSolver(close, target).solve(0.0);
    CHECK(torch::allclose(from_data.weight.t(), truth, 1e-5, 1e-5));
  }
  SECTION("sums that do not match their rows are an input error") {
    CHECK_THROWS_AS(sums.add(torch::randn({4, f + 1}), torch::randn({4, o})), seqlab::InputError);
  }
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

TEST_CASE("on Mackey-Glass an echo-state network forecasts far better than an ELM", "[learning]") {
  seqlab::testing::use_learning_threads();
  seqlab::ForecastOptions o;
  o.seed = seqlab::testing::learning_seed(1);
  o.models = {"esn", "elm"};
  o.trials = 3;
  o.units = 300;
  o.train_steps = 1500;
  o.washout = 300;
  o.connectivity = 0.03;
  auto rows = seqlab::run_mackey_glass(o);
  REQUIRE(rows.size() == 2);
  seqlab::testing::report_learning(
      "mackey-glass esn vs elm",
      "esn=" + std::to_string(rows[0].nrmse) + " elm=" + std::to_string(rows[1].nrmse));
  INFO("ESN NRMSE84 " << rows[0].nrmse << ", ELM " << rows[1].nrmse);
  CHECK(rows[0].nrmse < 0.05);
  CHECK(rows[1].nrmse > 10 * rows[0].nrmse);
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

TEST_CASE("ridge sums refuse rows of the wrong shape, empty fits and foreign checkpoints") {
  seqlab::RidgeAccumulator sums(4, 3);
  CHECK_THROWS_WITH(sums.add_classes(torch::zeros({2, 5}), torch::zeros({2}, torch::kLong)),
                    Catch::Contains("expected x [N, 4] and classes [N]"));
  CHECK_THROWS_WITH(sums.add(torch::zeros({2, 4}), torch::zeros({3, 3})),
                    Catch::Contains("expected x [N, 4] and y [N, 3]"));
  CHECK_THROWS_WITH(seqlab::RidgeSolver(sums), Catch::Contains("no rows"));
  CHECK_THROWS_WITH(seqlab::RidgeSolver(torch::zeros({0, 4}), torch::zeros({0, 3})),
                    Catch::Contains("no rows"));
  auto tensors = sums.tensors();
  tensors.erase("yx");
  CHECK_THROWS_WITH(sums.load(tensors), Catch::Contains("'yx' missing"));
  tensors = seqlab::RidgeAccumulator(5, 3).tensors();
  CHECK_THROWS_WITH(sums.load(tensors), Catch::Contains("wrong shape"));
}

TEST_CASE("series and forecast settings that leave nothing to fit or measure are input errors") {
  CHECK_THROWS_AS(seqlab::mackey_glass(-1, 1), seqlab::InputError);
  CHECK(seqlab::mackey_glass(5, 1).size() == 5);
  seqlab::ForecastOptions o;
  o.washout = o.train_steps;
  CHECK_THROWS_WITH(seqlab::run_mackey_glass(o), Catch::Contains("--washout"));
  o = {};
  o.horizon = 0;
  CHECK_THROWS_WITH(seqlab::run_mackey_glass(o), Catch::Contains("--horizon"));
  o = {};
  o.models = {"lstm"};
  CHECK_THROWS_WITH(seqlab::run_mackey_glass(o), Catch::Contains("valid: esn, elm, gru"));

  seqlab::SeriesReservoirOptions r;
  r.reservoir = options(20, 0.8, 0.2);
  seqlab::SeriesReservoir esn(r);
  CHECK_THROWS_AS(esn.generate(3), seqlab::Error);
  CHECK_THROWS_WITH(esn.fit({0.1, 0.2, 0.3}, 3), Catch::Contains("washout"));
  seqlab::SeriesGru gru({});
  CHECK_THROWS_AS(gru.generate(3), seqlab::Error);
  CHECK_THROWS_WITH(gru.fit({0.1}, 0), Catch::Contains("at least 2 steps"));
}
