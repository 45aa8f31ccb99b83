#include "data/idx.h"

#include <fmt/format.h>

#include "core/error.h"

namespace seqlab {

IdxArray parse_idx(const std::string& bytes, const std::string& origin) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 8)
    throw InputError(fmt::format("{}: not an IDX file of unsigned bytes", origin));
  const size_t dims = static_cast<uint8_t>(bytes[3]);
  if (dims == 0 || dims > 8)
    throw InputError(fmt::format("{}: {} dimensions (expected 1 to 8)", origin, dims));
  const size_t header = 4 + 4 * dims;
  if (bytes.size() < header) throw InputError(fmt::format("{}: cut off inside its header", origin));
  IdxArray out;
  out.data_offset = header;
  uint64_t total = 1;
  const uint64_t available = bytes.size() - header;
  for (size_t d = 0; d < dims; ++d) {
    const size_t at = 4 + 4 * d;
    const uint64_t size =
        (uint64_t(uint8_t(bytes[at])) << 24) | (uint64_t(uint8_t(bytes[at + 1])) << 16) |
        (uint64_t(uint8_t(bytes[at + 2])) << 8) | uint64_t(uint8_t(bytes[at + 3]));
    if (size != 0 && total > available / size)
      throw InputError(
          fmt::format("{}: the header announces more bytes than the file holds", origin));
    total *= size;
    out.shape.push_back(static_cast<int64_t>(size));
  }
  if (total != available)
    throw InputError(
        fmt::format("{}: {} bytes, the header announces {}", origin, bytes.size(), header + total));
  return out;
}

}  // namespace seqlab
