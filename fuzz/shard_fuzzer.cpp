// data/shard_file.cpp: a shard of token ids (data.streaming), memory-mapped; every offset and id
// the reader accepts lies inside the file and the vocabulary.
#include <cstdlib>

#include "data/shard_file.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
    const std::string path = seqlab::fuzz::as_file(data, size, "train-00000.shard");
    seqlab::Shard shard(path, "tok", 64);
    int64_t sum = 0;
    for (int64_t i = 0; i < shard.size(); ++i)
      for (auto ids : {shard.source(i), shard.target(i)})
        for (const int32_t* id = ids.begin; id != ids.end; ++id) {
          if (*id < 0 || *id >= 64) std::abort();
          sum += *id;
        }
    (void)sum;
  });
}
