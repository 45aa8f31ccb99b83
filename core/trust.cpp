#include "core/trust.h"

#include <atomic>

#include <fmt/format.h>

#include "core/error.h"

namespace seqlab {
namespace {
std::atomic<bool> g_granted{false};
}  // namespace

CodeTrust::CodeTrust(bool granted) : previous_(g_granted.exchange(granted)) {}
CodeTrust::~CodeTrust() { g_granted.store(previous_); }

bool CodeTrust::granted() { return g_granted.load(); }

void CodeTrust::require(const std::string& path, const std::string& what) {
  if (granted()) return;
  throw InputError(fmt::format(
      "{} is {}: a TorchScript archive, which can run code when it is loaded. seqlab loads one "
      "only with "
      "--trust-code; pass it if you trust where the file came from (docs/security.md)",
      path, what));
}

}  // namespace seqlab
