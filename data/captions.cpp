#include "data/captions.h"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"
#include "data/recipe.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

std::string resolve(const std::string& image_dir, const std::string& name) {
  fs::path path(name);
  return path.is_absolute() || image_dir.empty() ? name : (fs::path(image_dir) / path).string();
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

std::vector<SentencePair> read_caption_tsv(const std::string& path, const std::string& image_dir) {
  auto pairs = read_tsv(path);  // checks tabs, empty sides and UTF-8 with file:line
  for (auto& pair : pairs) pair.source = resolve(image_dir, pair.source);
  return pairs;
}

std::vector<SentencePair> read_coco_captions(const std::string& path,
                                             const std::string& image_dir) {
  Json json;
  try {
    json = Json::parse(read_file(path));
  } catch (const Json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON ({})", path, e.what()));
  }
  if (!json.is_object() || !json.contains("images") || !json["images"].is_array() ||
      !json.contains("annotations") || !json["annotations"].is_array())
    throw InputError(
        fmt::format("{}: expected a COCO caption file, an object with \"images\" and "
                    "\"annotations\" arrays",
                    path));
  std::map<int64_t, std::string> file_of;
  for (size_t i = 0; i < json["images"].size(); ++i) {
    const auto& image = json["images"][i];
    if (!image.is_object() || !image.contains("id") || !image["id"].is_number_integer() ||
        !image.contains("file_name") || !image["file_name"].is_string())
      throw InputError(fmt::format(
          "{}: images[{}]: expected {{\"id\": integer, \"file_name\": string}}", path, i));
    file_of[image["id"].get<int64_t>()] = image["file_name"].get<std::string>();
  }
  std::vector<SentencePair> pairs;
  for (size_t i = 0; i < json["annotations"].size(); ++i) {
    const auto& note = json["annotations"][i];
    std::string where = fmt::format("{}: annotations[{}]", path, i);
    if (!note.is_object() || !note.contains("image_id") || !note["image_id"].is_number_integer() ||
        !note.contains("caption") || !note["caption"].is_string())
      throw InputError(where + ": expected {\"image_id\": integer, \"caption\": string}");
    auto file = file_of.find(note["image_id"].get<int64_t>());
    if (file == file_of.end())
      throw InputError(fmt::format("{}: image_id {} is not in \"images\"", where,
                                   note["image_id"].get<int64_t>()));
    std::string caption = note["caption"].get<std::string>();
    require_utf8(caption, where);
    for (auto& c : caption)
      if (c == '\n' || c == '\t' || c == '\r') c = ' ';
    caption = trim(caption);
    if (caption.empty()) throw InputError(where + ": empty caption");
    pairs.push_back({resolve(image_dir, file->second), caption});
  }
  return pairs;
}

std::vector<SentencePair> read_flickr_captions(const std::string& path,
                                               const std::string& image_dir) {
  auto lines = read_lines(path);
  std::vector<SentencePair> pairs;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::string where = fmt::format("{}:{}", path, i + 1);
    if (trim(line).empty()) continue;
    require_utf8(line, where);
    auto tab = line.find('\t');
    if (tab == std::string::npos)
      throw InputError(where + ": no tab (expected image#n<TAB>caption)");
    std::string image = line.substr(0, tab);
    auto hash = image.rfind('#');
    if (hash == std::string::npos || hash + 1 == image.size())
      throw InputError(where + ": the first field has no #n (expected image#n<TAB>caption)");
    std::string caption = trim(line.substr(tab + 1));
    if (caption.empty()) throw InputError(where + ": empty caption");
    pairs.push_back({resolve(image_dir, image.substr(0, hash)), caption});
  }
  return pairs;
}

std::vector<SentencePair> load_caption_split(const std::string& corpus, const std::string& split,
                                             const std::string& image_dir) {
  fs::path dir = corpus_directory(corpus);
  std::string images = image_dir;
  if (images.empty())
    images = fs::is_directory(dir / "images") ? (dir / "images").string() : dir.string();
  std::vector<SentencePair> pairs;
  std::string from;
  if (fs::exists(dir / (split + ".tsv"))) {
    from = (dir / (split + ".tsv")).string();
    pairs = read_caption_tsv(from, images);
  } else if (fs::exists(dir / ("captions_" + split + ".json"))) {
    from = (dir / ("captions_" + split + ".json")).string();
    pairs = read_coco_captions(from, images);
  } else if (fs::exists(dir / (split + ".token.txt"))) {
    from = (dir / (split + ".token.txt")).string();
    pairs = read_flickr_captions(from, images);
  } else {
    throw InputError(
        fmt::format("caption corpus '{}' has no {} split: expected {}.tsv (image<TAB>caption), "
                    "captions_{}.json (COCO) or {}.token.txt (Flickr8k) in {}",
                    corpus, split, split, split, split, dir.string()));
  }
  if (pairs.empty()) throw InputError(fmt::format("{}: no captions", from));
  return pairs;
}

}  // namespace seqlab
