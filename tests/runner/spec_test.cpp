// Experiment specs (runner/spec.h): grids, zips, seeds and sizes expand into cells, every key is
// validated with the closest valid one named, relations parse from their written form, and every
// shipped spec loads in each of its sizes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "runner/report.h"
#include "runner/spec.h"
#include "seqlab_paths.h"
#include "tests/runner/tiny_spec.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using seqlab::Json;
using seqlab::testing::write_base_config;
using seqlab::testing::write_spec;

TEST_CASE("a spec expands its grid, zip and seeds into cells and validates its keys") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string base = write_base_config(dir, corpus);
  auto spec = seqlab::load_spec(write_spec(
      dir, base,
      {{"zip", {{"model.embedding_dim", {8, 16, 24}}, {"model.hidden_dim", {16, 32, 48}}}}}));
  auto cells = seqlab::expand_cells(spec);
  REQUIRE(cells.size() == 2 * 3 * 2);  // grid x zip x seeds
  CHECK(cells[0].config["model"]["decoder"] == "rnn");
  CHECK(cells[0].config["model"]["embedding_dim"] == 8);
  CHECK(cells[0].config["model"]["hidden_dim"] == 16);
  CHECK(cells[0].config["run"]["seed"] == 1);
  CHECK(cells[1].config["run"]["seed"] == 2);
  std::set<std::string> ids;
  for (const auto& c : cells) ids.insert(c.id());
  CHECK(ids.size() == cells.size());

  SECTION("an unknown key names the closest one") {
    try {
      seqlab::load_spec(write_spec(dir, base, {{"seedz", {1}}}));
      FAIL("no error");
    } catch (const seqlab::InputError& e) {
      CHECK_THAT(e.what(),
                 Catch::Contains("unknown key 'seedz'") && Catch::Contains("did you mean 'seeds'"));
    }
  }
  SECTION("a bad config key in the grid is an error before anything runs") {
    auto bad = seqlab::load_spec(write_spec(dir, base, {{"grid", {{"model.hiden_dim", {8}}}}}));
    CHECK_THROWS_WITH(seqlab::expand_cells(bad),
                      Catch::Contains("model.hiden_dim") && Catch::Contains("model.hidden_dim"));
  }
  SECTION("zip lists of different lengths are refused") {
    CHECK_THROWS_WITH(
        seqlab::load_spec(write_spec(
            dir, base, {{"zip", {{"model.embedding_dim", {8, 16}}, {"model.hidden_dim", {16}}}}})),
        Catch::Contains("zip"));
  }
  SECTION("sizes merge over the spec") {
    auto sized = seqlab::load_spec(
        write_spec(dir, base,
                   {{"sizes",
                     {{"quick", {{"seeds", {7}}, {"set", {{"train.max_steps", 5}}}}},
                      {"full", Json::object()}}},
                    {"size", "quick"}}));
    auto quick = seqlab::expand_cells(sized);
    REQUIRE(quick.size() == 2);
    CHECK(quick[0].seed == 7);
    CHECK(quick[0].config["train"]["max_steps"] == 5);
    CHECK(seqlab::expand_cells(seqlab::load_spec(sized.path, "full")).size() == 4);
    CHECK_THROWS_WITH(seqlab::load_spec(sized.path, "fulll"),
                      Catch::Contains("did you mean 'full'"));
  }
}

TEST_CASE("relations parse from their written form and are judged against the spread") {
  auto r = seqlab::parse_relation(
      "bleu(model.decoder=bahdanau) > bleu(model.decoder=rnn) on source length 21-40");
  CHECK(r.metric == "bleu");
  CHECK(r.left["model.decoder"] == "bahdanau");
  CHECK(r.right["model.decoder"] == "rnn");
  CHECK(r.op == ">");
  CHECK(r.bucket == "21-40");
  auto about = seqlab::parse_relation(
      "bleu(model.heads=1) ~= bleu(model.heads=8) within 1.5 on source length 1-20");
  CHECK(about.op == "~=");
  CHECK(about.tolerance == 1.5);
  CHECK(about.bucket == "1-20");
  auto margin =
      seqlab::parse_relation("exact_match(cell=lstm) > exact_match(cell=rnn) on length 64 by 20");
  CHECK(margin.tolerance == 20);
  CHECK(margin.bucket == "64");
  CHECK_THROWS_WITH(seqlab::parse_relation("bleu(a=1) > bleu(a=2) by lots"),
                    Catch::Contains("expected a number after 'by'"));
  CHECK(about.left["model.heads"] == 1);
  CHECK_THROWS_AS(seqlab::parse_relation("bleu(a=1) >> chrf(a=2)"), seqlab::InputError);
  CHECK_THROWS_AS(seqlab::parse_relation("bleu a=1"), seqlab::InputError);
  auto s = seqlab::stats_of({1, 2, 3, 4});
  CHECK(s.mean == Approx(2.5));
  CHECK(s.sd == Approx(1.2909944));
  CHECK(seqlab::changed_keys(Json{{"a", 1}, {"b", {{"c", 2}}}},
                             Json{{"a", 1}, {"b", {{"c", 3}}}, {"d", 1}}) ==
        std::vector<std::string>{"b.c", "d"});
}

TEST_CASE("a spec name that is not a plain name is refused: it names folders under --out") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string base = write_base_config(dir, corpus);
  for (const char* name : {"../../x", "/tmp/x", "a/b", ".hidden", ""}) {
    INFO(name);
    std::string spec = write_spec(dir, base, {{"name", name}});
    CHECK_THROWS_WITH(seqlab::load_spec(spec, ""),
                      Catch::Contains("name") && Catch::Contains("plain name"));
  }
  CHECK_FALSE(fs::exists(dir.file("x")));
}

TEST_CASE("every shipped experiment spec loads and expands in each of its sizes") {
  int specs = 0;
  for (const auto& entry :
       fs::directory_iterator(std::string(SEQLAB_SOURCE_DIR) + "/experiments")) {
    if (entry.path().extension() != ".json") continue;
    ++specs;
    const std::string path = entry.path().string();
    INFO(path);
    Json raw = Json::parse(seqlab::read_file(path));
    REQUIRE(raw.contains("sizes"));
    CHECK(raw["sizes"].contains("quick"));
    CHECK(raw["sizes"].contains("full"));
    CHECK(raw.contains("expect") == (raw["name"] != "gru-baseline"));
    for (const auto& size : raw["sizes"].items()) {
      auto spec = seqlab::load_spec(path, size.key());
      auto cells = seqlab::expand_cells(spec);
      CHECK(!cells.empty());
      for (const auto& relation : spec.relations) CHECK(!relation.metric.empty());
    }
  }
  CHECK(specs >= 10);
}
