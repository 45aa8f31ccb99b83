// Captioning corpora built from packages (../shared/DATA.md), written as images/ + train/valid/
// test.tsv (image<TAB>caption) + meta.json, the format data/captions.h reads:
//   fashion-scenes  two to four Fashion-MNIST items (Debian dataset-fashion-mnist) on a 64 x 64
//                   canvas, one per quadrant, captioned with the items in reading order and where
//                   they are ("a sneaker at top left and a bag at bottom right"); test scenes
//                   use the held-out t10k items. <split>.regions.json gives each item word's box,
//                   so evaluation can check where attention looks.
//   emoji           Twemoji 64-pixel PNGs (npm emoji-datasource-twitter) captioned with their CLDR
//                   names (npm emojibase-data, "person running: dark skin tone"), split
//                   compositionally: test asks for held-out (emoji x skin tone) and (man/woman x
//                   role) combinations whose parts all appear in training.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/child_process.h"
#include "core/error.h"
#include "core/files.h"
#include "core/progress.h"
#include "core/random.h"
#include "data/debian_packages.h"
#include "data/emoji_catalog.h"
#include "data/idx.h"
#include "data/image.h"
#include "data/recipe.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

// ---------------------------------------------------------------------------------------------
// fashion-scenes

const std::vector<std::string> kFashionNames = {"tshirt", "trouser", "pullover", "dress", "coat",
                                                "sandal", "shirt",   "sneaker",  "bag",   "boot"};
const std::vector<std::string> kQuadrants = {"top left", "top right", "bottom left",
                                             "bottom right"};

// An IDX file (LeCun's MNIST format), gzipped: magic 0x0000080N (N dimensions), sizes, bytes.
torch::Tensor read_idx_gz(const std::string& path, const std::string& scratch) {
  if (!fs::exists(path))
    throw InputError(fmt::format("{}: not found in the unpacked package", path));
  std::string out = scratch + "/" + fs::path(path).stem().string();
  if (run_program({"gzip", "-dc", path}, out) != 0)
    throw InputError(fmt::format("{}: cannot be decompressed with gzip", path));
  std::string bytes = read_file(out);
  fs::remove(out);
  const IdxArray array = parse_idx(bytes, path);
  return torch::from_blob(bytes.data() + array.data_offset, array.shape, torch::kUInt8).clone();
}

struct Scene {
  torch::Tensor canvas;  // [1, 64, 64]
  std::string caption;
  Json regions;  // [{"word", "box": [x0, y0, x1, y1]}], fractions of the width and height
};

Scene compose(const torch::Tensor& images, const torch::Tensor& labels, Rng& rng) {
  constexpr int64_t kCanvas = 64, kCell = 32, kItem = 28;
  Scene scene{torch::zeros({1, kCanvas, kCanvas}, torch::kUInt8), "", Json::array()};
  std::vector<int64_t> cells = {0, 1, 2, 3};
  rng.shuffle(cells);
  const auto count = static_cast<size_t>(2 + rng.below(3));
  cells.resize(count);
  std::sort(cells.begin(), cells.end());  // reading order
  std::vector<std::string> parts;
  for (int64_t cell : cells) {
    const auto index = static_cast<int64_t>(rng.below(static_cast<uint64_t>(images.size(0))));
    const int64_t top = (cell / 2) * kCell + static_cast<int64_t>(rng.below(kCell - kItem + 1));
    const int64_t left = (cell % 2) * kCell + static_cast<int64_t>(rng.below(kCell - kItem + 1));
    scene.canvas[0].narrow(0, top, kItem).narrow(1, left, kItem).copy_(images[index]);
    const std::string& name = kFashionNames[static_cast<size_t>(labels[index].item<int64_t>())];
    parts.push_back(fmt::format("a {} at {}", name, kQuadrants[static_cast<size_t>(cell)]));
    const double scale = 1.0 / double(kCanvas);  // boxes as fractions of the image
    scene.regions.push_back(
        {{"word", name},
         {"box", {left * scale, top * scale, (left + kItem) * scale, (top + kItem) * scale}}});
  }
  for (size_t i = 0; i < parts.size(); ++i)
    scene.caption += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  return scene;
}

class FashionScenesRecipe : public Recipe {
 public:
  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    auto debs = download_debs({"dataset-fashion-mnist"},
                              (fs::path(data_cache_dir()) / "packages").string());
    StagingDirectory staging(out_dir);
    const fs::path root = fs::path(staging.path()) / "unpacked";
    unpack_deb(debs[0], root.string());
    const fs::path dir = root / "usr/share/datasets/fashion-mnist";
    const std::string scratch = staging.path();
    auto train_images = read_idx_gz((dir / "train-images-idx3-ubyte.gz").string(), scratch);
    auto train_labels = read_idx_gz((dir / "train-labels-idx1-ubyte.gz").string(), scratch);
    auto test_images = read_idx_gz((dir / "t10k-images-idx3-ubyte.gz").string(), scratch);
    auto test_labels = read_idx_gz((dir / "t10k-labels-idx1-ubyte.gz").string(), scratch);
    if (train_images.dim() != 3 || train_images.size(1) != 28 ||
        train_labels.size(0) != train_images.size(0) || test_labels.size(0) != test_images.size(0))
      throw InputError(fmt::format("{}: unexpected Fashion-MNIST shapes", dir.string()));
    // Valid draws from the last 10,000 training items and train from the first 50,000, so no
    // item is in both; test draws from the t10k items.
    auto train_pool = train_images.narrow(0, 0, 50000),
         train_pool_labels = train_labels.narrow(0, 0, 50000);
    auto valid_pool = train_images.narrow(0, 50000, 10000),
         valid_pool_labels = train_labels.narrow(0, 50000, 10000);
    fs::create_directories(fs::path(staging.path()) / "images");
    Splits splits;
    std::map<std::string, Json> regions;
    struct Part {
      const char* split;
      int64_t count;
      torch::Tensor images, labels;
      std::vector<SentencePair>* out;
      uint64_t seed;
    };
    std::vector<Part> parts = {{"train", kTrain, train_pool, train_pool_labels, &splits.train, 1},
                               {"valid", kValid, valid_pool, valid_pool_labels, &splits.valid, 2},
                               {"test", kTest, test_images, test_labels, &splits.test, 3}};
    Progress progress("composing scenes", kTrain + kValid + kTest, "img");
    for (auto& part : parts) {
      Rng rng(0x5eed0000 + part.seed);
      regions[part.split] = Json::object();
      for (int64_t i = 0; i < part.count; ++i) {
        Scene scene = compose(part.images, part.labels, rng);
        std::string file = fmt::format("{}-{:05}.png", part.split, i);
        save_png((fs::path(staging.path()) / "images" / file).string(), scene.canvas);
        part.out->push_back({file, scene.caption});
        regions[part.split][file] = scene.regions;
        progress.advance();
      }
    }
    progress.finish();
    for (const auto& [split, boxes] : regions)
      write_file_atomic((fs::path(staging.path()) / (split + ".regions.json")).string(),
                        boxes.dump() + "\n");
    fs::remove_all(root);
    PreparedCorpus corpus =
        write_splits(staging.path(), splits,
                     {{"recipe", name},
                      {"task", "captioning"},
                      {"image_size", 64},
                      {"channels", 1},
                      {"source", "Debian dataset-fashion-mnist (Xiao et al. 2017, MIT licence)"},
                      {"items_per_scene", "2-4"},
                      {"classes", kFashionNames}});
    staging.commit();
    corpus.directory = out_dir;
    return corpus;
  }

 private:
  static constexpr int64_t kTrain = 12000, kValid = 500, kTest = 1000;
};

// ---------------------------------------------------------------------------------------------
// emoji

const std::vector<std::string> kTones = {"medium-light skin tone", "medium-dark skin tone",
                                         "light skin tone", "medium skin tone", "dark skin tone"};

// "person running: dark skin tone, facing right" -> base "person running: facing right", tone
// "dark skin tone" (several tones, as in "kiss: man, woman, light skin tone, dark skin tone",
// are kept together).
std::pair<std::string, std::string> split_tone(const std::string& label) {
  auto colon = label.find(": ");
  if (colon == std::string::npos) return {label, ""};
  std::vector<std::string> modifiers, tones;
  std::string rest = label.substr(colon + 2);
  for (size_t start = 0; start <= rest.size();) {
    size_t comma = rest.find(", ", start);
    std::string piece =
        rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    (std::find(kTones.begin(), kTones.end(), piece) != kTones.end() ? tones : modifiers)
        .push_back(piece);
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  std::string base = label.substr(0, colon);
  for (size_t i = 0; i < modifiers.size(); ++i) base += (i == 0 ? ": " : ", ") + modifiers[i];
  std::string tone;
  for (size_t i = 0; i < tones.size(); ++i) tone += (i == 0 ? "" : ", ") + tones[i];
  return {base, tone};
}

// The pinned versions' published integrity (`npm view NAME@VERSION dist.integrity`).
constexpr const char* kTwemojiIntegrity =
    "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/"
    "dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==";
constexpr const char* kEmojibaseIntegrity =
    "sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/"
    "fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA==";

class EmojiRecipe : public Recipe {
 public:
  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    const std::string downloads = (fs::path(data_cache_dir()) / "packages").string();
    auto images_tgz = download_npm("emoji-datasource-twitter@16.0.0", kTwemojiIntegrity, downloads);
    auto labels_tgz = download_npm("emojibase-data@17.0.0", kEmojibaseIntegrity, downloads);
    StagingDirectory staging(out_dir);
    const fs::path images_root = fs::path(staging.path()) / "unpacked-images";
    const fs::path labels_root = fs::path(staging.path()) / "unpacked-labels";
    unpack_tgz(images_tgz, images_root.string());
    unpack_tgz(labels_tgz, labels_root.string());
    const std::vector<EmojiImage> items =
        read_emoji_catalog((images_root / "package/emoji.json").string(),
                           (labels_root / "package/en/data.json").string());
    // The compositional split: which captions are held-out combinations.
    std::map<std::string, std::vector<std::string>> tones_of;  // base -> its tones, sorted
    std::set<std::string> captions;
    for (const auto& item : items) {
      captions.insert(item.caption);
      auto [base, tone] = split_tone(item.caption);
      if (!tone.empty()) tones_of[base].push_back(tone);
    }
    for (auto& [base, tones] : tones_of) std::sort(tones.begin(), tones.end());
    auto held_out = [&](const std::string& caption) {
      auto [base, tone] = split_tone(caption);
      // (emoji x skin tone): 40% of toned emoji lose one tone, kept with the other four.
      if (!tone.empty() && tones_of[base].size() >= 3 && stable_hash(base, 11) % 5 < 2 &&
          tones_of[base][stable_hash(base, 12) % tones_of[base].size()] == tone)
        return true;
      // (man/woman x role): for 30% of roles that exist for both, one gender's versions are held
      // out.
      for (const char* gender : {"man ", "woman "}) {
        if (base.rfind(gender, 0) != 0) continue;
        std::string role = base.substr(std::string(gender).size());
        auto other = std::string(gender) == "man " ? "woman " + role : "man " + role;
        if (!captions.count(other) && !tones_of.count(other)) continue;
        const bool chosen_gender =
            (stable_hash(role, 13) % 2 == 0) == (std::string(gender) == "man ");
        if (stable_hash(role, 14) % 10 < 3 && chosen_gender) return true;
      }
      return false;
    };
    fs::create_directories(fs::path(staging.path()) / "images");
    Splits splits;
    std::set<std::string> written;
    for (const auto& item : items) {
      // A regular file inside the unpacked package, reached through no symbolic link.
      const fs::path from =
          package_file(images_root.string(), "package/img/twitter/64/" + item.image);
      if (from.empty() || !written.insert(item.image).second) continue;
      fs::copy_file(from, fs::path(staging.path()) / "images" / item.image,
                    fs::copy_options::overwrite_existing);
      SentencePair pair{item.image, item.caption};
      if (!held_out(item.caption))
        splits.train.push_back(pair);
      else if (stable_hash(item.caption, 15) % 3 == 0)
        splits.valid.push_back(pair);
      else
        splits.test.push_back(pair);
    }
    fs::remove_all(images_root);
    fs::remove_all(labels_root);
    if (splits.test.empty() || splits.valid.empty() || splits.train.empty())
      throw Error("emoji: the compositional split left a split empty");
    PreparedCorpus corpus = write_splits(
        staging.path(), splits,
        {{"recipe", name},
         {"task", "captioning"},
         {"image_size", 64},
         {"channels", 3},
         {"split",
          "compositional: held-out (emoji x skin tone) and (man/woman x role) combinations"},
         {"credit",
          "Twemoji graphics by Twitter, Inc and other contributors, CC-BY 4.0; emojibase-data "
          "(MIT), "
          "emoji-datasource-twitter (MIT)"}});
    staging.commit();
    corpus.directory = out_dir;
    return corpus;
  }
};

const bool registered =
    dataset_registry().add(
        "fashion-scenes", [] { return std::unique_ptr<Recipe>(new FashionScenesRecipe()); },
        "captioning: 2-4 Fashion-MNIST items on a canvas, captions name them and where they are") &&
    dataset_registry().add(
        "emoji", [] { return std::unique_ptr<Recipe>(new EmojiRecipe()); },
        "captioning: Twemoji images with CLDR names, compositional test split (npm)");

}  // namespace
}  // namespace seqlab
