// The CLI contract: exit status 0/1/2, --json prints one JSON object as the last stdout line,
// --help for every subcommand.
#include <catch2/catch.hpp>

#include <filesystem>

#include <torch/serialize.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "data/debian_packages.h"
#include "seqlab_paths.h"
#include "tests/test_support.h"
#include "train/run_directory.h"

using Catch::Matchers::Contains;

namespace {

struct Run {
  int status;
  std::string output;
};

Run seqlab_cli(const std::string& args) {
  auto result = seqlab::run_command(std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab " + args);
  return {result.status, result.output};
}

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  auto newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

}  // namespace

TEST_CASE("seqlab list prints the registries and rejects an unknown kind with status 2") {
  auto kinds = seqlab_cli("list");
  CHECK(kinds.status == 0);
  CHECK_THAT(kinds.output, Contains("tokenizers") && Contains("datasets") && Contains("metrics"));
  auto datasets = seqlab_cli("list datasets --json 2>/dev/null");
  CHECK(datasets.status == 0);
  auto json = nlohmann::json::parse(last_line(datasets.output));
  CHECK(json["entries"].contains("ui-fr"));
  CHECK(json["entries"].contains("ding-en-de"));
  auto bad = seqlab_cli("list gizmos");
  CHECK(bad.status == 2);
  CHECK_THAT(bad.output, Contains("unknown registry kind 'gizmos'"));
}

TEST_CASE("every subcommand has --help and bad usage exits with status 2") {
  for (std::string sub : {"list", "data prepare", "tokenizer train", "score", "compare", "average",
                          "demo", "run", "results", "report"}) {
    auto help = seqlab_cli(sub + " --help");
    CHECK(help.status == 0);
    CHECK_THAT(help.output, Contains("Usage") || Contains("USAGE") || Contains("usage"));
  }
  CHECK(seqlab_cli("").status == 2);
  CHECK(seqlab_cli("frobnicate").status == 2);
  CHECK(seqlab_cli("score bleu --hyp").status == 2);
}

TEST_CASE("seqlab score prints BLEU and chrF, with --json as the last line") {
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(
      dir.file("hyp.txt"),
      "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n");
  seqlab::testing::write_text(
      dir.file("ref1.txt"),
      "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n");
  seqlab::testing::write_text(
      dir.file("ref2.txt"),
      "The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n");
  auto bleu =
      seqlab_cli("score bleu --ref " + dir.file("ref1.txt") + " --ref " + dir.file("ref2.txt") +
                 " --hyp " + dir.file("hyp.txt") + " --json 2>/dev/null");
  REQUIRE(bleu.status == 0);
  auto json = nlohmann::json::parse(last_line(bleu.output));
  CHECK(json["score"].get<double>() == Approx(48.53).margin(0.005));
  auto chrf = seqlab_cli("score chrf --ref " + dir.file("ref1.txt") + " --ref " +
                         dir.file("ref2.txt") + " --hyp " + dir.file("hyp.txt"));
  CHECK(chrf.status == 0);
  CHECK_THAT(chrf.output, Contains("chrF2 = 59.73"));
  seqlab::testing::write_text(dir.file("short.txt"), "only one line\n");
  auto mismatch =
      seqlab_cli("score bleu --ref " + dir.file("short.txt") + " --hyp " + dir.file("hyp.txt"));
  CHECK(mismatch.status == 2);
  CHECK_THAT(mismatch.output,
             Contains("short.txt has 1 lines but " + dir.file("hyp.txt") + " has 3"));
  auto missing =
      seqlab_cli("score bleu --ref " + dir.file("nope.txt") + " --hyp " + dir.file("hyp.txt"));
  CHECK(missing.status == 2);
  CHECK_THAT(missing.output, Contains("nope.txt"));
}

TEST_CASE("seqlab compare runs paired tests on files, the first system as the baseline") {
  seqlab::testing::TempDir dir;
  std::string ref, good, bad;
  for (int i = 0; i < 60; ++i) {
    const std::string n = std::to_string(i);
    ref += "the cat number " + n + " sat on the red mat today\n";
    good += "the cat number " + n + " sat on the red mat today\n";
    bad += "a dog number " + n + " stood near a blue rug\n";
  }
  seqlab::testing::write_text(dir.file("ref.txt"), ref);
  seqlab::testing::write_text(dir.file("good.txt"), good);
  seqlab::testing::write_text(dir.file("bad.txt"), bad);
  auto run = seqlab_cli("compare --ref " + dir.file("ref.txt") + " --hyp " + dir.file("bad.txt") +
                        " --hyp " + dir.file("good.txt") + " --json 2>/dev/null");
  REQUIRE(run.status == 0);
  auto json = nlohmann::json::parse(last_line(run.output));
  CHECK(json["test"] == "paired bootstrap resampling");
  CHECK(json["samples"] == 1000);
  REQUIRE(json["results"].size() == 2);  // bleu and chrf
  CHECK(json["results"][0]["metric"] == "bleu");
  CHECK(json["results"][0]["system"].get<double>() == Approx(100.0));
  CHECK(json["results"][0]["p_value"].get<double>() == Approx(1.0 / 1001));
  CHECK(json["results"][0]["interval"][0].get<double>() > 0.0);
  auto text = seqlab_cli("compare --ref " + dir.file("ref.txt") + " --hyp " + dir.file("bad.txt") +
                         " --hyp " + dir.file("good.txt") + " --paired ar --metric chrf");
  CHECK(text.status == 0);
  CHECK_THAT(text.output,
             Contains("approximate randomization (10000 trials, seed 12345), 60 items") &&
                 Contains("p < 0.0001 *"));
  seqlab::testing::write_text(dir.file("short.txt"), "one line\n");
  auto mismatch = seqlab_cli("compare --ref " + dir.file("ref.txt") + " --hyp " +
                             dir.file("short.txt") + " --hyp " + dir.file("good.txt") + " 2>&1");
  CHECK(mismatch.status == 2);
  CHECK_THAT(mismatch.output, Contains("short.txt has 1"));
  auto unknown =
      seqlab_cli("compare --ref " + dir.file("ref.txt") + " --hyp " + dir.file("bad.txt") +
                 " --hyp " + dir.file("good.txt") + " --metric meteor 2>&1");
  CHECK(unknown.status == 2);
  CHECK_THAT(unknown.output, Contains("meteor") && Contains("bleu, bleu-1"));
  CHECK(
      seqlab_cli("compare --ref " + dir.file("ref.txt") + " --hyp " + dir.file("bad.txt") + " 2>&1")
          .status == 2);
  CHECK(seqlab_cli("compare " + dir.file("ref.txt") + " " + dir.file("bad.txt") + " 2>&1").status ==
        2);
}

TEST_CASE("seqlab tokenizer train writes a tokenizer that loads, and reports bad input") {
  seqlab::testing::TempDir dir;
  std::string corpus;
  for (int i = 0; i < 30; ++i)
    corpus += "Fermer la fenêtre numéro " + std::to_string(i) + "\tClose window number " +
              std::to_string(i) + "\n";
  seqlab::testing::write_text(dir.file("corpus.tsv"), corpus);
  auto run = seqlab_cli("tokenizer train --kind bpe --vocab 60 --input " + dir.file("corpus.tsv") +
                        " --out " + dir.file("bpe.tok") + " --json 2>/dev/null");
  REQUIRE(run.status == 0);
  auto json = nlohmann::json::parse(last_line(run.output));
  CHECK(json["kind"] == "bpe");
  CHECK(json["sentences"] == 60);
  auto bad_kind = seqlab_cli("tokenizer train --kind morse --input " + dir.file("corpus.tsv") +
                             " --out " + dir.file("x"));
  CHECK(bad_kind.status == 2);
  CHECK_THAT(bad_kind.output, Contains("bpe, char, unigram, word"));
}

TEST_CASE("seqlab train --resume on a directory that holds no run is refused, naming it") {
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(dir.file("config.json"), "{}");
  auto run = seqlab_cli("train --config " + dir.file("config.json") + " --out " +
                        dir.file("nothing-here") + " --resume");
  CHECK(run.status == 2);
  CHECK_THAT(run.output, Contains(dir.file("nothing-here") + " holds no run to resume"));
  CHECK_FALSE(std::filesystem::exists(dir.file("nothing-here")));
}

TEST_CASE(
    "seqlab bench compare runs both sides on equal work and prints same-run ratios with the "
    "machine") {
  // Tiny sizes: this checks the comparison's bookkeeping, not speed (speed lives in benchmarks).
  auto run = seqlab_cli(
      "bench compare --rounds 2 --steps 1 --warmup 0 --batch-tokens 120 --sentences 3 "
      "--threads 1 --json 2>/dev/null");
  REQUIRE(run.status == 0);
  auto json = nlohmann::json::parse(last_line(run.output));
  CHECK(json["gemm_gflops_start"].get<double>() > 0);
  CHECK(json["blas_gflops_start"].get<double>() > 0);  // Python's GEMM, beside seqlab's
  CHECK_THAT(json["machine"]["gemm_backend"].get<std::string>(), Catch::StartsWith("onednn ("));
  CHECK_FALSE(json["machine"]["cpu"].get<std::string>().empty());
  CHECK(json["machine"]["threads"] == 1);
  for (std::string model : {"gru", "gru-bahdanau", "transformer"}) {
    INFO(model);
    const auto& entry = json["models"][model];
    CHECK(entry["parameters"] == entry["python_parameters"]);  // the twins are the same size
    CHECK(entry["gemm_flops_per_target_token"].get<double>() > 1e6);
    for (std::string task : {"train", "greedy", "beam5"}) {
      INFO(task);
      const auto& row = entry[task];
      CHECK(row["seqlab_count"] == row["python_count"]);  // equal work on both sides
      CHECK(row["seqlab_rounds"].size() == 2);
      CHECK(row["ratio"].get<double>() > 0);
      CHECK(row["ratio_min"].get<double>() <= row["ratio_max"].get<double>());
    }
  }
  CHECK(json["models"]["transformer"].contains("greedy_no_cache"));

  // --profile: where a training step and a greedy pass go, operator by operator, on both sides
  auto profiled = seqlab_cli(
      "bench compare --models gru --rounds 1 --steps 1 --warmup 0 --batch-tokens 120 "
      "--sentences 3 --threads 1 --profile --json 2>/dev/null");
  REQUIRE(profiled.status == 0);
  auto gru = nlohmann::json::parse(last_line(profiled.output))["models"]["gru"];
  for (const auto& [section, suffix] :
       {std::pair<std::string, std::string>{"profile", "_per_step"},
        std::pair<std::string, std::string>{"profile_greedy", "_per_pass"}}) {
    INFO(section);
    for (std::string side : {"seqlab", "python"}) {
      const auto& ops = gru[section][side + "_self_ms" + suffix];
      CHECK(ops.value("aten::addmm", 0.0) + ops.value("aten::mm", 0.0) >
            0);  // the products are in it
    }
  }
}

TEST_CASE("seqlab run, results and report: bad specs and directories are input errors (status 2)") {
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(dir.file("bad.json"), "{\"name\": \"x\", \"grdi\": {}}");
  auto bad = seqlab_cli("run " + dir.file("bad.json") + " --out " + dir.file("out") + " 2>&1");
  CHECK(bad.status == 2);
  CHECK_THAT(bad.output, Contains("unknown key 'grdi'") && Contains("did you mean 'grid'"));
  seqlab::testing::write_text(dir.file("broken.json"), "{\"name\": ");
  auto broken =
      seqlab_cli("run " + dir.file("broken.json") + " --out " + dir.file("out") + " 2>&1");
  CHECK(broken.status == 2);
  CHECK_THAT(broken.output, Contains("not valid JSON"));
  auto unknown_kind =
      seqlab_cli("run " + std::string(SEQLAB_SOURCE_DIR) + "/experiments/heads.json --out " +
                 dir.file("out") + " --size huge 2>&1");
  CHECK(unknown_kind.status == 2);
  CHECK_THAT(unknown_kind.output, Contains("no size 'huge'") && Contains("full, quick"));
  auto results = seqlab_cli("results " + dir.file("nothing") + " 2>&1");
  CHECK(results.status == 2);
  CHECK_THAT(results.output, Contains("no results.sqlite"));
  CHECK(seqlab_cli("report " + dir.file("nothing") + " 2>&1").status == 2);
}

// The captioning CLI: seqlab train on an image corpus, caption, attend --image, eval with all
// references, and bad images as input errors (status 2) naming the file.
TEST_CASE("seqlab caption, attend --image and eval on a captioning run") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_squares_corpus(dir);
  seqlab::testing::write_text(dir.file("config.json"),
                              R"({
    "data": {"task": "captioning", "corpus": ")" +
                                  corpus +
                                  R"(", "tokenizer": "word", "vocab_size": 0, "image_size": 16},
    "model": {"encoder": "cnn", "decoder": "bahdanau", "embedding_dim": 16, "hidden_dim": 48, "dropout": 0.0,
              "vision": {"width": 8, "layers": 2}},
    "train": {"lr": 0.005, "schedule": "constant", "batch_tokens": 400, "batch_sentences": 32, "label_smoothing": 0.0,
              "valid_every": 100, "valid_bleu_sentences": 10, "patience": 0, "checkpoint_every": 100, "max_steps": 300},
    "run": {"threads": 2}
  })");
  const std::string run = dir.file("run");
  auto trained =
      seqlab_cli("train --config " + dir.file("config.json") + " --out " + run + " 2>&1");
  REQUIRE(trained.status == 0);

  const std::string image = corpus + "/images/test-0.png";
  auto caption = seqlab_cli("caption --run " + run + " --beam 3 " + image + " " + corpus +
                            "/images/test-1.png 2>/dev/null");
  REQUIRE(caption.status == 0);
  CHECK_THAT(caption.output, Contains(image + "\t") && Contains(" square at "));
  // The first test scene's caption, as the corpus has it.
  std::string truth = seqlab::read_file(corpus + "/test.tsv");
  truth = truth.substr(0, truth.find('\n'));
  CHECK_THAT(caption.output, Contains(truth.substr(truth.find('\t') + 1)));

  auto attend = seqlab_cli("attend --run " + run + " --image " + image + " --out " +
                           dir.file("map.png") + " --json 2>/dev/null");
  REQUIRE(attend.status == 0);
  auto map = nlohmann::json::parse(last_line(attend.output));
  CHECK(std::filesystem::exists(dir.file("map.png")));
  CHECK(map["grid"] == nlohmann::json::array({4, 4}));
  CHECK(map["tokens"].size() >= 4);

  auto eval = seqlab_cli("eval --run " + run + " --json 2>/dev/null");
  REQUIRE(eval.status == 0);
  auto scores = nlohmann::json::parse(last_line(eval.output));
  CHECK(scores["images"] == 60);
  CHECK(scores.contains("cider"));
  CHECK(scores.contains("bleu_4"));
  CHECK(scores.contains("attention_grounding"));

  // The evaluation kept its item statistics: runs compare without decoding (a run with itself
  // differs by nothing), and a second beam makes the choice explicit.
  CHECK(std::filesystem::exists(run + "/test.beam" + std::to_string(scores["beam"].get<int>()) +
                                ".items.json"));
  auto same =
      seqlab_cli("compare " + run + " " + run + " --metric cider,bleu-4 --json 2>/dev/null");
  REQUIRE(same.status == 0);
  auto compared = nlohmann::json::parse(last_line(same.output));
  REQUIRE(compared["results"].size() == 2);
  CHECK(compared["items"] == 60);
  CHECK(compared["results"][0]["metric"] == "cider");
  CHECK(compared["results"][0]["baseline"].get<double>() == Approx(scores["cider"].get<double>()));
  CHECK(compared["results"][0]["difference"] == 0.0);
  CHECK(compared["results"][0]["p_value"] == 1.0);
  REQUIRE(seqlab_cli("eval --run " + run + " --beam 1 2>/dev/null").status == 0);
  auto ambiguous = seqlab_cli("compare " + run + " " + run + " 2>&1");
  CHECK(ambiguous.status == 2);
  CHECK_THAT(ambiguous.output, Contains("several beams") && Contains("--beam"));
  CHECK(seqlab_cli("compare " + run + " " + run + " --beam 1 --paired ar 2>/dev/null").status == 0);
  auto unevaluated = seqlab_cli("compare " + run + " " + run + " --split valid 2>&1");
  CHECK(unevaluated.status == 2);
  CHECK_THAT(unevaluated.output, Contains("no item statistics for the valid split"));

  // Bad input: a corrupt image, a missing one, --text on a captioning run.
  seqlab::testing::write_text(dir.file("broken.png"), "\x89PNG\r\n\x1a\n garbage");
  auto broken = seqlab_cli("caption --run " + run + " " + dir.file("broken.png") + " 2>&1");
  CHECK(broken.status == 2);
  CHECK_THAT(broken.output, Contains("broken.png"));
  auto missing = seqlab_cli("caption --run " + run + " " + dir.file("nowhere.jpg") + " 2>&1");
  CHECK(missing.status == 2);
  CHECK_THAT(missing.output, Contains("nowhere.jpg"));
  auto text =
      seqlab_cli("attend --run " + run + " --text hello --out " + dir.file("x.png") + " 2>&1");
  CHECK(text.status == 2);
  CHECK_THAT(text.output, Contains("--image"));
}

TEST_CASE(
    "a run saved before safetensors: refused without --trust-code (status 2), converted, "
    "translating as before") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  seqlab::testing::write_text(dir.file("config.json"), R"({
    "data": {"corpus": ")" + corpus + R"(", "tokenizer": "char", "vocab_size": 0},
    "model": {"embedding_dim": 16, "hidden_dim": 32, "dropout": 0.0},
    "train": {"lr": 0.005, "batch_tokens": 120, "max_steps": 12, "valid_every": 6, "valid_bleu_sentences": 5,
              "checkpoint_every": 6, "patience": 0},
    "run": {"threads": 1}
  })");
  const std::string run = dir.file("run");
  REQUIRE(
      seqlab_cli("train --config " + dir.file("config.json") + " --out " + run + " 2>&1").status ==
      0);
  seqlab::testing::write_text(dir.file("sources.txt"), "abcd\nhgfe\n");
  auto before =
      seqlab_cli("translate --run " + run + " < " + dir.file("sources.txt") + " 2>/dev/null");
  REQUIRE(before.status == 0);
  // The weights in the previous format: a TorchScript archive, as the previous main wrote best.pt.
  {
    auto loaded = seqlab::load_run(run);
    torch::serialize::OutputArchive archive;
    loaded.model->save(archive);
    archive.save_to(run + "/best.pt");
  }
  std::filesystem::remove(run + "/best.safetensors");
  std::filesystem::remove(run + "/checkpoint.safetensors");
  auto refused = seqlab_cli("translate --run " + run + " < " + dir.file("sources.txt") + " 2>&1");
  CHECK(refused.status == 2);
  CHECK_THAT(refused.output,
             Contains("best.pt") && Contains("--trust-code") && Contains("seqlab convert"));
  auto trusted = seqlab_cli("translate --run " + run + " --trust-code < " +
                            dir.file("sources.txt") + " 2>/dev/null");
  CHECK(trusted.status == 0);
  CHECK(trusted.output == before.output);
  CHECK(seqlab_cli("convert " + run + " 2>&1").status == 2);
  auto converted = seqlab_cli("convert " + run + " --trust-code --json 2>/dev/null");
  REQUIRE(converted.status == 0);
  CHECK(nlohmann::json::parse(last_line(converted.output))["written"].size() == 1);
  auto after =
      seqlab_cli("translate --run " + run + " < " + dir.file("sources.txt") + " 2>/dev/null");
  CHECK(after.status == 0);
  CHECK(after.output == before.output);
  // A damaged checkpoint is bad input naming the file, for --resume too.
  seqlab::testing::write_text(run + "/checkpoint.safetensors",
                              std::string("\xff\xff\0\0\0\0\0\0{}", 10));
  auto resumed =
      seqlab_cli("train --config " + dir.file("config.json") + " --out " + run + " --resume 2>&1");
  CHECK(resumed.status == 2);
  CHECK_THAT(resumed.output, Contains("checkpoint.safetensors: not a valid safetensors file"));
}
