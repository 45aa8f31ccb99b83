#include "train/fitter.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/resume.h"
#include "train/ridge.h"
#include "train/run_directory.h"
#include "train/run_session.h"
#include "train/training_data.h"

namespace seqlab {
namespace {

ConfigSchema& schema() { return ConfigSchema::global(); }

const bool declared =
    schema().add(key_number("train.ridge", 0,
                            "ridge penalty per row (lambda in mean squared error + lambda |W|^2); "
                            "0 = choose on the validation split from the grid")
                     .range(0, 1e6)) &&
    schema().add(
        key_number("train.ridge_min", 1e-8, "smallest penalty of the grid").above(0, 1e6)) &&
    schema().add(
        key_number("train.ridge_max", 1e-1, "largest penalty of the grid").above(0, 1e6)) &&
    schema().add(
        key_int("train.ridge_points", 8, "penalties in the grid, log-spaced").range(1, 100)) &&
    schema().add(key_int("train.washout", 0,
                         "ridge: leave each target sequence's first N decoder steps out of the fit")
                     .range(0, 1e9));

// Rows of the readout's features and next-token targets of a batch, past the washout, added to
// `sums`; returns them ([N, F], [N]).
std::pair<torch::Tensor, torch::Tensor> accumulate(Seq2Seq& model, const Batch& batch,
                                                   int64_t washout, RidgeAccumulator& sums) {
  torch::NoGradGuard no_grad;
  auto features =
      model->decoder->readout_features(model->encode(Source::of(batch)), batch.target_in);
  auto keep = batch.target_out.ne(Tokenizer::kPad);  // [B, T]
  if (washout > 0)
    keep = keep & (torch::arange(keep.size(1), keep.device()) >= washout).unsqueeze(0);
  auto rows = features.index({keep});
  auto targets = batch.target_out.index({keep});
  sums.add_classes(rows, targets);
  return {rows, targets};
}

// The readout's outputs are regression scores for one-hot targets (near 0 and 1), so a softmax
// over them is almost flat: a validation loss near log V, and a beam search that pays ~log V per
// token and prefers stopping early. One scalar fixes that without changing any argmax: the
// temperature t minimising the cross-entropy of softmax(t * scores) on validation tokens
// (golden-section search over log t in [log 0.1, log 1e4]).
double fit_temperature(const torch::Tensor& scores, const torch::Tensor& gold) {
  torch::NoGradGuard no_grad;
  auto loss = [&](double log_t) {
    return torch::nn::functional::cross_entropy(scores * std::exp(log_t), gold).item<double>();
  };
  double lo = std::log(0.1), hi = std::log(1e4);
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo), fa = loss(a), fb = loss(b);
  for (int i = 0; i < 40; ++i) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = loss(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = loss(b);
    }
  }
  return std::exp((lo + hi) / 2);
}

}  // namespace

void check_ridge_fittable(Seq2Seq& model) {
  OutputLayer readout = model->decoder->readout();
  if (!readout)
    throw InputError(
        "train.method=ridge: this decoder has no separable linear readout; use a "
        "reservoir or elm decoder, or train.method=sgd");
  if (readout->tied())
    throw InputError(
        "train.method=ridge: the readout is tied to the decoder's input embeddings "
        "(model.tie_embeddings=true); untie it, or use train.method=sgd");
  std::vector<std::string> trainable;
  for (const auto& item : model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    bool in_readout = false;
    for (const auto& p : readout->parameters()) in_readout = in_readout || p.is_same(item.value());
    if (!in_readout) trainable.push_back(item.key());
  }
  if (!trainable.empty()) {
    const size_t shown = std::min<size_t>(trainable.size(), 12);
    throw InputError(fmt::format(
        "train.method=ridge fits only a readout over fixed features, but {} parameter(s) before "
        "the readout are trainable: {}{}. Use fixed components (model.encoder / model.decoder = "
        "reservoir or elm), or train.method=sgd (the readout trained by cross-entropy, with "
        "every trainable part)",
        trainable.size(), fmt::join(trainable.begin(), trainable.begin() + shown, ", "),
        shown < trainable.size() ? ", ..." : ""));
  }
}

namespace {

struct SolvedReadout {
  RidgeSolution solution;  // the chosen penalty's
  double valid_mse = 0;    // its mean squared error on the validation split
  double temperature = 1;  // folded into the readout's weights
};

// The readout from the summed rows: the penalty fixed, or the grid's best mean squared error on
// the validation split (each logged); then the temperature fitted on the first 4096 validation
// rows, and the readout's weights set to the solution times the temperature.
SolvedReadout solve_readout(RunSession& session, const RidgeAccumulator& sums,
                            OutputLayer& readout) {
  const Config& config = session.config();
  Seq2Seq& model = session.model();
  JsonLinesLog& log = session.log();
  const TrainingData& data = session.data();
  // The penalty: fixed, or the grid's best mean squared error on the validation split. The first
  // 4096 validation rows are kept to fit the temperature.
  model->eval();
  RidgeAccumulator valid_sums(sums.features(), data.target_vocab());
  constexpr int64_t kTemperatureRows = 4096;
  std::vector<torch::Tensor> kept_rows, kept_targets;
  int64_t kept = 0;
  for (const auto& indices :
       TokenBucketBatcher(data.valid, config.get_int("train.batch_tokens"), 0, session.seed())
           .sorted()) {
    auto [rows, targets] =
        accumulate(model, data.valid_batch(indices).to(session.device()), 0, valid_sums);
    if (kept >= kTemperatureRows) continue;
    kept_rows.push_back(rows);
    kept_targets.push_back(targets);
    kept += rows.size(0);
  }
  RidgeSolver solver(sums);
  std::vector<double> grid =
      config.get_number("train.ridge") > 0
          ? std::vector<double>{config.get_number("train.ridge")}
          : ridge_grid(config.get_number("train.ridge_min"), config.get_number("train.ridge_max"),
                       config.get_int("train.ridge_points"));
  RidgeSolution best;
  double best_mse = std::numeric_limits<double>::infinity();
  for (double penalty : grid) {
    RidgeSolution solution = solver.solve(penalty);
    double mse = valid_sums.rows() > 0 ? ridge_mean_squared_error(solution, valid_sums) : 0.0;
    log.write({{"event", "ridge"}, {"penalty", penalty}, {"valid_mse", mse}});
    if (mse < best_mse || !best.weight.defined()) {
      best_mse = mse;
      best = solution;
    }
  }
  double temperature = 1.0;
  if (kept > 0) {
    const int64_t n = std::min(kept, kTemperatureRows);
    // The scores the readout will give (predict computes in the rows' float32).
    temperature = fit_temperature(best.predict(torch::cat(kept_rows).narrow(0, 0, n)),
                                  torch::cat(kept_targets).narrow(0, 0, n));
  }
  readout->set_weights((best.weight * temperature).to(torch::kFloat32),
                       (best.bias * temperature).to(torch::kFloat32));
  log.write({{"event", "temperature"}, {"value", temperature}});
  return {best, best_mse, temperature};
}

}  // namespace

TrainResult fit_readout(const Config& requested, const std::string& run_dir, bool resume,
                        const DistributedOptions& distributed) {
  RunSession session(requested, run_dir, resume, distributed);
  const Config& config = session.config();
  const bool main = session.main();
  const int world = session.world();
  Communicator* communicator = session.communicator();
  TrainingData& data = session.data();
  const int64_t vocab = data.tokenizer->vocab_size();
  const int64_t target_vocab = data.target_vocab();
  Seq2Seq& model = session.model();
  check_ridge_fittable(model);
  OutputLayer readout = model->decoder->readout();
  RidgeAccumulator sums(readout->in_features(), target_vocab);

  TrainState state;
  if (session.resume()) {
    auto tensors = sums.tensors();
    state = read_checkpoint(session.checkpoint_path(), *model, nullptr, &tensors);
    // The checkpoint holds the sums over every rank so far: rank 0 carries them on, the others
    // add what they see from here.
    if (main) sums.load(tensors);
    log_info(fmt::format("resuming the fit in {} after {} batches ({} rows)", run_dir, state.step,
                         int64_t(sums.rows())));
  }
  session.begin(state, {"fit"});  // the pass is kept; the penalty search runs again
  JsonLinesLog& log = session.log();
  if (communicator) broadcast_module(*communicator, *model);  // rank 0's fixed weights everywhere
  // The sums over every rank (the fitter's one collective): in place at the end of the pass, in
  // a copy for a checkpoint written mid-pass.
  auto reduced = [&](bool in_place) {
    auto tensors = sums.tensors();
    if (!communicator) return tensors;
    std::vector<torch::Tensor> list;
    for (auto& [name, tensor] : tensors) {
      if (!in_place) tensor = tensor.clone();
      list.push_back(tensor);
    }
    communicator->all_reduce(list);
    return tensors;
  };
  int64_t fixed = 0;
  for (const auto& b : model->buffers()) fixed += b.numel();
  if (!session.resume())
    log.write({{"event", "start"},
               {"method", "ridge"},
               {"parameters", model->parameter_count()},
               {"fixed", fixed},
               {"features", sums.features()},
               {"train_pairs", data.train_size()},
               {"vocab", vocab},
               {"processes", world}});

  const int64_t washout = config.get_int("train.washout");
  const int64_t max_steps = config.get_int("train.max_steps");
  const double max_minutes = config.get_number("train.max_minutes");
  const int64_t checkpoint_every = config.get_int("train.checkpoint_every");
  const int64_t log_every = config.get_int("train.log_every");
  // One pass in length order: a sum does not care about order, and similar lengths pad least.
  auto batches = TokenBucketBatcher(data.train_lengths(), config.get_int("train.batch_tokens"),
                                    config.get_int("train.batch_sentences"), session.seed())
                     .sorted();
  const int64_t total = std::min<int64_t>(int64_t(batches.size()), max_steps);
  Progress progress("fit", total, "batches");
  progress.resume_at(state.step);
  model->train();  // state noise (model.reservoir.noise) applies while fitting only
  auto window_start = std::chrono::steady_clock::now();
  double window_rows = sums.rows();
  // Rank r takes batches r, r + N, r + 2N, ... of the pass; state.step counts the batches taken
  // by all ranks together, so checkpoints and logs mean the same with any N.
  auto crossed = [](int64_t before, int64_t after, int64_t every) {
    return after / every > before / every;
  };
  while (state.step < total) {
    if (max_minutes > 0) {  // rank 0's clock decides for everyone
      bool out_of_time = session.elapsed() >= max_minutes * 60;
      if (communicator)
        out_of_time = communicator->broadcast_values({out_of_time ? 1.0 : 0.0})[0] > 0;
      if (out_of_time) break;
    }
    const int64_t index = state.step + distributed.rank;
    if (index < total) {
      Batch batch = data.train_batch(batches[size_t(index)]);
      if (batch.size() > 0) accumulate(model, batch.to(session.device()), washout, sums);
    }
    const int64_t before = state.step;
    state.step = std::min(total, state.step + world);
    state.batch_in_epoch = state.step;
    progress.advance(state.step - before);
    if (crossed(before, state.step, log_every)) {
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      double rows = communicator ? communicator->all_reduce_values({sums.rows()})[0] : sums.rows();
      log.write({{"event", "fit"},
                 {"step", state.step},
                 {"rows", rows},
                 {"rows_per_s", (rows - window_rows) / std::max(1e-9, seconds)}});
      window_rows = rows;
      window_start = std::chrono::steady_clock::now();
    }
    if (crossed(before, state.step, checkpoint_every) && state.step < total) {
      state.elapsed_seconds = session.elapsed();
      auto tensors = reduced(/*in_place=*/false);
      if (main) write_checkpoint(session.checkpoint_path(), *model, nullptr, state, tensors);
    }
  }
  reduced(/*in_place=*/true);
  progress.finish();
  if (!main) return session.finish(state);  // rank 0 solves, validates and writes the run
  if (state.step == int64_t(batches.size())) state.epoch = 1;

  const SolvedReadout solved = solve_readout(session, sums, readout);
  const RidgeSolution& best = solved.solution;
  const double best_mse = solved.valid_mse, temperature = solved.temperature;
  save_weights(*model, run_dir + "/" + kBestWeightsFile);

  ValidationScore score = validate_model(model, data, config, session.device());
  state.best_valid_loss = score.loss;
  state.best_valid_bleu = score.bleu;
  state.extra = {{"penalty", best.penalty},
                 {"rows", sums.rows()},
                 {"valid_mse", best_mse},
                 {"temperature", temperature}};
  if (score.accuracy >= 0) state.extra["best_valid_accuracy"] = score.accuracy;
  Json record = {{"event", "valid"}, {"step", state.step}, {"loss", score.loss}};
  merge_json(record, score.scores());
  merge_json(record, {{"best", true},
                      {"penalty", best.penalty},
                      {"valid_mse", best_mse},
                      {"temperature", temperature},
                      {"rows", sums.rows()}});
  log.write(record);
  state.elapsed_seconds = session.elapsed();
  write_checkpoint(session.checkpoint_path(), *model, nullptr, state, sums.tensors());
  return session.finish(state);
}

}  // namespace seqlab
