// Doom WAD files (Freedoom's music lives in them as MIDI lumps): the directory, checked. Every lump
// must lie inside the file; a lump's name becomes part of a file name, so callers get it as read
// and must check it themselves (extract_wad_music keeps only plain names). Fuzzed:
// fuzz/wad_fuzzer.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqlab {

struct WadLump {
  std::string name;  // up to 8 bytes, up to the first NUL
  uint64_t position = 0, size = 0;
};

// InputError naming `origin` when the bytes are not a WAD (IWAD/PWAD) or its directory or a lump
// lies outside them.
std::vector<WadLump> read_wad_directory(const std::string& bytes, const std::string& origin);

// Writes each music lump that is a MIDI file (names D_*) into `into_path` as <wad stem>-<name>.mid;
// returns how many. InputError naming the file when it is not a usable WAD.
size_t extract_wad_music(const std::string& wad_path, const std::string& into_path);

}  // namespace seqlab
