#include <catch2/catch.hpp>

#include "core/registry.h"

using seqlab::InputError;

TEST_CASE("unknown registry name is an error listing the valid names") {
  seqlab::Registry<int, int> registry("widgets");
  registry.add(
      "double", [](int x) { return 2 * x; }, "doubles");
  registry.add(
      "square", [](int x) { return x * x; }, "squares");
  CHECK(registry.create("square", 7) == 49);
  try {
    registry.create("cube", 3);
    FAIL("expected an error");
  } catch (const InputError& e) {
    std::string message = e.what();
    CHECK(message.find("'cube'") != std::string::npos);
    CHECK(message.find("double, square") != std::string::npos);
  }
}
