// Caption corpora in the formats researchers already have, read into (image path, caption) pairs
// (SentencePair: source = the image file, resolved against the image folder; target = caption):
//   <split>.tsv           image<TAB>caption per line, several lines per image for several captions
//   captions_<split>.json COCO style: {"images": [{"id", "file_name"}], "annotations":
//   [{"image_id", "caption"}]} <split>.token.txt     Flickr8k style: image#n<TAB>caption
// Every line and record is checked: errors name the file, the line or record, and what was
// expected.
#pragma once

#include <string>
#include <vector>

#include "data/parallel_corpus.h"

namespace seqlab {

std::vector<SentencePair> read_caption_tsv(const std::string& path, const std::string& image_dir);
std::vector<SentencePair> read_coco_captions(const std::string& path, const std::string& image_dir);
std::vector<SentencePair> read_flickr_captions(const std::string& path,
                                               const std::string& image_dir);

// The captions of `split` in a corpus directory (or prepared recipe), whichever of the three
// formats it holds. Images are looked up in `image_dir`, by default <corpus>/images when that
// folder exists, else the corpus directory itself.
std::vector<SentencePair> load_caption_split(const std::string& corpus, const std::string& split,
                                             const std::string& image_dir = "");

}  // namespace seqlab
