// data/mo_catalog.cpp: gettext .mo catalogs from packages.
#include "data/mo_catalog.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
    (void)seqlab::parse_mo(std::string(reinterpret_cast<const char*>(data), size), "fuzz.mo");
  });
}
