// Early stopping on a validation metric (patience kept in the checkpoint) and checkpoint
// averaging (train.keep_last, seqlab average), on the small reversal corpus.
#include <catch2/catch.hpp>

#include <filesystem>

#include <torch/torch.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "tests/test_support.h"
#include "train/average.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using seqlab::Json;

namespace {

seqlab::Config reversal_config(const seqlab::testing::TempDir& dir,
                               std::vector<std::string> overrides) {
  const std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  Json config = {{"run", {{"seed", 5}, {"threads", 1}}},
                 {"data", {{"corpus", corpus}, {"tokenizer", "char"}, {"vocab_size", 0}}},
                 {"model", {{"embedding_dim", 16}, {"hidden_dim", 32}, {"dropout", 0.1}}},
                 {"train", {{"lr", 0.01}, {"batch_tokens", 120}, {"log_every", 10}}},
                 {"eval", {{"beam", 1}}}};
  seqlab::testing::write_text(dir.file("config.json"), config.dump(2));
  return seqlab::Config::from_file(dir.file("config.json"), overrides);
}

}  // namespace

TEST_CASE(
    "early stopping on validation chrF: best and patience follow the metric, and a resumed run "
    "stops where an "
    "uninterrupted one does") {
  seqlab::testing::TempDir dir;
  const std::vector<std::string> keys = {
      "train.early_stop_metric=chrf",  "train.patience=2",          "train.valid_every=10",
      "train.valid_bleu_sentences=20", "train.checkpoint_every=10", "train.max_steps=400"};
  auto config = reversal_config(dir, keys);
  const std::string straight = dir.file("straight"), resumed = dir.file("resumed");
  auto result = seqlab::train_model(config, straight, false);
  // Every validation logs chrF; "best" is set exactly when chrF beats every earlier one, and the
  // run stops after two validations in a row that did not improve (patience 2).
  double best = -1;
  int64_t stopped_at = -1;
  bool last_improved = true;
  for (const auto& r : seqlab::read_json_lines(straight + "/metrics.jsonl")) {
    if (r["event"] == "early_stop") stopped_at = r["step"].get<int64_t>();
    if (r["event"] != "valid") continue;
    REQUIRE(r.contains("chrf"));
    const double chrf = r["chrf"].get<double>();
    CHECK(r["best"].get<bool>() == (chrf > best));
    last_improved = chrf > best;
    best = std::max(best, chrf);
  }
  REQUIRE(result.best_valid_metric.has_value());
  CHECK(*result.best_valid_metric == best);
  if (result.early_stopped) {
    CHECK(stopped_at == result.steps);
    CHECK_FALSE(last_improved);
  }
  CHECK(result.steps > 10);

  // Stopped after the second validation, then resumed with the whole budget: the same stop.
  auto first = seqlab::train_model(
      seqlab::Config::from_file(dir.file("config.json"), {keys[0], keys[1], keys[2], keys[3],
                                                          keys[4], "train.max_steps=20"}),
      resumed, false);
  REQUIRE(first.steps == 20);
  auto second = seqlab::train_model(config, resumed, true);
  CHECK(second.steps == result.steps);
  CHECK(second.early_stopped == result.early_stopped);
  CHECK(*second.best_valid_metric == *result.best_valid_metric);
  CHECK(seqlab::testing::logged_values(straight, "valid", "chrf") ==
        seqlab::testing::logged_values(resumed, "valid", "chrf"));
}

TEST_CASE("an early-stopping metric the task cannot score is refused before training") {
  seqlab::testing::TempDir dir;
  auto accuracy = reversal_config(dir, {"train.early_stop_metric=accuracy", "train.max_steps=5"});
  CHECK_THROWS_WITH(seqlab::train_model(accuracy, dir.file("a"), false),
                    Contains("classification or sequence"));
  auto no_sentences = reversal_config(
      dir, {"train.early_stop_metric=bleu", "train.valid_bleu_sentences=0", "train.max_steps=5"});
  CHECK_THROWS_WITH(seqlab::train_model(no_sentences, dir.file("b"), false),
                    Contains("valid_bleu_sentences > 0"));
  CHECK_THROWS_WITH(reversal_config(dir, {"train.early_stop_metric=meteor"}),
                    Contains("bleu, chrf, cider"));
}

TEST_CASE(
    "checkpoint averaging: kept weights, the mean of the last N, identical checkpoints average to "
    "themselves") {
  seqlab::testing::TempDir dir;
  auto config =
      reversal_config(dir, {"train.keep_last=3", "train.checkpoint_every=10",
                            "train.valid_every=25", "train.max_steps=50", "train.patience=0"});
  const std::string run = dir.file("run");
  seqlab::train_model(config, run, false);
  auto kept = seqlab::kept_step_weights(run);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].first == 30);
  CHECK(kept[2].first == 50);

  // The mean of the three, computed here in double precision.
  auto model_of = [&](const std::string& path) {
    auto loaded = seqlab::load_run_without_weights(run, "cpu");
    seqlab::load_weights(*loaded.model, path);
    return loaded;
  };
  std::vector<seqlab::LoadedRun> models;
  for (const auto& [step, path] : kept) models.push_back(model_of(path));
  auto record = seqlab::average_run(run, 3);
  CHECK(record["steps"] == Json::array({30, 40, 50}));
  const std::string averaged = record["run"].get<std::string>();
  CHECK(averaged == run + "/average-last3");
  auto average = seqlab::load_run(averaged, "cpu");
  auto params = average.model->named_parameters();
  for (const auto& p : params) {
    torch::Tensor sum = torch::zeros_like(p.value(), torch::kDouble);
    for (auto& m : models) sum += m.model->named_parameters()[p.key()].to(torch::kDouble);
    CHECK(torch::equal(p.value(), (sum / 3.0).to(torch::kFloat)));
  }
  // It translates like any run.
  auto out = seqlab::translate_sentences(average, {"abc"}, seqlab::search_options(average.config));
  CHECK(out.size() == 1);

  // Three identical checkpoints average to that checkpoint, bit for bit.
  fs::copy_file(kept[2].second, run + "/checkpoints/step-51.safetensors");
  fs::copy_file(kept[2].second, run + "/checkpoints/step-52.safetensors");
  auto same = seqlab::average_run(run, 3, dir.file("same"));
  CHECK(same["steps"] == Json::array({50, 51, 52}));
  auto identical = seqlab::load_run(dir.file("same"), "cpu");
  auto newest = model_of(kept[2].second);
  for (const auto& p : identical.model->named_parameters())
    CHECK(torch::equal(p.value(), newest.model->named_parameters()[p.key()]));

  CHECK_THROWS_WITH(seqlab::average_run(run, 9), Contains("fewer than --last 9"));
  seqlab::testing::TempDir other;
  auto plain = reversal_config(other, {"train.max_steps=5"});
  seqlab::train_model(plain, other.file("run"), false);
  CHECK_THROWS_WITH(seqlab::average_run(other.file("run"), 2), Contains("train.keep_last"));
}
