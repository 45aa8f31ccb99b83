// data/wad.cpp: a Doom WAD's directory (where Freedoom keeps its music).
#include "data/wad.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    for (const auto& lump : seqlab::read_wad_directory(bytes, "fuzz.wad"))
      (void)bytes.substr(lump.position, lump.size);  // every lump it returns lies inside the bytes
  });
}
