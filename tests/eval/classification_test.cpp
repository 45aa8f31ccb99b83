// Classification scores: accuracy, macro-F1 (scikit-learn's definition) and the confusion matrix.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "eval/classify.h"
#include "eval/metric.h"

using seqlab::Json;

TEST_CASE(
    "score_classification: accuracy, per-label precision/recall/F1, macro-F1 and the confusion "
    "matrix") {
  // Worked by hand: a: P 2/2 R 2/3 F1 0.8; b: P 1/2 R 1/2 F1 0.5; c: P 1/2 R 1/1 F1 2/3.
  // scikit-learn: f1_score(gold, predicted, average="macro") = 0.6556, accuracy 4/6.
  std::vector<std::string> gold = {"a", "a", "a", "b", "b", "c"};
  std::vector<std::string> predicted = {"a", "a", "b", "b", "c", "c"};
  Json s = seqlab::score_classification(predicted, gold, {"a", "b", "c"});
  CHECK(s["accuracy"].get<double>() == Approx(100.0 * 4 / 6));
  CHECK(s["macro_f1"].get<double>() == Approx(100.0 * (0.8 + 0.5 + 2.0 / 3) / 3));
  CHECK(s["confusion"] == Json({{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  CHECK(s["per_label"][0]["precision"].get<double>() == Approx(100.0));
  CHECK(s["per_label"][0]["recall"].get<double>() == Approx(100.0 * 2 / 3));
  CHECK(s["per_label"][2]["f1"].get<double>() == Approx(100.0 * 2 / 3));
  CHECK(s["per_label"][1]["support"].get<int64_t>() == 2);
  CHECK(seqlab::confusion_table(s).find("gold \\ predicted") != std::string::npos);
}

TEST_CASE(
    "score_classification: a label of the set that never occurs stays out of macro-F1, unknown "
    "names get their own row") {
  Json s = seqlab::score_classification({"x", "x", ""}, {"x", "y", "y"}, {"x", "y", "z"});
  // x: P 1/2 R 1 F1 2/3; y: no prediction, F1 0; "" (predicted, never gold): F1 0; z is in
  // neither, so it is not averaged (scikit-learn averages over the labels that occur).
  CHECK(s["macro_f1"].get<double>() == Approx(100.0 * (2.0 / 3) / 3));
  CHECK(s["labels"] == Json({"x", "y", "z", ""}));
  CHECK(s["confusion"][1] == Json({1, 0, 0, 1}));  // one y predicted x, one predicted nothing
  CHECK(s["accuracy"].get<double>() == Approx(100.0 / 3));
  CHECK_THROWS_AS(seqlab::score_classification({"x"}, {"x", "y"}, {}), seqlab::InputError);
}

TEST_CASE("accuracy and macro_f1 are registered metrics over label lines") {
  auto accuracy = seqlab::metric_registry().create("accuracy");
  auto f1 = seqlab::metric_registry().create("macro_f1");
  std::vector<std::string> hyp = {"pos", "neg", "neg", "pos"}, ref = {"pos", "neg", "pos", "pos"};
  CHECK(accuracy->corpus_score(hyp, {ref}).score == Approx(75.0));
  // pos: P 1 R 2/3 F1 0.8; neg: P 1/2 R 1 F1 2/3.
  CHECK(f1->corpus_score(hyp, {ref}).score == Approx(100.0 * (0.8 + 2.0 / 3) / 2));
}
