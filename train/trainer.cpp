// The gradient loop, and train_model: the one entry point, which hands train.method=ridge to the
// closed-form fitter (train/fitter.cpp). Checkpoints, optimizers, the resume policy and the data
// are in their own files, shared with the fitter.
#include "train/trainer.h"

#include <chrono>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/random.h"
#include "data/image.h"
#include "data/image_store.h"
#include "data/prefetch.h"
#include "data/shards.h"
#include "train/average.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/fitter.h"
#include "train/optimizers.h"
#include "train/resume.h"
#include "train/run_directory.h"
#include "train/run_session.h"
#include "train/schedule.h"
#include "train/training_data.h"

namespace seqlab {
namespace {

ConfigSchema& schema() { return ConfigSchema::global(); }

const bool declared =
    schema().add(key_string("train.method", "sgd",
                            "sgd: gradient training of every parameter; ridge: closed-form ridge "
                            "fit of the decoder's readout (reservoir models; train/fitter.cpp)")
                     .one_of({"sgd", "ridge"})) &&
    schema().add(key_string("train.schedule", "constant", "learning-rate schedule").names_from([] {
      return schedule_registry().names();
    })) &&
    schema().add(key_int("train.warmup_steps", 0, "linear warm-up steps").range(0, 1e9)) &&
    schema().add(key_int("train.max_steps", 20000,
                         "stop after this many updates (ridge: batches of states accumulated)")
                     .range(1, 1e12)) &&
    schema().add(key_int("train.max_epochs", 0, "stop after this many epochs; 0 = no limit")
                     .range(0, 1e9)) &&
    schema().add(key_number("train.max_minutes", 0, "wall-clock budget; 0 = none").range(0, 1e9)) &&
    schema().add(key_int("train.batch_tokens", 4000, "padded tokens per batch").range(1, 1e9)) &&
    schema().add(
        key_int("train.batch_sentences", 0, "sentences per batch cap; 0 = none").range(0, 1e9)) &&
    schema().add(
        key_number("train.clip_norm", 1.0, "gradient norm clipping; 0 = off").range(0, 1e6)) &&
    schema().add(key_number("train.label_smoothing", 0.1, "label smoothing (Szegedy et al. 2016)")
                     .range(0, 0.99)) &&
    schema().add(key_int("train.valid_every", 500, "validate every N steps").range(1, 1e9)) &&
    schema().add(key_int("train.valid_bleu_sentences", 500,
                         "validation sentences decoded (greedy) for BLEU; 0 = loss only")
                     .range(0, 1e9)) &&
    schema().add(
        key_int("train.patience", 5, "stop after N validations without a better loss; 0 = never")
            .range(0, 1e6)) &&
    schema().add(
        key_string("train.early_stop_metric", "loss",
                   "what picks best.safetensors and counts train.patience: validation loss, or "
                   "greedy BLEU, chrF or CIDEr-D on train.valid_bleu_sentences, or accuracy "
                   "(classification and sequence tasks); higher is better for all but loss")
            .one_of({"loss", "bleu", "chrf", "cider", "accuracy"})) &&
    schema().add(
        key_int(
            "train.keep_last", 0,
            "also keep the weights of the last N checkpoints (RUN/checkpoints/step-S.safetensors) "
            "for `seqlab average`; 0 = none")
            .range(0, 1000)) &&
    schema().add(key_number("train.stop_min_lr", 0,
                            "stop when a validation leaves the rate (after warm-up) below this, "
                            "as fairseq's --stop-min-lr; 0 = never")
                     .range(0, 100)) &&
    schema().add(
        key_int("train.checkpoint_every", 500, "write checkpoint.safetensors every N steps")
            .range(1, 1e9)) &&
    schema().add(
        key_number("train.bucket_mb", 4,
                   "data parallel: gradients are all-reduced in buckets of about this many "
                   "MiB, each launched while the backward pass goes on")
            .above(0, 1e6)) &&
    schema().add(key_int("train.log_every", 50, "log training loss every N steps").range(1, 1e9)) &&
    schema().add(key_number("train.plateau_factor", 0.5, "plateau schedule: rate multiplier")
                     .range(0.01, 1)) &&
    schema().add(key_int("train.plateau_patience", 1, "plateau schedule: validations to wait")
                     .range(1, 1000));

}  // namespace

Json TrainResult::to_json() const {
  Json json = {{"steps", steps},
               {"epochs", epochs},
               {"best_valid_loss", best_valid_loss},
               {"best_valid_bleu", best_valid_bleu},
               {"early_stopped", early_stopped},
               {"seconds", seconds}};
  if (best_valid_accuracy >= 0) json["best_valid_accuracy"] = best_valid_accuracy;
  if (best_valid_metric) json["best_valid_metric"] = *best_valid_metric;
  return json;
}

TrainResult TrainResult::from_state(const TrainState& state) {
  TrainResult result;
  result.steps = state.step;
  result.epochs = state.epoch;
  result.best_valid_loss = state.best_valid_loss;
  result.best_valid_bleu = state.best_valid_bleu;
  if (state.extra.is_object())
    result.best_valid_accuracy = state.extra.value("best_valid_accuracy", -1.0);
  if (state.extra.is_object() && state.extra.contains("best_valid_metric"))
    result.best_valid_metric = state.extra["best_valid_metric"].get<double>();
  result.early_stopped = state.early_stopped;
  result.seconds = state.elapsed_seconds;
  return result;
}

namespace {

// The seed of a data-parallel rank's dropout at a step: each rank draws its own masks, and a
// resumed run draws the same ones again without storing every rank's generator.
uint64_t step_seed(uint64_t seed, int rank, int64_t step) {
  return stable_hash(fmt::format("{}/{}/{}", seed, rank, step), seed);
}

// The logging window: the loss and tokens since the last "train" record. They are kept in
// checkpoints, so a resumed run logs the same losses as an uninterrupted one even when it resumes
// mid-window.
class LogWindow {
 public:
  void restore(const TrainState& state) {
    if (!state.extra.is_object() || !state.extra.contains("log_window")) return;
    loss_ = state.extra["log_window"].value("loss", 0.0);
    tokens_ = state.extra["log_window"].value("tokens", int64_t(0));
  }
  Json to_json() const { return {{"loss", loss_}, {"tokens", tokens_}}; }
  void add(double loss, int64_t tokens) {
    loss_ += loss;
    tokens_ += tokens;
    tokens_now_ += tokens;
  }
  // The "train" record at the state's step (the loss per token of the window, and this session's
  // token rate), and the window starts over.
  Json record(const TrainState& state, double lr) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    Json record = {{"event", "train"},
                   {"step", state.step},
                   {"epoch", state.epoch},
                   {"loss", loss_ / double(std::max<int64_t>(1, tokens_))},
                   {"lr", lr},
                   {"tokens_per_s", double(tokens_now_) / std::max(1e-9, seconds)}};
    loss_ = 0;
    tokens_ = 0;
    tokens_now_ = 0;
    start_ = std::chrono::steady_clock::now();
    return record;
  }

 private:
  double loss_ = 0;
  int64_t tokens_ = 0, tokens_now_ = 0;  // the latter: this session's, for the rate
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// A validation at state.step: rank 0 scores the model and the others take its loss and metric,
// so schedules and stopping agree everywhere; the best state (and best.safetensors) follows
// train.early_stop_metric. Logs the scores; true when training stops early here (patience, or
// the next rate below train.stop_min_lr).
bool validate_step(RunSession& session, TrainState& state, Schedule& schedule, Progress& progress) {
  const Config& config = session.config();
  Seq2Seq& model = session.model();
  Communicator* communicator = session.communicator();
  JsonLinesLog& log = session.log();
  const bool main = session.main();
  const std::string stop_metric = config.get_string("train.early_stop_metric");
  const double base_lr = config.get_number("train.lr");
  const int64_t patience = config.get_int("train.patience");
  const double stop_min_lr = config.get_number("train.stop_min_lr");
  const int64_t warmup_steps = config.get_int("train.warmup_steps");
  // Rank 0 validates; the others take its loss, so schedules and stopping agree everywhere.
  ValidationScore score;
  if (main) score = validate_model(model, session.data(), config, session.device());
  double metric_value = main ? score.value(stop_metric) : 0.0;
  if (communicator) {
    const auto values = communicator->broadcast_values({score.loss, metric_value});
    score.loss = values[0];
    metric_value = values[1];
  }
  const double valid_loss = score.loss, valid_bleu = score.bleu;
  schedule.on_validation(valid_loss);
  bool improved = valid_loss < state.best_valid_loss;
  if (stop_metric != "loss")  // every other metric is better higher
    improved = !state.extra.is_object() || !state.extra.contains("best_valid_metric") ||
               metric_value > state.extra["best_valid_metric"].get<double>();
  if (improved) {
    if (stop_metric != "loss") state.extra["best_valid_metric"] = metric_value;
    state.best_valid_loss = valid_loss;
    state.best_valid_bleu = valid_bleu;
    if (score.accuracy >= 0) state.extra["best_valid_accuracy"] = score.accuracy;
    state.validations_without_improvement = 0;
    if (main) save_weights(*model, session.run_dir() + "/" + kBestWeightsFile);
  } else {
    ++state.validations_without_improvement;
  }
  Json record = {{"event", "valid"}, {"step", state.step}, {"loss", valid_loss}};
  merge_json(record, score.scores());
  record["best"] = improved;
  log.write(record);
  progress.set_status(
      score.accuracy >= 0
          ? fmt::format("valid loss {:.3f} accuracy {:.1f}%", valid_loss, score.accuracy)
          : fmt::format("valid loss {:.3f} BLEU {:.2f}", valid_loss, valid_bleu));
  const char* stop_reason = nullptr;
  double next_lr = base_lr * schedule.factor(state.step + 1);
  if (patience > 0 && state.validations_without_improvement >= patience)
    stop_reason = "patience";
  else if (stop_min_lr > 0 && state.step >= warmup_steps && next_lr < stop_min_lr)
    stop_reason = "min_lr";
  if (!stop_reason) return false;
  log.write(
      {{"event", "early_stop"}, {"step", state.step}, {"reason", stop_reason}, {"lr", next_lr}});
  state.early_stopped = true;
  return true;
}

TrainResult gradient_train(const Config& requested, const std::string& run_dir, bool resume,
                           const DistributedOptions& distributed) {
  RunSession session(requested, run_dir, resume, distributed);
  const Config& config = session.config();
  resume = session.resume();
  const torch::Device device = session.device();
  const uint64_t seed = session.seed();
  const bool main = session.main();
  const int world = session.world();
  Communicator* communicator = session.communicator();
  TrainingData& data = session.data();
  const int64_t vocab = data.tokenizer->vocab_size();
  Seq2Seq& model = session.model();
  auto optimizer = make_optimizer(config, model->parameters());
  ScheduleOptions schedule_options;
  schedule_options.warmup_steps = config.get_int("train.warmup_steps");
  schedule_options.max_steps = config.get_int("train.max_steps");
  schedule_options.plateau_factor = config.get_number("train.plateau_factor");
  schedule_options.plateau_patience = config.get_int("train.plateau_patience");
  auto schedule = schedule_registry().create(config.get_string("train.schedule"), schedule_options);

  TrainState state;
  if (resume) {
    state = read_checkpoint(session.checkpoint_path(), *model, optimizer.get());
    schedule->restore(state.schedule);
    log_info(fmt::format("resuming {} at step {} (epoch {}, batch {})", run_dir, state.step,
                         state.epoch, state.batch_in_epoch));
  }
  session.begin(state);
  JsonLinesLog& log = session.log();
  std::unique_ptr<GradientReducer> reducer;
  if (communicator) {
    broadcast_module(*communicator, *model);
    reducer = std::make_unique<GradientReducer>(
        *communicator, model->parameters(),
        static_cast<int64_t>(config.get_number("train.bucket_mb") * (1 << 20)));
    log_info(fmt::format(
        "data parallel: {} processes ({}), {} gradient bucket(s) of {} values, {} thread(s) each",
        world, communicator->backend(), reducer->buckets(), reducer->gradient_elements(),
        at::get_num_threads()));
  }
  if (!resume)
    log.write({{"event", "start"},
               {"parameters", model->parameter_count()},
               {"train_pairs", data.train_size()},
               {"vocab", vocab},
               {"processes", world}});

  // The global batch: N x the per-process budget; rank r trains on its slice (shard_batch).
  TokenBucketBatcher batcher(data.train_lengths(), config.get_int("train.batch_tokens") * world,
                             config.get_int("train.batch_sentences") * world, seed);
  const int64_t max_steps = config.get_int("train.max_steps");
  const int64_t max_epochs = config.get_int("train.max_epochs");
  const double max_minutes = config.get_number("train.max_minutes");
  const double base_lr = config.get_number("train.lr");
  const double clip = config.get_number("train.clip_norm");
  const double smoothing = config.get_number("train.label_smoothing");
  const int64_t valid_every = config.get_int("train.valid_every");
  const int64_t checkpoint_every = config.get_int("train.checkpoint_every");
  const int64_t log_every = config.get_int("train.log_every");
  const int64_t keep_last = config.get_int("train.keep_last");
  // What picks best.safetensors and counts patience; its best value is kept in the checkpoint
  // (state.extra), so a resumed run stops where an uninterrupted one does.
  const std::string stop_metric = config.get_string("train.early_stop_metric");
  const bool classifies = !data.labels.empty();
  if ((stop_metric == "bleu" || stop_metric == "chrf" || stop_metric == "cider") &&
      (classifies || data.task == "sequence" || config.get_int("train.valid_bleu_sentences") == 0))
    throw InputError(fmt::format(
        "train.early_stop_metric {} needs decoded validation sentences: a translation or "
        "captioning task with train.valid_bleu_sentences > 0",
        stop_metric));
  if (stop_metric == "accuracy" && !classifies && data.task != "sequence")
    throw InputError("train.early_stop_metric accuracy needs a classification or sequence task");
  const AugmentOptions augment = AugmentOptions::from_config(config);
  // Under a time budget the step limit is rarely what ends training: show time left instead.
  Progress progress("train", max_minutes > 0 ? 0 : max_steps, "steps");
  progress.resume_at(state.step);
  model->train();
  LogWindow window;
  if (resume) window.restore(state);
  const double elapsed_before = state.elapsed_seconds;
  // Rank 0 writes checkpoints; every rank keeps the state they hold. The last one is written once,
  // whether the loop ends on a stop (in it) or on the epoch limit (after it).
  int64_t saved_step = -1, saved_epoch = -1;
  auto save_checkpoint = [&] {
    state.schedule = schedule->state();
    state.extra["log_window"] = window.to_json();
    state.elapsed_seconds = session.elapsed();
    if (main) write_checkpoint(session.checkpoint_path(), *model, optimizer.get(), state);
    if (main && keep_last > 0) keep_step_weights(*model, run_dir, state.step, keep_last);
    saved_step = state.step;
    saved_epoch = state.epoch;
  };
  if (max_minutes > 0) progress.set_deadline(max_minutes * 60 - session.elapsed());
  bool stop = state.early_stopped || (max_minutes > 0 && elapsed_before >= max_minutes * 60);
  // Streaming (data.streaming): the loader's threads make the batches ahead (data/prefetch.h); a
  // batch depends only on its indices and the epoch, so the run is the same as from memory.
  const bool streaming = data.train_shards || data.train_image_store;
  if (data.train_shards) {  // the shards a checkpoint was trained on are the ones it resumes on
    const std::string fingerprint = data.train_shards->fingerprint();
    if (resume && state.extra.is_object() && state.extra.contains("train_shards") &&
        state.extra["train_shards"] != fingerprint)
      throw InputError(fmt::format(
          "{}: the checkpoint was trained on other shards than {}/shards holds now (another "
          "corpus, tokenizer or filter); resume with the run's own data",
          run_dir, run_dir));
    state.extra["train_shards"] = fingerprint;
  }
  const int loader_threads = static_cast<int>(config.get_int("data.loader_threads"));
  const int prefetch_batches = static_cast<int>(config.get_int("data.prefetch_batches"));
  double loader_wait = 0;
  while (!stop && state.step < max_steps && (max_epochs == 0 || state.epoch < max_epochs)) {
    auto batches = batcher.epoch(state.epoch);
    const int64_t epoch = state.epoch;
    // This rank's slice of a global batch, collated (and augmented), on the host.
    auto make_batch = [&, epoch](const std::vector<int64_t>& global) {
      const std::vector<int64_t> mine =
          communicator ? shard_batch(global, distributed.rank, world) : global;
      Batch batch;
      if (mine.empty()) return batch;
      batch = data.train_batch(mine);
      if (augment.any() && batch.images.defined())
        batch.images = augment_images(batch.images, batch.indices, seed, epoch, augment);
      return batch;
    };
    std::unique_ptr<BatchPrefetcher> loader;
    if (streaming && static_cast<size_t>(state.batch_in_epoch) < batches.size())
      loader = std::make_unique<BatchPrefetcher>(batches, static_cast<size_t>(state.batch_in_epoch),
                                                 make_batch, loader_threads, prefetch_batches);
    for (size_t b = static_cast<size_t>(state.batch_in_epoch); b < batches.size() && !stop; ++b) {
      Batch batch = loader ? loader->next() : make_batch(batches[b]);
      if (batch.size() > 0) batch = batch.to(device);
      if (!communicator && batch.size() == 0) {  // every image of it bad (data.skip_bad_images)
        state.batch_in_epoch = static_cast<int64_t>(b) + 1;
        continue;
      }
      const int64_t batch_tokens =
          communicator ? data.train_target_tokens(batches[b]) : batch.target_tokens;
      if (communicator) seed_everything(step_seed(seed, distributed.rank, state.step));
      double lr = base_lr * schedule->factor(state.step + 1);
      set_lr(*optimizer, lr);
      double step_loss =
          train_step(model, *optimizer, batch, smoothing, clip, batch_tokens, reducer.get())
              .item<double>();
      ++state.step;
      state.batch_in_epoch = static_cast<int64_t>(b) + 1;
      // Rank 0's clock decides the time budget for everyone; the loss logged is the global batch's.
      bool out_of_time = max_minutes > 0 && session.elapsed() >= max_minutes * 60;
      if (communicator) {
        const auto sums =
            communicator->all_reduce_values({step_loss, main && out_of_time ? 1.0 : 0.0});
        step_loss = sums[0];
        out_of_time = sums[1] > 0;
      }
      window.add(step_loss, batch_tokens);
      progress.advance();

      if (state.step % log_every == 0) {
        Json record = window.record(state, lr);
        if (reducer) {  // the all-reduce time the backward pass did not hide
          record["allreduce_wait_s"] = reducer->wait_seconds() / double(log_every);
          reducer->reset_wait_seconds();
        }
        log.write(record);
        progress.set_status(fmt::format("loss {:.3f} lr {:.2e}", record["loss"].get<double>(), lr));
      }
      if (state.step % valid_every == 0 || state.step == max_steps || out_of_time) {
        if (validate_step(session, state, *schedule, progress)) stop = true;
      }
      if (out_of_time || state.step >= max_steps) stop = true;
      if (state.step % checkpoint_every == 0 || stop) save_checkpoint();
    }
    if (loader) loader_wait += loader->wait_seconds();
    if (!stop) {
      ++state.epoch;
      state.batch_in_epoch = 0;
    }
  }
  if (streaming)
    log.write({{"event", "loader"},
               {"step", state.step},
               {"wait_s", loader_wait},
               {"threads", loader_threads},
               {"images_decoded",
                data.train_image_store ? data.train_image_store->decoded() : int64_t(0)}});
  if (saved_step != state.step || saved_epoch != state.epoch) save_checkpoint();
  progress.finish();
  return session.finish(state);
}

}  // namespace

TrainResult train_model(const Config& requested, const std::string& run_dir, bool resume,
                        const DistributedOptions& distributed) {
  distributed.check();
  if (distributed.active()) set_console_rank(distributed.rank);
  if (requested.get_string("train.method") == "ridge")
    return fit_readout(requested, run_dir, resume, distributed);
  return gradient_train(requested, run_dir, resume, distributed);
}

}  // namespace seqlab
