// The CLI contract: exit status 0/1/2, --json prints one JSON object as the last stdout line,
// --help for every subcommand.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

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
  for (std::string sub : {"list", "data prepare", "tokenizer train", "score", "demo"}) {
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
  seqlab::testing::write_text(dir.file("hyp.txt"), "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n");
  seqlab::testing::write_text(dir.file("ref1.txt"), "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n");
  seqlab::testing::write_text(dir.file("ref2.txt"), "The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n");
  auto bleu = seqlab_cli("score bleu --ref " + dir.file("ref1.txt") + " --ref " + dir.file("ref2.txt") +
                         " --hyp " + dir.file("hyp.txt") + " --json 2>/dev/null");
  REQUIRE(bleu.status == 0);
  auto json = nlohmann::json::parse(last_line(bleu.output));
  CHECK(json["score"].get<double>() == Approx(48.53).margin(0.005));
  auto chrf = seqlab_cli("score chrf --ref " + dir.file("ref1.txt") + " --ref " + dir.file("ref2.txt") +
                         " --hyp " + dir.file("hyp.txt"));
  CHECK(chrf.status == 0);
  CHECK_THAT(chrf.output, Contains("chrF2 = 59.73"));
  seqlab::testing::write_text(dir.file("short.txt"), "only one line\n");
  auto mismatch = seqlab_cli("score bleu --ref " + dir.file("short.txt") + " --hyp " + dir.file("hyp.txt"));
  CHECK(mismatch.status == 2);
  CHECK_THAT(mismatch.output, Contains("reference set 1 has 1 lines"));
  auto missing = seqlab_cli("score bleu --ref " + dir.file("nope.txt") + " --hyp " + dir.file("hyp.txt"));
  CHECK(missing.status == 2);
  CHECK_THAT(missing.output, Contains("nope.txt"));
}

TEST_CASE("seqlab tokenizer train writes a tokenizer that loads, and reports bad input") {
  seqlab::testing::TempDir dir;
  std::string corpus;
  for (int i = 0; i < 30; ++i) corpus += "Fermer la fenêtre numéro " + std::to_string(i) + "\tClose window number " + std::to_string(i) + "\n";
  seqlab::testing::write_text(dir.file("corpus.tsv"), corpus);
  auto run = seqlab_cli("tokenizer train --kind bpe --vocab 60 --input " + dir.file("corpus.tsv") +
                        " --out " + dir.file("bpe.tok") + " --json 2>/dev/null");
  REQUIRE(run.status == 0);
  auto json = nlohmann::json::parse(last_line(run.output));
  CHECK(json["kind"] == "bpe");
  CHECK(json["sentences"] == 60);
  auto bad_kind = seqlab_cli("tokenizer train --kind morse --input " + dir.file("corpus.tsv") + " --out " + dir.file("x"));
  CHECK(bad_kind.status == 2);
  CHECK_THAT(bad_kind.output, Contains("bpe, char, unigram, word"));
}
