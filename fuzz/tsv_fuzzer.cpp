// data/parallel_corpus.cpp: TSV corpus files (source<TAB>target lines) and Moses-style pairs.
#include "data/parallel_corpus.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
    const std::string path = seqlab::fuzz::as_file(data, size, "train.tsv");
    (void)seqlab::read_tsv(path);
    // The same bytes split in two as the two sides of a Moses pair.
    const std::string source = seqlab::fuzz::as_file(data, size / 2, "train.en");
    const std::string target = seqlab::fuzz::as_file(data + size / 2, size - size / 2, "train.fr");
    (void)seqlab::read_moses(source, target);
  });
}
