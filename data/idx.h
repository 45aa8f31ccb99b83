// IDX files (LeCun's MNIST format, Debian's dataset-fashion-mnist): magic 0x0000080N for N
// dimensions of unsigned bytes, N big-endian sizes, then the bytes. Checked without torch so it can
// be fuzzed (fuzz/idx_fuzzer.cpp): the header must fit, the sizes' product must not overflow and
// must equal what follows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqlab {

struct IdxArray {
  std::vector<int64_t> shape;
  size_t data_offset = 0;  // where the bytes start
};

// InputError naming `origin` for anything that is not an IDX file of unsigned bytes.
IdxArray parse_idx(const std::string& bytes, const std::string& origin);

}  // namespace seqlab
