// runner/spec.cpp: an experiment spec (grid, zip, seeds, sizes, relations) as someone may send one.
#include "fuzz/fuzz_support.h"
#include "runner/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
           const std::string path = seqlab::fuzz::as_file(data, size, "spec.json");
           const auto spec = seqlab::load_spec(path, "");
           (void)spec.json.dump();
         }) +
         seqlab::fuzz::expect_input_errors_only([&] {
           (void)seqlab::parse_relation(std::string(reinterpret_cast<const char*>(data), size));
         });
}
