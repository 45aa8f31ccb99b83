#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/files.h"
#include "eval/metric.h"
#include "eval/significance.h"
#include "tests/test_support.h"

using Catch::Matchers::Contains;
using seqlab::ItemStatistics;

namespace {

// Accuracy statistics [correct, 1] for `items` items, correct where `correct(i)` holds.
template <typename F>
ItemStatistics correctness(size_t items, F correct) {
  ItemStatistics rows;
  for (size_t i = 0; i < items; ++i) rows.push_back({correct(i) ? 1.0 : 0.0, 1.0});
  return rows;
}

const std::vector<std::string> kHypotheses = {"The dog bit the man.", "It wasn't surprising.",
                                              "The man had just bitten him.",
                                              "a cat sat on the mat", "two dogs play in the snow"};
const std::vector<std::vector<std::string>> kReferences = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first.",
     "the cat sat on the mat", "two dogs are playing in snow"},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog.",
     "a cat is on a mat", "dogs play outside in the snow"}};

}  // namespace

TEST_CASE("every metric's corpus score is its score from summed item statistics") {
  for (const auto& name : seqlab::metric_registry().names()) {
    INFO(name);
    auto metric = seqlab::metric_registry().create(name);
    if (!metric->scores_text()) {  // perplexity: a model's, from its evaluation
      CHECK_THROWS_AS(metric->item_statistics(kHypotheses, kReferences), seqlab::InputError);
      CHECK_THROWS_AS(metric->corpus_score(kHypotheses, kReferences), seqlab::InputError);
      // Its statistics are [nll in nats, tokens]: exp(nll / tokens), and any other shape (a
      // store written by another metric, a hand-edited file) is refused, not misread.
      CHECK(metric->score_from_statistics({std::log(4.0) * 10, 10}) == Approx(4.0));
      CHECK(metric->score_from_statistics({0.0, 0.0}) == 0.0);
      CHECK_THROWS_WITH(metric->score_from_statistics({1.0, 2.0, 3.0}),
                        Catch::Contains("3 values, not 2"));
      CHECK_THROWS_AS(metric->score_from_statistics({}), seqlab::InputError);
      continue;
    }
    auto rows = metric->item_statistics(kHypotheses, kReferences);
    REQUIRE(rows.size() == kHypotheses.size());
    const double corpus = metric->corpus_score(kHypotheses, kReferences).score;
    // No hypotheses at all: a score of 0, not an error.
    CHECK(metric->corpus_score({}, {{}}).score == 0.0);
    CHECK(metric->score_from_statistics(seqlab::sum_statistics(rows)) ==
          Approx(corpus).margin(1e-9));
    // A subset's statistics score like the corpus score of that subset (what resampling relies on).
    // CIDEr-D keeps the whole set's document frequencies, so only decomposable metrics qualify.
    if (name == "cider") continue;
    std::vector<std::string> first(kHypotheses.begin(), kHypotheses.begin() + 3);
    std::vector<std::vector<std::string>> first_refs;
    for (const auto& set : kReferences) first_refs.emplace_back(set.begin(), set.begin() + 3);
    ItemStatistics head(rows.begin(), rows.begin() + 3);
    CHECK(metric->score_from_statistics(seqlab::sum_statistics(head)) ==
          Approx(metric->corpus_score(first, first_refs).score).margin(1e-9));
  }
}

TEST_CASE("Student's t quantiles and tails match the tables") {
  CHECK(seqlab::student_t_quantile(0.975, 1) == Approx(12.7062).epsilon(1e-5));
  CHECK(seqlab::student_t_quantile(0.975, 2) == Approx(4.30265).epsilon(1e-5));
  CHECK(seqlab::student_t_quantile(0.975, 10) == Approx(2.22814).epsilon(1e-5));
  CHECK(seqlab::student_t_quantile(0.95, 4) == Approx(2.13185).epsilon(1e-5));
  CHECK(seqlab::student_t_quantile(0.975, 3.5) ==
        Approx(2.93).margin(0.02));  // between 3.182 and 2.776
  CHECK(seqlab::student_t_quantile(0.975, INFINITY) == Approx(1.95996).epsilon(1e-5));
  CHECK(seqlab::student_t_quantile(0.025, 10) == Approx(-2.22814).epsilon(1e-5));
  CHECK(seqlab::student_t_two_sided_p(2.22814, 10) == Approx(0.05).epsilon(1e-4));
  CHECK(seqlab::student_t_two_sided_p(0, 5) == Approx(1.0));
  CHECK(seqlab::student_t_two_sided_p(1.95996, INFINITY) == Approx(0.05).epsilon(1e-4));
}

TEST_CASE("paired tests find a constructed difference and no difference where there is none") {
  auto accuracy = seqlab::metric_registry().create("accuracy");
  // 400 items; the baseline is right on a quarter, the better system on three quarters.
  auto baseline = correctness(400, [](size_t i) { return i % 4 == 0; });
  auto better = correctness(400, [](size_t i) { return i % 4 != 1; });
  // The same accuracy as the baseline on other items: no difference at all.
  auto same = correctness(400, [](size_t i) { return i % 4 == 2; });
  for (const std::string method : {"bs", "ar"}) {
    INFO(method);
    seqlab::PairedTestOptions options;
    options.method = method;
    auto differ = seqlab::paired_test(*accuracy, baseline, better, options);
    CHECK(differ.baseline == Approx(25.0));
    CHECK(differ.system == Approx(75.0));
    CHECK(differ.difference == Approx(50.0));
    CHECK(differ.samples == (method == "bs" ? 1000 : 10000));
    CHECK(differ.p_value == Approx(1.0 / double(differ.samples + 1)));  // no trial as extreme
    CHECK(differ.low > 40.0);  // the difference's standard error is about 3.5 points
    CHECK(differ.high < 60.0);
    CHECK(differ.low < 50.0);
    CHECK(differ.high > 50.0);
    auto none = seqlab::paired_test(*accuracy, baseline, same, options);
    CHECK(none.difference == 0.0);
    CHECK(none.p_value >
          0.2);  // bs: about 0.4 (the share of |resampled difference| above its mean)
    CHECK(none.low < 0.0);
    CHECK(none.high > 0.0);
    // A system against itself: every trial is as extreme as the observed zero difference.
    CHECK(seqlab::paired_test(*accuracy, baseline, baseline, options).p_value == Approx(1.0));
    // Seeded: the same figures twice, other figures with another seed.
    auto again = seqlab::paired_test(*accuracy, baseline, same, options);
    CHECK(again.p_value == none.p_value);
    CHECK(again.low == none.low);
    options.seed = 7;
    CHECK(seqlab::paired_test(*accuracy, baseline, same, options).low != none.low);
  }
}

TEST_CASE(
    "paired bootstrap of BLEU: the interval of a small difference covers zero, p near "
    "sacreBLEU's") {
  // Two systems that differ in one of five sentences only.
  auto bleu = seqlab::metric_registry().create("bleu");
  std::vector<std::string> other = kHypotheses;
  other[4] = "two dogs are playing in the snow";
  auto a = bleu->item_statistics(kHypotheses, kReferences);
  auto b = bleu->item_statistics(other, kReferences);
  auto r = seqlab::paired_test(*bleu, a, b);
  CHECK(r.difference > 0);
  CHECK(r.low <= 0.0);  // with five sentences nothing is decided
  CHECK(r.high >= r.difference);
  CHECK(r.p_value > 0.05);
}

TEST_CASE("paired tests refuse mismatched test sets and unknown methods") {
  auto accuracy = seqlab::metric_registry().create("accuracy");
  auto ten = correctness(10, [](size_t i) { return i % 2 == 0; });
  auto nine = correctness(9, [](size_t i) { return i % 2 == 0; });
  CHECK_THROWS_WITH(seqlab::paired_test(*accuracy, ten, nine), Contains("10 and 9 items"));
  seqlab::PairedTestOptions options;
  options.method = "t";
  CHECK_THROWS_WITH(seqlab::paired_test(*accuracy, ten, ten, options), Contains("valid: bs, ar"));
  ItemStatistics ragged = ten;
  ragged[3].push_back(1);
  CHECK_THROWS_WITH(seqlab::paired_test(*accuracy, ten, ragged),
                    Contains("item 4 has 3 statistics"));
}

TEST_CASE("groups of runs: seed spread and test-set noise both widen the interval") {
  auto accuracy = seqlab::metric_registry().create("accuracy");
  // Runs as accuracy statistics on 200 shared items; a run's score is its accuracy.
  auto run = [&](size_t period, size_t offset) {
    auto rows = correctness(200, [=](size_t i) { return (i + offset) % period != 0; });
    return rows;
  };
  auto score = [&](const ItemStatistics& rows) {
    return accuracy->score_from_statistics(seqlab::sum_statistics(rows));
  };
  seqlab::RunGroup tight_left, tight_right;
  for (size_t s = 0; s < 3; ++s) {
    tight_left.items.push_back(run(10, s));  // 90%
    tight_right.items.push_back(run(2, s));  // 50%
  }
  for (const auto& r : tight_left.items) tight_left.scores.push_back(score(r));
  for (const auto& r : tight_right.items) tight_right.scores.push_back(score(r));
  auto c = seqlab::compare_groups(accuracy.get(), tight_left, tight_right);
  CHECK(c.difference == Approx(40.0));
  CHECK(c.seeds_known());
  CHECK(c.items_known());
  CHECK(c.seed_variance == Approx(0.0).margin(1e-12));  // every seed scores the same
  CHECK(c.item_variance > 0.0);
  CHECK(c.dominant_noise() == "test items");
  CHECK(c.items == 200);
  auto [low, high] = c.interval(0.95);
  CHECK(low > 30.0);
  CHECK(high < 50.0);
  CHECK(c.p_value < 1e-6);

  // Wide seed spread: scores 30..90 on the left, 50..70 on the right, no item statistics.
  seqlab::RunGroup wide_left{{30, 60, 90}, {}}, wide_right{{50, 60, 70}, {}};
  auto w = seqlab::compare_groups(accuracy.get(), wide_left, wide_right);
  CHECK(w.difference == Approx(0.0).margin(1e-12));
  CHECK_FALSE(w.items_known());
  CHECK(w.dominant_noise() == "seeds");
  // Welch: variances 900/3 + 100/3, df = (1000/3)^2 / ((300^2 + 33.3^2) / 2) ~ 2.44.
  CHECK(w.degrees_of_freedom == Approx(2.439).margin(0.01));
  auto [wl, wh] = w.interval(0.95);
  CHECK(wl < -40.0);
  CHECK(wh > 40.0);

  // One run a side: the seed spread is unknown.
  seqlab::RunGroup one_left{{70}, {run(10, 0)}}, one_right{{60}, {run(2, 0)}};
  auto o = seqlab::compare_groups(accuracy.get(), one_left, one_right);
  CHECK_FALSE(o.seeds_known());
  CHECK(o.items_known());
  seqlab::RunGroup bare_left{{70}, {}}, bare_right{{60}, {}};
  auto bare = seqlab::compare_groups(nullptr, bare_left, bare_right);
  CHECK(bare.dominant_noise() == "unknown");
  CHECK(std::isinf(bare.interval(0.95).second));
}

TEST_CASE("groups run on the same seeds are compared seed by seed") {
  // Seed i moves both sides alike (the shared spread is 10 points), the difference is 1 +- 0.5:
  // unpaired, the shared spread swamps the difference; paired, it cancels.
  seqlab::RunGroup left{{11.0, 21.5, 30.5}, {}, {1, 2, 3}}, right{{10, 20, 30}, {}, {1, 2, 3}};
  auto paired = seqlab::compare_groups(nullptr, left, right);
  CHECK(paired.paired);
  CHECK(paired.difference == Approx(1.0));
  // Differences 1, 1.5, 0.5: variance 0.25, over 3 seeds; n - 1 = 2 degrees of freedom.
  CHECK(paired.seed_variance == Approx(0.25 / 3));
  CHECK(paired.degrees_of_freedom == Approx(2.0));
  auto [low, high] = paired.interval(0.95);
  const double half = 4.302653 * std::sqrt(0.25 / 3);  // t(0.975, 2)
  CHECK(low == Approx(1.0 - half).epsilon(1e-4));
  CHECK(high == Approx(1.0 + half).epsilon(1e-4));
  CHECK(low > -0.5);

  // The order of the runs does not matter, only which seed each score belongs to.
  seqlab::RunGroup shuffled{{30, 10, 20}, {}, {3, 1, 2}};
  auto again = seqlab::compare_groups(nullptr, left, shuffled);
  CHECK(again.paired);
  CHECK(again.seed_variance == Approx(paired.seed_variance));

  // Only the seeds both sides ran are paired: a fourth seed on one side is left out, and the
  // result is the three-seed comparison.
  seqlab::RunGroup four{{10, 20, 30, 45}, {}, {1, 2, 3, 4}};
  auto partial = seqlab::compare_groups(nullptr, left, four);
  CHECK(partial.paired);
  CHECK(partial.unpaired_runs == 1);
  CHECK(partial.left_seeds == 3);
  CHECK(partial.difference == Approx(1.0));
  CHECK(partial.seed_variance == Approx(paired.seed_variance));
  CHECK(paired.unpaired_runs == 0);
  // Two seeds in common of three a side: paired over those two.
  seqlab::RunGroup other_third{{10, 20, 35}, {}, {1, 2, 7}};
  auto two = seqlab::compare_groups(nullptr, left, other_third);
  CHECK(two.paired);
  CHECK(two.left_seeds == 2);
  CHECK(two.unpaired_runs == 2);
  CHECK(two.difference == Approx(1.25));  // (1 + 1.5) / 2
  CHECK(two.degrees_of_freedom == Approx(1.0));

  // One seed in common, a repeated seed, or no seeds known: Welch's two independent means over
  // every run.
  for (const auto& other :
       {seqlab::RunGroup{{10, 20, 30}, {}, {1, 5, 6}},
        seqlab::RunGroup{{10, 20, 30}, {}, {1, 1, 2}}, seqlab::RunGroup{{10, 20, 30}, {}, {}}}) {
    auto welch = seqlab::compare_groups(nullptr, left, other);
    CHECK_FALSE(welch.paired);
    CHECK(welch.left_seeds == 3);
    CHECK(welch.seed_variance > 60.0);  // (90.25 + 100) / 3 with the shared spread left in
    CHECK(welch.interval(0.95).first < -20.0);
  }
  // Item statistics on one side only: paired over seeds, the test set's error unknown.
  auto accuracy = seqlab::metric_registry().create("accuracy");
  seqlab::RunGroup with_items = left;
  for (size_t s = 0; s < 3; ++s)
    with_items.items.push_back(correctness(50, [=](size_t i) { return (i + s) % 2 == 0; }));
  auto one_sided = seqlab::compare_groups(accuracy.get(), with_items, right);
  CHECK(one_sided.paired);
  CHECK_FALSE(one_sided.items_known());
  CHECK(one_sided.seed_variance == Approx(paired.seed_variance));

  // One seed a side: nothing to pair, the spread is unknown.
  seqlab::RunGroup one_left{{11}, {}, {1}}, one_right{{10}, {}, {1}};
  auto one = seqlab::compare_groups(nullptr, one_left, one_right);
  CHECK_FALSE(one.paired);
  CHECK_FALSE(one.seeds_known());
}

TEST_CASE("item statistics files round-trip and crafted ones are refused by name") {
  seqlab::testing::TempDir dir;
  auto file = seqlab::compute_item_statistics({"bleu", "chrf"}, kHypotheses, kReferences);
  file.source_words = {5, 3, 6, 6, 5};
  const std::string path = seqlab::item_statistics_path(dir.path(), "test", 5);
  CHECK(path == dir.path() + "/test.beam5.items.json");
  seqlab::write_item_statistics(path, file);
  auto back = seqlab::read_item_statistics(path);
  CHECK(back.items == 5);
  CHECK(back.references_sha256 == seqlab::references_digest(kReferences));
  CHECK(back.metrics.at("bleu") == file.metrics.at("bleu"));
  CHECK(back.metrics.at("chrf") == file.metrics.at("chrf"));
  CHECK(back.source_words == file.source_words);
  // Another reference set has another digest.
  auto other = kReferences;
  other[1][2] = "changed";
  CHECK(seqlab::references_digest(other) != back.references_sha256);

  auto refused = [&](const std::string& text, const std::string& message) {
    seqlab::write_file_atomic(path, text);
    CHECK_THROWS_WITH(seqlab::read_item_statistics(path), Contains(path) && Contains(message));
  };
  const std::string head =
      R"({"format": "seqlab-item-statistics", "version": 1, "references_sha256": "x", )";
  refused("[1, 2]", "not a seqlab item statistics file");
  refused(head + R"("items": 2, "metrics": {"meteor": [[1], [1]]}})", "unknown metric 'meteor'");
  refused(head + R"("items": 3, "metrics": {"bleu": [[1], [1]]}})", "has 2 rows");
  refused(head + R"("items": 2, "metrics": {"accuracy": [[1, 1], [1]]}})", "item 2 has 1 values");
  refused(head + R"("items": 1, "metrics": {"accuracy": [[-1, 1]]}})", "not a finite count");
  refused(head + R"("items": 1, "metrics": {}, "extra": 1})", "unknown key 'extra'");
  refused(head + R"("items": "many", "metrics": {}})", "items");
  refused(head + R"("items": 1, "metrics": {}, "source_words": [1, 2]})", "source_words");
}
