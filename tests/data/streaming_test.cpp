// Corpora larger than memory (data.streaming): shard files round-trip and refuse crafted or foreign
// ones, the shard build keeps what the in-memory path keeps (and resumes piece by piece), bad lines
// are named and counted, batches from the shard index equal those from memory, the prefetch queue
// stays bounded, and the image store's disk cache decodes each image once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/random.h"
#include "data/batch.h"
#include "data/image.h"
#include "data/image_store.h"
#include "data/prefetch.h"
#include "data/shards.h"
#include "tests/test_support.h"
#include "tokenizers/tokenizer.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

std::vector<seqlab::Example> some_examples(int64_t n, uint64_t seed) {
  seqlab::Rng rng(seed);
  std::vector<seqlab::Example> examples;
  for (int64_t i = 0; i < n; ++i) {
    seqlab::Example example;
    for (uint64_t k = rng.below(9); k > 0; --k)
      example.source.push_back(static_cast<int64_t>(rng.below(50)));
    for (uint64_t k = rng.below(9); k > 0; --k)
      example.target.push_back(static_cast<int64_t>(rng.below(50)));
    examples.push_back(example);
  }
  return examples;
}

std::unique_ptr<seqlab::Shard> open_shard(const std::string& path,
                                          const std::string& digest = "tok") {
  return std::make_unique<seqlab::Shard>(path, digest, 50);
}

// Bytes of a file with `count` bytes at `offset` replaced.
void patch(const std::string& path, size_t offset, const std::string& bytes) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("a shard round-trips its examples and a set of shards indexes across them") {
  seqlab::testing::TempDir dir;
  auto a = some_examples(37, 1), b = some_examples(0, 2), c = some_examples(11, 3);
  seqlab::write_shard(dir.file("a.shard"), a, "tok", 50, {{"piece", 0}});
  seqlab::write_shard(dir.file("b.shard"), b, "tok", 50, {{"piece", 1}});
  seqlab::write_shard(dir.file("c.shard"), c, "tok", 50, {{"piece", 2}});
  std::vector<std::unique_ptr<seqlab::Shard>> shards;
  for (const char* name : {"a.shard", "b.shard", "c.shard"})
    shards.push_back(open_shard(dir.file(name)));
  CHECK(shards[0]->header()["input"]["piece"] == 0);
  seqlab::ShardSet set(std::move(shards));
  auto all = a;
  all.insert(all.end(), c.begin(), c.end());
  REQUIRE(set.size() == static_cast<int64_t>(all.size()));
  for (size_t i = 0; i < all.size(); ++i) {
    auto example = set.example(static_cast<int64_t>(i));
    CHECK(example.source == all[i].source);
    CHECK(example.target == all[i].target);
  }
  CHECK(set.bucket_lengths() == seqlab::TokenBucketBatcher::bucket_lengths(all));
  std::vector<int64_t> indices = {40, 0, 36, 37, 47};
  seqlab::Batch from_disk = set.collate(indices, seqlab::Framing::kSentence);
  seqlab::Batch from_memory = seqlab::collate(all, indices);
  CHECK(torch::equal(from_disk.source, from_memory.source));
  CHECK(torch::equal(from_disk.target_out, from_memory.target_out));
  CHECK(from_disk.indices == indices);
  CHECK(set.target_tokens(indices, seqlab::Framing::kSentence) == from_memory.target_tokens);
  CHECK_THROWS(set.example(48));
}

TEST_CASE("a shard made with another tokenizer, or crafted, is refused before it is read") {
  seqlab::testing::TempDir dir;
  const std::string path = dir.file("x.shard");
  seqlab::write_shard(path, some_examples(20, 4), "tok", 50, {});
  CHECK_THROWS_WITH(open_shard(path, "other"), Contains("x.shard: made with another tokenizer"));
  CHECK_THROWS_WITH(seqlab::Shard(path, "tok", 10), Contains("vocabulary 50 differs"));
  const std::string good = seqlab::read_file(path);
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, good.data() + 8, 8);
  const size_t header = 16 + (header_bytes + 7) / 8 * 8;  // where the offsets start
  SECTION("truncated") {
    seqlab::write_file_atomic(path, good.substr(0, good.size() - 4));
    CHECK_THROWS_AS(open_shard(path), seqlab::InputError);
    CHECK_THROWS_WITH(open_shard(path), Contains("truncated"));
  }
  SECTION("wrong magic") {
    patch(path, 0, "NOTASHRD");
    CHECK_THROWS_WITH(open_shard(path), Contains("wrong magic"));
  }
  SECTION("a header length past the end") {
    patch(path, 8, std::string("\xff\xff\xff\x7f\0\0\0\0", 8));
    CHECK_THROWS_WITH(open_shard(path), Contains("header of"));
  }
  SECTION("offsets that decrease") {
    const uint64_t big = 1000;
    patch(path, header + 8, std::string(reinterpret_cast<const char*>(&big), 8));
    CHECK_THROWS_WITH(open_shard(path), Contains("offsets decrease"));
  }
  SECTION("an id outside the vocabulary") {
    const int32_t id = 77;
    patch(path, good.size() - 4, std::string(reinterpret_cast<const char*>(&id), 4));
    CHECK_THROWS_WITH(open_shard(path), Contains("id 77 outside the vocabulary of 50"));
  }
  SECTION("an empty file") {
    seqlab::write_file_atomic(path, "");
    CHECK_THROWS_WITH(open_shard(path), Contains("shorter than the 16-byte preamble"));
  }
}

TEST_CASE("bad lines are named by file and line, or skipped and counted under skip_bad_lines") {
  seqlab::testing::TempDir dir;
  std::string text;
  for (int i = 1; i <= 30; ++i) {
    if (i % 4 == 0)
      text += "no tab on this line\n";
    else if (i == 10)
      text += "two\ttabs\there\n";
    else if (i == 15)
      text += "\n";
    else
      text += fmt::format("source {}\ttarget {}\n", i, i);
  }
  text += "bad \xff byte\tx\n";
  const std::string path = dir.file("big.tsv");
  seqlab::testing::write_text(path, text);
  CHECK_THROWS_WITH(seqlab::read_tsv(path), Contains("big.tsv:4: no tab"));
  seqlab::BadLines bad;
  auto pairs = seqlab::read_tsv(path, &bad);
  CHECK(bad.count == 10);  // 7 without a tab, two tabs, an empty line, bad UTF-8
  REQUIRE(bad.named.size() == seqlab::BadLines::kNamed);
  CHECK(bad.named[0] == path + ":4: no tab (expected source<TAB>target)");
  CHECK_THAT(bad.named[2], Contains(":10: more than one tab"));
  CHECK_THAT(bad.summary(), Contains("skipped 10 bad line(s) (data.skip_bad_lines)"));
  CHECK_THAT(bad.summary(), Contains("and 5 more"));
  CHECK(pairs.size() == 21);
  CHECK(pairs.front().source == "source 1");
  CHECK(pairs.back().target == "target 30");
  // A trailing empty line stays harmless.
  seqlab::testing::write_text(dir.file("ok.tsv"), "a\tb\n\n");
  CHECK(seqlab::read_tsv(dir.file("ok.tsv")).size() == 1);
}

TEST_CASE(
    "the shard build keeps what the in-memory path keeps, in order, and resumes piece by piece") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  const std::string tsv = corpus + "/train.tsv";
  std::string text = seqlab::read_file(tsv);
  text += "a line without a tab\n";
  text += "abcdefghabcdefghabcdefgh\thgfedcbahgfedcbahgfedcba\n";  // over max_length 20: dropped
  seqlab::testing::write_text(tsv, text);
  seqlab::BadLines read_bad;
  const auto pairs = seqlab::read_tsv(tsv, &read_bad);
  REQUIRE(read_bad.count == 1);
  std::vector<std::string> texts;
  for (const auto& pair : pairs) {
    texts.push_back(pair.source);
    texts.push_back(pair.target);
  }
  seqlab::TokenizerOptions options;
  options.vocab_size = 0;
  auto tokenizer = seqlab::train_tokenizer("char", texts, options);
  tokenizer->save(dir.file("tokenizer.json"));
  const std::string digest = seqlab::sha256_file_hex(dir.file("tokenizer.json"));
  std::vector<seqlab::Example> expected;  // TranslationTask::encode's filter
  for (const auto& pair : pairs) {
    seqlab::Example example{tokenizer->encode(pair.source), tokenizer->encode(pair.target)};
    if (example.source.empty() || example.source.size() > 20 || example.target.size() > 20)
      continue;
    expected.push_back(example);
  }
  REQUIRE(expected.size() == 400);  // the long pair is dropped

  seqlab::ShardBuildOptions build;
  build.pairs_per_shard = 64;
  build.threads = 3;
  build.max_length = 20;
  seqlab::BadLines bad;
  build.bad = &bad;
  const std::string shards = dir.file("shards");
  auto check = [&](const seqlab::ShardSet& set, size_t count) {
    REQUIRE(set.size() == static_cast<int64_t>(count));
    for (size_t i = 0; i < count; ++i) {
      auto example = set.example(static_cast<int64_t>(i));
      REQUIRE(example.source == expected[i].source);
      REQUIRE(example.target == expected[i].target);
    }
  };
  {
    auto set = seqlab::build_text_shards(tsv, *tokenizer, digest, shards, build);
    check(set, expected.size());
    CHECK(set.shards().size() == 7);  // 402 lines in pieces of 64
    CHECK(bad.count == 1);
    CHECK_THAT(bad.named[0], Contains("train.tsv:401: no tab"));
  }
  // Without skip_bad_lines the bad line stops the build, naming it.
  build.bad = nullptr;
  CHECK_THROWS_WITH(seqlab::build_text_shards(tsv, *tokenizer, digest, shards, build),
                    Contains("train.tsv:401: no tab"));
  build.bad = &bad;
  // A build stopped midway: the pieces written are kept, the missing one is made again.
  const std::string piece0 = shards + "/train-00000.shard", piece2 = shards + "/train-00002.shard";
  const auto written = fs::last_write_time(piece0);
  fs::remove(piece2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    auto set = seqlab::build_text_shards(tsv, *tokenizer, digest, shards, build);
    check(set, expected.size());
    CHECK(fs::last_write_time(piece0) == written);
    CHECK(fs::exists(piece2));
  }
  // An edit that keeps the file's size and lines (one letter for another) is seen: the piece
  // holding it is made again, and only that one.
  {
    std::string edited = seqlab::read_file(tsv);
    const size_t at = edited.find('\n', edited.size() / 2) + 1;  // a line in piece 3
    edited[at] = edited[at] == 'a' ? 'b' : 'a';
    seqlab::testing::write_text(tsv, edited);
    const auto before = fs::last_write_time(shards + "/train-00001.shard");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto set = seqlab::build_text_shards(tsv, *tokenizer, digest, shards, build);
    CHECK(fs::last_write_time(shards + "/train-00001.shard") == before);
    const auto line = static_cast<size_t>(std::count(edited.begin(), edited.begin() + at, '\n'));
    const auto& pair = seqlab::read_tsv(tsv, &read_bad)[line];
    CHECK(set.example(static_cast<int64_t>(line)).source == tokenizer->encode(pair.source));
  }
  // Another tokenizer: every piece is made again, and the old digest is refused.
  auto words = seqlab::train_tokenizer("word", texts, options);
  words->save(dir.file("words.json"));
  const std::string word_digest = seqlab::sha256_file_hex(dir.file("words.json"));
  {
    auto set = seqlab::build_text_shards(tsv, *words, word_digest, shards, build);
    CHECK(set.size() == 401);  // a sentence is one word: the long pair fits max_length now
    CHECK(fs::last_write_time(piece0) != written);
    CHECK_THROWS_WITH(seqlab::Shard(piece0, digest, tokenizer->vocab_size()),
                      Contains("made with another tokenizer"));
  }
  // The first N pairs (data.train_limit): shards past them are removed.
  build.limit = 100;
  {
    auto set = seqlab::build_text_shards(tsv, *tokenizer, digest, shards, build);
    check(set, 100);
    CHECK(set.shards().size() == 2);
    CHECK(!fs::exists(piece2));
  }
}

TEST_CASE("batches from the shard index equal batches from memory, epoch by epoch") {
  auto examples = some_examples(500, 9);
  seqlab::TokenBucketBatcher memory(examples, 60, 7, 5);
  seqlab::TokenBucketBatcher index(seqlab::TokenBucketBatcher::bucket_lengths(examples), 60, 7, 5);
  for (int64_t epoch = 0; epoch < 3; ++epoch) CHECK(memory.epoch(epoch) == index.epoch(epoch));
  CHECK(memory.sorted() == index.sorted());
}

TEST_CASE("a seeded reservoir sample keeps everything in order when it fits, else a fixed sample") {
  seqlab::TextSample all(10, 1);
  for (int i = 0; i < 10; ++i) all.add(std::to_string(i));
  CHECK(all.take() == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  auto sample = [](uint64_t seed) {
    seqlab::TextSample some(100, seed);
    for (int i = 0; i < 10000; ++i) some.add(std::to_string(i));
    CHECK(some.seen() == 10000);
    return some.take();
  };
  auto first = sample(3);
  CHECK(first.size() == 100);
  CHECK(first == sample(3));
  CHECK(first != sample(4));
  // Uniform: about 1% of the late half's items... the sample's mean index is near the middle.
  double mean = 0;
  for (const auto& text : first) mean += std::stod(text) / 100.0;
  CHECK(mean > 3500);
  CHECK(mean < 6500);
}

TEST_CASE("the prefetch queue hands batches out in order and never holds more than it may") {
  std::vector<std::vector<int64_t>> batches;
  for (int64_t i = 0; i < 60; ++i) batches.push_back({i, i + 1});
  std::atomic<int> made{0};
  auto make = [&](const std::vector<int64_t>& indices) {
    ++made;
    seqlab::Batch batch;
    batch.indices = indices;
    return batch;
  };
  seqlab::BatchPrefetcher loader(batches, 5, make, 3, 4);
  for (int64_t i = 5; i < 60; ++i) {
    if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(30));  // a slow step
    CHECK(loader.next().indices == batches[static_cast<size_t>(i)]);
    CHECK(made.load() <= i - 5 + 1 + 4);
  }
  CHECK(loader.most_held() <= 4);
  CHECK(loader.most_held() >= 1);
  CHECK(made.load() == 55);
  CHECK_THROWS(loader.next());
  // What making a batch threw reaches the trainer at that batch.
  seqlab::BatchPrefetcher failing(
      batches, 0,
      [](const std::vector<int64_t>& indices) -> seqlab::Batch {
        if (indices[0] == 2) throw seqlab::InputError("bad.png: corrupt");
        return {};
      },
      2, 3);
  failing.next();
  failing.next();
  CHECK_THROWS_WITH(failing.next(), Contains("bad.png: corrupt"));
  // Stopping early (a time budget) leaves no thread behind: the destructor joins them.
}

TEST_CASE("the image store decodes on demand, caches each image once on disk, and names bad ones") {
  seqlab::testing::TempDir dir;
  std::vector<std::string> paths;
  for (int i = 0; i < 5; ++i) {
    auto image = torch::full({3, 8, 8}, i * 40, torch::kUInt8);
    image[0][i][i] = 255;
    paths.push_back(dir.file(fmt::format("img{}.png", i)));
    seqlab::save_png(paths.back(), image);
  }
  seqlab::testing::write_text(dir.file("broken.png"), "\x89PNG not really");
  paths.push_back(dir.file("broken.png"));
  seqlab::ImageOptions options;
  options.size = 8;
  const std::string cache = dir.file("cache/images.u8");
  {
    seqlab::ImageStore store(paths, options, cache);
    for (int i = 0; i < 5; ++i)
      CHECK(torch::equal(store.get(i), seqlab::load_image(paths[static_cast<size_t>(i)], options)));
    CHECK(store.decoded() == 5);
    CHECK(torch::equal(store.get(2), seqlab::load_image(paths[2], options)));
    CHECK(store.decoded() == 5);  // from the cache
    CHECK_THROWS_WITH(store.get(5), Contains("broken.png"));
  }
  options.skip_bad = true;
  {
    seqlab::ImageStore again(paths, options, cache);  // another process, a resumed run
    for (int i = 0; i < 5; ++i)
      CHECK(torch::equal(again.get(i), seqlab::load_image(paths[static_cast<size_t>(i)], options)));
    CHECK(again.decoded() == 0);
    CHECK(!again.get(5).defined());
    CHECK(!again.get(5).defined());
    REQUIRE(again.skipped().size() == 1);
    CHECK_THAT(again.skipped()[0], Contains("broken.png"));
  }
  // A cache of another image list is made again, not read.
  std::vector<std::string> fewer(paths.begin(), paths.begin() + 3);
  seqlab::ImageStore other(fewer, options, cache);
  CHECK(torch::equal(other.get(1), seqlab::load_image(paths[1], options)));
  CHECK(other.decoded() == 1);
  // Without a disk cache every request decodes.
  seqlab::ImageStore plain(paths, options);
  plain.get(0);
  plain.get(0);
  CHECK(plain.decoded() == 2);
}
