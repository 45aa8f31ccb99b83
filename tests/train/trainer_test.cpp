// Training end to end on a small reversal corpus written here, through the real CLI and the
// library: resume after kill -9 ends with the same weights as an uninterrupted run.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/config.h"
#include "core/files.h"
#include "core/log.h"
#include "core/random.h"
#include "data/debian_packages.h"
#include "data/shards.h"
#include "eval/stream_translate.h"
#include "seqlab_paths.h"
#include "tests/test_support.h"
#include "tokenizers/tokenizer.h"
#include "train/resume.h"
#include "train/run_directory.h"
#include "train/trainer.h"
#include "train/training_data.h"

namespace fs = std::filesystem;
using seqlab::Json;

namespace {

using seqlab::testing::checkpoint_step;
using seqlab::testing::checkpoint_tensors;

std::string write_config(const seqlab::testing::TempDir& dir, const std::string& corpus,
                         int64_t max_steps) {
  Json config = {{"run", {{"seed", 3}, {"threads", 1}}},
                 {"data", {{"corpus", corpus}, {"tokenizer", "char"}, {"vocab_size", 0}}},
                 {"model", {{"embedding_dim", 16}, {"hidden_dim", 32}, {"dropout", 0.1}}},
                 {"train",
                  {{"lr", 0.005},
                   {"batch_tokens", 120},
                   {"max_steps", max_steps},
                   {"valid_every", 25},
                   {"valid_bleu_sentences", 10},
                   {"checkpoint_every", 3},
                   {"log_every", 10},
                   {"patience", 0}}},
                 {"eval", {{"beam", 2}}}};
  std::string path = dir.file("config.json");
  seqlab::testing::write_text(path, config.dump(2));
  return path;
}

// The same run read through the streaming loader: shards of 50 lines, two loader threads, a
// queue of three batches.
std::string write_streaming_config(const seqlab::testing::TempDir& dir, const std::string& corpus,
                                   int64_t max_steps) {
  Json config = Json::parse(seqlab::read_file(write_config(dir, corpus, max_steps)));
  config["data"]["streaming"] = true;
  config["data"]["shard_lines"] = 50;
  config["data"]["loader_threads"] = 2;
  config["data"]["prefetch_batches"] = 3;
  std::string path = dir.file("streaming.json");
  seqlab::testing::write_text(path, config.dump(2));
  return path;
}

pid_t spawn_train(const std::string& config, const std::string& out, bool resume) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string binary = std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab";
    freopen("/dev/null", "w", stderr);
    freopen("/dev/null", "w", stdout);
    if (resume)
      execl(binary.c_str(), "seqlab", "train", "--config", config.c_str(), "--out", out.c_str(),
            "--resume", static_cast<char*>(nullptr));
    else
      execl(binary.c_str(), "seqlab", "train", "--config", config.c_str(), "--out", out.c_str(),
            static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Starts `seqlab train` and kills it with SIGKILL once its checkpoint is at step 6 or later;
// false when that did not happen within two minutes.
bool train_and_kill(const std::string& config, const std::string& out) {
  pid_t pid = spawn_train(config, out, false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool killed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(out + "/checkpoint.safetensors") && checkpoint_step(out) >= 6) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  wait_for(pid);
  return killed;
}

}  // namespace

TEST_CASE("resume after kill -9 ends with the same weights as an uninterrupted run") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string config = write_config(dir, corpus, 60);
  std::string straight = dir.file("straight"), interrupted = dir.file("interrupted");

  int status = wait_for(spawn_train(config, straight, false));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  // Kill it hard once it has written a checkpoint past the first save, mid-training.
  REQUIRE(train_and_kill(config, interrupted));
  int64_t killed_at = checkpoint_step(interrupted);
  INFO("killed after checkpoint at step " << killed_at);
  CHECK(killed_at < 60);

  status = wait_for(spawn_train(config, interrupted, true));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(checkpoint_step(interrupted) == 60);

  auto a = checkpoint_tensors(straight);
  auto b = checkpoint_tensors(interrupted);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));
  // The same log too, also for the window of steps the kill cut in two (checkpoints every 3
  // steps, a training record every 10).
  using seqlab::testing::logged_values;
  CHECK(logged_values(straight, "train", "loss") == logged_values(interrupted, "train", "loss"));
}

TEST_CASE("training writes the run directory, logs JSON lines and the run translates") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  auto config = seqlab::Config::from_file(write_config(dir, corpus, 50));
  std::string run = dir.file("run");
  auto result = seqlab::train_model(config, run, false);
  CHECK(result.steps == 50);
  for (std::string file : {"config.json", "tokenizer.json", "checkpoint.safetensors",
                           "best.safetensors", "metrics.jsonl"})
    CHECK(fs::exists(run + "/" + file));
  auto records = seqlab::read_json_lines(run + "/metrics.jsonl");
  int valid_events = 0, train_events = 0;
  for (const auto& r : records) {
    valid_events += r["event"] == "valid";
    train_events += r["event"] == "train";
  }
  CHECK(valid_events == 2);
  CHECK(train_events == 5);
  auto loaded = seqlab::load_run(run);
  auto out = seqlab::translate_sentences(loaded, {"abc", "", "hgfe"},
                                         seqlab::search_options(loaded.config));
  REQUIRE(out.size() == 3);
  CHECK(out[1].empty());  // an empty line stays empty, in its place
  auto without_blank =
      seqlab::translate_sentences(loaded, {"abc", "hgfe"}, seqlab::search_options(loaded.config));
  CHECK(out[0] == without_blank[0]);
  CHECK(out[2] == without_blank[1]);
  // The rules translate_sentences and translate_stream share: empty lines left out (and put back
  // in their places), the batch budget divided among the beam's rows.
  auto sources = seqlab::encode_sources(*loaded.tokenizer, {"abc", "", "hgfe", ""});
  CHECK(sources.line_of == std::vector<size_t>{0, 2});
  REQUIRE(sources.examples.size() == 2);
  CHECK(sources.examples[1].source == loaded.tokenizer->encode("hgfe"));
  CHECK(seqlab::beam_batch_tokens(4000, 5) == 800);
  CHECK(seqlab::beam_batch_tokens(100, 5) == 64);
}

TEST_CASE("train.stop_min_lr ends training at the first validation that leaves the rate below it") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  // inverse_sqrt with no warm-up: the rate after step s is 0.005 / sqrt(s + 1); validations at 25
  // (next rate 0.00098) and 50 (0.00070), so a floor of 0.0008 stops at the second.
  auto config = seqlab::Config::from_file(
      write_config(dir, corpus, 100), {"train.schedule=inverse_sqrt", "train.stop_min_lr=0.0008"});
  std::string run = dir.file("run");
  auto result = seqlab::train_model(config, run, false);
  CHECK(result.steps == 50);
  CHECK(result.early_stopped);
  int stops = 0;
  for (const auto& r : seqlab::read_json_lines(run + "/metrics.jsonl")) {
    if (r["event"] != "early_stop") continue;
    ++stops;
    CHECK(r["reason"] == "min_lr");
    CHECK(r["step"] == 50);
    CHECK(r["lr"].get<double>() < 0.0008);
  }
  CHECK(stops == 1);
}

TEST_CASE("a resume may extend the run and add a stop, but not change what it trains") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string config_path = write_config(dir, corpus, 25);
  std::string run = dir.file("run");
  CHECK(seqlab::train_model(seqlab::Config::from_file(config_path), run, false).steps == 25);
  auto changed_model =
      seqlab::Config::from_file(config_path, {"train.max_steps=50", "model.hidden_dim=64"});
  CHECK_THROWS_WITH(seqlab::train_model(changed_model, run, true),
                    Catch::Contains("model.hidden_dim = 32 (requested 64)"));
  auto extended = seqlab::Config::from_file(config_path, {"train.max_steps=75", "run.threads=2"});
  auto result = seqlab::train_model(extended, run, true);
  CHECK(result.steps == 75);
  auto saved = seqlab::Config::from_file(run + "/config.json");
  CHECK(saved.get_int("train.max_steps") == 75);
  CHECK(saved.get_int("run.threads") == 2);
  CHECK(saved.get_int("model.hidden_dim") == 32);
}

TEST_CASE("the saved resolved config rebuilds the model with no flags") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  auto config = seqlab::Config::from_file(write_config(dir, corpus, 3), {"model.cell=lstm"});
  std::string run = dir.file("run");
  seqlab::train_model(config, run, false);
  auto loaded = seqlab::load_run(run);
  CHECK(loaded.config.get_string("model.cell") == "lstm");
  CHECK(loaded.config.get_int("train.max_steps") == 3);
}

TEST_CASE("a missing or foreign run directory is an input error") {
  seqlab::testing::TempDir dir;
  CHECK_THROWS_AS(seqlab::load_run(dir.path()), seqlab::InputError);
}

TEST_CASE("a run loads from its checkpoint alone, and corrupt weights are an input error") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  auto config = seqlab::Config::from_file(write_config(dir, corpus, 3));
  std::string run = dir.file("run");
  seqlab::train_model(config, run, false);
  fs::remove(run + "/best.safetensors");
  auto loaded = seqlab::load_run(run);
  auto expected = checkpoint_tensors(run);
  auto actual = loaded.model->parameters();
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) CHECK(torch::equal(actual[i], expected[i]));
  seqlab::testing::write_text(run + "/checkpoint.safetensors", "not a tensor file");
  CHECK_THROWS_WITH(
      seqlab::load_run(run),
      Catch::Matchers::Contains("checkpoint.safetensors: not a valid safetensors file"));
  fs::remove(run + "/checkpoint.safetensors");
  CHECK_THROWS_WITH(seqlab::load_run(run), Catch::Matchers::Contains("has no weights"));
}

TEST_CASE("seqlab attend draws a heatmap with rows summing to one, and eval and translate run") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  auto config = seqlab::Config::from_file(write_config(dir, corpus, 30),
                                          {"model.decoder=bahdanau", "model.attention=additive"});
  std::string run = dir.file("run");
  seqlab::train_model(config, run, false);
  std::string binary = std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab";
  auto attend = seqlab::run_command(binary + " attend --run " + run + " --text abcd --out " +
                                    dir.file("map.png") + " --json 2>/dev/null");
  REQUIRE(attend.status == 0);
  CHECK(fs::file_size(dir.file("map.png")) > 100);
  auto json = Json::parse(seqlab::read_file(dir.file("map.json")));
  CHECK(json["source_tokens"].size() == 4);
  for (const auto& row : json["weights"]) {
    double sum = 0;
    for (double w : row) sum += w;
    CHECK(sum == Approx(1.0).epsilon(1e-4));
  }
  auto eval = seqlab::run_command(binary + " eval --run " + run +
                                  " --split test --beam 3 --attention-maps 2 --json 2>/dev/null");
  REQUIRE(eval.status == 0);
  std::string output = eval.output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  auto result = Json::parse(output.substr(output.rfind('\n') + 1));  // --json: the last line
  CHECK(result["beam"] == 3);
  CHECK(result["sentences"] == 40);
  CHECK(result["attention_maps"].size() == 2);
  CHECK(fs::exists(run + "/attention/test-001.png"));
  CHECK(fs::exists(run + "/test.beam3.hyp"));
  auto translate =
      seqlab::run_command("printf 'abc\\nbad \\377\\n' | " + binary + " translate --run " + run);
  CHECK(translate.status == 2);
  CHECK_THAT(translate.output, Catch::Matchers::Contains("stdin:2: invalid UTF-8"));

  // int8 weights: the same evaluation beside the fp32 one, in files of its own.
  auto int8 = seqlab::run_command(binary + " eval --run " + run +
                                  " --split test --beam 3 --precision int8 --json 2>/dev/null");
  REQUIRE(int8.status == 0);
  output = int8.output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  auto int8_result = Json::parse(output.substr(output.rfind('\n') + 1));
  CHECK(int8_result["precision"] == "int8");
  CHECK(result["precision"] == "fp32");
  CHECK(int8_result["hypotheses"] == run + "/test.beam3.int8.hyp");
  CHECK(fs::exists(run + "/test.beam3.int8.items.json"));
  CHECK(fs::exists(run + "/test.beam3.items.json"));
  CHECK(std::abs(int8_result["chrf"].get<double>() - result["chrf"].get<double>()) < 10.0);
  auto translated = seqlab::run_command("printf 'abc\\n' | " + binary + " translate --run " + run +
                                        " --precision int8 2>/dev/null");
  CHECK(translated.status == 0);
  // A lexical shortlist: built from the training split on first use and kept in the run.
  auto listed = seqlab::run_command(binary + " eval --run " + run +
                                    " --split test --beam 3 --shortlist 2 --json 2>/dev/null");
  REQUIRE(listed.status == 0);
  output = listed.output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  auto listed_result = Json::parse(output.substr(output.rfind('\n') + 1));
  CHECK(listed_result["shortlist"] == 2);
  CHECK(result["shortlist"] == 0);
  CHECK(listed_result["hypotheses"] == run + "/test.beam3.shortlist2.hyp");
  CHECK(fs::exists(run + "/shortlist-k2-f100.safetensors"));
  auto bad = seqlab::run_command(binary + " translate --run " + run + " --precision int4 2>&1");
  CHECK(bad.status == 2);
  CHECK_THAT(bad.output, Catch::Matchers::Contains("int8"));
}

TEST_CASE("streaming translate writes the batch path's lines in input order, also from workers") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  auto config = seqlab::Config::from_file(write_config(dir, corpus, 60),
                                          {"model.decoder=bahdanau", "model.attention=additive"});
  std::string run = dir.file("run");
  seqlab::train_model(config, run, false);
  // The test and validation splits' sources, with blank lines and a repeated line among them.
  std::vector<std::string> sources;
  for (const std::string split : {"test", "valid"})
    for (const auto& line : seqlab::read_lines(corpus + "/" + split + ".tsv")) {
      sources.push_back(line.substr(0, line.find('\t')));
      if (sources.size() % 9 == 0) sources.push_back(sources.size() % 2 ? "" : "  ");
    }
  sources.push_back(sources.front());
  std::string input;
  for (const auto& s : sources) input += s + "\n";

  auto loaded = seqlab::load_run(run);
  for (int beam : {1, 3})
    for (int workers : {1, 3, 0})  // 0: chosen by measuring, on 2 threads
      for (int64_t chunk : {int64_t(7), int64_t(1000)}) {
        INFO("beam " << beam << ", " << workers << " workers, chunks of " << chunk);
        auto options = seqlab::search_options(loaded.config);
        options.beam = beam;
        auto expected = seqlab::translate_sentences(loaded, sources, options);
        seqlab::StreamTranslateOptions stream;
        stream.search = options;
        stream.workers = workers;
        stream.intra_threads = workers == 0 ? 2 : workers;
        stream.chunk_sentences = chunk;
        stream.batch_tokens = 40;  // several batches per chunk (at least 64 tokens each)
        std::istringstream in(input);
        std::ostringstream out;
        auto stats = seqlab::translate_stream({loaded.model}, *loaded.tokenizer, loaded.device, in,
                                              out, stream);
        CHECK(stats.lines == int64_t(sources.size()));
        if (workers > 0) CHECK(stats.workers == workers);
        if (workers == 0) {  // measured when a chunk has 7 batches (the whole input has more)
          CHECK((stats.workers == 1 || stats.workers == 2));
          CHECK((chunk == 7 || stats.measured_speedup > 0));
        }
        auto lines = split_lines(out.str());
        CHECK(lines == expected);
        CHECK(std::count(lines.begin(), lines.end(), "") >= 2);  // the empty lines
      }

  {  // A shortlist needs a model per worker, and then agrees too.
    auto first = seqlab::load_run(run), second = seqlab::load_run(run);
    seqlab::use_shortlist(first, 3);
    auto options = seqlab::search_options(first.config);
    options.beam = 2;
    auto expected = seqlab::translate_sentences(first, sources, options);
    seqlab::StreamTranslateOptions stream;
    stream.search = options;
    stream.search.shortlist = first.shortlist;
    stream.workers = 2;
    stream.chunk_sentences = 11;
    stream.batch_tokens = 40;
    std::istringstream in(input);
    std::ostringstream out;
    CHECK_THROWS_AS(
        seqlab::translate_stream({first.model}, *first.tokenizer, first.device, in, out, stream),
        seqlab::InputError);
    seqlab::translate_stream({first.model, second.model}, *first.tokenizer, first.device, in, out,
                             stream);
    CHECK(split_lines(out.str()) == expected);
    // The CLI loads a model per worker itself.
    seqlab::testing::write_text(dir.file("input.txt"), input);
    auto cli = seqlab::run_command(std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab translate --run " +
                                   run + " --beam 2 --shortlist 3 --workers 2 --chunk 11 < " +
                                   dir.file("input.txt") + " 2>&1");
    REQUIRE(cli.status == 0);
    CHECK(split_lines(cli.output) == expected);
  }

  {  // JSON lines carry the score and an alignment for every generated token.
    std::string binary = std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab";
    auto result = seqlab::run_command(binary + " translate --run " + run +
                                      " --beam 1 --workers 2 --chunk 5 --alignments < " +
                                      dir.file("input.txt") + " 2>/dev/null");
    REQUIRE(result.status == 0);
    auto options = seqlab::search_options(loaded.config);
    options.beam = 1;
    auto expected = seqlab::translate_sentences(loaded, sources, options);
    std::istringstream written(result.output);
    size_t n = 0;
    for (std::string line; std::getline(written, line); ++n) {
      REQUIRE(n < sources.size());
      auto record = Json::parse(line);
      CHECK(record["line"] == n + 1);
      CHECK(record["source"] == sources[n]);
      CHECK(record["translation"] == expected[n]);
      const auto tokens = record["target_tokens"].size();
      CHECK(record["tokens"] == tokens);
      CHECK(record["score"].get<double>() <= 0.0);
      // "s-t" for t = 0 .. tokens-1, s a source position.
      std::istringstream pairs(record["alignment"].get<std::string>());
      size_t t = 0;
      for (std::string pair; pairs >> pair; ++t) {
        auto dash = pair.find('-');
        REQUIRE(dash != std::string::npos);
        CHECK(std::stoul(pair.substr(dash + 1)) == t);
        CHECK(std::stoul(pair.substr(0, dash)) < record["source_tokens"].size());
      }
      CHECK(t == tokens);
    }
    CHECK(n == sources.size());
    // Invalid UTF-8 names its line (the chunks before it have been written).
    auto bad = seqlab::run_command("printf 'abc\\nab\\377\\n' | " + binary + " translate --run " +
                                   run + " --chunk 1 2>&1");
    CHECK(bad.status == 2);
    CHECK_THAT(bad.output, Catch::Matchers::Contains("stdin:2: invalid UTF-8"));
  }
}

TEST_CASE(
    "seqlab attend draws every head of every transformer layer, also for a decoder-only model") {
  for (bool decoder_only : {false, true}) {
    DYNAMIC_SECTION((decoder_only ? "decoder-only" : "encoder-decoder")) {
      seqlab::testing::TempDir dir;
      std::string corpus = seqlab::testing::write_reverse_corpus(dir);
      std::vector<std::string> sets = {
          "model.encoder=transformer",         "model.decoder=transformer",
          "model.transformer.d_model=16",      "model.transformer.heads=2",
          "model.transformer.ffn_dim=32",      "model.transformer.encoder_layers=1",
          "model.transformer.decoder_layers=2"};
      if (decoder_only) {
        sets.push_back("model.encoder=embedding");
        sets.push_back("model.transformer.decoder_only=true");
      }
      auto config = seqlab::Config::from_file(write_config(dir, corpus, 20), sets);
      std::string run = dir.file("run");
      seqlab::train_model(config, run, false);
      auto attend =
          seqlab::run_command(std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab attend --run " + run +
                              " --text abcd --out " + dir.file("map.png") + " --json 2>/dev/null");
      REQUIRE(attend.status == 0);
      auto json = Json::parse(seqlab::read_file(dir.file("map.json")));
      std::vector<std::string> expected =
          decoder_only ? std::vector<std::string>{"decoder.layer0.self", "decoder.layer1.self"}
                       : std::vector<std::string>{"encoder.layer0.self", "decoder.layer0.self",
                                                  "decoder.layer0.cross", "decoder.layer1.self",
                                                  "decoder.layer1.cross"};
      std::vector<std::string> names;
      for (const auto& m : json["maps"]) {
        names.push_back(m["name"]);
        CHECK(m["heads"] == 2);
        CHECK(fs::file_size(m["png"].get<std::string>()) > 100);
      }
      CHECK(names == expected);
      CHECK(json["weights"].size() == json["target_tokens"].size());
      for (const auto& [name, layer] : json["layers"].items()) {
        INFO(name);
        for (const auto& head : layer["weights"])
          for (const auto& row : head) {
            double sum = 0;
            for (double w : row) sum += w;
            CHECK(sum == Approx(1.0).epsilon(1e-4));
          }
      }
    }
  }
}

TEST_CASE("seqlab attend on a model without attention explains why it cannot draw") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  auto config = seqlab::Config::from_file(write_config(dir, corpus, 2));
  std::string run = dir.file("run");
  seqlab::train_model(config, run, false);
  auto attend = seqlab::run_command(std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab attend --run " +
                                    run + " --text abc --out " + dir.file("map.png"));
  CHECK(attend.status == 2);
  CHECK_THAT(attend.output, Catch::Matchers::Contains("has no attention"));
}

TEST_CASE("every shipped config preset is valid and builds a model") {
  size_t checked = 0;
  for (const auto& entry :
       fs::recursive_directory_iterator(std::string(SEQLAB_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path().string());
    auto config = seqlab::Config::from_file(entry.path().string());
    seqlab::Seq2Seq model(config, 100, 100);
    CHECK(model->parameter_count() > 0);
    ++checked;
  }
  CHECK(checked >= 5);
}

TEST_CASE("a resumed run's metrics log is cut back to its checkpoint: no step twice, one end") {
  seqlab::testing::TempDir dir;
  const std::string log = dir.file("metrics.jsonl");
  seqlab::testing::write_text(log,
                              "{\"event\":\"start\",\"parameters\":10}\n"
                              "{\"event\":\"train\",\"step\":10,\"loss\":2.0}\n"
                              "{\"event\":\"valid\",\"step\":20,\"loss\":1.9}\n"
                              "{\"event\":\"train\",\"step\":30,\"loss\":1.7}\n"
                              "{\"event\":\"end\",\"result\":{}}\n"
                              "{\"event\":\"ridge\",\"penalty\":0.1}\n"
                              "{\"event\":\"train\",\"st");  // torn by a kill
  seqlab::trim_run_log(log, 20);
  auto records = seqlab::read_json_lines(log);
  REQUIRE(records.size() == 3);
  CHECK(records[0]["event"] == "start");
  CHECK(records[1]["step"] == 10);
  CHECK(records[2]["step"] == 20);
  seqlab::trim_run_log(log, 20, {"train"});  // the fitter keeps its pass only
  records = seqlab::read_json_lines(log);
  REQUIRE(records.size() == 2);
  CHECK(records[1]["event"] == "train");
  seqlab::trim_run_log(dir.file("absent.jsonl"), 5);  // nothing to do
  CHECK_FALSE(fs::exists(dir.file("absent.jsonl")));
}

TEST_CASE(
    "streaming from shards gives the in-memory batches, weights and a kill -9 resume exactly") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  const std::string memory_config = write_config(dir, corpus, 45);
  const std::string streaming_config = write_streaming_config(dir, corpus, 45);
  // The same batches, collated from the shard index and from memory, for several epochs.
  {
    auto memory = seqlab::load_training_data(seqlab::Config::from_file(memory_config),
                                             dir.file("data-memory"), false);
    auto streamed = seqlab::load_training_data(seqlab::Config::from_file(streaming_config),
                                               dir.file("data-streamed"), false);
    REQUIRE(streamed.train_shards);
    CHECK(streamed.train.empty());  // nothing of the training split held in memory
    REQUIRE(streamed.train_size() == memory.train_size());
    CHECK(streamed.train_shards->shards().size() == 8);  // 400 lines in shards of 50
    seqlab::TokenBucketBatcher a(memory.train_lengths(), 120, 0, 3),
        b(streamed.train_lengths(), 120, 0, 3);
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      auto batches = a.epoch(epoch);
      REQUIRE(batches == b.epoch(epoch));
      for (const auto& indices : batches) {
        auto x = memory.train_batch(indices), y = streamed.train_batch(indices);
        REQUIRE(torch::equal(x.source, y.source));
        REQUIRE(torch::equal(x.target_in, y.target_in));
        REQUIRE(torch::equal(x.target_out, y.target_out));
        REQUIRE(x.target_tokens == streamed.train_target_tokens(indices));
      }
    }
  }
  const std::string memory = dir.file("memory"), straight = dir.file("straight"),
                    interrupted = dir.file("interrupted");
  for (auto [config, out] : {std::pair{memory_config, memory}, {streaming_config, straight}}) {
    int status = wait_for(spawn_train(config, out, false));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  auto reference = checkpoint_tensors(memory);
  auto check_same = [&](const std::string& run) {
    auto tensors = checkpoint_tensors(run);
    REQUIRE(tensors.size() == reference.size());
    for (size_t i = 0; i < tensors.size(); ++i) CHECK(torch::equal(tensors[i], reference[i]));
  };
  check_same(straight);
  // kill -9 mid-training, then --resume: the reader picks up at the checkpoint's batch.
  REQUIRE(train_and_kill(streaming_config, interrupted));
  INFO("killed after checkpoint at step " << checkpoint_step(interrupted));
  CHECK(checkpoint_step(interrupted) < 45);
  int status = wait_for(spawn_train(streaming_config, interrupted, true));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(checkpoint_step(interrupted) == 45);
  check_same(interrupted);
  using seqlab::testing::logged_values;
  CHECK(logged_values(memory, "train", "loss") == logged_values(interrupted, "train", "loss"));

  // The corpus changed under the run: its shards are made again, and the checkpoint, trained on
  // the old ones, refuses to resume on them.
  std::string train = seqlab::read_file(corpus + "/train.tsv");
  seqlab::testing::write_text(corpus + "/train.tsv", train + "abc\tcba\n");
  Json extended = Json::parse(seqlab::read_file(streaming_config));
  extended["train"]["max_steps"] = 60;
  CHECK_THROWS_WITH(
      seqlab::train_model(seqlab::Config::from_json(extended, {}, "test"), straight, true),
      Catch::Contains("trained on other shards"));
}

TEST_CASE(
    "streaming captioning decodes images on the loader's threads into the disk cache and "
    "trains the in-memory weights") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_squares_corpus(dir);
  Json json = {{"data",
                {{"task", "captioning"},
                 {"corpus", corpus},
                 {"tokenizer", "word"},
                 {"vocab_size", 0},
                 {"image_size", 16},
                 {"augment", {{"shift", 1}}}}},
               {"model",
                {{"encoder", "cnn"},
                 {"decoder", "bahdanau"},
                 {"cell", "gru"},
                 {"embedding_dim", 8},
                 {"hidden_dim", 16},
                 {"dropout", 0.0},
                 {"vision", {{"width", 4}, {"layers", 2}}}}},
               {"train",
                {{"lr", 0.005},
                 {"batch_tokens", 200},
                 {"valid_every", 100},
                 {"valid_bleu_sentences", 0},
                 {"patience", 0},
                 {"max_steps", 15}}},
               {"run", {{"seed", 5}, {"threads", 1}}}};
  const std::string memory = dir.file("memory"), streamed = dir.file("streamed");
  seqlab::train_model(seqlab::Config::from_json(json, {}, "test"), memory, false);
  json["data"]["streaming"] = true;
  json["data"]["loader_threads"] = 3;
  seqlab::train_model(seqlab::Config::from_json(json, {}, "test"), streamed, false);
  CHECK(fs::exists(streamed + "/shards/train-images.u8"));
  auto a = checkpoint_tensors(memory), b = checkpoint_tensors(streamed);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));
  bool logged = false;
  for (const auto& record : seqlab::read_json_lines(streamed + "/metrics.jsonl"))
    if (record["event"] == "loader") {
      logged = true;
      CHECK(record["images_decoded"].get<int64_t>() > 0);
    }
  CHECK(logged);
}

TEST_CASE("data.streaming for a task that reads its corpus into memory is refused, naming it") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  Json config = Json::parse(seqlab::read_file(write_streaming_config(dir, corpus, 5)));
  config["data"]["task"] = "classification";
  CHECK_THROWS_WITH(seqlab::load_training_data(seqlab::Config::from_json(config, {}, "test"),
                                               dir.file("run"), false),
                    Catch::Contains("the classification task reads its corpus into memory"));
}
