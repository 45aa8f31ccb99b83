// Captioning end to end through the trainer and evaluation: a tiny CNN with an attentional GRU
// decoder learns to name a coloured square and its quadrant, and its attention for the colour
// word lands on the square. Images are generated here (16 x 16 PNGs).
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/config.h"
#include "core/files.h"
#include "eval/metric.h"
#include "eval/significance.h"
#include "tests/test_support.h"
#include "train/evaluate.h"
#include "train/run_directory.h"
#include "train/trainer.h"

TEST_CASE("A CNN with an attentional GRU learns to caption squares, and looks at them",
          "[captioning][learning]") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_squares_corpus(dir);
  // SEQLAB_TEST_SEED / SEQLAB_TEST_THREADS as for every learning test (docs/development.md,
  // "Tests").
  const char* seed_env = std::getenv("SEQLAB_TEST_SEED");
  const char* threads_env = std::getenv("SEQLAB_TEST_THREADS");
  const int64_t seed = 1 + (seed_env ? std::atoll(seed_env) : 0);
  const int64_t threads = threads_env ? std::atoll(threads_env) : 1;
  seqlab::Json json = {{"data",
                        {{"task", "captioning"},
                         {"corpus", corpus},
                         {"tokenizer", "word"},
                         {"vocab_size", 0},
                         {"image_size", 16}}},
                       {"model",
                        {{"encoder", "cnn"},
                         {"decoder", "bahdanau"},
                         {"cell", "gru"},
                         {"embedding_dim", 16},
                         {"hidden_dim", 48},
                         {"dropout", 0.0},
                         {"vision", {{"width", 8}, {"layers", 2}}}}},
                       {"train",
                        {{"lr", 0.005},
                         {"schedule", "constant"},
                         {"batch_tokens", 400},
                         {"batch_sentences", 32},
                         {"label_smoothing", 0.0},
                         {"valid_every", 100},
                         {"valid_bleu_sentences", 0},
                         {"patience", 0},
                         {"checkpoint_every", 100},
                         {"max_steps", 300}}},
                       {"eval", {{"beam", 1}}},
                       {"run", {{"seed", seed}, {"threads", threads}}}};
  const std::string run = dir.file("run");
  seqlab::train_model(seqlab::Config::from_json(json, {}, "test"), run, false);
  seqlab::EvaluateOptions options;
  options.attention_maps = 1;
  options.beam = 3;
  auto result = seqlab::evaluate_run(run, options);
  INFO(result.dump(2));
  CHECK(result["images"] == 60);
  // Three colours x four places: right on most test scenes.
  CHECK(result["exact_match"].get<double>() >= 80.0);
  CHECK(result["cider"].get<double>() > 5.0);
  {  // kept per image, so a verdict on exact match counts the test set's own error
    const auto items = seqlab::read_item_statistics(result["item_statistics"].get<std::string>());
    REQUIRE(items.metrics.count("exact_match") == 1);
    CHECK(seqlab::metric_registry()
              .create("exact_match")
              ->score_from_statistics(seqlab::sum_statistics(items.metrics.at("exact_match"))) ==
          Approx(result["exact_match"].get<double>()));
  }
  // The colour word's attention is on the 6 x 6 square: the grid is 4 x 4 (cells of 4 pixels), the
  // square holds 1 to 4 cell centres, so attention spread evenly would put about 10% there.
  REQUIRE(result.contains("attention_grounding"));
  CHECK(result["attention_grounding"]["words"].get<int64_t>() >= 50);
  CHECK(result["attention_grounding"]["mass_in_box"].get<double>() >= 0.35);
  CHECK(result["attention_grounding"]["argmax_in_box"].get<double>() >= 40.0);
  REQUIRE(result["attention_maps"].size() == 1);
  CHECK(std::filesystem::exists(result["attention_maps"][0].get<std::string>()));
  // The hypotheses file names each image.
  CHECK(seqlab::read_file(result["hypotheses"].get<std::string>()).find("test-0.png\t") !=
        std::string::npos);
  // A vocabulary shortlist is for text sources: a captioning run refuses one, naming the task.
  auto loaded = seqlab::load_run(run);
  CHECK_THROWS_WITH(seqlab::use_shortlist(loaded, 5), Catch::Contains("captioning run"));
  CHECK(!loaded.shortlist);
}
