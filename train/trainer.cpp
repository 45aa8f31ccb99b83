#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/random.h"
#include "core/runtime.h"
#include "data/recipe.h"
#include "eval/metric.h"
#include "train/run_directory.h"
#include "train/schedule.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

ConfigSchema& schema() { return ConfigSchema::global(); }

const bool declared =
    schema().add(key_string("data.corpus", "ui-fr",
                            "recipe name (prepared with `seqlab data prepare`) or a directory "
                            "with train.tsv, valid.tsv, test.tsv")) &&
    schema().add(key_string("data.tokenizer", "bpe", "tokenizer kind")
                     .names_from([] { return TokenizerRegistry().names(); })) &&
    schema().add(key_int("data.vocab_size", 8000, "joint vocabulary size").range(0, 1000000)) &&
    schema().add(key_int("data.max_length", 100,
                         "training pairs with more tokens on either side are skipped")
                     .range(1, 100000)) &&
    schema().add(key_int("data.train_limit", 0, "use only the first N training pairs; 0 = all")
                     .range(0, 1e12)) &&
    schema().add(key_string("train.optimizer", "adamw", "optimizer").one_of({"adamw", "adam", "sgd"})) &&
    schema().add(key_number("train.lr", 1e-3, "peak learning rate").range(0, 100)) &&
    schema().add(key_number("train.weight_decay", 0.0, "decoupled weight decay (AdamW)").range(0, 10)) &&
    schema().add(key_string("train.schedule", "constant", "learning-rate schedule")
                     .names_from([] { return ScheduleRegistry().names(); })) &&
    schema().add(key_int("train.warmup_steps", 0, "linear warm-up steps").range(0, 1e9)) &&
    schema().add(key_int("train.max_steps", 20000, "stop after this many updates").range(1, 1e12)) &&
    schema().add(key_int("train.max_epochs", 0, "stop after this many epochs; 0 = no limit")
                     .range(0, 1e9)) &&
    schema().add(key_number("train.max_minutes", 0, "wall-clock budget; 0 = none").range(0, 1e9)) &&
    schema().add(key_int("train.batch_tokens", 4000, "padded tokens per batch").range(1, 1e9)) &&
    schema().add(key_int("train.batch_sentences", 0, "sentences per batch cap; 0 = none")
                     .range(0, 1e9)) &&
    schema().add(key_number("train.clip_norm", 1.0, "gradient norm clipping; 0 = off").range(0, 1e6)) &&
    schema().add(key_number("train.label_smoothing", 0.1, "label smoothing (Szegedy et al. 2016)")
                     .range(0, 0.99)) &&
    schema().add(key_int("train.valid_every", 500, "validate every N steps").range(1, 1e9)) &&
    schema().add(key_int("train.valid_bleu_sentences", 500,
                         "validation sentences decoded (greedy) for BLEU; 0 = loss only")
                     .range(0, 1e9)) &&
    schema().add(key_int("train.patience", 5,
                         "stop after N validations without a better loss; 0 = never")
                     .range(0, 1e6)) &&
    schema().add(key_number("train.stop_min_lr", 0,
                            "stop when a validation leaves the rate (after warm-up) below this, "
                            "as fairseq's --stop-min-lr; 0 = never")
                     .range(0, 100)) &&
    schema().add(key_int("train.checkpoint_every", 500, "write checkpoint.pt every N steps")
                     .range(1, 1e9)) &&
    schema().add(key_int("train.log_every", 50, "log training loss every N steps").range(1, 1e9)) &&
    schema().add(key_number("train.plateau_factor", 0.5, "plateau schedule: rate multiplier")
                     .range(0.01, 1)) &&
    schema().add(key_int("train.plateau_patience", 1, "plateau schedule: validations to wait")
                     .range(1, 1000));

struct TrainState {
  int64_t step = 0;
  int64_t epoch = 0;
  int64_t batch_in_epoch = 0;  // batches of `epoch` already consumed
  double best_valid_loss = std::numeric_limits<double>::infinity();
  double best_valid_bleu = 0;
  int64_t validations_without_improvement = 0;
  bool early_stopped = false;
  double elapsed_seconds = 0;  // training time over all sessions (train.max_minutes counts this)
  Json schedule;

  Json to_json() const {
    return {{"step", step},
            {"epoch", epoch},
            {"batch_in_epoch", batch_in_epoch},
            {"best_valid_loss", std::isfinite(best_valid_loss) ? Json(best_valid_loss) : Json()},
            {"best_valid_bleu", best_valid_bleu},
            {"validations_without_improvement", validations_without_improvement},
            {"early_stopped", early_stopped},
            {"elapsed_seconds", elapsed_seconds},
            {"schedule", schedule}};
  }
  static TrainState from_json(const Json& j) {
    TrainState s;
    s.step = j.at("step");
    s.epoch = j.at("epoch");
    s.batch_in_epoch = j.at("batch_in_epoch");
    s.best_valid_loss = j.at("best_valid_loss").is_null() ? std::numeric_limits<double>::infinity()
                                                          : j.at("best_valid_loss").get<double>();
    s.best_valid_bleu = j.at("best_valid_bleu");
    s.validations_without_improvement = j.at("validations_without_improvement");
    s.early_stopped = j.value("early_stopped", false);
    s.elapsed_seconds = j.value("elapsed_seconds", 0.0);
    s.schedule = j.value("schedule", Json::object());
    return s;
  }
};

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Config& config,
                                                        std::vector<torch::Tensor> parameters) {
  const std::string name = config.get_string("train.optimizer");
  double lr = config.get_number("train.lr"), decay = config.get_number("train.weight_decay");
  if (name == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(lr).weight_decay(decay).betas({0.9, 0.98}));
  if (name == "adam")
    return std::make_unique<torch::optim::Adam>(
        parameters, torch::optim::AdamOptions(lr).weight_decay(decay).betas({0.9, 0.98}));
  return std::make_unique<torch::optim::SGD>(parameters,
                                             torch::optim::SGDOptions(lr).weight_decay(decay));
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

// Cross-entropy summed over real target tokens (padding ignored), with label smoothing.
torch::Tensor token_loss_sum(const torch::Tensor& logits, const torch::Tensor& targets,
                             double smoothing) {
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape(-1),
                          F::CrossEntropyFuncOptions()
                              .ignore_index(Tokenizer::kPad)
                              .label_smoothing(smoothing)
                              .reduction(torch::kSum));
}

Source source_of(const Batch& batch) {
  return {batch.source, batch.source_lengths, batch.source_mask, {}};
}

void write_checkpoint(const std::string& path, Seq2Seq& model, torch::optim::Optimizer& optimizer,
                      const TrainState& state) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  model->save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("state", c10::IValue(state.to_json().dump()));
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  archive.write("torch_rng", generator.get_state());
  write_atomic_with(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

TrainState read_checkpoint(const std::string& path, Seq2Seq& model,
                           torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive archive, model_archive, optimizer_archive;
  try {
    archive.load_from(path);
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
  } catch (const c10::Error& e) {
    throw InputError(path + ": unreadable checkpoint: " +
                     std::string(e.what_without_backtrace()).substr(0, 300));
  }
  model->load(model_archive);
  optimizer.load(optimizer_archive);
  c10::IValue state;
  archive.read("state", state);
  torch::Tensor rng;
  archive.read("torch_rng", rng);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng);
  return TrainState::from_json(Json::parse(state.toStringRef()));
}

struct Data {
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<Example> train, valid;
  std::vector<std::string> valid_sources, valid_targets;
};

Data load_data(const Config& config, const std::string& run_dir, bool resume) {
  Data data;
  const std::string corpus = config.get_string("data.corpus");
  auto train_pairs = load_corpus_split(corpus, "train");
  auto valid_pairs = load_corpus_split(corpus, "valid");
  if (int64_t limit = config.get_int("data.train_limit"); limit > 0 &&
                                                          static_cast<size_t>(limit) < train_pairs.size())
    train_pairs.resize(static_cast<size_t>(limit));
  std::string tokenizer_path = run_dir + "/tokenizer.json";
  if (resume && fs::exists(tokenizer_path)) {
    data.tokenizer = Tokenizer::load(tokenizer_path);
  } else {
    std::vector<std::string> sentences;
    for (const auto& p : train_pairs) {
      sentences.push_back(p.source);
      sentences.push_back(p.target);
    }
    TokenizerOptions options;
    options.vocab_size = config.get_int("data.vocab_size");
    data.tokenizer = train_tokenizer(config.get_string("data.tokenizer"), sentences, options);
    data.tokenizer->save(tokenizer_path);
  }
  const auto max_length = static_cast<size_t>(config.get_int("data.max_length"));
  for (auto& ex : encode_pairs(*data.tokenizer, train_pairs))
    if (!ex.source.empty() && ex.source.size() <= max_length && ex.target.size() <= max_length)
      data.train.push_back(std::move(ex));
  if (data.train.empty()) throw InputError("no training pairs within data.max_length");
  data.valid = encode_pairs(*data.tokenizer, valid_pairs);
  for (const auto& p : valid_pairs) {
    data.valid_sources.push_back(p.source);
    data.valid_targets.push_back(p.target);
  }
  return data;
}

}  // namespace

Json TrainResult::to_json() const {
  return {{"steps", steps},
          {"epochs", epochs},
          {"best_valid_loss", best_valid_loss},
          {"best_valid_bleu", best_valid_bleu},
          {"early_stopped", early_stopped},
          {"seconds", seconds}};
}

namespace {

// Keys that steer how long, how often and where a run goes on, not what it learns: a resumed run
// takes them from the command line (to extend max_steps, add a stop_min_lr, use more threads).
constexpr const char* kResumeMayChange[] = {
    "run.threads",      "run.device",     "train.max_steps",        "train.max_epochs",
    "train.max_minutes", "train.patience", "train.stop_min_lr",     "train.valid_every",
    "train.checkpoint_every", "train.log_every", "train.valid_bleu_sentences"};

// The config a resumed run continues with: the one it started with, updated with the requested
// values of kResumeMayChange. Any other requested change is an input error, not silently dropped.
Config resumed_config(const std::string& config_path, const Config& requested) {
  Config saved = Config::from_file(config_path);
  Json merged = saved.resolved();
  std::vector<std::string> refused;
  for (const KeySpec* key : ConfigSchema::global().keys()) {
    std::string pointer = "/" + key->path;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    Json::json_pointer at(pointer);
    Json was = merged.contains(at) ? merged.at(at) : Json();
    Json want = requested.resolved().contains(at) ? requested.resolved().at(at) : Json();
    if (was == want) continue;
    if (std::find(std::begin(kResumeMayChange), std::end(kResumeMayChange), key->path) !=
        std::end(kResumeMayChange)) {
      log_info(fmt::format("resume: {} = {} (was {})", key->path, want.dump(), was.dump()));
      merged[at] = want;
    } else {
      refused.push_back(fmt::format("{} = {} (requested {})", key->path, was.dump(), want.dump()));
    }
  }
  if (!refused.empty()) {
    throw InputError(fmt::format(
        "{}: the run was started with {}; --resume cannot change what a run trains. Use a new "
        "--out directory, or resume with the run's own settings (a resume may change only {})",
        config_path, fmt::join(refused, ", "), fmt::join(kResumeMayChange, ", ")));
  }
  return Config::from_json(merged, {}, config_path);
}

}  // namespace

TrainResult train_model(const Config& requested, const std::string& run_dir, bool resume) {
  auto started = std::chrono::steady_clock::now();
  fs::create_directories(run_dir);
  const std::string checkpoint_path = run_dir + "/checkpoint.pt";
  const std::string config_path = run_dir + "/config.json";
  resume = resume && fs::exists(checkpoint_path);
  // A resumed run continues with the config it started with (see resumed_config).
  Config config = resume ? resumed_config(config_path, requested) : requested;
  config.save(config_path);
  configure_threads(static_cast<int>(config.get_int("run.threads")));
  warn_if_slow_blas();
  const uint64_t seed = static_cast<uint64_t>(config.get_int("run.seed"));
  seed_everything(seed);
  torch::Device device = parse_device(config.get_string("run.device"));

  Data data = load_data(config, run_dir, resume);
  const int64_t vocab = data.tokenizer->vocab_size();
  Seq2Seq model(config, vocab, vocab);
  model->to(device);
  auto optimizer = make_optimizer(config, model->parameters());
  ScheduleOptions schedule_options;
  schedule_options.warmup_steps = config.get_int("train.warmup_steps");
  schedule_options.max_steps = config.get_int("train.max_steps");
  schedule_options.plateau_factor = config.get_number("train.plateau_factor");
  schedule_options.plateau_patience = config.get_int("train.plateau_patience");
  auto schedule = ScheduleRegistry().create(config.get_string("train.schedule"), schedule_options);

  TrainState state;
  if (resume) {
    state = read_checkpoint(checkpoint_path, model, *optimizer);
    schedule->restore(state.schedule);
    log_info(fmt::format("resuming {} at step {} (epoch {}, batch {})", run_dir, state.step,
                         state.epoch, state.batch_in_epoch));
  }
  JsonLinesLog log(run_dir + "/metrics.jsonl");
  if (!resume)
    log.write({{"event", "start"},
               {"parameters", model->parameter_count()},
               {"train_pairs", data.train.size()},
               {"vocab", vocab}});

  TokenBucketBatcher batcher(data.train, config.get_int("train.batch_tokens"),
                             config.get_int("train.batch_sentences"), seed);
  TokenBucketBatcher valid_batcher(data.valid, config.get_int("train.batch_tokens"), 0, seed);
  const int64_t max_steps = config.get_int("train.max_steps");
  const int64_t max_epochs = config.get_int("train.max_epochs");
  const double max_minutes = config.get_number("train.max_minutes");
  const double base_lr = config.get_number("train.lr");
  const double clip = config.get_number("train.clip_norm");
  const double smoothing = config.get_number("train.label_smoothing");
  const int64_t valid_every = config.get_int("train.valid_every");
  const int64_t checkpoint_every = config.get_int("train.checkpoint_every");
  const int64_t log_every = config.get_int("train.log_every");
  const int64_t patience = config.get_int("train.patience");
  const double stop_min_lr = config.get_number("train.stop_min_lr");
  const int64_t warmup_steps = config.get_int("train.warmup_steps");
  const int64_t bleu_sentences = config.get_int("train.valid_bleu_sentences");
  auto metric = MetricRegistry().create("bleu");

  auto validate = [&]() {
    model->eval();
    double loss_sum = 0;
    int64_t tokens = 0;
    {
      torch::NoGradGuard no_grad;
      for (const auto& indices : valid_batcher.sorted()) {
        Batch batch = collate(data.valid, indices).to(device);
        auto logits = model->forward(source_of(batch), batch.target_in);
        loss_sum += token_loss_sum(logits, batch.target_out, 0.0).item<double>();
        tokens += batch.target_tokens;
      }
    }
    double bleu = 0;
    if (bleu_sentences > 0) {
      size_t n = std::min<size_t>(static_cast<size_t>(bleu_sentences), data.valid_sources.size());
      std::vector<Example> examples(data.valid.begin(), data.valid.begin() + n);
      TokenBucketBatcher bleu_batcher(examples, config.get_int("train.batch_tokens"), 0, 0);
      std::vector<std::string> hypotheses(n);
      SearchOptions greedy;
      greedy.max_length_ratio = config.get_number("eval.max_length_ratio");
      for (const auto& indices : bleu_batcher.sorted()) {
        Batch batch = collate(examples, indices).to(device);
        auto found = greedy_search(model, source_of(batch), greedy);
        for (size_t i = 0; i < indices.size(); ++i)
          hypotheses[indices[i]] = data.tokenizer->decode(found[i].tokens);
      }
      std::vector<std::string> references(data.valid_targets.begin(), data.valid_targets.begin() + n);
      bleu = metric->corpus_score(hypotheses, {references}).score;
    }
    model->train();
    return std::make_pair(tokens > 0 ? loss_sum / double(tokens) : 0.0, bleu);
  };

  // Under a time budget the step limit is rarely what ends training: show time left instead.
  Progress progress("train", max_minutes > 0 ? 0 : max_steps, "steps");
  progress.resume_at(state.step);
  model->train();
  double window_loss = 0;
  int64_t window_tokens = 0;
  auto window_start = std::chrono::steady_clock::now();
  const double elapsed_before = state.elapsed_seconds;
  auto elapsed = [&] {
    return elapsed_before +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  if (max_minutes > 0) progress.set_deadline(max_minutes * 60 - elapsed());
  bool stop = state.early_stopped || (max_minutes > 0 && elapsed_before >= max_minutes * 60);
  while (!stop && state.step < max_steps && (max_epochs == 0 || state.epoch < max_epochs)) {
    auto batches = batcher.epoch(state.epoch);
    for (size_t b = static_cast<size_t>(state.batch_in_epoch); b < batches.size() && !stop; ++b) {
      Batch batch = collate(data.train, batches[b]).to(device);
      double lr = base_lr * schedule->factor(state.step + 1);
      set_lr(*optimizer, lr);
      optimizer->zero_grad();
      auto logits = model->forward(source_of(batch), batch.target_in);  // [B, T, V]
      auto loss_sum = token_loss_sum(logits, batch.target_out, smoothing);
      (loss_sum / static_cast<double>(batch.target_tokens)).backward();
      if (clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), clip);
      optimizer->step();
      ++state.step;
      state.batch_in_epoch = static_cast<int64_t>(b) + 1;
      window_loss += loss_sum.item<double>();
      window_tokens += batch.target_tokens;
      progress.advance();

      if (state.step % log_every == 0) {
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
        double loss = window_loss / double(std::max<int64_t>(1, window_tokens));
        log.write({{"event", "train"}, {"step", state.step}, {"epoch", state.epoch}, {"loss", loss},
                   {"lr", lr}, {"tokens_per_s", double(window_tokens) / std::max(1e-9, seconds)}});
        progress.set_status(fmt::format("loss {:.3f} lr {:.2e}", loss, lr));
        window_loss = 0;
        window_tokens = 0;
        window_start = std::chrono::steady_clock::now();
      }
      bool out_of_time = max_minutes > 0 && elapsed() >= max_minutes * 60;
      if (state.step % valid_every == 0 || state.step == max_steps || out_of_time) {
        auto [valid_loss, valid_bleu] = validate();
        schedule->on_validation(valid_loss);
        bool improved = valid_loss < state.best_valid_loss;
        if (improved) {
          state.best_valid_loss = valid_loss;
          state.best_valid_bleu = valid_bleu;
          state.validations_without_improvement = 0;
          save_weights(*model, run_dir + "/best.pt");
        } else {
          ++state.validations_without_improvement;
        }
        log.write({{"event", "valid"}, {"step", state.step}, {"loss", valid_loss},
                   {"bleu", valid_bleu}, {"best", improved}});
        progress.set_status(fmt::format("valid loss {:.3f} BLEU {:.2f}", valid_loss, valid_bleu));
        const char* stop_reason = nullptr;
        double next_lr = base_lr * schedule->factor(state.step + 1);
        if (patience > 0 && state.validations_without_improvement >= patience)
          stop_reason = "patience";
        else if (stop_min_lr > 0 && state.step >= warmup_steps && next_lr < stop_min_lr)
          stop_reason = "min_lr";
        if (stop_reason) {
          log.write({{"event", "early_stop"}, {"step", state.step}, {"reason", stop_reason},
                     {"lr", next_lr}});
          state.early_stopped = true;
          stop = true;
        }
      }
      if (out_of_time || state.step >= max_steps) stop = true;
      if (state.step % checkpoint_every == 0 || stop) {
        state.schedule = schedule->state();
        state.elapsed_seconds = elapsed();
        write_checkpoint(checkpoint_path, model, *optimizer, state);
      }
    }
    if (!stop) {
      ++state.epoch;
      state.batch_in_epoch = 0;
    }
  }
  state.schedule = schedule->state();
  state.elapsed_seconds = elapsed();
  write_checkpoint(checkpoint_path, model, *optimizer, state);
  progress.finish();
  TrainResult result;
  result.steps = state.step;
  result.epochs = state.epoch;
  result.best_valid_loss = state.best_valid_loss;
  result.best_valid_bleu = state.best_valid_bleu;
  result.early_stopped = state.early_stopped;
  result.seconds = state.elapsed_seconds;
  log.write({{"event", "end"}, {"result", result.to_json()}});
  return result;
}

}  // namespace seqlab
