// The layers of docs/development.md include only downward: core <- tokenizers <- data <- models <-
// eval <- train <- bench <- runner <- apps. A file that reaches up a layer makes a cycle waiting
// to happen (eval/forecast.cpp including train/series.h was one); this test names it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "seqlab_paths.h"

namespace fs = std::filesystem;

TEST_CASE("every source file includes only its own layer and the layers below it") {
  const std::vector<std::string> order = {"core",  "tokenizers", "data",   "models", "eval",
                                          "train", "bench",      "runner", "apps"};
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < order.size(); ++i) rank[order[i]] = i;
  const std::regex include(R"re(^\s*#\s*include\s+"([a-z_]+)/)re");
  int files = 0, includes = 0;
  for (const auto& layer : order) {
    const fs::path dir = fs::path(SEQLAB_SOURCE_DIR) / layer;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      const auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".cpp") continue;
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      int number = 0;
      while (std::getline(in, line)) {
        ++number;
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        auto to = rank.find(m[1].str());
        if (to == rank.end()) continue;  // generated headers, tests/
        ++includes;
        INFO(fs::relative(entry.path(), SEQLAB_SOURCE_DIR).string()
             << ":" << number << ": " << line);
        CHECK(to->second <= rank[layer]);
      }
    }
  }
  // The tree was found (a wrong source path would make the test pass on nothing).
  CHECK(files > 200);
  CHECK(includes > 500);
}
