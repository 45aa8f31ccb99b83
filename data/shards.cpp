#include "data/shards.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/random.h"

namespace fs = std::filesystem;

namespace seqlab {

void write_shard(const std::string& path, const std::vector<Example>& examples,
                 const std::string& tokenizer_digest, int64_t vocab, const Json& input) {
  std::vector<uint64_t> source_offsets{0}, target_offsets{0};
  std::vector<int32_t> source_ids, target_ids;
  for (const auto& example : examples) {
    for (int64_t id : example.source) source_ids.push_back(static_cast<int32_t>(id));
    for (int64_t id : example.target) target_ids.push_back(static_cast<int32_t>(id));
    source_offsets.push_back(source_ids.size());
    target_offsets.push_back(target_ids.size());
  }
  write_shard_file(path, source_offsets, target_offsets, source_ids, target_ids, tokenizer_digest,
                   vocab, input);
}

ShardSet::ShardSet(std::vector<std::unique_ptr<Shard>> shards) : shards_(std::move(shards)) {
  for (const auto& shard : shards_) {
    starts_.push_back(total_);
    total_ += shard->size();
  }
}

std::pair<const Shard*, int64_t> ShardSet::locate(int64_t i) const {
  if (i < 0 || i >= total_)
    throw Error(fmt::format("example {} outside a shard set of {}", i, total_));
  // The last shard starting at or before i (empty shards share a start with the next).
  auto it = std::upper_bound(starts_.begin(), starts_.end(), i);
  size_t k = static_cast<size_t>(it - starts_.begin()) - 1;
  while (shards_[k]->size() == 0) ++k;
  return {shards_[k].get(), i - starts_[k]};
}

Example ShardSet::example(int64_t i) const {
  auto [shard, local] = locate(i);
  const auto source = shard->source(local), target = shard->target(local);
  Example example;
  example.source.assign(source.begin, source.end);
  example.target.assign(target.begin, target.end);
  return example;
}

std::vector<int64_t> ShardSet::bucket_lengths() const {
  std::vector<int64_t> lengths;
  lengths.reserve(static_cast<size_t>(total_));
  for (const auto& shard : shards_)
    for (int64_t i = 0; i < shard->size(); ++i)
      lengths.push_back(bucket_length(shard->source_length(i), shard->target_length(i)));
  return lengths;
}

int64_t ShardSet::target_tokens(const std::vector<int64_t>& indices, Framing framing) const {
  int64_t tokens = 0;
  for (int64_t i : indices) {
    auto [shard, local] = locate(i);
    tokens += framed_target_tokens(shard->target_length(local), framing);
  }
  return tokens;
}

Batch ShardSet::collate(const std::vector<int64_t>& indices, Framing framing) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t i : indices) examples.push_back(example(i));
  std::vector<int64_t> order(indices.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  Batch batch = seqlab::collate(examples, order, {}, framing);
  batch.indices = indices;
  return batch;
}

std::string ShardSet::fingerprint() const {
  std::string headers;
  for (const auto& shard : shards_) headers += shard->header().dump() + "\n";
  return sha256_hex(headers);
}

TextSample::TextSample(int64_t capacity, uint64_t seed) : capacity_(capacity), rng_(seed) {
  if (capacity <= 0) throw Error("TextSample: capacity must be positive");
}

void TextSample::add(std::string text) {
  ++seen_;
  if (static_cast<int64_t>(texts_.size()) < capacity_) {
    texts_.push_back(std::move(text));
    return;
  }
  const uint64_t j = rng_.below(static_cast<uint64_t>(seen_));
  if (j < static_cast<uint64_t>(capacity_)) texts_[j] = std::move(text);
}

namespace {

// Tokenizes one piece of pairs on `threads` threads, each a contiguous range; the examples keep
// the input order and the in-memory path's filter.
std::vector<Example> encode_piece(const std::vector<SentencePair>& pairs,
                                  const Tokenizer& tokenizer, int threads, int64_t max_length) {
  const size_t n = pairs.size();
  const size_t parts = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(threads), n));
  std::vector<std::vector<Example>> encoded(parts);
  std::vector<std::exception_ptr> errors(parts);
  auto work = [&](size_t part) {
    try {
      const size_t begin = n * part / parts, end = n * (part + 1) / parts;
      const auto limit = static_cast<size_t>(max_length);
      for (size_t i = begin; i < end; ++i) {
        Example example{tokenizer.encode(pairs[i].source), tokenizer.encode(pairs[i].target)};
        if (example.source.empty() || example.source.size() > limit ||
            example.target.size() > limit)
          continue;
        encoded[part].push_back(std::move(example));
      }
    } catch (...) {
      errors[part] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t part = 1; part < parts; ++part) pool.emplace_back(work, part);
  work(0);
  for (auto& thread : pool) thread.join();
  for (auto& error : errors)
    if (error) std::rethrow_exception(error);
  std::vector<Example> examples;
  for (auto& part : encoded)
    for (auto& example : part) examples.push_back(std::move(example));
  return examples;
}

}  // namespace

ShardSet build_text_shards(const std::string& tsv_path, const Tokenizer& tokenizer,
                           const std::string& tokenizer_digest, const std::string& dir,
                           const ShardBuildOptions& options) {
  if (options.pairs_per_shard <= 0) throw InputError("data.shard_lines must be positive");
  fs::create_directories(dir);
  const auto file_bytes = static_cast<int64_t>(fs::file_size(tsv_path));
  const std::string absolute = fs::absolute(tsv_path).lexically_normal().string();
  const int64_t vocab = tokenizer.vocab_size();
  Progress progress("tokenize", std::max<int64_t>(1, file_bytes >> 10), "KiB");
  int64_t bytes_read = 0, pairs_read = 0, piece = 0, built = 0, kept = 0;
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<SentencePair> pending;
  int64_t first_line = 1, last_line = 0;
  uint64_t content = 0;  // FNV-1a over the piece's pairs: an edit of the same size is seen too
  bool limit_reached = false;
  auto flush = [&] {
    const std::string path = fmt::format("{}/train-{:05d}.shard", dir, piece);
    const Json input = {{"file", absolute},
                        {"bytes", file_bytes},
                        {"first_line", first_line},
                        {"last_line", last_line},
                        {"pairs", pending.size()},
                        {"content", fmt::format("{:016x}", content)},
                        {"max_length", options.max_length},
                        {"filter", "source non-empty, both sides <= max_length"}};
    std::unique_ptr<Shard> shard;
    if (fs::exists(path)) {
      try {
        shard = std::make_unique<Shard>(path, tokenizer_digest, vocab);
        if (shard->header().value("input", Json()) != input) shard.reset();
      } catch (const InputError&) {
        shard.reset();  // a shard of another build: made again
      }
    }
    if (shard) {
      ++kept;
    } else {
      write_shard(path, encode_piece(pending, tokenizer, options.threads, options.max_length),
                  tokenizer_digest, vocab, input);
      shard = std::make_unique<Shard>(path, tokenizer_digest, vocab);
      ++built;
    }
    shards.push_back(std::move(shard));
    pending.clear();
    content = 0;
    ++piece;
    first_line = last_line + 1;
    progress.set_status(fmt::format("{} shard(s)", piece));
  };
  // Piece boundaries are input line numbers, so they do not move when bad lines are skipped.
  struct Stop {};
  try {
    for_each_tsv_pair(
        tsv_path,
        [&](SentencePair&& pair, int64_t line) {
          while (line > first_line - 1 + options.pairs_per_shard) {
            last_line = first_line - 1 + options.pairs_per_shard;
            flush();
          }
          last_line = line;
          const int64_t line_bytes =
              static_cast<int64_t>(pair.source.size() + pair.target.size() + 2);
          bytes_read += line_bytes;
          if (((bytes_read - line_bytes) >> 10) != (bytes_read >> 10))
            progress.advance((bytes_read >> 10) - ((bytes_read - line_bytes) >> 10));
          content =
              stable_hash(pair.target, stable_hash(pair.source, content) ^ 0x9e3779b97f4a7c15ULL);
          pending.push_back(std::move(pair));
          if (options.limit > 0 && ++pairs_read >= options.limit) throw Stop{};
        },
        options.bad);
  } catch (const Stop&) {
    limit_reached = true;
  }
  if (!pending.empty() || shards.empty()) flush();
  progress.finish();
  // Shards beyond the last piece are from a longer corpus: removed so they are never read.
  for (int64_t k = piece;; ++k) {
    const std::string stale = fmt::format("{}/train-{:05d}.shard", dir, k);
    if (!fs::exists(stale)) break;
    fs::remove(stale);
  }
  log_info(fmt::format("{}: {} shard(s) in {} ({} tokenized now, {} kept from before){}", tsv_path,
                       piece, dir, built, kept,
                       limit_reached ? fmt::format(", first {} pairs", options.limit) : ""));
  return ShardSet(std::move(shards));
}

}  // namespace seqlab
