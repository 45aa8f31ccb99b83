#include <catch2/catch.hpp>

#include "core/error.h"
#include "eval/length_buckets.h"
#include "eval/metric.h"

using Catch::Matchers::Contains;

namespace {
// The example of sacreBLEU's README (sacreBLEU 2.x prints BLEU = 48.53 82.4/50.0/45.5/37.5
// (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18) and chrF2 = 59.73).
const std::vector<std::string> kSystem = {"The dog bit the man.", "It wasn't surprising.",
                                          "The man had just bitten him."};
const std::vector<std::vector<std::string>> kReferences = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};
}  // namespace

TEST_CASE("BLEU matches sacreBLEU on its published example") {
  auto bleu = seqlab::metric_registry().create("bleu");
  auto result = bleu->corpus_score(kSystem, kReferences);
  CHECK(result.score == Approx(48.53).margin(0.005));
  CHECK(result.summary ==
        "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
}

TEST_CASE("chrF matches sacreBLEU's chrF2 on its published example") {
  auto chrf = seqlab::metric_registry().create("chrf");
  CHECK(chrf->corpus_score(kSystem, kReferences).score == Approx(59.73).margin(0.005));
}

TEST_CASE("a perfect translation scores 100 and an empty one 0") {
  for (std::string name : {"bleu", "chrf"}) {
    auto metric = seqlab::metric_registry().create(name);
    CHECK(metric->corpus_score(kSystem, {kSystem}).score == Approx(100.0));
    CHECK(metric->corpus_score({"", "", ""}, {kSystem}).score == Approx(0.0));
  }
}

TEST_CASE("13a tokenization splits punctuation like mteval-v13a") {
  CHECK(seqlab::tokenize_13a("Hello, world!") == "Hello , world !");
  CHECK(seqlab::tokenize_13a("It costs 3.50 dollars.") == "It costs 3.50 dollars .");
  CHECK(seqlab::tokenize_13a("1,000 items; 2-3 days") == "1,000 items ; 2 - 3 days");
  CHECK(seqlab::tokenize_13a("don't &quot;quote&quot;") == "don't \" quote \"");
  CHECK(seqlab::tokenize_13a("  spaced   out  ") == "spaced out");
}

TEST_CASE("BLEU's smoothing and brevity penalty follow sacreBLEU") {
  auto bleu = seqlab::metric_registry().create("bleu");
  // 3/4, 2/3, 1/2 matched, 0/1 4-grams: exp smoothing gives 100/(2*1) for order 4.
  auto result = bleu->corpus_score({"this is a fest"}, {{"this is a test"}});
  double expected =
      std::exp((std::log(75.0) + std::log(200.0 / 3) + std::log(50.0) + std::log(50.0)) / 4);
  CHECK(result.score == Approx(expected).epsilon(1e-9));
  // A short hypothesis pays exp(1 - r/c).
  auto short_result = bleu->corpus_score({"the cat"}, {{"the cat sat"}});
  CHECK(short_result.details["bp"].get<double>() == Approx(std::exp(1.0 - 3.0 / 2.0)));
}

TEST_CASE("reference files must have one line per hypothesis") {
  auto bleu = seqlab::metric_registry().create("bleu");
  CHECK_THROWS_WITH(bleu->corpus_score({"a", "b"}, {{"a"}}),
                    Contains("reference set 1 has 1 lines but there are 2 hypotheses"));
  CHECK_THROWS_WITH(seqlab::metric_registry().create("meteor"),
                    Contains("bleu, bleu-1, bleu-2, bleu-3, bleu-4, chrf, cider"));
}

TEST_CASE("BLEU by source length groups sentences into word-count buckets") {
  std::vector<std::string> sources = {
      "a b c", "one two three four five six seven eight nine ten eleven", "x"};
  std::vector<std::string> hyps = {"the cat sat on the mat", "a b c d", "the cat"};
  std::vector<std::string> refs = {"the cat sat on the mat", "w x y z", "the cat"};
  auto buckets = seqlab::bleu_by_source_length(sources, hyps, refs);
  REQUIRE(buckets.size() == 2);
  CHECK(buckets[0].min_words == 1);
  CHECK(buckets[0].sentences == 2);
  CHECK(buckets[1].min_words == 11);
  CHECK(buckets[1].sentences == 1);
  auto alone = seqlab::metric_registry().create("bleu")->corpus_score({"a b c d"}, {{"w x y z"}});
  CHECK(buckets[1].bleu == Approx(alone.score));  // each bucket is scored as its own corpus
  auto json = seqlab::to_json(buckets);
  CHECK(json[1]["words"] == "11-20");
}
