#include "eval/stream_translate.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <istream>
#include <mutex>
#include <ostream>
#include <thread>
#include <utility>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "data/batch.h"
#include "eval/translate.h"
#include "models/attention/attention.h"

namespace seqlab {
namespace {

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// One chunk of input: its lines, the non-empty ones as examples, and what each batch found.
struct Chunk {
  int64_t first_line = 0;  // 1-based number of lines[0]
  std::vector<std::string> lines;
  SourceExamples sources;  // the non-empty lines (sources.line_of: where each came from)
  std::vector<Hypothesis> found;
  std::vector<std::string> alignment;  // "s-t ..." per example, when asked for
};

// The heads-averaged weights [B, T, S] of the last cross-attention a teacher-forced pass recorded,
// or undefined.
torch::Tensor last_cross_attention(const AttentionRecorder& recorder, int64_t rows,
                                   int64_t columns) {
  std::vector<std::string> names;
  for (const auto& map : recorder.maps())
    if (std::find(names.begin(), names.end(), map.name) == names.end()) names.push_back(map.name);
  torch::Tensor weights;
  for (const auto& name : names) {
    if (!ends_with(name, "cross")) continue;
    auto stacked = recorder.stacked(name);  // [B, heads, T, S]
    if (stacked.size(2) == rows && stacked.size(3) == columns) weights = stacked.mean(1);
  }
  return weights;
}

// Hard alignments of one decoded batch, as "source-target" index pairs (Marian's and fast_align's
// format): each generated token (eos excluded) with the source token it attended to most.
void align_batch(Seq2Seq& model, Chunk& chunk, const std::vector<int64_t>& indices,
                 const Source& source, torch::Device device) {
  std::vector<Example> forced(indices.size());
  std::vector<int64_t> order(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    forced[i].source = chunk.sources.examples[size_t(indices[i])].source;
    forced[i].target = chunk.found[size_t(indices[i])].tokens;
    order[i] = static_cast<int64_t>(i);
  }
  Batch batch = collate(forced, order).to(device);
  AttentionRecorder recorder;
  {
    torch::InferenceMode inference;
    model->forward(source, batch.target_in);
  }
  auto weights = last_cross_attention(recorder, batch.target_in.size(1), source.ids.size(1));
  if (!weights.defined())
    throw InputError(
        "alignments need a model with attention from the target to the source (decoders "
        "bahdanau, luong, transformer); this run's decoder has none");
  auto best = weights.argmax(-1).to(torch::kCPU);  // [B, T]
  auto accessor = best.accessor<int64_t, 2>();
  for (size_t i = 0; i < indices.size(); ++i) {
    std::string pairs;
    const size_t length = forced[i].target.size();
    for (size_t t = 0; t < length; ++t)
      pairs += fmt::format("{}{}-{}", t == 0 ? "" : " ", accessor[int64_t(i)][int64_t(t)], t);
    chunk.alignment[size_t(indices[i])] = std::move(pairs);
  }
}

// Workers taking batches of the current chunk from a queue. Each sets its own OpenMP thread count
// (a per-thread setting), so `workers` batches run side by side on their share of the cores.
class WorkerPool {
 public:
  // `workers` threads of `threads` OpenMP threads each (one worker keeps the caller's setting).
  WorkerPool(const std::vector<Seq2Seq>& models, torch::Device device,
             const StreamTranslateOptions& options, int workers, int threads)
      : models_(models), device_(device), options_(options) {
    for (int w = 0; w < workers; ++w)
      threads_.emplace_back([this, w, threads, workers] { work(size_t(w), workers, threads); });
  }
  int workers() const { return static_cast<int>(threads_.size()); }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Decodes every batch of the chunk; rethrows the first error a worker met.
  void run(Chunk& chunk, std::vector<std::vector<int64_t>> batches) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      chunk_ = &chunk;
      for (auto& b : batches) queue_.push_back(std::move(b));
      pending_ = queue_.size();
    }
    wake_.notify_all();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    chunk_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void work(size_t w, int workers, int threads) {
    if (workers > 1) {
      at::internal::lazy_init_num_threads();  // ATen's own per-thread setup first, then ours
      omp_set_num_threads(threads);
    }
    Seq2Seq model = models_[w % models_.size()];
    for (;;) {
      std::vector<int64_t> indices;
      Chunk* chunk = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        indices = std::move(queue_.front());
        queue_.pop_front();
        chunk = chunk_;
      }
      try {
        if (!failed_.load()) decode(model, *chunk, indices);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
        failed_ = true;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (--pending_ == 0) done_.notify_all();
      }
    }
  }

  void decode(Seq2Seq& model, Chunk& chunk, const std::vector<int64_t>& indices) {
    Batch batch = collate(chunk.sources.examples, indices).to(device_);
    Source source = Source::of(batch);
    auto hypotheses = search(model, source, options_.search);
    for (size_t i = 0; i < indices.size(); ++i)
      chunk.found[size_t(indices[i])] = std::move(hypotheses[i]);
    if (options_.alignments) align_batch(model, chunk, indices, source, device_);
  }

  std::vector<Seq2Seq> models_;
  torch::Device device_;
  const StreamTranslateOptions& options_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::deque<std::vector<int64_t>> queue_;
  size_t pending_ = 0;
  Chunk* chunk_ = nullptr;
  bool stopping_ = false;
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

void write_chunk(const Chunk& chunk, const Tokenizer& tokenizer,
                 const StreamTranslateOptions& options, std::ostream& out,
                 StreamTranslateStats& stats) {
  std::vector<const Hypothesis*> hypothesis_of(chunk.lines.size(), nullptr);
  std::vector<const std::string*> alignment_of(chunk.lines.size(), nullptr);
  for (size_t i = 0; i < chunk.sources.examples.size(); ++i) {
    hypothesis_of[chunk.sources.line_of[i]] = &chunk.found[i];
    if (options.alignments) alignment_of[chunk.sources.line_of[i]] = &chunk.alignment[i];
  }
  std::string text;
  for (size_t l = 0; l < chunk.lines.size(); ++l) {
    const Hypothesis* found = hypothesis_of[l];
    std::string translation = found ? tokenizer.decode(found->tokens) : std::string();
    if (found) stats.output_tokens += static_cast<int64_t>(found->tokens.size());
    if (!options.json) {
      text += translation;
      text += '\n';
      continue;
    }
    nlohmann::ordered_json line = {{"line", chunk.first_line + int64_t(l)},
                                   {"source", chunk.lines[l]},
                                   {"translation", translation},
                                   {"score", found ? found->score : 0.0},
                                   {"tokens", found ? found->tokens.size() : 0}};
    if (options.alignments) {
      std::vector<std::string> source_pieces, target_pieces;
      if (found) {
        for (int64_t id : chunk.sources.examples[size_t(found - chunk.found.data())].source)
          source_pieces.push_back(tokenizer.piece(id));
        for (int64_t id : found->tokens) target_pieces.push_back(tokenizer.piece(id));
      }
      line["source_tokens"] = source_pieces;
      line["target_tokens"] = target_pieces;
      line["alignment"] = alignment_of[l] ? *alignment_of[l] : std::string();
    }
    text += line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    text += '\n';
  }
  out << text;
  out.flush();
}

}  // namespace

StreamTranslateStats translate_stream(const std::vector<Seq2Seq>& models,
                                      const Tokenizer& tokenizer, torch::Device device,
                                      std::istream& in, std::ostream& out,
                                      const StreamTranslateOptions& options) {
  if (models.empty()) throw std::invalid_argument("translate_stream: no model");
  if (options.workers < 0 || options.chunk_sentences < 1 || options.batch_tokens < 1)
    throw InputError(
        "translate: chunk size and batch tokens must be at least 1, workers at least 0 (auto)");
  const bool automatic = options.workers == 0;
  const int threads = std::max(1, options.intra_threads);
  int workers = automatic ? std::min(threads, kMaxAutoWorkers) : options.workers;
  // Worker w decodes with models[w % models.size()]. A shortlist restricts a model's output
  // layer, so then the first `workers` models must be different ones.
  auto own_models = [&](int count) {
    if (models.size() < size_t(count)) return false;
    for (int a = 0; a < count; ++a)
      for (int b = 0; b < a; ++b)
        if (models[size_t(a)].get() == models[size_t(b)].get()) return false;
    return true;
  };
  if (options.search.shortlist && workers > 1 && !own_models(workers)) {
    if (!automatic)
      throw InputError(
          fmt::format("a shortlist restricts the model's output layer: {} workers need {} models "
                      "of their own ({} given)",
                      workers, workers, models.size()));
    workers = 1;
  }
  const auto start = std::chrono::steady_clock::now();
  StreamTranslateStats stats;
  // Auto: one worker on every thread, and `workers` single-threaded ones, timed on the same work
  // (alternate batches of the first chunk with enough of them); the faster one goes on.
  std::unique_ptr<WorkerPool> solo, several;
  if (workers > 1)
    several = std::make_unique<WorkerPool>(models, device, options, workers,
                                           std::max(1, threads / workers));
  if (workers == 1 || automatic)
    solo = std::make_unique<WorkerPool>(models, device, options, 1, threads);
  WorkerPool* pool = automatic && several ? nullptr : (several ? several.get() : solo.get());
  stats.workers = pool ? pool->workers() : 1;
  std::unique_ptr<Progress> progress;
  if (options.progress) progress = std::make_unique<Progress>("translate", 0, "lines");
  const int64_t batch_tokens = beam_batch_tokens(options.batch_tokens, options.search.beam);
  int64_t line_number = 0;
  bool more = true;
  while (more) {
    Chunk chunk;
    chunk.first_line = line_number + 1;
    std::string line;
    while (static_cast<int64_t>(chunk.lines.size()) < options.chunk_sentences) {
      if (!std::getline(in, line)) {
        more = false;
        break;
      }
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      require_utf8(line, fmt::format("{}:{}", options.input_name, line_number));
      chunk.lines.push_back(line);
    }
    if (chunk.lines.empty()) break;
    chunk.sources = encode_sources(tokenizer, chunk.lines);  // empty lines stay empty
    chunk.found.resize(chunk.sources.examples.size());
    if (options.alignments) chunk.alignment.resize(chunk.sources.examples.size());
    if (!chunk.sources.examples.empty()) {
      auto batches = TokenBucketBatcher(chunk.sources.examples, batch_tokens, 0, 0).sorted();
      // Largest batches first, so that the last ones to finish are small (several workers).
      auto padded = [&](const std::vector<int64_t>& batch) {
        size_t longest = 0;
        for (int64_t i : batch)
          longest = std::max(longest, chunk.sources.examples[size_t(i)].source.size());
        return longest * batch.size();
      };
      std::stable_sort(batches.begin(), batches.end(),
                       [&](const auto& a, const auto& b) { return padded(a) > padded(b); });
      const size_t needed = size_t(1 + 3 * workers);
      if (!pool && batches.size() >= needed) {
        // Both pools decode a warm-up share first (threads started, kernels generated, memory
        // allocated), untimed; then alternate batches of equal sizes, timed.
        std::vector<std::vector<int64_t>> warm_one, warm_many, one, many;
        double one_tokens = 0, many_tokens = 0;
        warm_one.push_back(std::move(batches[0]));
        for (size_t i = 1; i <= size_t(workers); ++i) warm_many.push_back(std::move(batches[i]));
        for (size_t i = size_t(workers) + 1; i < needed; ++i) {
          const bool to_many = (i - size_t(workers)) % 2 == 0;
          (to_many ? many_tokens : one_tokens) += double(padded(batches[i]));
          (to_many ? many : one).push_back(std::move(batches[i]));
        }
        batches.erase(batches.begin(), batches.begin() + static_cast<std::ptrdiff_t>(needed));
        solo->run(chunk, std::move(warm_one));
        several->run(chunk, std::move(warm_many));
        auto timed = [&](WorkerPool& p, std::vector<std::vector<int64_t>> work) {
          auto begin = std::chrono::steady_clock::now();
          p.run(chunk, std::move(work));
          return std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        };
        const double one_rate = one_tokens / std::max(timed(*solo, std::move(one)), 1e-9);
        const double many_rate = many_tokens / std::max(timed(*several, std::move(many)), 1e-9);
        pool = many_rate > one_rate ? several.get() : solo.get();
        stats.workers = pool->workers();
        stats.measured_speedup = many_rate / one_rate;
      }
      (pool ? pool : solo.get())->run(chunk, std::move(batches));
    }
    write_chunk(chunk, tokenizer, options, out, stats);
    stats.lines += static_cast<int64_t>(chunk.lines.size());
    stats.sentences += static_cast<int64_t>(chunk.sources.examples.size());
    if (progress) {
      progress->advance(static_cast<int64_t>(chunk.lines.size()));
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress->set_status(fmt::format("{:.0f} tok/s", double(stats.output_tokens) / seconds));
    }
  }
  if (progress) progress->finish();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace seqlab
