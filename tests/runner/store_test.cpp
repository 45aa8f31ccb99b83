// The results store (runner/store.h): importing a run twice gives the same rows.
#include <catch2/catch.hpp>

#include "runner/store.h"
#include "tests/test_support.h"

using seqlab::Json;

TEST_CASE("the results store imports idempotently") {
  seqlab::testing::TempDir dir;
  seqlab::ResultStore store(dir.file("results.sqlite"));
  int64_t id = store.ensure_run("s", "c", 1, "train", Json{{"k", 1}}, Json::object(), dir.path());
  CHECK(store.ensure_run("s", "c", 1, "train", Json{{"k", 1}}, Json::object(), dir.path()) == id);
  seqlab::RunResult result;
  result.steps = 10;
  result.metrics = {{10, "valid", "loss", 2.5}, {10, "train", "loss", 2.7}};
  result.evaluations = {{"test", 5, "bleu", "", 12.5, "sig"},
                        {"test", 5, "bleu", "1-10", 14.0, "sig"}};
  store.finish_run(id, result);
  store.finish_run(id, result);
  CHECK(store.metrics(id).size() == 2);
  CHECK(store.evaluations(id).size() == 2);
  auto runs = store.runs("s");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].status == "finished");
  CHECK(runs[0].steps == 10);
}
