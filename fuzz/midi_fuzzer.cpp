// data/midi_reader.cpp: standard MIDI files.
#include "data/midi.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
    (void)seqlab::parse_midi(std::string(reinterpret_cast<const char*>(data), size), "fuzz.mid");
  });
}
