#include "runner/spec.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/suggest.h"
#include "runner/cell_kind.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

// The keys every spec may have; each cell kind adds its arguments' section ("bench": {...}).
const std::vector<std::string> kCommonKeys = {
    "name", "title", "description", "kind",   "base",   "set",  "grid",
    "zip",  "seeds", "evaluate",    "expect", "report", "size", "sizes"};
const std::vector<std::string> kEvaluateKeys = {"splits", "beam", "beams", "length_buckets",
                                                "attention_maps"};
const std::vector<std::string> kExpectKeys = {"text", "source", "relations"};
const std::vector<std::string> kReportKeys = {"metric", "split"};
const std::vector<std::string> kCommonSizeKeys = {"base",  "set",      "grid",  "zip",
                                                  "seeds", "evaluate", "expect"};

// The kinds' argument sections.
std::vector<std::string> argument_sections() {
  std::vector<std::string> out;
  for (const auto& name : cell_kind_names()) {
    const std::string section = cell_kind(name).arguments_section();
    if (!section.empty()) out.push_back(section);
  }
  return out;
}

std::vector<std::string> with_sections(std::vector<std::string> keys) {
  for (const auto& section : argument_sections()) keys.push_back(section);
  return keys;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw InputError(fmt::format("{}: {}", where, what));
}

void check_keys(const Json& object, const std::vector<std::string>& valid,
                const std::string& where) {
  if (!object.is_object()) fail(where, "expected a JSON object");
  for (const auto& item : object.items())
    if (std::find(valid.begin(), valid.end(), item.key()) == valid.end())
      fail(where, fmt::format("unknown key '{}'{}; valid keys: {}", item.key(),
                              did_you_mean(item.key(), valid), fmt::join(valid, ", ")));
}

std::string string_at(const Json& json, const std::string& key, const std::string& where,
                      const std::string& fallback = "") {
  if (!json.contains(key)) return fallback;
  if (!json[key].is_string()) fail(where + "." + key, "expected a string");
  return json[key].get<std::string>();
}

std::string value_text(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// A directory-safe cell name.
std::string safe_name(std::string name) {
  for (char& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '=' || c == ',' || c == '.' ||
          c == '-' || c == '_'))
      c = '_';
  return name;
}

// "name(k=v, k=v)" -> name and {k: v}; values parse as JSON where they can.
std::pair<std::string, Json> parse_term(const std::string& text, const std::string& where) {
  auto open = text.find('('), close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    fail(where, fmt::format("expected metric(key=value, ...), got '{}'", text));
  auto trim = [](std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
  };
  std::string metric = trim(text.substr(0, open));
  if (metric.empty()) fail(where, fmt::format("no metric name before '(' in '{}'", text));
  Json filters = Json::object();
  std::string inside = text.substr(open + 1, close - open - 1);
  size_t start = 0;
  while (start <= inside.size()) {
    size_t comma = inside.find(',', start);
    std::string part =
        trim(inside.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string::npos) fail(where, fmt::format("expected key=value, got '{}'", part));
      std::string value = trim(part.substr(eq + 1));
      Json parsed = Json::parse(value, nullptr, false);
      filters[trim(part.substr(0, eq))] = parsed.is_discarded() ? Json(value) : parsed;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return {metric, filters};
}

EvaluationSpec parse_evaluation(const Json& json, const std::string& where) {
  EvaluationSpec e;
  check_keys(json, kEvaluateKeys, where);
  if (json.contains("splits")) {
    e.splits.clear();
    for (const auto& s : json["splits"]) {
      if (!s.is_string() || (s != "valid" && s != "test"))
        fail(where + ".splits", "expected a list of \"valid\" / \"test\"");
      e.splits.push_back(s.get<std::string>());
    }
  }
  if (json.contains("beam")) {
    if (!json["beam"].is_number_integer() || json["beam"].get<int64_t>() < 0 ||
        json["beam"].get<int64_t>() > 256)
      fail(where + ".beam", "expected an integer in [0, 256] (0: the config's eval.beam)");
    e.beam = json["beam"].get<int64_t>();
  }
  if (json.contains("beams")) {
    for (const auto& b : json["beams"]) {
      if (!b.is_number_integer() || b.get<int64_t>() < 1 || b.get<int64_t>() > 256)
        fail(where + ".beams", "expected a list of beam widths in [1, 256], e.g. [1, 3, 5]");
      e.beams.push_back(b.get<int64_t>());
    }
  }
  if (json.contains("length_buckets")) {
    e.length_buckets.clear();
    for (const auto& b : json["length_buckets"]) {
      if (!b.is_number_unsigned() || b.get<size_t>() == 0 ||
          (!e.length_buckets.empty() && b.get<size_t>() <= e.length_buckets.back()))
        fail(where + ".length_buckets",
             "expected increasing positive upper edges, e.g. [10, 20, 30, 40]");
      e.length_buckets.push_back(b.get<size_t>());
    }
  }
  if (json.contains("attention_maps")) {
    if (!json["attention_maps"].is_number_unsigned())
      fail(where + ".attention_maps", "expected a count >= 0");
    e.attention_maps = json["attention_maps"].get<int64_t>();
  }
  return e;
}

Json evaluation_json(const EvaluationSpec& e) {
  Json out = {{"splits", e.splits},
              {"beam", e.beam},
              {"length_buckets", e.length_buckets},
              {"attention_maps", e.attention_maps}};
  if (!e.beams.empty()) out["beams"] = e.beams;  // absent when unused: older cells stay unchanged
  return out;
}

void flatten(const Json& json, const std::string& prefix, std::map<std::string, Json>& out) {
  if (json.is_object() && !json.empty()) {
    for (const auto& item : json.items())
      flatten(item.value(), prefix.empty() ? item.key() : prefix + "." + item.key(), out);
  } else {
    out[prefix] = json;
  }
}

}  // namespace

std::string config_assignment(const std::string& key, const Json& value) {
  return key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
}

std::string resolve_base(const std::string& base, const std::string& spec_path) {
  fs::path beside = fs::path(spec_path).parent_path() / base;
  if (fs::exists(beside)) return beside.string();
  fs::path home = fs::path(seqlab_home()) / base;
  if (fs::exists(home)) return home.string();
  if (fs::exists(base)) return base;
  throw InputError(fmt::format("{}: base config '{}' not found (looked beside the spec and in {})",
                               spec_path, base, seqlab_home()));
}

Relation parse_relation(const std::string& text) {
  const std::string where = fmt::format("relation '{}'", text);
  Relation r;
  r.text = text;
  // Trailing clauses in any order: "on ...", "by M", "within T".
  std::string rest = text;
  for (;;) {
    size_t at = std::string::npos;
    std::string word;
    for (const std::string w : {"on", "by", "within"}) {
      auto found = rest.rfind(" " + w + " ");
      if (found != std::string::npos && rest.find(')', found) == std::string::npos &&
          (at == std::string::npos || found > at)) {
        at = found;
        word = w;
      }
    }
    if (at == std::string::npos) break;
    std::string value = rest.substr(at + word.size() + 2);
    while (!value.empty() && value.back() == ' ') value.pop_back();
    rest = rest.substr(0, at);
    if (word == "on") {
      for (const std::string prefix : {"source length ", "length "})
        if (value.rfind(prefix, 0) == 0) value = value.substr(prefix.size());
      r.bucket = value;
      continue;
    }
    size_t used = 0;
    try {
      r.tolerance = std::stod(value, &used);
    } catch (const std::exception&) {
    }
    if (used == 0 || used != value.size())
      fail(where, fmt::format("expected a number after '{}', got '{}'", word, value));
  }
  size_t op_at = std::string::npos;
  for (const std::string op : {"~=", ">", "<"}) {
    // The operator outside parentheses.
    int depth = 0;
    for (size_t i = 0; i + op.size() <= rest.size(); ++i) {
      if (rest[i] == '(') ++depth;
      if (rest[i] == ')') --depth;
      if (depth == 0 && rest.compare(i, op.size(), op) == 0) {
        op_at = i;
        r.op = op;
        break;
      }
    }
    if (op_at != std::string::npos) break;
  }
  if (op_at == std::string::npos) fail(where, "expected 'metric(...) > metric(...)' (or <, ~=)");
  auto [left_metric, left] = parse_term(rest.substr(0, op_at), where);
  auto [right_metric, right] = parse_term(rest.substr(op_at + r.op.size()), where);
  if (left_metric != right_metric)
    fail(where, fmt::format("both sides must name the same metric ('{}' against '{}')", left_metric,
                            right_metric));
  r.metric = left_metric;
  r.left = left;
  r.right = right;
  return r;
}

std::string Cell::id() const { return fmt::format("{}/seed-{}", name, seed); }

Json Cell::to_json() const {
  return {{"name", name},           {"seed", seed},     {"kind", kind},
          {"overrides", overrides}, {"config", config}, {"evaluate", evaluate}};
}

namespace {

// Merges sizes.<size> over the spec (objects key by key, anything else replaced); `asked`: the
// size came from --size, an error when the spec has no sizes.
void apply_size(Json& json, const std::string& size, bool asked, const std::string& path) {
  if (json.contains("sizes")) {
    if (!json["sizes"].is_object())
      fail(path + ": sizes", "expected {\"quick\": {...}, \"full\": {...}}");
    for (const auto& item : json["sizes"].items())
      check_keys(item.value(), with_sections(kCommonSizeKeys),
                 fmt::format("{}: sizes.{}", path, item.key()));
    if (!size.empty()) {
      if (!json["sizes"].contains(size)) {
        std::vector<std::string> names;
        for (const auto& item : json["sizes"].items()) names.push_back(item.key());
        throw InputError(fmt::format("{}: no size '{}'{}; sizes: {}", path, size,
                                     did_you_mean(size, names), fmt::join(names, ", ")));
      }
      for (const auto& item : json["sizes"][size].items()) {
        if (item.value().is_object() && json.contains(item.key()) && json[item.key()].is_object())
          merge_json(json[item.key()], item.value());
        else
          json[item.key()] = item.value();
      }
    }
  } else if (!size.empty() && asked) {
    throw InputError(fmt::format("{}: --size {} given but the spec has no sizes", path, size));
  }
}

// "seeds": a list, or adaptive {"min", "max", "minutes"} (seeds 1..min first, more up to max).
void parse_seeds(const Json& json, const std::string& path, ExperimentSpec& spec) {
  if (json.contains("seeds") && json["seeds"].is_object()) {
    // Adaptive: seeds 1..min first, then more (up to max) for the cells of undecided relations.
    const Json& adaptive = json["seeds"];
    for (const auto& item : adaptive.items())
      if (item.key() != "min" && item.key() != "max" && item.key() != "minutes")
        fail(fmt::format("{}: seeds.{}", path, item.key()),
             "unknown key; valid: min, max, minutes");
    auto count = [&](const char* key, int64_t fallback) {
      if (!adaptive.contains(key)) return fallback;
      if (!adaptive[key].is_number_integer() || adaptive[key].get<int64_t>() < 1 ||
          adaptive[key].get<int64_t>() > 1000)
        fail(fmt::format("{}: seeds.{}", path, key), "expected an integer from 1 to 1000");
      return adaptive[key].get<int64_t>();
    };
    const int64_t min = count("min", 2), max = count("max", std::max<int64_t>(min, 8));
    if (max < min) fail(path + ": seeds.max", fmt::format("is {}, below seeds.min {}", max, min));
    if (adaptive.contains("minutes") &&
        (!adaptive["minutes"].is_number() || adaptive["minutes"].get<double>() < 0))
      fail(path + ": seeds.minutes", "expected a number of minutes >= 0 (0: no time budget)");
    spec.seeds.clear();
    for (int64_t s = 1; s <= min; ++s) spec.seeds.push_back(static_cast<uint64_t>(s));
    spec.max_seeds = max;
    spec.seed_minutes = adaptive.value("minutes", 0.0);
  } else if (json.contains("seeds")) {
    spec.seeds.clear();
    if (!json["seeds"].is_array() || json["seeds"].empty())
      fail(path + ": seeds",
           "expected a non-empty list of integers, or {\"min\": N, \"max\": M, \"minutes\": T}");
    for (const auto& s : json["seeds"]) {
      if (!s.is_number_unsigned())
        fail(path + ": seeds", "expected a non-empty list of integers >= 0");
      spec.seeds.push_back(s.get<uint64_t>());
    }
  }
}

}  // namespace

ExperimentSpec load_spec(const std::string& path, const std::string& size) {
  Json json;
  try {
    json = Json::parse(read_file(path));
  } catch (const Json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON ({})", path, e.what()));
  }
  check_keys(json, with_sections(kCommonKeys), path);
  ExperimentSpec spec;
  spec.path = path;
  // The size first: its sections merge over the spec's.
  spec.size = size.empty() ? string_at(json, "size", path, "") : size;
  apply_size(json, spec.size, !size.empty(), path);
  json.erase("sizes");
  json["size"] = spec.size;
  spec.json = json;

  spec.name = string_at(json, "name", path, fs::path(path).stem().string());
  // The name becomes folder and file names under --out (runs/NAME, specs/NAME.json, report files).
  if (!is_plain_name(spec.name))
    fail(path + ": name",
         fmt::format("'{}' is not a plain name (letters, digits, '.', '_', '-', '=', ',' and '+', "
                     "not starting with '.'): it names folders under --out",
                     spec.name));
  spec.title = string_at(json, "title", path, spec.name);
  spec.description = string_at(json, "description", path);
  spec.kind = string_at(json, "kind", path, "train");
  if (!cell_kind_registry().contains(spec.kind))
    fail(path + ": kind", fmt::format("unknown kind '{}'{}; kinds: {}", spec.kind,
                                      did_you_mean(spec.kind, cell_kind_names()),
                                      fmt::join(cell_kind_names(), ", ")));
  const CellKind& kind = cell_kind(spec.kind);
  for (const char* section : {"set", "grid", "zip"}) {
    Json value = json.value(section, Json::object());
    if (!value.is_object())
      fail(fmt::format("{}: {}", path, section), "expected an object of key: value");
    if (std::string(section) != "set")
      for (const auto& item : value.items())
        if (!item.value().is_array() || item.value().empty())
          fail(fmt::format("{}: {}.{}", path, section, item.key()),
               "expected a non-empty list of values");
    (std::string(section) == "set"    ? spec.set
     : std::string(section) == "grid" ? spec.grid
                                      : spec.zip) = value;
  }
  size_t zip_length = 0;
  for (const auto& item : spec.zip.items()) {
    if (zip_length && item.value().size() != zip_length)
      fail(fmt::format("{}: zip.{}", path, item.key()),
           fmt::format("has {} values, the other zip lists {}", item.value().size(), zip_length));
    zip_length = item.value().size();
  }
  for (const auto& item : spec.zip.items())
    if (spec.grid.contains(item.key()))
      fail(fmt::format("{}: zip.{}", path, item.key()), "is also in grid");
  parse_seeds(json, path, spec);
  spec.evaluation = parse_evaluation(json.value("evaluate", Json::object()), path + ": evaluate");
  for (const auto& name : cell_kind_names()) {
    const CellKind& k = cell_kind(name);
    const std::string section = k.arguments_section();
    if (!section.empty() && json.contains(section))
      check_keys(json[section], k.argument_keys(), path + ": " + section);
  }
  if (!kind.arguments_section().empty())
    spec.arguments = json.value(kind.arguments_section(), Json::object());
  if (json.contains("expect")) {
    check_keys(json["expect"], kExpectKeys, path + ": expect");
    spec.expect_text = string_at(json["expect"], "text", path + ": expect");
    spec.expect_source = string_at(json["expect"], "source", path + ": expect");
    for (const auto& r : json["expect"].value("relations", Json::array())) {
      if (!r.is_string()) fail(path + ": expect.relations", "expected a list of strings");
      spec.relations.push_back(parse_relation(r.get<std::string>()));
    }
  }
  const CellKindReport defaults = kind.report();
  spec.report_metric = defaults.metric;
  spec.report_split = defaults.split;
  if (json.contains("report")) {
    check_keys(json["report"], kReportKeys, path + ": report");
    spec.report_metric = string_at(json["report"], "metric", path + ": report", spec.report_metric);
    spec.report_split = string_at(json["report"], "split", path + ": report", spec.report_split);
  }
  kind.check_spec(spec, json);
  // Every relation's selectors must name keys the grid varies.
  for (const auto& r : spec.relations)
    for (const Json* side : {&r.left, &r.right})
      for (const auto& item : side->items())
        if (!spec.grid.contains(item.key()) && !spec.zip.contains(item.key()))
          fail(fmt::format("{}: relation '{}'", path, r.text),
               fmt::format("'{}' is not a grid or zip key of this spec", item.key()));
  return spec;
}

std::vector<Cell> expand_cells(const ExperimentSpec& spec) {
  return expand_cells(spec, spec.seeds);
}

std::vector<uint64_t> every_seed(const ExperimentSpec& spec) {
  std::vector<uint64_t> seeds = spec.seeds;
  for (int64_t s = static_cast<int64_t>(spec.seeds.size()) + 1; s <= spec.max_seeds; ++s)
    seeds.push_back(static_cast<uint64_t>(s));
  return seeds;
}

std::vector<Cell> expand_cells(const ExperimentSpec& spec, const std::vector<uint64_t>& seeds) {
  // Cartesian product of the grid, each combined with every position of the zip.
  std::vector<Json> combos = {Json::object()};
  for (const auto& item : spec.grid.items()) {
    std::vector<Json> next;
    for (const auto& combo : combos)
      for (const auto& value : item.value()) {
        Json c = combo;
        c[item.key()] = value;
        next.push_back(c);
      }
    combos = next;
  }
  if (!spec.zip.empty()) {
    const size_t n = spec.zip.begin().value().size();
    std::vector<Json> next;
    for (const auto& combo : combos)
      for (size_t i = 0; i < n; ++i) {
        Json c = combo;
        for (const auto& item : spec.zip.items()) c[item.key()] = item.value()[i];
        next.push_back(c);
      }
    combos = next;
  }
  std::vector<Cell> cells;
  std::set<std::string> names;
  for (const auto& overrides : combos) {
    // The name: grid keys, then zip keys (each in key order), by the last part of each key.
    std::string name;
    for (const Json* section : {&spec.grid, &spec.zip})
      for (const auto& item : section->items()) {
        std::string key = item.key();
        auto dot = key.rfind('.');
        name += (name.empty() ? "" : ",") + (dot == std::string::npos ? key : key.substr(dot + 1)) +
                "=" +
                (key == "base" ? fs::path(value_text(overrides[key])).stem().string()
                               : value_text(overrides[key]));
      }
    name = name.empty() ? "base" : safe_name(name);
    if (!names.insert(name).second) {  // two keys with the same last part: the full keys
      name.clear();
      for (const auto& item : overrides.items())
        name += (name.empty() ? "" : ",") + item.key() + "=" + value_text(item.value());
      name = safe_name(name);
      names.insert(name);
    }
    for (uint64_t seed : seeds) {
      Cell cell;
      cell.name = name;
      cell.overrides = overrides;
      cell.seed = seed;
      cell.kind = spec.kind;
      cell.evaluate = evaluation_json(spec.evaluation);
      cell.config = cell_kind(spec.kind).resolve(spec, overrides, seed, cell.id());
      cells.push_back(std::move(cell));
    }
  }
  return cells;
}

std::vector<std::string> changed_keys(const Json& before, const Json& after) {
  std::map<std::string, Json> a, b;
  flatten(before, "", a);
  flatten(after, "", b);
  std::vector<std::string> changed;
  for (const auto& [key, value] : a)
    if (!b.count(key) || b[key] != value) changed.push_back(key);
  for (const auto& [key, value] : b)
    if (!a.count(key)) changed.push_back(key);
  std::sort(changed.begin(), changed.end());
  return changed;
}

}  // namespace seqlab
