// The closed-form fitter (train.method=ridge): the trainer's run directory, a fitted run that
// reloads in a fresh process with the same matrices and outputs, resume, and the refusals.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "core/config.h"
#include "core/error.h"
#include "core/tensor_file.h"
#include "seqlab_paths.h"
#include "tests/test_support.h"
#include "train/checkpoint.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using seqlab::Config;
using seqlab::Json;

namespace {

Config fit_config(const std::string& corpus, std::vector<std::string> sets = {}) {
  Json config = {{"run", {{"seed", 3}, {"threads", 1}}},
                 {"data", {{"corpus", corpus}, {"tokenizer", "char"}, {"vocab_size", 0}}},
                 {"model",
                  {{"encoder", "reservoir"},
                   {"decoder", "reservoir"},
                   {"reservoir", {{"units", 120}, {"connectivity", 0.1}, {"attention", "dot"}}}}},
                 {"train",
                  {{"method", "ridge"},
                   {"batch_tokens", 200},
                   {"checkpoint_every", 2},
                   {"log_every", 2},
                   {"valid_bleu_sentences", 20}}},
                 {"eval", {{"beam", 1}}}};
  return Config::from_json(config, sets);
}

// Every buffer and parameter of the run's model, as load_run restores it from best.safetensors.
std::map<std::string, torch::Tensor> run_tensors(const std::string& run_dir) {
  auto run = seqlab::load_run(run_dir);
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : run.model->named_buffers()) out[item.key()] = item.value().clone();
  for (const auto& item : run.model->named_parameters())
    out[item.key()] = item.value().detach().clone();
  return out;
}

std::vector<Json> events(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<Json> out;
  for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
  return out;
}

std::string read_all(FILE* pipe) {
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  return out;
}

}  // namespace

TEST_CASE(
    "a ridge fit writes the trainer's run directory and reloads in a fresh process with identical "
    "outputs") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string run_dir = dir.file("run");
  auto result = seqlab::train_model(fit_config(corpus), run_dir, false);
  CHECK(result.steps > 0);
  CHECK(result.epochs == 1);
  CHECK(std::isfinite(result.best_valid_loss));
  for (const char* file : {"config.json", "tokenizer.json", "best.safetensors",
                           "checkpoint.safetensors", "metrics.jsonl"})
    CHECK(fs::exists(run_dir + "/" + file));
  std::map<std::string, int> counts;
  for (const auto& e : events(run_dir)) counts[e["event"].get<std::string>()]++;
  CHECK(counts["start"] == 1);
  CHECK(counts["ridge"] == 8);  // the default grid
  CHECK(counts["valid"] == 1);
  CHECK(counts["end"] == 1);

  // The fixed matrices are saved in best.safetensors, and the reloaded model runs on those.
  auto run = seqlab::load_run(run_dir);
  seqlab::TensorFile best(run_dir + "/best.safetensors");
  CHECK(torch::equal(best.read("encoder.reservoir.recurrent"),
                     run.model->encoder->named_buffers()["reservoir.recurrent"]));
  CHECK(torch::equal(best.read("decoder.input"), run.model->decoder->named_buffers()["input"]));

  std::vector<std::string> sources = {"abcd", "hgfe", "cabbage", "dead"};
  seqlab::SearchOptions greedy;
  auto here = seqlab::translate_sentences(run, sources, greedy);
  std::string input = dir.file("sources.txt");
  seqlab::testing::write_text(input, "abcd\nhgfe\ncabbage\ndead\n");
  std::string command = std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab translate --run " + run_dir +
                        " --beam 1 < " + input + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::string output = read_all(pipe);
  REQUIRE(pclose(pipe) == 0);
  std::string expected;
  for (const auto& h : here) expected += h + "\n";
  CHECK(output == expected);

  // A closed-form readout is refused in int8: its coefficients cancel (a fitted fashion-scenes
  // captioner decodes word salad with them quantized).
  CHECK_THROWS_WITH(seqlab::use_precision(run, "int8"), Catch::Contains("ridge"));
  CHECK(!run.int8);
}

TEST_CASE(
    "a fit stopped after two batches and resumed ends with the readout of an uninterrupted fit") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string straight = dir.file("straight"), stopped = dir.file("stopped");
  auto uninterrupted = seqlab::train_model(fit_config(corpus), straight, false);
  auto partial = seqlab::train_model(fit_config(corpus, {"train.max_steps=2"}), stopped, false);
  CHECK(partial.steps == 2);
  CHECK(partial.epochs == 0);  // the pass is not complete
  auto resumed = seqlab::train_model(fit_config(corpus), stopped, true);
  auto full = run_tensors(straight);
  auto again = run_tensors(stopped);
  CHECK(resumed.steps == uninterrupted.steps);
  CHECK(resumed.epochs == 1);
  REQUIRE(full.size() == again.size());
  for (const auto& [name, tensor] : full) {
    INFO(name);
    CHECK(torch::equal(tensor, again.at(name)));
  }
}

TEST_CASE("a ridge fit over trainable parts or a tied readout is refused, naming them") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  CHECK_THROWS_WITH(
      seqlab::train_model(
          fit_config(corpus, {"model.encoder=rnn", "model.embedding_dim=8", "model.hidden_dim=8"}),
          dir.file("a"), false),
      Catch::Contains("encoder.embedding.weight") && Catch::Contains("train.method=sgd"));
  CHECK_THROWS_WITH(
      seqlab::train_model(fit_config(corpus, {"model.decoder=rnn", "model.tie_embeddings=true",
                                              "model.embedding_dim=8", "model.hidden_dim=8"}),
                          dir.file("b"), false),
      Catch::Contains("tied") && Catch::Contains("train.method=sgd"));
  CHECK_THROWS_WITH(
      seqlab::train_model(fit_config(corpus, {"model.decoder=transformer"}), dir.file("c"), false),
      Catch::Contains("train.method=sgd"));
}

TEST_CASE("SGD trains a reservoir's readout by cross-entropy and leaves the reservoir as drawn") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string run_dir = dir.file("run");
  auto config =
      fit_config(corpus, {"train.method=sgd", "train.max_steps=20", "train.valid_every=10",
                          "train.lr=0.01", "train.valid_bleu_sentences=0"});
  seqlab::train_model(config, run_dir, false);
  auto trained = run_tensors(run_dir);
  auto run = seqlab::load_run(run_dir);
  seqlab::Seq2Seq drawn(run.config, run.tokenizer->vocab_size(), run.tokenizer->vocab_size());
  for (const auto& item : drawn->named_buffers()) {
    INFO(item.key());
    CHECK(torch::equal(item.value(), trained.at(item.key())));
  }
  CHECK_FALSE(torch::equal(drawn->named_parameters()["decoder.readout.projection.weight"],
                           trained.at("decoder.readout.projection.weight")));
}

TEST_CASE("a checkpoint without the sums a fit needs is an input error naming the file") {
  seqlab::testing::TempDir dir;
  torch::nn::Linear model(2, 2);
  seqlab::TrainState state;
  state.step = 4;
  const std::string path = dir.file("checkpoint.safetensors");
  seqlab::write_checkpoint(path, *model, nullptr, state);
  CHECK(seqlab::read_checkpoint(path, *model, nullptr).step == 4);
  std::map<std::string, torch::Tensor> sums{{"xx", torch::zeros({3, 3})}};
  CHECK_THROWS_WITH(seqlab::read_checkpoint(path, *model, nullptr, &sums),
                    Catch::Contains(path) && Catch::Contains("no tensor 'tensor.xx'"));
}
