#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "data/parallel_corpus.h"
#include "data/recipe.h"
#include "data/ui_message_filter.h"
#include "eval/metric.h"
#include "tests/test_support.h"

namespace seqlab {
std::vector<SentencePair> ding_line_pairs(const std::string& line);
}

using Catch::Matchers::Contains;
using seqlab::SentencePair;
namespace fs = std::filesystem;

TEST_CASE("TSV corpora read pairs and report malformed lines by file and line") {
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(dir.file("ok.tsv"),
                              "Open\tOuvrir\r\nClose the window\tFermer la fenêtre\n");
  auto pairs = seqlab::read_tsv(dir.file("ok.tsv"));
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[0].target == "Ouvrir");  // CRLF line endings are accepted
  CHECK(pairs[1].target == "Fermer la fenêtre");

  seqlab::testing::write_text(dir.file("notab.tsv"), "a\tb\nno tab here\n");
  CHECK_THROWS_WITH(seqlab::read_tsv(dir.file("notab.tsv")), Contains("notab.tsv:2: no tab"));
  seqlab::testing::write_text(dir.file("twotabs.tsv"), "a\tb\tc\n");
  CHECK_THROWS_WITH(seqlab::read_tsv(dir.file("twotabs.tsv")),
                    Contains("twotabs.tsv:1: more than one tab"));
  seqlab::testing::write_text(dir.file("empty.tsv"), "a\t\n");
  CHECK_THROWS_WITH(seqlab::read_tsv(dir.file("empty.tsv")), Contains("empty target"));
  seqlab::testing::write_text(dir.file("latin1.tsv"), "ok\tfine\ncaf\xE9\tcoffee\n");
  CHECK_THROWS_WITH(seqlab::read_tsv(dir.file("latin1.tsv")),
                    Contains("latin1.tsv:2: invalid UTF-8 at byte 4"));
  CHECK_THROWS_WITH(seqlab::read_tsv(dir.file("missing.tsv")), Contains("missing.tsv"));
}

TEST_CASE("Moses parallel files pair line i with line i and must match in length") {
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(dir.file("train.en"), "Hello\nGood night\n");
  seqlab::testing::write_text(dir.file("train.fr"), "Bonjour\nBonne nuit\n");
  auto pairs = seqlab::read_moses(dir.file("train.en"), dir.file("train.fr"));
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[1].source == "Good night");
  CHECK(pairs[1].target == "Bonne nuit");
  seqlab::testing::write_text(dir.file("short.fr"), "Bonjour\n");
  CHECK_THROWS_WITH(seqlab::read_moses(dir.file("train.en"), dir.file("short.fr")),
                    Contains("has 2 lines") && Contains("has 1"));
  seqlab::testing::write_text(dir.file("bad.fr"), "Bonjour\n\xC3\x28\n");
  CHECK_THROWS_WITH(seqlab::read_moses(dir.file("train.en"), dir.file("bad.fr")),
                    Contains("bad.fr:2: invalid UTF-8"));
}

TEST_CASE("UI messages with placeholders, markup, accelerators or odd lengths are dropped") {
  seqlab::UiFilterStats stats;
  auto keep = [&](const std::string& en, const std::string& fr) {
    return seqlab::filter_ui_message({"", en, "", {fr}}, stats).has_value();
  };
  CHECK(keep("Open the selected file", "Ouvrir le fichier sélectionné"));
  CHECK_FALSE(keep("Open %s now please", "Ouvrir %s maintenant"));
  CHECK_FALSE(keep("Delete %1 items now", "Supprimer %1 éléments"));
  CHECK_FALSE(keep("Show {0} more rows", "Afficher {0} lignes"));
  CHECK_FALSE(keep("Path is $HOME here", "Le chemin est $HOME"));
  CHECK_FALSE(keep("Make it <b>bold</b> now", "Mettre en <b>gras</b>"));
  CHECK_FALSE(keep("Escape &amp; quote", "Échapper &amp; citer"));  // entity
  CHECK_FALSE(keep("Set the config_key value", "Définir la valeur config_key"));
  CHECK_FALSE(keep("Two words", "Deux mots"));                      // fewer than 3 words
  CHECK_FALSE(keep("One line\nand another", "Une ligne\net une"));  // multi-line
  CHECK_FALSE(keep("Open the file", ""));                           // untranslated
  CHECK_FALSE(keep("a b c", "un deux trois quatre cinq six sept huit neuf dix"));  // ratio
  CHECK(stats.kept == 1);
  // Accelerator marks are removed, the message kept: "_Open" and "~Ouvrir" are good text.
  auto pair =
      seqlab::filter_ui_message({"", "_Open the ~file", "", {"~Ouvrir le &fichier"}}, stats);
  REQUIRE(pair.has_value());
  CHECK(pair->source == "Open the file");
  CHECK(pair->target == "Ouvrir le fichier");
  CHECK(
      seqlab::filter_ui_message({"", "Food & Drink here", "", {"Nourriture et boissons"}}, stats));
  CHECK(stats.placeholder == 5);  // four placeholders and one copied identifier
}

TEST_CASE("Ding dictionary lines give aligned whole-sentence pairs only") {
  auto pairs = seqlab::ding_line_pairs(
      "Er kommt morgen. | Sie kommt heute! :: He comes tomorrow. | She comes today!");
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[0].source == "He comes tomorrow.");
  CHECK(pairs[0].target == "Er kommt morgen.");
  CHECK(seqlab::ding_line_pairs("Haus {n} :: house").empty());
  CHECK(seqlab::ding_line_pairs("# comment :: line.").empty());
  CHECK(seqlab::ding_line_pairs("etw. tun. :: to do sth.").empty());
  CHECK(seqlab::ding_line_pairs("A. | B. :: A.").empty());  // misaligned segments
}

TEST_CASE("hash splits are deterministic and independent of input order") {
  std::vector<SentencePair> pairs;
  for (int i = 0; i < 200; ++i) pairs.push_back({"sentence " + std::to_string(i), "phrase"});
  auto a = seqlab::split_by_hash(pairs, 20, 10, 5);
  std::reverse(pairs.begin(), pairs.end());
  auto b = seqlab::split_by_hash(pairs, 20, 10, 5);
  REQUIRE(a.test.size() == 10);
  REQUIRE(a.valid.size() == 20);
  REQUIRE(a.train.size() == 170);
  for (size_t i = 0; i < a.test.size(); ++i) CHECK(a.test[i].source == b.test[i].source);
  for (size_t i = 0; i < a.valid.size(); ++i) CHECK(a.valid[i].source == b.valid[i].source);
}

TEST_CASE("an unknown corpus or recipe name lists the valid ones") {
  CHECK_THROWS_WITH(
      seqlab::prepare_corpus("ui-klingon"),
      Contains("copy, copy-60, copy-suffix, ding-en-de, emoji, fashion-scenes, long-dependency, "
               "music, music-large, reverse, reverse-40, sentiment, "
               "sentiment-to-amazon, sentiment-to-imdb, sentiment-to-yelp, ui-de, "
               "ui-fr, wesnoth-de"));
  CHECK_THROWS_WITH(seqlab::corpus_directory("no-such-corpus"),
                    Contains("recipes: copy, copy-60, copy-suffix, ding-en-de"));
}

TEST_CASE(
    "the long synthetic corpora have their lengths in every split, targets reversed or copied") {
  seqlab::testing::TempDir dir;
  struct Case {
    std::string name;
    size_t max_length;
    bool reverse;
  };
  for (const Case& c : {Case{"reverse-40", 40, true}, Case{"copy-60", 60, false}}) {
    INFO(c.name);
    const auto corpus = seqlab::prepare_corpus(c.name, dir.file(c.name));
    for (const std::string split : {"train", "valid", "test"}) {
      const auto pairs = seqlab::read_tsv(corpus.directory + "/" + split + ".tsv");
      REQUIRE(!pairs.empty());
      size_t longest = 0, over_half = 0;
      for (const auto& p : pairs) {
        auto words = seqlab::split_whitespace(p.source);
        longest = std::max(longest, words.size());
        over_half += words.size() > c.max_length / 2;
        if (c.reverse) std::reverse(words.begin(), words.end());
        std::string expected;
        for (const auto& w : words) expected += (expected.empty() ? "" : " ") + w;
        REQUIRE(p.target == expected);
      }
      CHECK(longest == c.max_length);
      CHECK(over_half > pairs.size() / 3);  // long sources are trained on, not only tested
    }
  }
}

TEST_CASE(
    "copy-suffix keeps the last five symbols, and test sources run past the training length") {
  seqlab::testing::TempDir dir;
  const auto corpus = seqlab::prepare_corpus("copy-suffix", dir.file("copy-suffix"));
  for (const std::string split : {"train", "valid", "test"}) {
    INFO(split);
    const auto pairs = seqlab::read_tsv(corpus.directory + "/" + split + ".tsv");
    REQUIRE(!pairs.empty());
    size_t longest = 0, short_sources = 0;
    for (const auto& p : pairs) {
      const auto words = seqlab::split_whitespace(p.source);
      const auto target = seqlab::split_whitespace(p.target);
      longest = std::max(longest, words.size());
      short_sources += words.size() < 5;
      REQUIRE(target.size() == std::min<size_t>(5, words.size()));
      REQUIRE(std::equal(target.begin(), target.end(), words.end() - target.size()));
    }
    CHECK(longest == (split == "test" ? 40u : 20u));
    CHECK(short_sources > 0);  // sources shorter than the suffix are copied whole
  }
}
