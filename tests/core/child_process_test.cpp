#include <catch2/catch.hpp>

#include "core/child_process.h"
#include "core/error.h"

TEST_CASE("a child process answers line by line and reports its exit status") {
  seqlab::ChildProcess cat({"cat"});
  cat.write_line("first");
  cat.write_line("second line");
  CHECK(cat.read_line() == "first");
  CHECK(cat.read_line() == "second line");
  CHECK(cat.wait() == 0);
  seqlab::ChildProcess failing({"sh", "-c", "exit 3"});
  CHECK(failing.wait() == 3);
}

TEST_CASE("a program that cannot start, or exits before answering, is an error naming it") {
  CHECK_THROWS_WITH(
      seqlab::ChildProcess({"/nonexistent/python3"}),
      Catch::Contains("cannot start /nonexistent/python3") && Catch::Contains("No such file"));
  CHECK_THROWS_AS(seqlab::ChildProcess(std::vector<std::string>{}), seqlab::Error);
  seqlab::ChildProcess quitter({"sh", "-c", "read line; exit 4"});
  quitter.write_line("request");
  CHECK_THROWS_WITH(quitter.read_line(),
                    Catch::Contains("sh exited before answering (exit status 4"));
}
