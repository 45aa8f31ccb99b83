// Image decoding, the caption readers and the captioning task: what a researcher's files go
// through before a model sees them, bad files included.
#include <filesystem>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "data/captions.h"
#include "data/image.h"
#include "data/task.h"
#include "tests/test_support.h"

using Catch::Matchers::Contains;
using seqlab::testing::TempDir;

namespace {

// A 3-channel image with a known pattern: red left half, blue right half.
torch::Tensor two_halves(int64_t size) {
  auto image = torch::zeros({3, size, size}, torch::kUInt8);
  image[0].narrow(1, 0, size / 2).fill_(255);
  image[2].narrow(1, size / 2, size / 2).fill_(255);
  return image;
}

}  // namespace

TEST_CASE("PNG images decode to [C, size, size] uint8, resized, with the pixels they hold",
          "[image]") {
  TempDir dir;
  seqlab::save_png(dir.file("halves.png"), two_halves(32));
  seqlab::ImageOptions options;
  options.size = 32;
  auto same = seqlab::load_image(dir.file("halves.png"), options);
  REQUIRE(same.sizes() == torch::IntArrayRef({3, 32, 32}));
  CHECK(torch::equal(same, two_halves(32)));
  options.size = 16;
  auto small = seqlab::load_image(dir.file("halves.png"), options);
  REQUIRE(small.sizes() == torch::IntArrayRef({3, 16, 16}));
  CHECK(small[0][8][2].item<int>() == 255);   // red stays on the left
  CHECK(small[2][8][13].item<int>() == 255);  // blue on the right
  CHECK(small[0][8][13].item<int>() == 0);
  options.channels = 1;
  auto grey = seqlab::load_image(dir.file("halves.png"), options);
  CHECK(grey.size(0) == 1);
  // The grey tensor owns its pixels: decoding another image does not change them (a one-channel
  // result once came back as a view of a freed buffer).
  seqlab::save_png(dir.file("white.png"), torch::full({3, 32, 32}, 255, torch::kUInt8));
  auto white = seqlab::load_image(dir.file("white.png"), options);
  CHECK(white.min().item<int>() == 255);
  CHECK(std::abs(grey[0][8][2].item<int>() - 76) <=
        1);  // red's luminance (stb: 77 r + 150 g + 29 b) / 256
  CHECK(std::abs(grey[0][8][13].item<int>() - 29) <= 1);  // blue's
  options.size = 32;
  auto a = seqlab::load_image(dir.file("halves.png"), options);
  auto b = seqlab::load_image(dir.file("white.png"), options);
  CHECK_FALSE(torch::equal(a, b));
}

TEST_CASE("Missing, truncated, corrupt and absurdly large images are errors naming the file",
          "[image]") {
  TempDir dir;
  seqlab::ImageOptions options;
  options.size = 16;
  CHECK_THROWS_WITH(seqlab::load_image(dir.file("nowhere.png"), options),
                    Contains("nowhere.png") && Contains("not found"));
  seqlab::testing::write_text(dir.file("text.png"), "this is not an image");
  CHECK_THROWS_AS(seqlab::load_image(dir.file("text.png"), options), seqlab::InputError);
  CHECK_THROWS_WITH(seqlab::load_image(dir.file("text.png"), options), Contains("text.png"));
  seqlab::testing::write_text(dir.file("empty.png"), "");
  CHECK_THROWS_WITH(seqlab::load_image(dir.file("empty.png"), options), Contains("empty"));
  // A real PNG cut in half: the header reads, the pixels do not.
  seqlab::save_png(dir.file("whole.png"),
                   two_halves(64) * 0 + torch::randint(0, 255, {3, 64, 64}).to(torch::kUInt8));
  std::string bytes = seqlab::read_file(dir.file("whole.png"));
  seqlab::testing::write_text(dir.file("cut.png"), bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_WITH(seqlab::load_image(dir.file("cut.png"), options), Contains("cut.png"));
  // A PNG header announcing 30000 x 30000 pixels: refused before anything is allocated.
  std::string huge = bytes.substr(0, 33);
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) huge[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  };
  put(16, 30000);
  put(20, 30000);
  seqlab::testing::write_text(dir.file("huge.png"), huge + bytes.substr(33));
  CHECK_THROWS_WITH(seqlab::load_image(dir.file("huge.png"), options),
                    Contains("huge.png") && Contains("30000 x 30000"));
  // A header announcing 0 x 16 pixels is an empty image, not one over the limit.
  put(16, 0);
  put(20, 16);
  seqlab::testing::write_text(dir.file("zero.png"), huge + bytes.substr(33));
  CHECK_THROWS_WITH(seqlab::load_image(dir.file("zero.png"), options),
                    Contains("zero.png") && Contains("0 x 16") && Contains("at least one pixel"));
}

TEST_CASE("Only PNG and JPEG are read: other formats stb knows are refused by their signature",
          "[image]") {
  TempDir dir;
  seqlab::ImageOptions options;
  options.size = 8;
  // A valid 2 x 1 BMP, a valid 1 x 1 PPM and a GIF header: stb would decode them.
  const std::string bmp = std::string(
      "BM\x3e\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x02\0\0\0\x01\0\0\0\x01\0\x18\0\0\0\0\0"
      "\x08\0\0\0\x13\x0b\0\0\x13\x0b\0\0\0\0\0\0\0\0\0\0\xff\0\0\0\xff\0\0\0",
      62);
  const std::string ppm = std::string("P6\n1 1\n255\n\xff\0\0", 14);
  const std::string gif = "GIF89a\x01\0\x01\0\0\0\0;";
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"image.bmp", bmp}, {"image.ppm", ppm}, {"image.gif", gif}}) {
    INFO(name);
    seqlab::testing::write_text(dir.file(name), bytes);
    CHECK_THROWS_WITH(seqlab::load_image(dir.file(name), options),
                      Contains(name) && Contains("not a PNG or JPEG file"));
  }
}

TEST_CASE("With skip_bad a bad image is skipped and counted, never decoded as garbage", "[image]") {
  TempDir dir;
  seqlab::save_png(dir.file("a.png"), two_halves(16));
  seqlab::testing::write_text(dir.file("b.png"), "corrupt");
  seqlab::ImageOptions options;
  options.size = 16;
  CHECK_THROWS_AS(seqlab::load_images({dir.file("a.png"), dir.file("b.png")}, options),
                  seqlab::InputError);
  options.skip_bad = true;
  auto set =
      seqlab::load_images({dir.file("a.png"), dir.file("b.png"), dir.file("a.png")}, options);
  CHECK(set.pixels.size(0) == 2);
  REQUIRE(set.skipped.size() == 1);
  CHECK_THAT(set.skipped[0], Contains("b.png"));
}

TEST_CASE("Augmentation is a function of seed, epoch and example only", "[image]") {
  auto images = torch::randint(0, 255, {3, 3, 16, 16}).to(torch::kUInt8);
  seqlab::AugmentOptions options;
  options.shift = 3;
  options.brightness = 0.2;
  auto a = seqlab::augment_images(images, {4, 9, 2}, 7, 1, options);
  // The same example in another batch position gets the same pixels.
  auto b =
      seqlab::augment_images(images.index_select(0, torch::tensor({2, 0})), {2, 4}, 7, 1, options);
  CHECK(torch::equal(a[0], b[1]));
  CHECK(torch::equal(a[2], b[0]));
  auto other_epoch = seqlab::augment_images(images, {4, 9, 2}, 7, 2, options);
  CHECK_FALSE(torch::equal(a, other_epoch));
  CHECK(torch::equal(seqlab::augment_images(images, {4, 9, 2}, 7, 1, seqlab::AugmentOptions{}),
                     images));
}

TEST_CASE("Caption readers: TSV, COCO JSON and Flickr8k files give the same pairs",
          "[image][captions]") {
  TempDir dir;
  seqlab::testing::write_text(dir.file("train.tsv"),
                              "a.png\ta red square\na.png\tred square\nb.png\ta blue dot\n");
  auto tsv = seqlab::read_caption_tsv(dir.file("train.tsv"), "/img");
  REQUIRE(tsv.size() == 3);
  CHECK(tsv[0].source == "/img/a.png");
  CHECK(tsv[2].target == "a blue dot");
  seqlab::testing::write_text(
      dir.file("coco.json"),
      R"({"images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
          "annotations": [{"image_id": 1, "caption": "A red square."}, {"image_id": 2, "caption": "a blue\ndot"}]})");
  auto coco = seqlab::read_coco_captions(dir.file("coco.json"), "/img");
  REQUIRE(coco.size() == 2);
  CHECK(coco[1].source == "/img/b.png");
  CHECK(coco[1].target == "a blue dot");
  seqlab::testing::write_text(dir.file("f.token.txt"),
                              "a.png#0\tA red square .\na.png#1\tred square\n");
  auto flickr = seqlab::read_flickr_captions(dir.file("f.token.txt"), "");
  REQUIRE(flickr.size() == 2);
  CHECK(flickr[1].source == "a.png");
  // Malformed input names the file and the record.
  seqlab::testing::write_text(dir.file("bad.json"), R"({"images": [{"id": 1, "file_name": "a.png"}],
      "annotations": [{"image_id": 5, "caption": "x"}]})");
  CHECK_THROWS_WITH(seqlab::read_coco_captions(dir.file("bad.json"), ""),
                    Contains("bad.json") && Contains("annotations[0]") && Contains("image_id 5"));
  seqlab::testing::write_text(dir.file("bad.token.txt"), "a.png\tno number\n");
  CHECK_THROWS_WITH(seqlab::read_flickr_captions(dir.file("bad.token.txt"), ""),
                    Contains("bad.token.txt:1") && Contains("#n"));
  seqlab::testing::write_text(dir.file("bad.tsv"), "a.png\tfine\nnotab\n");
  CHECK_THROWS_WITH(seqlab::read_caption_tsv(dir.file("bad.tsv"), ""), Contains("bad.tsv:2"));
}

TEST_CASE("Grouped references: each image once with all its captions", "[captions]") {
  auto set = seqlab::group_references({{"a", "one"}, {"b", "two"}, {"a", "uno"}, {"a", "eins"}});
  REQUIRE(set.sources == std::vector<std::string>{"a", "b"});
  REQUIRE(set.references.size() == 3);
  CHECK(set.references[0] == std::vector<std::string>{"one", "two"});
  CHECK(set.references[1] == std::vector<std::string>{"uno", ""});
  CHECK(set.references[2] == std::vector<std::string>{"eins", ""});
}

TEST_CASE(
    "The captioning task batches images with their captions, translation batches stay as they were",
    "[captions]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("corpus/images"));
  seqlab::save_png(dir.file("corpus/images/a.png"), two_halves(16));
  seqlab::save_png(dir.file("corpus/images/b.png"), two_halves(16).flip({2}));
  for (const char* split : {"train", "valid", "test"})
    seqlab::testing::write_text(dir.file(std::string("corpus/") + split + ".tsv"),
                                "a.png\tred left\nb.png\tblue left\na.png\tred on the left\n");
  seqlab::Config config = seqlab::Config::from_json(
      {{"data", {{"task", "captioning"}, {"corpus", dir.file("corpus")}, {"image_size", 16}}}}, {},
      "test");
  auto task = seqlab::make_task(config);
  REQUIRE(task->reads_images());
  auto pairs = task->read_split("train");
  REQUIRE(pairs.size() == 3);
  CHECK(task->tokenizer_texts(pairs) ==
        std::vector<std::string>{"red left", "blue left", "red on the left"});
  auto tokenizer = seqlab::train_tokenizer("word", task->tokenizer_texts(pairs), {});
  auto split = task->encode(pairs, *tokenizer, true);
  REQUIRE(split.images.sizes() == torch::IntArrayRef({2, 3, 16, 16}));  // each image decoded once
  CHECK(split.examples[0].image == split.examples[2].image);
  auto batch = split.collate({0, 1});
  REQUIRE(batch.images.sizes() == torch::IntArrayRef({2, 3, 16, 16}));
  CHECK(torch::equal(batch.images[1], split.images[split.examples[1].image]));
  CHECK(batch.target_out[0][0].item<int64_t>() == tokenizer->encode("red")[0]);
  // An unknown task lists the valid ones.
  auto unknown = [] {
    seqlab::make_task(seqlab::Config::from_json({{"data", {{"task", "poetry"}}}}, {}, "test"));
  };
  CHECK_THROWS_WITH(unknown(), Contains("translation") && Contains("captioning"));
}

TEST_CASE(
    "A caption corpus without a split, or images too large for the cache, are errors that say what "
    "to do",
    "[image][captions]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("empty"));
  CHECK_THROWS_WITH(
      seqlab::load_caption_split(dir.file("empty"), "test"),
      Contains("test.tsv") && Contains("captions_test.json") && Contains("test.token.txt"));
  seqlab::save_png(dir.file("a.png"), two_halves(16));
  seqlab::ImageOptions options;
  options.size = 1024;
  options.cache_megabytes = 1;  // 3 x 1024 x 1024 bytes do not fit
  CHECK_THROWS_WITH(seqlab::load_images({dir.file("a.png")}, options),
                    Contains("data.image_cache_mb") && Contains("data.image_size"));
  auto grey_and_alpha = [] {
    seqlab::ImageOptions::from_config(
        seqlab::Config::from_json({{"data", {{"image_channels", 2}}}}, {}, "test"));
  };
  CHECK_THROWS_AS(grey_and_alpha(), seqlab::InputError);
}
