#include "core/registry.h"

namespace seqlab {
namespace {

std::map<std::string, RegistryCatalog::Lister>& catalog() {
  static auto* kinds = new std::map<std::string, RegistryCatalog::Lister>();
  return *kinds;
}

}  // namespace

void RegistryCatalog::add_kind(const std::string& kind, Lister lister) {
  catalog()[kind] = std::move(lister);
}

std::vector<std::string> RegistryCatalog::kinds() {
  std::vector<std::string> out;
  for (const auto& [kind, lister] : catalog()) out.push_back(kind);
  return out;
}

std::vector<RegistryEntryInfo> RegistryCatalog::list(const std::string& kind) {
  auto it = catalog().find(kind);
  if (it == catalog().end()) throw_unknown_name("registry kind", kind, kinds());
  return it->second();
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

void throw_unknown_name(const std::string& what, const std::string& name,
                        const std::vector<std::string>& valid) {
  throw InputError("unknown " + what + " '" + name + "'; valid: " + join_names(valid));
}

}  // namespace seqlab
