#include "data/emoji_catalog.h"

#include <cctype>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

std::string normalise_hexcode(std::string code) {
  for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (size_t at; (at = code.find("-FE0F")) != std::string::npos;) code.erase(at, 5);
  if (code.rfind("FE0F-", 0) == 0) code.erase(0, 5);
  return code;
}

}  // namespace

std::vector<EmojiImage> read_emoji_catalog(const std::string& emoji_json,
                                           const std::string& labels_json) {
  std::map<std::string, std::string> label_of;
  const Json labels = read_json_file(labels_json);
  with_json_context(labels_json, [&] {
    for (const auto& entry : labels) {
      label_of[normalise_hexcode(entry.at("hexcode"))] = entry.at("label");
      if (entry.contains("skins") && entry["skins"].is_array())
        for (const auto& skin : entry["skins"])
          label_of[normalise_hexcode(skin.at("hexcode"))] = skin.at("label");
    }
  });
  std::vector<EmojiImage> items;
  auto add = [&](const Json& e) {
    if (!e.contains("has_img_twitter") || !e["has_img_twitter"].is_boolean() ||
        !e["has_img_twitter"].get<bool>())
      return;
    auto label = label_of.find(normalise_hexcode(e.at("unified")));
    if (label == label_of.end()) return;
    std::string caption = label->second;
    for (auto& c : caption) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // The name becomes a file name in the corpus: one plain component, nothing like "../x".
    const std::string image = e.at("image");
    if (!is_plain_name(image) || fs::path(image).extension() != ".png")
      throw InputError(fmt::format("{}: image name '{}' is not a plain file name ending in .png",
                                   emoji_json, image));
    items.push_back({image, caption});
  };
  const Json emoji = read_json_file(emoji_json);
  with_json_context(emoji_json, [&] {
    for (const auto& e : emoji) {
      add(e);
      if (e.contains("skin_variations") && e["skin_variations"].is_object())
        for (const auto& [tone, variation] : e["skin_variations"].items()) add(variation);
    }
  });
  return items;
}

}  // namespace seqlab
