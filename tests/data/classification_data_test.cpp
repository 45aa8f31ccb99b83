// Labelled sentences: label framing in batches, the classification task's label set and its
// errors, and the sentiment recipe's reader and splits (on fixture files made here).
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/error.h"
#include "data/batch.h"
#include "data/sentiment.h"
#include "data/task.h"
#include "tests/test_support.h"
#include "tokenizers/tokenizer.h"

using seqlab::Example;
using seqlab::Json;
using seqlab::Tokenizer;

TEST_CASE("label framing: target_in is bos alone, target_out the label, no eos") {
  std::vector<Example> examples = {{{5, 6, 7}, {Tokenizer::kNumSpecial + 1}},
                                   {{8}, {Tokenizer::kNumSpecial}}};
  auto batch = seqlab::collate(examples, {0, 1}, {}, seqlab::Framing::kLabel);
  CHECK(batch.target_in.sizes() == torch::IntArrayRef({2, 1}));
  CHECK(batch.target_in.eq(Tokenizer::kBos).all().item<bool>());
  CHECK(batch.target_out[0][0].item<int64_t>() == Tokenizer::kNumSpecial + 1);
  CHECK(batch.target_out[1][0].item<int64_t>() == Tokenizer::kNumSpecial);
  CHECK(batch.target_tokens == 2);
  CHECK(batch.target_mask.all().item<bool>());
  CHECK(batch.source_mask.sum().item<int64_t>() == 4);
  std::vector<Example> two_targets = {{{5}, {6, 7}}};
  CHECK_THROWS(seqlab::collate(two_targets, {0}, {}, seqlab::Framing::kLabel));
}

TEST_CASE(
    "classification task: sorted label set, label ids after the specials, unknown labels named "
    "with file and line") {
  seqlab::testing::TempDir dir;
  std::filesystem::create_directories(dir.file("c"));
  seqlab::testing::write_text(dir.file("c/train.tsv"),
                              "good film\tpos\nbad film\tneg\nfine\tmeh\n");
  seqlab::testing::write_text(dir.file("c/valid.tsv"), "ok\tpos\nhmm\tunsure\n");
  seqlab::testing::write_text(dir.file("c/test.tsv"), "x\tneg\n");
  auto config = seqlab::Config::from_json(
      {{"data", {{"task", "classification"}, {"corpus", dir.file("c")}}}}, {}, "test");
  auto task = seqlab::make_task(config);
  REQUIRE(task->has_labels());
  auto train = task->read_split("train");
  auto labels = task->find_labels(train);
  CHECK(labels == std::vector<std::string>{"meh", "neg", "pos"});
  task->set_labels(labels);
  CHECK(task->framing() == seqlab::Framing::kLabel);
  CHECK_THROWS_WITH(task->read_split("valid"), Catch::Contains("valid.tsv:2") &&
                                                   Catch::Contains("unknown label 'unsure'") &&
                                                   Catch::Contains("meh, neg, pos"));
  auto tokenizer = seqlab::train_tokenizer("word", task->tokenizer_texts(train), {});
  auto split = task->encode(train, *tokenizer, true);
  REQUIRE(split.examples.size() == 3);
  CHECK(split.examples[0].target == std::vector<int64_t>{Tokenizer::kNumSpecial + 2});
  CHECK(split.examples[2].target == std::vector<int64_t>{Tokenizer::kNumSpecial + 0});
  CHECK(seqlab::target_vocabulary(tokenizer->vocab_size(), labels) == Tokenizer::kNumSpecial + 3);
  CHECK(seqlab::target_vocabulary(100, {}) == 100);
  seqlab::write_labels(dir.file("labels.json"), labels);
  CHECK(seqlab::read_labels(dir.file("labels.json")) == labels);
  seqlab::testing::write_text(dir.file("bad.json"), "{\"labels\": []}");
  CHECK_THROWS_AS(seqlab::read_labels(dir.file("bad.json")), seqlab::InputError);

  seqlab::testing::write_text(dir.file("c/train.tsv"), "good film\tpos\nbad film\tpos\n");
  CHECK_THROWS_WITH(task->find_labels(task->read_split("train")),
                    Catch::Contains("at least 2 labels"));
}

TEST_CASE(
    "sentiment fixtures: read, whitespace folded, the trailing null entry skipped, bad entries "
    "named") {
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(
      dir.file("imdb.json"),
      R"([{"text": "Great  movie.\t ", "class": 1}, {"text": "Awful.", "class": 0},
                                  {"text": "", "class": null}])");
  auto read = seqlab::read_sentiment_fixture(dir.file("imdb.json"), "imdb");
  REQUIRE(read.size() == 2);
  CHECK(read[0].text == "Great movie.");
  CHECK(read[0].label == "positive");
  CHECK(read[1].label == "negative");
  seqlab::testing::write_text(dir.file("bad.json"),
                              R"([{"text": "a", "class": 1}, {"text": "b", "class": 2}])");
  CHECK_THROWS_WITH(seqlab::read_sentiment_fixture(dir.file("bad.json"), "x"),
                    Catch::Contains("bad.json: entry 2") && Catch::Contains("class 2"));
  seqlab::testing::write_text(dir.file("bad.json"), R"({"text": "a"})");
  CHECK_THROWS_AS(seqlab::read_sentiment_fixture(dir.file("bad.json"), "x"), seqlab::InputError);
}

TEST_CASE(
    "sentiment splits: deduplicated, in-domain by hash, cross-domain tests on the held-out source "
    "only") {
  std::vector<seqlab::LabelledSentence> sentences;
  for (const char* domain : {"imdb", "amazon", "yelp"})
    for (int i = 0; i < 400; ++i)
      sentences.push_back({std::string(domain) + " sentence " + std::to_string(i),
                           i % 2 ? "positive" : "negative", domain});
  sentences.push_back({"IMDB SENTENCE 3", "positive", "yelp"});  // a case-insensitive duplicate
  auto in_domain = seqlab::sentiment_splits(sentences, "");
  CHECK(in_domain.train.size() + in_domain.valid.size() + in_domain.test.size() == 1200);
  CHECK(in_domain.test.size() == 600);
  CHECK(in_domain.valid.size() == 300);
  auto cross = seqlab::sentiment_splits(sentences, "yelp");
  CHECK(cross.test.size() == 400);
  for (const auto& pair : cross.test) CHECK(pair.source.rfind("yelp", 0) == 0);
  for (const auto& pair : cross.train) CHECK(pair.source.rfind("yelp", 0) != 0);
  CHECK(cross.valid.size() == 80);
  CHECK(seqlab::sentiment_splits(sentences, "yelp").train.front().source ==
        cross.train.front().source);
}
