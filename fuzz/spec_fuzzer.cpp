// runner/spec.cpp: an experiment spec (grid, zip, seeds, sizes, relations, cell kinds) as someone
// may send one, read and expanded into its cells (each kind resolving its arguments or config).
#include "fuzz/fuzz_support.h"
#include "runner/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
           const std::string path = seqlab::fuzz::as_file(data, size, "spec.json");
           const auto spec = seqlab::load_spec(path, "");
           (void)spec.json.dump();
           // Every cell a run may expand, as the runner does (seeds.max is at most 1000).
           for (const auto& cell : seqlab::expand_cells(spec, seqlab::every_seed(spec)))
             (void)cell.to_json().dump();
         }) +
         seqlab::fuzz::expect_input_errors_only([&] {
           (void)seqlab::parse_relation(std::string(reinterpret_cast<const char*>(data), size));
         });
}
