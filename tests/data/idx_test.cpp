// IDX headers (Fashion-MNIST): a file's sizes must fit the file; sizes whose product overflows and
// headers cut short were read past the end of the buffer before.
#include <catch2/catch.hpp>

#include <string>

#include "core/error.h"
#include "data/idx.h"

using Catch::Matchers::Contains;

namespace {
std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
}  // namespace

TEST_CASE("IDX files read their shape, and headers that lie are input errors naming the file") {
  const std::string good =
      std::string("\0\0\x08\x03", 4) + be32(2) + be32(2) + be32(3) + std::string(12, '\x07');
  auto array = seqlab::parse_idx(good, "images.idx");
  CHECK(array.shape == std::vector<int64_t>{2, 2, 3});
  CHECK(array.data_offset == 16);
  CHECK_THROWS_WITH(seqlab::parse_idx("abc", "x.idx"), Contains("x.idx: not an IDX file"));
  CHECK_THROWS_WITH(seqlab::parse_idx(std::string("\0\0\x08\xff", 4), "x.idx"),
                    Contains("255 dimensions"));
  CHECK_THROWS_WITH(seqlab::parse_idx(std::string("\0\0\x08\x03", 4) + be32(2), "x.idx"),
                    Contains("cut off"));
  // 2^32-1 squared would wrap a 64-bit product of three sizes back to something small.
  const std::string wrap =
      std::string("\0\0\x08\x03", 4) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF);
  CHECK_THROWS_WITH(seqlab::parse_idx(wrap + "x", "x.idx"),
                    Contains("more bytes than the file holds"));
  CHECK_THROWS_WITH(seqlab::parse_idx(good + "extra", "x.idx"),
                    Contains("the header announces 28"));
}
