#include "core/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/registry.h"
#include "core/suggest.h"

namespace fs = std::filesystem;

namespace seqlab {

std::string fmt_range(const std::string& what, double lo, double hi, bool lo_exclusive = false);

namespace {

KeySpec make_key(std::string path, KeyType type, Json def, std::string help) {
  KeySpec spec;
  spec.path = std::move(path);
  spec.type = type;
  spec.default_value = std::move(def);
  spec.help = std::move(help);
  return spec;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(path);
  while (std::getline(in, part, '.')) parts.push_back(part);
  return parts;
}

const char* type_name(KeyType type) {
  switch (type) {
    case KeyType::kBool:
      return "a boolean";
    case KeyType::kInt:
      return "an integer";
    case KeyType::kNumber:
      return "a number";
    case KeyType::kString:
      return "a string";
    case KeyType::kStringList:
      return "a list of strings";
  }
  return "?";
}

std::string suggestion(const std::string& path, const ConfigSchema& schema) {
  std::vector<std::string> paths;
  for (const KeySpec* spec : schema.keys()) paths.push_back(spec->path);
  return did_you_mean(path, paths);
}

std::string parent_of(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

[[noreturn]] void unknown_key(const std::string& path, const std::string& origin,
                              const ConfigSchema& schema) {
  std::string message = "unknown config key '" + path + "' in " + origin + suggestion(path, schema);
  std::string parent = parent_of(path);
  auto siblings = schema.keys_under(parent);
  if (!siblings.empty()) {
    message += "\n  valid keys" + (parent.empty() ? std::string() : " under '" + parent + "'") +
               ": " + join_names(siblings);
  }
  throw InputError(message);
}

void check_value(const KeySpec& spec, const Json& value, const std::string& origin) {
  auto fail = [&](const std::string& expected) {
    throw InputError("config key '" + spec.path + "' in " + origin + ": expected " + expected +
                     ", got " + value.dump());
  };
  if (value.is_null()) return;  // an explicit null unsets an optional key
  switch (spec.type) {
    case KeyType::kBool:
      if (!value.is_boolean()) fail(type_name(spec.type));
      return;
    case KeyType::kInt: {
      if (!value.is_number_integer() &&
          !(value.is_number_float() && std::floor(value.get<double>()) == value.get<double>()))
        fail(type_name(spec.type));
      double v = value.get<double>();
      if (v < spec.min || v > spec.max || (spec.min_exclusive && v == spec.min))
        fail(fmt_range("an integer", spec.min, spec.max, spec.min_exclusive));
      return;
    }
    case KeyType::kNumber: {
      if (!value.is_number()) fail(type_name(spec.type));
      double v = value.get<double>();
      if (!std::isfinite(v) || v < spec.min || v > spec.max ||
          (spec.min_exclusive && v == spec.min))
        fail(fmt_range("a number", spec.min, spec.max, spec.min_exclusive));
      return;
    }
    case KeyType::kString: {
      if (!value.is_string()) fail(type_name(spec.type));
      std::vector<std::string> valid = spec.choices;
      if (spec.choices_from) valid = spec.choices_from();
      if (!valid.empty() &&
          std::find(valid.begin(), valid.end(), value.get<std::string>()) == valid.end())
        fail("one of: " + join_names(valid));
      return;
    }
    case KeyType::kStringList:
      if (!value.is_array()) fail(type_name(spec.type));
      for (const auto& item : value)
        if (!item.is_string()) fail(type_name(spec.type));
      return;
  }
}

// Checks every leaf of `json` against the schema (unknown keys, types, ranges).
void validate_tree(const Json& json, const std::string& prefix, const std::string& origin,
                   const ConfigSchema& schema) {
  for (auto it = json.begin(); it != json.end(); ++it) {
    std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (const KeySpec* spec = schema.find(path)) {
      check_value(*spec, it.value(), origin);
    } else if (schema.is_section(path)) {
      if (!it.value().is_object())
        throw InputError("config key '" + path + "' in " + origin +
                         ": expected an object with keys " + join_names(schema.keys_under(path)) +
                         ", got " + it.value().dump());
      validate_tree(it.value(), path, origin, schema);
    } else {
      unknown_key(path, origin, schema);
    }
  }
}

Json* find_or_create(Json& root, const std::string& path) {
  Json* node = &root;
  for (const auto& part : split_path(path)) {
    if (!node->is_object()) *node = Json::object();
    node = &(*node)[part];
  }
  return node;
}

const Json* find_node(const Json& root, const std::string& path) {
  const Json* node = &root;
  for (const auto& part : split_path(path)) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(part);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

// Where an include is looked for: beside the including file, then the working directory, then
// the seqlab source tree (so `configs/...` works from anywhere).
fs::path resolve_include(const std::string& name, const fs::path& including_dir) {
  std::vector<fs::path> candidates = {including_dir / name, fs::current_path() / name,
                                      fs::path(seqlab_home()) / name};
  for (const auto& candidate : candidates)
    if (fs::exists(candidate)) return candidate;
  std::string tried;
  for (const auto& c : candidates) tried += "\n  " + c.string();
  throw InputError("config include '" + name + "' not found; looked in:" + tried);
}

}  // namespace

void throw_json_error(const std::string& where, const std::exception& e) {
  std::string what =
      e.what();  // "[json.exception.type_error.302] type must be string, but is null"
  if (what.rfind("[json.exception.", 0) == 0 && what.find("] ") != std::string::npos)
    what = what.substr(what.find("] ") + 2);
  throw InputError(fmt::format("{}: {}", where, what));
}

Json parse_json(const std::string& text, const std::string& where) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    throw_json_error(where + ": not valid JSON", e);
  }
}

Json read_json_file(const std::string& path) { return parse_json(read_file(path), path); }

namespace {

Json parse_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read config file " + path.string());
  try {
    return Json::parse(in);
  } catch (const Json::exception& e) {
    throw InputError("config file " + path.string() + " is not valid JSON: " + e.what());
  }
}

Json load_with_includes(const fs::path& path, std::vector<std::string>& stack,
                        const ConfigSchema& schema) {
  std::string canonical = fs::weakly_canonical(path).string();
  if (std::find(stack.begin(), stack.end(), canonical) != stack.end())
    throw InputError("config include cycle: " + join_names(stack) + ", " + canonical);
  stack.push_back(canonical);
  Json json = parse_json_file(path);
  if (!json.is_object())
    throw InputError("config file " + path.string() + ": expected a JSON object at top level");
  Json merged = Json::object();
  if (json.contains("include")) {
    const Json& includes = json["include"];
    if (!includes.is_array())
      throw InputError("config key 'include' in " + path.string() + ": expected a list of files");
    for (const auto& name : includes) {
      if (!name.is_string())
        throw InputError("config key 'include' in " + path.string() + ": expected file names");
      fs::path included = resolve_include(name.get<std::string>(), path.parent_path());
      Json sub = load_with_includes(included, stack, schema);
      validate_tree(sub, "", included.string(), schema);
      merge_json(merged, sub);
    }
    json.erase("include");
  }
  merge_json(merged, json);
  stack.pop_back();
  return merged;
}

}  // namespace

KeySpec key_bool(std::string path, bool def, std::string help) {
  return make_key(std::move(path), KeyType::kBool, def, std::move(help));
}
KeySpec key_int(std::string path, Json def, std::string help) {
  return make_key(std::move(path), KeyType::kInt, std::move(def), std::move(help));
}
KeySpec key_number(std::string path, Json def, std::string help) {
  return make_key(std::move(path), KeyType::kNumber, std::move(def), std::move(help));
}
KeySpec key_string(std::string path, Json def, std::string help) {
  return make_key(std::move(path), KeyType::kString, std::move(def), std::move(help));
}
KeySpec key_strings(std::string path, Json def, std::string help) {
  return make_key(std::move(path), KeyType::kStringList, std::move(def), std::move(help));
}

std::string fmt_range(const std::string& what, double lo, double hi, bool lo_exclusive) {
  auto show = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  if (std::isinf(lo) && std::isinf(hi)) return what;
  if (std::isinf(hi)) return what + (lo_exclusive ? " > " : " >= ") + show(lo);
  if (std::isinf(lo)) return what + " <= " + show(hi);
  return what + " in " + (lo_exclusive ? "(" : "[") + show(lo) + ", " + show(hi) + "]";
}

ConfigSchema& ConfigSchema::global() {
  static auto* schema = new ConfigSchema();
  return *schema;
}

bool ConfigSchema::add(KeySpec spec) {
  if (specs_.count(spec.path)) throw Error("config key '" + spec.path + "' declared twice");
  std::string path = spec.path;
  specs_.emplace(path, std::move(spec));
  return true;
}

const KeySpec* ConfigSchema::find(const std::string& path) const {
  auto it = specs_.find(path);
  return it == specs_.end() ? nullptr : &it->second;
}

std::vector<const KeySpec*> ConfigSchema::keys() const {
  std::vector<const KeySpec*> out;
  for (const auto& [path, spec] : specs_) out.push_back(&spec);
  return out;
}

std::vector<std::string> ConfigSchema::keys_under(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& [path, spec] : specs_)
    if (prefix.empty() || path.rfind(prefix + ".", 0) == 0) out.push_back(path);
  return out;
}

bool ConfigSchema::is_section(const std::string& path) const {
  auto it = specs_.lower_bound(path + ".");
  return it != specs_.end() && it->first.rfind(path + ".", 0) == 0;
}

void merge_json(Json& base, const Json& over) {
  if (!base.is_object() || !over.is_object()) {
    base = over;
    return;
  }
  for (auto it = over.begin(); it != over.end(); ++it) {
    if (base.contains(it.key()) && base[it.key()].is_object() && it.value().is_object())
      merge_json(base[it.key()], it.value());
    else
      base[it.key()] = it.value();
  }
}

Config Config::from_file(const std::string& path, const std::vector<std::string>& overrides,
                         const ConfigSchema& schema) {
  if (!fs::exists(path)) throw InputError("config file " + path + " does not exist");
  std::vector<std::string> stack;
  Json json = load_with_includes(path, stack, schema);
  return from_json(json, overrides, path, schema);
}

Config Config::from_json(const Json& input, const std::vector<std::string>& overrides,
                         const std::string& origin, const ConfigSchema& schema) {
  if (!input.is_object()) throw InputError(origin + ": expected a JSON object");
  Json json = input;
  json.erase("include");  // already resolved by from_file (or nothing to resolve)
  validate_tree(json, "", origin, schema);
  for (const auto& assignment : overrides) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("--set '" + assignment + "': expected key=value, e.g. train.lr=0.001");
    std::string key = assignment.substr(0, eq);
    std::string text = assignment.substr(eq + 1);
    const KeySpec* spec = schema.find(key);
    if (!spec) unknown_key(key, "--set", schema);
    Json value;
    if (spec->type == KeyType::kString) {
      value = text;  // strings need no quotes on the command line
    } else if (spec->type == KeyType::kStringList && !text.empty() && text[0] != '[') {
      value = Json::array();
      std::istringstream items(text);
      for (std::string item; std::getline(items, item, ',');) value.push_back(item);
    } else {
      value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) value = text;  // reported as a type error below
    }
    check_value(*spec, value, "--set");
    *find_or_create(json, key) = value;
  }
  for (const KeySpec* spec : schema.keys()) {
    const Json* node = find_node(json, spec->path);
    if ((node == nullptr || node->is_null()) && !spec->default_value.is_null())
      *find_or_create(json, spec->path) = spec->default_value;
  }
  Config config;
  config.json_ = std::move(json);
  config.schema_ = &schema;
  return config;
}

Config Config::with(const std::string& assignment) const {
  return from_json(json_, {assignment}, "<config>", *schema_);
}

const Json& Config::lookup(const std::string& path) const {
  if (schema_ == nullptr || schema_->find(path) == nullptr)
    throw Error("internal: config key '" + path + "' read but never declared in the schema");
  const Json* node = find_node(json_, path);
  if (node == nullptr || node->is_null())
    throw InputError("config key '" + path + "' is required but not set (" +
                     schema_->find(path)->help + ")");
  return *node;
}

bool Config::has(const std::string& path) const {
  const Json* node = find_node(json_, path);
  return node != nullptr && !node->is_null();
}

bool Config::get_bool(const std::string& path) const { return lookup(path).get<bool>(); }
int64_t Config::get_int(const std::string& path) const {
  const Json& value = lookup(path);
  return value.is_number_integer() ? value.get<int64_t>()
                                   : static_cast<int64_t>(value.get<double>());
}
double Config::get_number(const std::string& path) const { return lookup(path).get<double>(); }
std::string Config::get_string(const std::string& path) const {
  return lookup(path).get<std::string>();
}
std::vector<std::string> Config::get_strings(const std::string& path) const {
  return lookup(path).get<std::vector<std::string>>();
}

void Config::save(const std::string& path) const { write_file_atomic(path, dump() + "\n"); }

}  // namespace seqlab
