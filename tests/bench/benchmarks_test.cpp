// The benchmark registry (bench/bench.h): `seqlab bench NAME` and bench cells reach every
// measurement by name; each returns its name and, asked for lengths, one row per length with
// positive rates; a benchmark registered in one file is found like the shipped ones.
#include <catch2/catch.hpp>

#include <algorithm>

#include "bench/bench.h"
#include "core/error.h"

namespace {

const bool added = seqlab::benchmark_registry().add(
    "echo-test",
    [](const seqlab::BenchmarkRequest& r) {
      nlohmann::json rows = nlohmann::json::array();
      for (int64_t length : r.lengths) rows.push_back({{"length", length}, {"ms", 2.0 * length}});
      return nlohmann::json{{"benchmark", "echo-test"}, {"by_length", rows}};
    },
    "twice the length, in milliseconds");

}  // namespace

TEST_CASE("every benchmark is registered with its help, and an unknown one lists them") {
  const auto names = seqlab::benchmark_registry().names();
  for (const char* shipped : {"train", "decode", "attention", "echo-test"})
    CHECK(std::find(names.begin(), names.end(), shipped) != names.end());
  for (const auto& info : seqlab::benchmark_registry().infos()) CHECK_FALSE(info.help.empty());
  CHECK_THROWS_WITH(seqlab::benchmark_registry().create("trian", {}),
                    Catch::Contains("'trian'") && Catch::Contains("decode"));
  seqlab::BenchmarkRequest request;
  request.lengths = {3, 5};
  auto echo = seqlab::benchmark_registry().create("echo-test", request);
  REQUIRE(echo["by_length"].size() == 2);
  CHECK(echo["by_length"][1]["ms"] == 10.0);
}

TEST_CASE("train and decode measure one row per length with positive rates") {
  seqlab::BenchmarkRequest request;
  request.sets = {"model.embedding_dim=16", "model.hidden_dim=16"};
  request.steps = 2;
  request.sentences = 4;
  request.batch_tokens = 64;
  request.lengths = {4, 8};
  auto train = seqlab::benchmark_registry().create("train", request);
  CHECK(train["benchmark"] == "train");
  REQUIRE(train["by_length"].size() == 2);
  for (const auto& row : train["by_length"]) {
    INFO(row.dump());
    CHECK(row["target_tokens_per_s"].get<double>() > 0);
    CHECK(row["ms_per_step"].get<double>() > 0);
  }
  auto decode = seqlab::benchmark_registry().create("decode", request);
  CHECK(decode["benchmark"] == "decode");
  REQUIRE(decode["by_length"].size() == 2);
  CHECK(decode["by_length"][0]["length"] == 4);
  CHECK(decode["by_length"][0]["greedy"]["sentences_per_s"].get<double>() > 0);
  request.model = "no-such-preset";
  CHECK_THROWS_AS(seqlab::benchmark_registry().create("train", request), seqlab::InputError);
}
