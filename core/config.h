// Typed, validated configuration. A run is one JSON file, composed from presets
// ("include": [...]) and command-line overrides (--set key=value). Every key must be declared in
// the schema (by the layer that reads it); an unknown key, a wrong type or an out-of-range value is
// an InputError naming the key path, where it came from, and what is accepted. Defaults are filled
// in, and the resolved config is saved beside every run so a checkpoint rebuilds its model alone.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace seqlab {

using Json = nlohmann::json;

// JSON from a file someone may have sent (a run's cell.json, a results store's row, a package's
// metadata): InputError naming `where` (a file, or a file and a row) when it does not parse.
Json parse_json(const std::string& text, const std::string& where);
Json read_json_file(const std::string& path);

// InputError "where: what" from a JSON library error (its message without the library's prefix).
[[noreturn]] void throw_json_error(const std::string& where, const std::exception& e);

// Runs `read` (which walks a parsed JSON document with at(), get<>() ...) and turns a missing key
// or a wrong type into an InputError naming `where`, instead of the parser's bare message.
template <typename Read>
auto with_json_context(const std::string& where, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    throw_json_error(where, e);
  }
}

enum class KeyType { kBool, kInt, kNumber, kString, kStringList };

struct KeySpec {
  std::string path;  // "train.lr"
  KeyType type = KeyType::kString;
  Json default_value;  // null: no default (the key is optional and has() says whether it is set)
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;                              // (min, max] instead of [min, max]
  std::vector<std::string> choices;                        // fixed choices for strings
  std::function<std::vector<std::string>()> choices_from;  // e.g. a registry's names
  std::string help;

  KeySpec& range(double lo, double hi) {
    min = lo;
    max = hi;
    return *this;
  }
  // (lo, hi]: for values that must be positive, such as a leak rate or a spectral radius.
  KeySpec& above(double lo, double hi) {
    range(lo, hi);
    min_exclusive = true;
    return *this;
  }
  KeySpec& one_of(std::vector<std::string> c) {
    choices = std::move(c);
    return *this;
  }
  KeySpec& names_from(std::function<std::vector<std::string>()> f) {
    choices_from = std::move(f);
    return *this;
  }
};

KeySpec key_bool(std::string path, bool def, std::string help);
KeySpec key_int(std::string path, Json def, std::string help);
KeySpec key_number(std::string path, Json def, std::string help);
KeySpec key_string(std::string path, Json def, std::string help);
KeySpec key_strings(std::string path, Json def, std::string help);

// All declared keys. Layers declare theirs at static-initialisation time:
//   static const bool declared = ConfigSchema::global().add(key_number("train.lr", 1e-3, "..."));
class ConfigSchema {
 public:
  static ConfigSchema& global();
  bool add(KeySpec spec);
  const KeySpec* find(const std::string& path) const;
  std::vector<const KeySpec*> keys() const;
  // Declared keys that start with `prefix.` (for "valid keys under ..." messages).
  std::vector<std::string> keys_under(const std::string& prefix) const;
  bool is_section(const std::string& path) const;  // some key lives under path.

 private:
  std::map<std::string, KeySpec> specs_;
};

class Config {
 public:
  Config() = default;

  // Reads `path`, resolves includes, applies `overrides` ("key=value"), validates against
  // `schema` and fills defaults.
  static Config from_file(const std::string& path, const std::vector<std::string>& overrides = {},
                          const ConfigSchema& schema = ConfigSchema::global());
  // `origin` names where the JSON came from in error messages.
  static Config from_json(const Json& json, const std::vector<std::string>& overrides = {},
                          const std::string& origin = "<config>",
                          const ConfigSchema& schema = ConfigSchema::global());

  bool has(const std::string& path) const;  // set (explicitly or by default)
  bool get_bool(const std::string& path) const;
  int64_t get_int(const std::string& path) const;
  double get_number(const std::string& path) const;
  std::string get_string(const std::string& path) const;
  std::vector<std::string> get_strings(const std::string& path) const;

  // A copy with one more override applied (and validated).
  Config with(const std::string& assignment) const;

  const Json& resolved() const { return json_; }
  std::string dump() const { return json_.dump(2); }
  void save(const std::string& path) const;  // atomically

 private:
  const Json& lookup(const std::string& path) const;
  Json json_;
  const ConfigSchema* schema_ = nullptr;
};

// Deep-merges `over` into `base` (objects merge key by key; anything else replaces).
void merge_json(Json& base, const Json& over);

}  // namespace seqlab
