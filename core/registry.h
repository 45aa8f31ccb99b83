// A small typed registry: components register a factory under a name with a one-line help, and
// the config picks them by name. An unknown name is an error that lists the registered names.
//
//   // scorer.h
//   SEQLAB_DECLARE_REGISTRY(scorer_registry, Scorer, const ScorerDims&);
//   // scorer.cpp
//   SEQLAB_DEFINE_REGISTRY(scorer_registry, "scorers");
//   // dot_scorer.cpp
//   static const bool added = scorer_registry().add("dot", [](const ScorerDims& d) { ... }, "q.k");
//
// Registries are function-local statics (filled during static initialisation of the core shared
// library, so self-registration survives linking) and listed by kind in a catalog for
// `seqlab list KIND`.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace seqlab {

struct RegistryEntryInfo {
  std::string name;
  std::string help;
};

// Kind name -> lister, so `seqlab list KIND` works for every registry without knowing its type.
class RegistryCatalog {
 public:
  using Lister = std::function<std::vector<RegistryEntryInfo>()>;
  static void add_kind(const std::string& kind, Lister lister);
  static std::vector<std::string> kinds();
  // Throws InputError listing the known kinds when `kind` is not one of them.
  static std::vector<RegistryEntryInfo> list(const std::string& kind);
};

// Joins names as "a, b, c" for error messages.
std::string join_names(const std::vector<std::string>& names);

// Throws InputError: "unknown <what> 'name'; valid: a, b, c".
[[noreturn]] void throw_unknown_name(const std::string& what, const std::string& name,
                                     const std::vector<std::string>& valid);

template <typename Product, typename... Args>
class Registry {
 public:
  using Factory = std::function<Product(Args...)>;

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  // Returns true so that `static const bool registered = R::instance().add(...)` works at
  // namespace scope. Registering a name twice is a programming error.
  bool add(const std::string& name, Factory factory, const std::string& help) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto inserted = entries_.emplace(name, Entry{std::move(factory), help}).second;
    if (!inserted) throw Error("registry '" + kind_ + "': '" + name + "' registered twice");
    return true;
  }

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  Product create(const std::string& name, Args... args) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) throw_unknown_name(kind_ + " entry", name, names());
    return it->second.factory(std::forward<Args>(args)...);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, entry] : entries_) out.push_back(name);
    return out;
  }

  std::vector<RegistryEntryInfo> infos() const {
    std::vector<RegistryEntryInfo> out;
    for (const auto& [name, entry] : entries_) out.push_back({name, entry.help});
    return out;
  }

  const std::string& kind() const { return kind_; }

 private:
  struct Entry {
    Factory factory;
    std::string help;
  };
  std::string kind_;
  std::map<std::string, Entry> entries_;  // ordered: `seqlab list` prints alphabetically
  mutable std::mutex mutex_;
};

}  // namespace seqlab

// Declares `NAME& NAME()` returning the one registry of this kind; define it once in a .cpp with
// SEQLAB_DEFINE_REGISTRY, which also lists the kind in the catalog.
#define SEQLAB_DECLARE_REGISTRY(NAME, PRODUCT, ...)               \
  using NAME##_type = ::seqlab::Registry<PRODUCT, ##__VA_ARGS__>; \
  NAME##_type& NAME()

#define SEQLAB_DEFINE_REGISTRY(NAME, KIND)                                   \
  NAME##_type& NAME() {                                                      \
    static NAME##_type* registry = [] {                                      \
      auto* r = new NAME##_type(KIND);                                       \
      ::seqlab::RegistryCatalog::add_kind(KIND, [r] { return r->infos(); }); \
      return r;                                                              \
    }();                                                                     \
    return *registry;                                                        \
  }                                                                          \
  static const bool NAME##_catalogued = (NAME(), true)
