#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/config.h"
#include "core/registry.h"

namespace seqlab::apps {

void print_json(const std::string& json) { std::cout << json << std::endl; }

void add_list_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("list", "List the registered components of a kind");
  auto kind = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("kind", *kind,
                  "scorers, positional, norms, encoders, decoders, tokenizers, datasets, metrics, "
                  "schedules, ... (omit to list the kinds)");
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->callback([&action, kind, json] {
    action = [kind, json] {
      if (kind->empty()) {
        auto kinds = RegistryCatalog::kinds();
        if (*json) {
          print_json(Json(kinds).dump());
        } else {
          for (const auto& k : kinds) std::cout << k << "\n";
        }
        return 0;
      }
      auto entries = RegistryCatalog::list(*kind);
      if (*json) {
        Json out = Json::object();
        for (const auto& e : entries) out[e.name] = e.help;
        print_json(Json{{"kind", *kind}, {"entries", out}}.dump());
      } else {
        size_t width = 0;
        for (const auto& e : entries) width = std::max(width, e.name.size());
        for (const auto& e : entries)
          std::cout << fmt::format("{:<{}}  {}\n", e.name, width, e.help);
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
