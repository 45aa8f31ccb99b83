// CIDEr-D and coco-caption BLEU against values worked out by hand and values of the reference
// implementation (pycocoevalcap's cider_scorer.py and bleu_scorer.py on the same tokens).

#include <catch2/catch.hpp>

#include "eval/caption.h"
#include "eval/metric.h"


namespace {

double score(const std::string& metric, const std::vector<std::string>& hyps,
             const std::vector<std::vector<std::string>>& refs) {
  return seqlab::MetricRegistry().create(metric)->corpus_score(hyps, refs).score;
}

}  // namespace

TEST_CASE("Caption tokens: lowercased, punctuation dropped, clitics split off", "[cider]") {
  CHECK(seqlab::caption_tokens("A Man's dog, running (fast)!") ==
        std::vector<std::string>{"a", "man", "'s", "dog", "running", "fast"});
  CHECK(seqlab::caption_tokens("person running: dark skin tone, facing right") ==
        std::vector<std::string>{"person", "running", "dark", "skin", "tone", "facing", "right"});
  CHECK(seqlab::caption_tokens("it costs 3.50 - \"really\"") == std::vector<std::string>{"it", "costs", "3.50", "really"});
}

TEST_CASE("CIDEr-D by hand: a perfect caption scores 10 x (orders it has with idf > 0) / 4", "[cider]") {
  // Two images, each captioned exactly. "a" is in both (idf log 2 - log 2 = 0, so it drops out);
  // every other n-gram has document frequency 1 and weight log 2. Orders 1-3 then have cosine 1,
  // order 4 has no n-gram (norm 0, contributes 0), no length penalty: 10 * 3/4 = 7.5.
  CHECK(score("cider", {"a red bag", "a blue shoe"}, {{"a red bag", "a blue shoe"}}) == Approx(7.5).epsilon(1e-12));
  // One image alone: every n-gram is in every image's references, idf 0, CIDEr-D 0.
  CHECK(score("cider", {"a cat"}, {{"a cat"}}) == 0.0);
  // A wrong caption shares nothing: 0.
  CHECK(score("cider", {"green hat", "a blue shoe"}, {{"a red bag", "a blue shoe"}}) == Approx(7.5 / 2).epsilon(1e-12));
}

TEST_CASE("CIDEr-D and BLEU-1..4 match pycocoevalcap on several references", "[cider]") {
  std::vector<std::string> hyps = {"a cat on the mat", "a dog runs", "people ride two bikes"};
  std::vector<std::vector<std::string>> refs = {{"a cat sits on a mat", "a dog runs in the park", "two people ride bikes"},
                                                {"the cat is on the mat", "a brown dog is running", ""}};
  auto cider = seqlab::MetricRegistry().create("cider")->corpus_score(hyps, refs);
  CHECK(cider.score == Approx(3.0873118443830365).epsilon(1e-9));
  auto per_image = cider.details["per_image"].get<std::vector<double>>();
  CHECK(per_image[0] == Approx(3.391200161320689).epsilon(1e-9));
  CHECK(per_image[1] == Approx(2.5374020384950873).epsilon(1e-9));
  CHECK(per_image[2] == Approx(3.333333333333334).epsilon(1e-9));
  CHECK(score("bleu-1", hyps, refs) == Approx(77.8800782941605).epsilon(1e-9));
  CHECK(score("bleu-2", hyps, refs) == Approx(63.588817648682486).epsilon(1e-9));
  CHECK(score("bleu-3", hyps, refs) == Approx(47.17249801148567).epsilon(1e-9));
  CHECK(score("bleu-4", hyps, refs) == Approx(0.0072250846097684195).epsilon(1e-6));
}

TEST_CASE("score_captions: CIDEr-D, BLEU-4 and exact match against any reference", "[cider]") {
  auto result = seqlab::score_captions({"A red bag.", "a shoe"}, {{"a red bag", "a blue shoe"}, {"red bag", ""}});
  CHECK(result["images"] == 2);
  CHECK(result["exact_match"].get<double>() == Approx(50.0));
  CHECK(result.contains("cider"));
  CHECK(result.contains("bleu_4"));
}
