// CIDEr-D and coco-caption BLEU against values worked out by hand and values of the reference
// implementation (pycocoevalcap's cider_scorer.py and bleu_scorer.py on the same tokens).

#include <catch2/catch.hpp>

#include "eval/caption.h"
#include "eval/metric.h"

namespace {

double score(const std::string& metric, const std::vector<std::string>& hyps,
             const std::vector<std::vector<std::string>>& refs) {
  return seqlab::metric_registry().create(metric)->corpus_score(hyps, refs).score;
}

}  // namespace

TEST_CASE("Caption tokens: lowercased, punctuation dropped, clitics split off", "[cider]") {
  // Brackets survive as -lrb- / -rrb-: PTBTokenizer -lowerCase writes them in lower case and
  // pycocoevalcap drops only the upper-case -LRB- / -RRB-.
  CHECK(seqlab::caption_tokens("A Man's dog, running (fast)!") ==
        std::vector<std::string>{"a", "man", "'s", "dog", "running", "-lrb-", "fast", "-rrb-"});
  CHECK(seqlab::caption_tokens("person running: dark skin tone, facing right") ==
        std::vector<std::string>{"person", "running", "dark", "skin", "tone", "facing", "right"});
  CHECK(seqlab::caption_tokens("it costs 3.50 - \"really\"") ==
        std::vector<std::string>{"it", "costs", "3.50", "really"});
}

TEST_CASE(
    "Caption tokens equal PTBTokenizer 3.4.1's (-preserveLines -lowerCase) after pycocoevalcap's "
    "filter",
    "[cider]") {
  // Expected: the output of `java edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase`
  // (CoreNLP 3.4.1, the jar coco-caption ships) on each caption, joined by spaces, with the tokens
  // of pycocoevalcap's PUNCTUATIONS removed. Hyphens, apostrophes and clitics, numbers, quotes
  // (straight and curly), slashes, brackets, abbreviations, symbols.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"A man's (big) dog isn't [here] -- \"quoted\" and/or 3.5 well-known {x} ... can't 'tis "
       "cats' toys!",
       "a man 's -lrb- big -rrb- dog is n't -lsb- here -rsb- quoted and/or 3.5 well-known -lcb- x "
       "-rcb- ca n't 't is cats toys"},
      {"Two dogs play in the snow.", "two dogs play in the snow"},
      {"A woman, wearing a hat, rides a bike; she smiles: happy?",
       "a woman wearing a hat rides a bike she smiles happy"},
      {"The 1,000-year-old tree stands at 3:30 p.m. near St. John's church.",
       "the 1,000-year-old tree stands at 3:30 p.m. near st. john 's church"},
      {"A \"red\" double-decker bus drives down the road/street.",
       "a red double-decker bus drives down the road/street"},
      {"Children's toys (a ball, a kite) lie on the grass...",
       "children 's toys -lrb- a ball a kite -rrb- lie on the grass"},
      {"He said 'hello' to the man who wasn't there.",
       "he said hello to the man who was n't there"},
      {"An off-white car is parked in front of a 5-story building.",
       "an off-white car is parked in front of a 5-story building"},
      {"A sign reads \"STOP\" & a man waits - patiently.",
       "a sign reads stop & a man waits patiently"},
      {"Two people ride horses on the beach at sunset , near the water .",
       "two people ride horses on the beach at sunset near the water"},
      {"A cat sits on a laptop's keyboard; it's 10% asleep.",
       "a cat sits on a laptop 's keyboard it 's 10 % asleep"},
      {"The U.S. flag flies over a $5 bill at 9 a.m.",
       "the u.s. flag flies over a $ 5 bill at 9 a.m."},
      {"Rock 'n' roll music plays as kids dance in the '80s style.",
       "rock 'n' roll music plays as kids dance in the '80s style"},
      {"A plate with food: rice, beans & chicken - yum!!",
       "a plate with food rice beans & chicken yum !!"},
      {"Dogs' owners wait outside the vet's office ... patiently",
       "dogs owners wait outside the vet 's office patiently"},
      {"E-mail me at john@example.com or visit www.example.com/page",
       "e-mail me at john@example.com or visit www.example.com/page"},
      {"A child holds a sign that says #1 mom <3", "a child holds a sign that says # 1 mom < 3"},
      {"It's a 2-for-1 deal on the man-made lake's boats.",
       "it 's a 2-for-1 deal on the man-made lake 's boats"},
      {"\"Look!\" she said, \"a bird.\"", "look she said a bird"},
      {"A man wearing a t-shirt and jeans ( blue ) walks",
       "a man wearing a t-shirt and jeans -lrb- blue -rrb- walks"},
      {"AT&T a+b x=y 50/50 C++ e.g. i.e. etc. Mr. Smith Dr. Who no. 5 vs. them",
       "at&t a + b x = y 50/50 c++ e.g. i.e. etc. mr. smith dr. who no. 5 vs. them"},
      {"what?! really!? ok.. wait.... end", "what ?! really !? ok wait end"},
      {"an em\xE2\x80\x94"
       "dash and a \xE2\x80\x99"
       "curly\xE2\x80\x99"
       " apostrophe don\xE2\x80\x99"
       "t \xE2\x80\x9C"
       "double curly\xE2\x80\x9D"
       " caf\xC3\xA9"
       "",
       "an em dash and a curly apostrophe do n't double curly caf\xC3\xA9"
       ""},
      {"dog. Cat. 5. 3.5. U.S.A. A.M. mid.sentence x.y.z ok.",
       "dog cat 5 3.5 u.s.a. a.m. mid.sentence x.y.z ok"},
      {"the man,the dog;the cat:the end", "the man the dog the cat the end"},
      {"(parenthesized) [bracketed] {braced} <angled>",
       "-lrb- parenthesized -rrb- -lsb- bracketed -rsb- -lcb- braced -rcb- <angled>"},
      {"it's 5 o'clock y'all ma'am", "it 's 5 o'clock y' all ma'am"},
      {"#hashtag @user *star* ~tilde ^caret _under_ |pipe| \\back\\",
       "#hashtag @user * star * ~ tilde ^ caret _ under _ | pipe | \\ back \\"},
      {"100% $5.99 \xC2\xA3"
       "5 \xE2\x82\xAC"
       "5 5km 5-10 -5 +5 1/2",
       "100 % $ 5.99 # 5 $ 5 5km 5-10 -5 +5 1/2"},
      {"won't cannot gonna wanna gotta lemme 'cause",
       "wo n't can not gon na wan na got ta lem me 'cause"},
      {"a b.c d", "a b.c d"},
  };
  for (const auto& [caption, expected] : cases) {
    INFO(caption);
    std::string joined;
    for (const auto& token : seqlab::caption_tokens(caption))
      joined += (joined.empty() ? "" : " ") + token;
    CHECK(joined == expected);
  }
}

TEST_CASE("CIDEr-D by hand: a perfect caption scores 10 x (orders it has with idf > 0) / 4",
          "[cider]") {
  // Two images, each captioned exactly. "a" is in both (idf log 2 - log 2 = 0, so it drops out);
  // every other n-gram has document frequency 1 and weight log 2. Orders 1-3 then have cosine 1,
  // order 4 has no n-gram (norm 0, contributes 0), no length penalty: 10 * 3/4 = 7.5.
  CHECK(score("cider", {"a red bag", "a blue shoe"}, {{"a red bag", "a blue shoe"}}) ==
        Approx(7.5).epsilon(1e-12));
  // One image alone: every n-gram is in every image's references, idf 0, CIDEr-D 0.
  CHECK(score("cider", {"a cat"}, {{"a cat"}}) == 0.0);
  // A wrong caption shares nothing: 0.
  CHECK(score("cider", {"green hat", "a blue shoe"}, {{"a red bag", "a blue shoe"}}) ==
        Approx(7.5 / 2).epsilon(1e-12));
}

TEST_CASE("CIDEr-D and BLEU-1..4 match pycocoevalcap on several references", "[cider]") {
  std::vector<std::string> hyps = {"a cat on the mat", "a dog runs", "people ride two bikes"};
  std::vector<std::vector<std::string>> refs = {
      {"a cat sits on a mat", "a dog runs in the park", "two people ride bikes"},
      {"the cat is on the mat", "a brown dog is running", ""}};
  auto cider = seqlab::metric_registry().create("cider")->corpus_score(hyps, refs);
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
  auto result = seqlab::score_captions({"A red bag.", "a shoe"},
                                       {{"a red bag", "a blue shoe"}, {"red bag", ""}});
  CHECK(result["images"] == 2);
  CHECK(result["exact_match"].get<double>() == Approx(50.0));
  // Per caption, under the same rule (the exact_match item statistics): only the first matches.
  CHECK(seqlab::caption_exact_matches({"A red bag.", "a shoe"},
                                      {{"a red bag", "a blue shoe"}, {"red bag", ""}}) ==
        std::vector<double>{1.0, 0.0});
  CHECK(result.contains("cider"));
  CHECK(result.contains("bleu_4"));
}

TEST_CASE(
    "CIDEr-D equals pycocoevalcap end to end (PTBTokenizer included) on punctuated captions, three "
    "references",
    "[cider]") {
  // pycocoevalcap: PTBTokenizer 3.4.1 (-preserveLines -lowerCase), its PUNCTUATIONS filter, then
  // cider_scorer.py (n 4, sigma 6) on these captions: 3.2819442549484372.
  const std::vector<std::string> hyps = {
      "A man's (big) dog isn't here.",
      "Two dogs play in the snow!",
      "A woman wearing a hat rides a bike.",
      "The 1,000-year-old tree at 3:30 p.m.",
      "A \"red\" double-decker bus on the road/street.",
      "Children's toys (a ball) on the grass...",
      "He said 'hello' to the man.",
      "An off-white car parked near a 5-story building.",
      "A sign reads \"STOP\" - a man waits.",
      "People ride horses on the beach, near the water.",
  };
  const std::vector<std::string> ref1 = {
      "A big dog (a man's) is not here.",
      "Two dogs are playing in the snow.",
      "A woman in a hat is riding a bike; she's smiling.",
      "An old tree, 1,000 years old, at 3:30 p.m.",
      "A red double-decker bus drives down the street.",
      "Toys (a ball, a kite) lie on the grass.",
      "He said \"hello\" to the man who wasn't there.",
      "A white car is parked in front of a 5-story building.",
      "A \"STOP\" sign & a man waiting.",
      "Two people ride horses on the beach at sunset.",
  };
  const std::vector<std::string> ref2 = {
      "The man's dog isn't there -- it's gone.", "Dogs play in the snow!!",
      "Woman with a hat riding her bike.",       "The tree is 1,000 years old; it's 3:30 p.m.",
      "A double-decker bus (red) on the road.",  "Children's toys on the grass: a ball and a kite.",
      "A man says 'hello' to another man.",      "An off-white car by a building.",
      "A man waits near a \"STOP\" sign.",       "Horses on the beach near the water, at sunset.",
  };
  const std::vector<std::string> ref3 = {
      "A dog [big] and a man.",
      "Two dogs in the snow?!",
      "A hat-wearing woman rides a bicycle.",
      "A 1,000-year-old tree at 3:30 p.m. near St. John's church.",
      "Red bus, double-decker, on the road/street.",
      "A ball & a kite (toys) on the grass.",
      "He's saying 'hello' to a man.",
      "A 5-story building with an off-white car.",
      "\"STOP,\" reads the sign; a man waits.",
      "People riding horses at the beach ...",
  };
  auto cider = seqlab::metric_registry().create("cider")->corpus_score(hyps, {ref1, ref2, ref3});
  CHECK(cider.score == Approx(3.2819442549484372).epsilon(1e-12));
  auto per_image = cider.details["per_image"].get<std::vector<double>>();
  const std::vector<double> expected = {2.1514636681865698, 5.019444608930771,  1.7035901216432456,
                                        2.533906067383871,  3.340502965737882,  3.8686028524998672,
                                        3.328899960532816,  3.1910354966316614, 2.7887031684553705,
                                        4.893293639482317};
  REQUIRE(per_image.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    CHECK(per_image[i] == Approx(expected[i]).epsilon(1e-12));
}
