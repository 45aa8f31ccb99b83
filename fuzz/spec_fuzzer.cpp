// runner/spec.cpp: an experiment spec (grid, zip, seeds, sizes, relations, cell kinds) as someone
// may send one, read and expanded into its cells (each kind resolving its arguments or config).
#include <algorithm>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "runner/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
           const std::string path = seqlab::fuzz::as_file(data, size, "spec.json");
           const auto spec = seqlab::load_spec(path, "");
           (void)spec.json.dump();
           // The seeds a run may use: the list, or the adaptive range (capped: a spec may ask for
           // a billion).
           std::vector<uint64_t> seeds = spec.seeds;
           for (int64_t s = 1; s <= std::min<int64_t>(4, spec.max_seeds); ++s)
             if (std::find(seeds.begin(), seeds.end(), uint64_t(s)) == seeds.end())
               seeds.push_back(uint64_t(s));
           for (const auto& cell : seqlab::expand_cells(spec, seeds)) (void)cell.to_json().dump();
         }) +
         seqlab::fuzz::expect_input_errors_only([&] {
           (void)seqlab::parse_relation(std::string(reinterpret_cast<const char*>(data), size));
         });
}
