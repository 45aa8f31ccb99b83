#include "data/wad.h"

#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"

namespace fs = std::filesystem;

namespace seqlab {

std::vector<WadLump> read_wad_directory(const std::string& bytes, const std::string& origin) {
  auto fail = [&](const std::string& what) {
    throw InputError(fmt::format("{}: not a usable WAD file: {}", origin, what));
  };
  auto le32 = [&](size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + at;
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  };
  if (bytes.size() < 12 || (bytes.compare(0, 4, "IWAD") != 0 && bytes.compare(0, 4, "PWAD") != 0))
    fail("no IWAD/PWAD header");
  const uint64_t lumps = le32(4), directory = le32(8);
  if (directory > bytes.size() || lumps > (bytes.size() - directory) / 16)
    fail("the directory lies outside the file");
  std::vector<WadLump> out;
  for (uint64_t i = 0; i < lumps; ++i) {
    const size_t entry = size_t(directory + 16 * i);
    WadLump lump;
    lump.position = le32(entry);
    lump.size = le32(entry + 4);
    lump.name = bytes.substr(entry + 8, 8);
    lump.name = lump.name.substr(0, lump.name.find('\0'));
    if (lump.position > bytes.size() || lump.size > bytes.size() - lump.position)
      fail(fmt::format("lump {} ('{}') lies outside the file", i, lump.name));
    out.push_back(std::move(lump));
  }
  return out;
}

size_t extract_wad_music(const std::string& wad_path, const std::string& into_path) {
  const fs::path wad(wad_path), into(into_path);
  const std::string bytes = read_file(wad.string());
  size_t written = 0;
  fs::create_directories(into);
  for (const auto& lump : read_wad_directory(bytes, wad.string())) {
    if (lump.name.rfind("D_", 0) != 0) continue;
    // The name becomes a file name: nothing like "D_/../x" may take the write elsewhere.
    if (!is_plain_name(lump.name))
      throw InputError(
          fmt::format("{}: not a usable WAD file: music lump name '{}' is not a plain name",
                      wad.string(), lump.name));
    if (lump.size < 4 || bytes.compare(lump.position, 4, "MThd") != 0)
      continue;  // MUS or other formats
    write_file_atomic((into / fmt::format("{}-{}.mid", wad.stem().string(), lump.name)).string(),
                      bytes.substr(lump.position, lump.size));
    ++written;
  }
  return written;
}

}  // namespace seqlab
