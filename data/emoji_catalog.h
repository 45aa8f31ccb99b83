// The emoji recipe's catalog: which Twemoji image shows which emoji, and its CLDR name as the
// caption. Read from two npm packages' JSON (emoji-datasource-twitter's emoji.json,
// emojibase-data's en/data.json), which are untrusted input like any download: an image name
// becomes a file name in the corpus, so it must be a plain name ending in .png (no "../", no
// folder), and malformed entries are InputErrors naming the file.
#pragma once

#include <string>
#include <vector>

namespace seqlab {

struct EmojiImage {
  std::string image;    // "1f3c3-1f3ff-200d-27a1-fe0f.png"
  std::string caption;  // "person running: dark skin tone, facing right" (lower case)
};

// Every emoji that has a Twitter image and an English label, skin-tone variations included.
std::vector<EmojiImage> read_emoji_catalog(const std::string& emoji_json,
                                           const std::string& labels_json);

}  // namespace seqlab
