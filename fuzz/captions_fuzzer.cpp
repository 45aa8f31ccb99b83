// data/captions.cpp: caption files as researchers bring them: COCO JSON, Flickr8k lines, TSV.
#include "data/captions.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
           const std::string coco = seqlab::fuzz::as_file(data, size, "captions_train.json");
           (void)seqlab::read_coco_captions(coco, "/nonexistent-images");
         }) +
         seqlab::fuzz::expect_input_errors_only([&] {
           const std::string flickr = seqlab::fuzz::as_file(data, size, "train.token.txt");
           (void)seqlab::read_flickr_captions(flickr, "/nonexistent-images");
         }) +
         seqlab::fuzz::expect_input_errors_only([&] {
           const std::string tsv = seqlab::fuzz::as_file(data, size, "train.tsv");
           (void)seqlab::read_caption_tsv(tsv, "/nonexistent-images");
         });
}
