#include <catch2/catch.hpp>

#include "core/config.h"
#include "core/error.h"
#include "tests/test_support.h"

using Catch::Matchers::Contains;
using seqlab::Config;
using seqlab::ConfigSchema;
using seqlab::InputError;
using seqlab::Json;

namespace {

ConfigSchema make_schema() {
  ConfigSchema schema;
  schema.add(seqlab::key_number("train.lr", 1e-3, "learning rate").range(0, 10));
  schema.add(seqlab::key_int("train.batch_tokens", 4000, "tokens per batch").range(1, 1e7));
  schema.add(seqlab::key_bool("train.shuffle", true, "shuffle batches"));
  schema.add(
      seqlab::key_string("model.cell", "gru", "recurrent cell").one_of({"gru", "lstm", "rnn"}));
  schema.add(seqlab::key_string("model.name", nullptr, "optional name"));
  schema.add(seqlab::key_strings("data.files", Json::array(), "input files"));
  return schema;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("defaults are filled in and values are typed") {
  auto schema = make_schema();
  Config config = Config::from_json(Json{{"train", {{"lr", 0.5}}}}, {}, "test", schema);
  CHECK(config.get_number("train.lr") == 0.5);
  CHECK(config.get_int("train.batch_tokens") == 4000);
  CHECK(config.get_bool("train.shuffle"));
  CHECK(config.get_string("model.cell") == "gru");
  CHECK_FALSE(config.has("model.name"));
}

TEST_CASE("an unknown key is rejected with its path, a suggestion and the valid keys") {
  auto schema = make_schema();
  std::string message = error_of([&] {
    Config::from_json(Json{{"train", {{"lrr", 0.1}}}}, {}, "run.json", schema);
  });
  CHECK_THAT(message, Contains("'train.lrr'"));
  CHECK_THAT(message, Contains("run.json"));
  CHECK_THAT(message, Contains("did you mean 'train.lr'"));
  CHECK_THAT(message, Contains("train.batch_tokens"));
}

TEST_CASE("a wrong type names the key and what was expected") {
  auto schema = make_schema();
  std::string message = error_of([&] {
    Config::from_json(Json{{"train", {{"lr", "fast"}}}}, {}, "x", schema);
  });
  CHECK_THAT(message, Contains("train.lr"));
  CHECK_THAT(message, Contains("expected a number"));
  message = error_of([&] {
    Config::from_json(Json{{"train", {{"batch_tokens", 2.5}}}}, {}, "x", schema);
  });
  CHECK_THAT(message, Contains("expected an integer"));
  message = error_of([&] { Config::from_json(Json{{"train", 3}}, {}, "x", schema); });
  CHECK_THAT(message, Contains("expected an object"));
}

TEST_CASE("an out-of-range value and an invalid choice are rejected with what is accepted") {
  auto schema = make_schema();
  std::string message = error_of([&] {
    Config::from_json(Json{{"train", {{"lr", 11}}}}, {}, "x", schema);
  });
  CHECK_THAT(message, Contains("in [0, 10]"));
  message = error_of([&] {
    Config::from_json(Json{{"model", {{"cell", "gur"}}}}, {}, "x", schema);
  });
  CHECK_THAT(message, Contains("one of: gru, lstm, rnn"));
}

TEST_CASE("overrides from --set are typed by the schema and validated") {
  auto schema = make_schema();
  Config config = Config::from_json(
      Json::object(),
      {"train.lr=0.25", "model.cell=lstm", "train.shuffle=false", "data.files=a.txt,b.txt"}, "x",
      schema);
  CHECK(config.get_number("train.lr") == 0.25);
  CHECK(config.get_string("model.cell") == "lstm");
  CHECK_FALSE(config.get_bool("train.shuffle"));
  CHECK(config.get_strings("data.files") == std::vector<std::string>{"a.txt", "b.txt"});
  CHECK_THAT(error_of([&] { Config::from_json(Json::object(), {"train.lr=abc"}, "x", schema); }),
             Contains("expected a number"));
  CHECK_THAT(error_of([&] { Config::from_json(Json::object(), {"train.rate=1"}, "x", schema); }),
             Contains("unknown config key 'train.rate' in --set"));
  CHECK_THAT(error_of([&] { Config::from_json(Json::object(), {"novalue"}, "x", schema); }),
             Contains("expected key=value"));
}

TEST_CASE("includes compose presets, and the including file and --set win") {
  auto schema = make_schema();
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(
      dir.file("presets/base.json"),
      R"({"train": {"lr": 0.1, "batch_tokens": 100}, "model": {"cell": "rnn"}})");
  seqlab::testing::write_text(dir.file("run.json"),
                              R"({"include": ["presets/base.json"], "train": {"lr": 0.2}})");
  Config config = Config::from_file(dir.file("run.json"), {"train.batch_tokens=7"}, schema);
  CHECK(config.get_number("train.lr") == 0.2);
  CHECK(config.get_int("train.batch_tokens") == 7);
  CHECK(config.get_string("model.cell") == "rnn");

  SECTION("the resolved config saved beside a run reloads to the same values") {
    config.save(dir.file("resolved.json"));
    Config again = Config::from_file(dir.file("resolved.json"), {}, schema);
    CHECK(again.resolved() == config.resolved());
  }
}

TEST_CASE("include cycles, missing includes and bad JSON are clear errors") {
  auto schema = make_schema();
  seqlab::testing::TempDir dir;
  seqlab::testing::write_text(dir.file("a.json"), R"({"include": ["b.json"]})");
  seqlab::testing::write_text(dir.file("b.json"), R"({"include": ["a.json"]})");
  CHECK_THAT(error_of([&] { Config::from_file(dir.file("a.json"), {}, schema); }),
             Contains("include cycle"));
  seqlab::testing::write_text(dir.file("c.json"), R"({"include": ["nowhere.json"]})");
  CHECK_THAT(error_of([&] { Config::from_file(dir.file("c.json"), {}, schema); }),
             Contains("'nowhere.json' not found"));
  seqlab::testing::write_text(dir.file("d.json"), R"({"train": )");
  CHECK_THAT(error_of([&] { Config::from_file(dir.file("d.json"), {}, schema); }),
             Contains("not valid JSON"));
  seqlab::testing::write_text(dir.file("e.json"), R"({"train": {"lrx": 1}})");
  seqlab::testing::write_text(dir.file("f.json"), R"({"include": ["e.json"]})");
  CHECK_THAT(error_of([&] { Config::from_file(dir.file("f.json"), {}, schema); }),
             Contains("e.json"));
}
