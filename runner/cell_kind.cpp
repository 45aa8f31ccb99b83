#include "runner/cell_kind.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/suggest.h"

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(cell_kind_registry, "cell-kinds");

const CellKind& cell_kind(const std::string& name) {
  if (!cell_kind_registry().contains(name))
    throw_unknown_name("cell kind", name, cell_kind_names());
  return *cell_kind_registry().create(name);
}

std::vector<std::string> cell_kind_names() { return cell_kind_registry().names(); }

void CellKind::check_spec(ExperimentSpec&, const Json&) const {}

std::vector<std::string> CellKind::corpora(const Json&) const { return {}; }

std::string CellKind::collect(const std::string&) const { return ""; }

Json command_arguments(const CellKind& kind, const ExperimentSpec& spec, const Json& overrides,
                       Json* other) {
  const std::string section = kind.arguments_section();
  const std::string prefix = section + ".";
  const std::vector<std::string> valid = kind.argument_keys();
  Json args = spec.arguments;
  for (const Json* from : {&spec.set, &overrides})
    for (const auto& item : from->items()) {
      if (item.key().rfind(prefix, 0) == 0) {
        const std::string arg = item.key().substr(prefix.size());
        if (std::find(valid.begin(), valid.end(), arg) == valid.end())
          throw InputError(fmt::format("{}: {}: unknown {} argument '{}'{}; valid: {}", spec.path,
                                       item.key(), spec.kind, arg, did_you_mean(arg, valid),
                                       fmt::join(valid, ", ")));
        args[arg] = item.value();
      } else if (other) {
        other->push_back(config_assignment(item.key(), item.value()));
      } else {
        throw InputError(fmt::format("{}: {}: a {} spec's grid and set keys are {}.* arguments",
                                     spec.path, item.key(), spec.kind, section));
      }
    }
  return args;
}

std::string argument_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string out;
    for (const auto& v : value) out += (out.empty() ? "" : ",") + argument_text(v);
    return out;
  }
  return value.dump();
}

void append_flag(const std::string& argument, const Json& value, std::vector<std::string>& argv) {
  std::string flag = argument;
  std::replace(flag.begin(), flag.end(), '_', '-');
  argv.push_back("--" + flag);
  argv.push_back(argument_text(value));
}

std::string result_from_stdout(const std::string& dir) {
  auto lines = read_lines(dir + "/stdout.txt");
  Json result = lines.empty() ? Json() : Json::parse(lines.back(), nullptr, false);
  if (!result.is_object()) return "no JSON result on the last line of stdout.txt\n";
  write_file_atomic(dir + "/result.json", result.dump(2) + "\n");
  return "";
}

}  // namespace seqlab
