#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "data/recipe.h"

namespace seqlab::apps {

void add_data_command(CLI::App& app, Action& action) {
  auto* data = app.add_subcommand("data", "Build and inspect corpora");
  data->require_subcommand(1);
  auto* prepare = data->add_subcommand(
      "prepare", "Build a corpus from packages into the data cache and print its counts");
  auto recipe = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  prepare->add_option("recipe", *recipe, "Recipe name (see `seqlab list datasets`)")->required();
  prepare->add_option("--out", *out, "Output directory (default: $SEQLAB_DATA/RECIPE)");
  prepare->add_flag("--json", *json, "Print one JSON object with the counts");
  prepare->callback([&action, recipe, out, json] {
    action = [recipe, out, json] {
      PreparedCorpus corpus = prepare_corpus(*recipe, *out);
      if (*json) {
        print_json(Json{{"recipe", *recipe},
                        {"directory", corpus.directory},
                        {"counts", corpus.counts},
                        {"meta", corpus.meta}}
                       .dump());
      } else {
        std::cout << fmt::format("{} -> {}\n", *recipe, corpus.directory);
        for (const auto& [name, count] : corpus.counts)
          std::cout << fmt::format("  {:<10} {:>8}\n", name, count);
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
