// The lexical shortlist: built from co-occurrence, the ids a batch may produce, its file.
#include <catch2/catch.hpp>

#include <algorithm>

#include <torch/torch.h>

#include "core/error.h"
#include "core/random.h"
#include "eval/shortlist.h"
#include "tests/test_support.h"

namespace {

// Source token s (4..13) always translates to target token s + 10; sentences are random choices
// of 2-5 source tokens, and target token 24 ("the") is in every sentence.
std::vector<seqlab::Example> dictionary_corpus() {
  seqlab::Rng rng(5);
  std::vector<seqlab::Example> examples;
  for (int i = 0; i < 300; ++i) {
    seqlab::Example example;
    const int64_t length = 2 + int64_t(rng.below(4));
    for (int64_t j = 0; j < length; ++j) {
      const int64_t s = 4 + int64_t(rng.below(10));
      example.source.push_back(s);
      example.target.push_back(s + 10);
    }
    example.target.push_back(24);
    examples.push_back(example);
  }
  return examples;
}

}  // namespace

TEST_CASE("the shortlist ranks each source token's translation first and keeps frequent targets") {
  auto shortlist = seqlab::build_shortlist(dictionary_corpus(), 30, 3, 2);
  REQUIRE(shortlist.by_source.sizes() == torch::IntArrayRef({30, 3}));
  for (int64_t s = 4; s < 14; ++s) CHECK(shortlist.by_source[s][0].item<int64_t>() == s + 10);
  // Tokens never seen as sources have no candidates.
  CHECK(shortlist.by_source[2].eq(-1).all().item<bool>());
  CHECK(shortlist.by_source[29].eq(-1).all().item<bool>());
  // The most frequent target is the one in every sentence.
  REQUIRE(shortlist.frequent.numel() == 2);
  CHECK(shortlist.frequent[0].item<int64_t>() == 24);

  // A batch's ids: the specials, the frequent ones and each source token's candidates, sorted.
  auto ids = shortlist.for_sources(torch::tensor({{5, 6, 0}, {5, 0, 0}}, torch::kInt64));
  std::vector<int64_t> got(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  CHECK(std::is_sorted(got.begin(), got.end()));
  for (int64_t want : {0, 1, 2, 3, 15, 16, 24})
    CHECK(std::find(got.begin(), got.end(), want) != got.end());
  CHECK(std::adjacent_find(got.begin(), got.end()) == got.end());
  CHECK(got.size() < 30);
}

TEST_CASE("a shortlist file round-trips and a foreign or corrupt one is an input error") {
  seqlab::testing::TempDir dir;
  auto shortlist = seqlab::build_shortlist(dictionary_corpus(), 30, 3, 2);
  const std::string path = dir.file("shortlist.safetensors");
  seqlab::save_shortlist(shortlist, path);
  auto loaded = seqlab::load_shortlist(path, 30);
  CHECK(torch::equal(loaded.by_source, shortlist.by_source));
  CHECK(torch::equal(loaded.frequent, shortlist.frequent));
  CHECK_THROWS_WITH(seqlab::load_shortlist(path, 31), Catch::Contains("built for 30"));

  auto bad = shortlist;
  bad.by_source[4][0] = 77;  // outside the vocabulary
  seqlab::save_shortlist(bad, path);
  CHECK_THROWS_WITH(seqlab::load_shortlist(path, 30), Catch::Contains("outside"));
  seqlab::testing::write_text(path, "not a safetensors file");
  CHECK_THROWS_AS(seqlab::load_shortlist(path, 30), seqlab::InputError);
  CHECK_THROWS_AS(seqlab::build_shortlist({}, 0, 3, 2), seqlab::InputError);
}
