// The captioning CLI: seqlab train on an image corpus, caption, attend --image, eval with all
// references, and bad images as input errors (status 2) naming the file.
#include <catch2/catch.hpp>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "data/debian_packages.h"
#include "seqlab_paths.h"
#include "tests/test_support.h"

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

std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  auto newline = text.rfind('\n');
  return newline == std::string::npos ? text : text.substr(newline + 1);
}

}  // namespace

TEST_CASE("seqlab caption, attend --image and eval on a captioning run") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_squares_corpus(dir);
  seqlab::testing::write_text(dir.file("config.json"), R"({
    "data": {"task": "captioning", "corpus": ")" + corpus + R"(", "tokenizer": "word", "vocab_size": 0, "image_size": 16},
    "model": {"encoder": "cnn", "decoder": "bahdanau", "embedding_dim": 16, "hidden_dim": 48, "dropout": 0.0,
              "vision": {"width": 8, "layers": 2}},
    "train": {"lr": 0.005, "schedule": "constant", "batch_tokens": 400, "batch_sentences": 32, "label_smoothing": 0.0,
              "valid_every": 100, "valid_bleu_sentences": 10, "patience": 0, "checkpoint_every": 100, "max_steps": 300},
    "run": {"threads": 2}
  })");
  const std::string run = dir.file("run");
  auto trained = seqlab_cli("train --config " + dir.file("config.json") + " --out " + run + " 2>&1");
  REQUIRE(trained.status == 0);

  const std::string image = corpus + "/images/test-0.png";
  auto caption = seqlab_cli("caption --run " + run + " --beam 3 " + image + " " + corpus + "/images/test-1.png 2>/dev/null");
  REQUIRE(caption.status == 0);
  CHECK_THAT(caption.output, Contains(image + "\t") && Contains(" square at "));
  // The first test scene's caption, as the corpus has it.
  std::string truth = seqlab::read_file(corpus + "/test.tsv");
  truth = truth.substr(0, truth.find('\n'));
  CHECK_THAT(caption.output, Contains(truth.substr(truth.find('\t') + 1)));

  auto attend = seqlab_cli("attend --run " + run + " --image " + image + " --out " + dir.file("map.png") + " --json 2>/dev/null");
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

  // Bad input: a corrupt image, a missing one, --text on a captioning run.
  seqlab::testing::write_text(dir.file("broken.png"), "\x89PNG\r\n\x1a\n garbage");
  auto broken = seqlab_cli("caption --run " + run + " " + dir.file("broken.png") + " 2>&1");
  CHECK(broken.status == 2);
  CHECK_THAT(broken.output, Contains("broken.png"));
  auto missing = seqlab_cli("caption --run " + run + " " + dir.file("nowhere.jpg") + " 2>&1");
  CHECK(missing.status == 2);
  CHECK_THAT(missing.output, Contains("nowhere.jpg"));
  auto text = seqlab_cli("attend --run " + run + " --text hello --out " + dir.file("x.png") + " 2>&1");
  CHECK(text.status == 2);
  CHECK_THAT(text.output, Contains("--image"));
}
