// Sequence classification end to end: every encoder family learns a labelled toy corpus through
// the same trainer (or the ridge fitter), the run reloads with its label set, `seqlab eval` gives
// accuracy, macro-F1 and the confusion matrix, `seqlab classify` labels stdin, and resuming a run
// continues exactly.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/config.h"
#include "core/files.h"
#include "data/debian_packages.h"
#include "data/task.h"
#include "eval/classify.h"
#include "seqlab_paths.h"
#include "tests/test_support.h"
#include "train/evaluate.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using seqlab::Config;
using seqlab::Json;

namespace {

// Sentences of 3-8 words from twelve; the label says whether "x" occurs ("yes") or not ("no"),
// half and half. 300 training, 60 validation and 60 test sentences.
std::string write_keyword_corpus(const seqlab::testing::TempDir& dir) {
  const std::vector<std::string> words = {"a", "b", "c", "d", "e", "f",
                                          "g", "h", "i", "j", "k", "l"};
  std::mt19937 rng(7);
  auto sentence = [&](bool with_x) {
    std::vector<std::string> out;
    const int n = 3 + int(rng() % 6);
    for (int i = 0; i < n; ++i) out.push_back(words[rng() % words.size()]);
    if (with_x) out[rng() % out.size()] = "x";
    std::string text;
    for (const auto& w : out) text += (text.empty() ? "" : " ") + w;
    return text;
  };
  const std::string root = dir.file("keyword");
  fs::create_directories(root);
  for (auto [split, count] :
       std::vector<std::pair<std::string, int>>{{"train", 300}, {"valid", 60}, {"test", 60}}) {
    std::string text;
    for (int i = 0; i < count; ++i) {
      const bool yes = i % 2 == 0;
      text += sentence(yes) + "\t" + (yes ? "yes" : "no") + "\n";
    }
    seqlab::testing::write_text(root + "/" + split + ".tsv", text);
  }
  return root;
}

Config classification_config(const std::string& corpus, const Json& model,
                             const Json& train = Json::object()) {
  Json config = {
      {"run", {{"seed", 5}, {"threads", 1}}},
      {"data",
       {{"task", "classification"}, {"corpus", corpus}, {"tokenizer", "word"}, {"vocab_size", 0}}},
      {"model", model},
      {"train",
       {{"lr", 0.005},
        {"batch_tokens", 200},
        {"max_steps", 400},
        {"max_epochs", 40},
        {"valid_every", 50},
        {"checkpoint_every", 50},
        {"log_every", 50},
        {"patience", 0},
        {"label_smoothing", 0.0}}}};
  config["model"]["decoder"] = "classifier";
  if (train.is_object()) seqlab::merge_json(config["train"], train);
  return Config::from_json(config);
}

}  // namespace

TEST_CASE(
    "classification: every encoder family learns which sentences hold a keyword, through the one "
    "trainer") {
  seqlab::testing::TempDir dir;
  const std::string corpus = write_keyword_corpus(dir);
  const Json transformer = {{"d_model", 32}, {"heads", 2}, {"ffn_dim", 64}, {"encoder_layers", 1}};
  Json cls = transformer;
  cls["summary"] = "class_token";
  struct Case {
    std::string name;
    Json model, train;
  };
  const std::vector<Case> cases = {
      {"gru, attention pooling",
       {{"encoder", "rnn"},
        {"cell", "gru"},
        {"embedding_dim", 16},
        {"hidden_dim", 24},
        {"bidirectional", true},
        {"classifier", {{"pooling", "attention"}}}},
       {}},
      {"lstm, final states",
       {{"encoder", "rnn"},
        {"cell", "lstm"},
        {"embedding_dim", 16},
        {"hidden_dim", 24},
        {"bidirectional", true}},
       {}},
      {"transformer, class token",
       {{"encoder", "transformer"}, {"transformer", cls}},
       {{"lr", 0.002}}},
      {"transformer, max pooling",
       {{"encoder", "transformer"},
        {"transformer", transformer},
        {"classifier", {{"pooling", "max"}}}},
       {{"lr", 0.002}}},
      {"echo-state network, ridge readout",
       {{"encoder", "reservoir"},
        {"reservoir", {{"units", 200}, {"connectivity", 0.1}}},
        {"classifier", {{"pooling", "mean"}}}},
       {{"method", "ridge"}}},
      {"echo-state network, gradient readout",
       {{"encoder", "reservoir"},
        {"reservoir", {{"units", 200}, {"connectivity", 0.1}}},
        {"classifier", {{"pooling", "mean"}}}},
       {{"lr", 0.02}}},
      {"bag of words (logistic regression)", {{"encoder", "bag"}}, {{"lr", 0.05}}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const std::string run_dir = dir.file("run");
      auto result =
          seqlab::train_model(classification_config(corpus, c.model, c.train), run_dir, false);
      CHECK(result.best_valid_accuracy >= 90.0);
      CHECK(seqlab::read_labels(run_dir + "/labels.json") == std::vector<std::string>{"no", "yes"});
      seqlab::EvaluateOptions options;
      Json scored = seqlab::evaluate_run(run_dir, options);
      CHECK(scored["accuracy"].get<double>() >= 90.0);
      CHECK(scored["macro_f1"].get<double>() >= 90.0);
      CHECK(scored["confusion"].size() == 2);
      CHECK(scored["sentences"].get<int64_t>() == 60);
      auto run = seqlab::load_run(run_dir);
      auto predictions = seqlab::classify_sentences(run.model, *run.tokenizer, run.device, 2,
                                                    {"a b x c d", "", "a b c d e"});
      CHECK(run.labels[size_t(predictions[0].label)] == "yes");
      CHECK(predictions[1].label == -1);
      CHECK(run.labels[size_t(predictions[2].label)] == "no");
      CHECK(predictions[0].probability > 0.5);
    }
  }
}

TEST_CASE(
    "classification: seqlab classify labels stdin (an empty line stays empty), translate refuses "
    "the run") {
  seqlab::testing::TempDir dir;
  const std::string corpus = write_keyword_corpus(dir);
  const std::string run_dir = dir.file("run");
  seqlab::train_model(
      classification_config(corpus, {{"encoder", "bag"}}, {{"lr", 0.05}, {"max_steps", 150}}),
      run_dir, false);
  seqlab::testing::write_text(dir.file("in.txt"), "x a b\n\na b c\n");
  const std::string seqlab = std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab ";
  auto classified =
      seqlab::run_command(seqlab + "classify --run " + run_dir + " < " + dir.file("in.txt"));
  REQUIRE(classified.status == 0);
  CHECK_THAT(classified.output, Catch::StartsWith("yes\t") && Catch::Contains("\n\nno\t"));
  auto refused =
      seqlab::run_command(seqlab + "translate --run " + run_dir + " < " + dir.file("in.txt"));
  CHECK(refused.status == 2);
  CHECK_THAT(refused.output, Catch::Contains("classification run"));
  auto eval = seqlab::run_command(seqlab + "eval --run " + run_dir);
  CHECK(eval.status == 0);
  CHECK_THAT(eval.output, Catch::Contains("macro-F1") && Catch::Contains("gold \\ predicted"));
}

TEST_CASE("classification: a resumed run ends with the weights of an uninterrupted one") {
  seqlab::testing::TempDir dir;
  const std::string corpus = write_keyword_corpus(dir);
  const Json model = {{"encoder", "rnn"},
                      {"cell", "gru"},
                      {"embedding_dim", 8},
                      {"hidden_dim", 8},
                      {"classifier", {{"pooling", "attention"}}}};
  seqlab::train_model(classification_config(corpus, model, {{"max_steps", 60}}), dir.file("whole"),
                      false);
  seqlab::train_model(classification_config(corpus, model, {{"max_steps", 30}}), dir.file("split"),
                      false);
  seqlab::train_model(classification_config(corpus, model, {{"max_steps", 60}}), dir.file("split"),
                      true);
  auto whole = seqlab::load_run(dir.file("whole")), split = seqlab::load_run(dir.file("split"));
  auto a = whole.model->named_parameters(), b = split.model->named_parameters();
  for (const auto& p : a) CHECK(torch::equal(p.value(), b[p.key()]));
}
