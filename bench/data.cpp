// `seqlab bench data`: the data layer as the corpus grows. Text corpora at 1x, 10x, 100x ui-fr's
// training split (copies with variation) and a generated captioning set (100,000 images by
// default) are each read from memory and streamed (data.streaming), one process per cell, so the
// peak resident memory is the cell's own: time to the first batch, the loader's examples/s
// alone, the trainer's examples/s with the loader beside it, the share of training time the
// trainer waited for the loader, and peak RSS (all of it, and anonymous memory alone: a streamed
// corpus's memory-mapped pages are counted in RSS but are the kernel's page cache).
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "bench/bench.h"
#include "core/child_process.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/random.h"
#include "data/image.h"
#include "data/prefetch.h"
#include "data/recipe.h"
#include "data/shards.h"
#include "train/optimizers.h"
#include "train/training_data.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The largest RssAnon /proc/self/status showed, sampled every 20 ms while alive.
class AnonymousPeak {
 public:
  AnonymousPeak() : thread_([this] { run(); }) {}
  ~AnonymousPeak() {
    stop_ = true;
    thread_.join();
  }
  double megabytes() {
    sample();
    return static_cast<double>(peak_kib_.load()) / 1024.0;
  }
  void reset() { peak_kib_ = 0; }

 private:
  void sample() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("RssAnon:", 0) == 0) {
        const int64_t kib = std::stoll(line.substr(8));
        int64_t seen = peak_kib_.load();
        while (kib > seen && !peak_kib_.compare_exchange_weak(seen, kib)) {
        }
      }
  }
  void run() {
    while (!stop_) {
      sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_kib_{0};
  std::thread thread_;
};

Json cell_config(const DataCellOptions& o) {
  Json data = {{"corpus", o.corpus}, {"streaming", o.mode == "stream"}};
  Json json;
  if (o.task == "captioning") {
    data.update({{"task", "captioning"},
                 {"tokenizer", "word"},
                 {"vocab_size", 0},
                 {"image_size", o.image_size}});
    json = {{"model",
             {{"encoder", "cnn"},
              {"decoder", "rnn"},
              {"cell", "gru"},
              {"embedding_dim", 64},
              {"hidden_dim", 128},
              {"dropout", 0.0},
              {"vision", {{"width", 16}, {"layers", 2}}}}},
            {"train", {{"batch_tokens", 800}, {"batch_sentences", 32}, {"lr", 0.003}}}};
  } else {
    data.update({{"tokenizer", "bpe"}, {"vocab_size", 8000}, {"max_length", 100}});
    json = {{"model",
             {{"encoder", "rnn"},
              {"decoder", "rnn"},
              {"cell", "gru"},
              {"embedding_dim", 128},
              {"hidden_dim", 256},
              {"bidirectional", true},
              {"dropout", 0.2}}},
            {"train", {{"batch_tokens", 4000}, {"lr", 0.002}}}};
  }
  json["data"] = data;
  json["run"] = {{"seed", 1}, {"threads", 0}};
  return json;
}

}  // namespace

Json bench_data_cell(const DataCellOptions& o) {
  AnonymousPeak anonymous;
  const Config config = Config::from_json(cell_config(o), {}, "bench data");
  // The cell's run directory is made afresh; one that holds anything but an earlier cell's run
  // is not removed.
  if (o.run_dir.empty()) throw InputError("bench data --cell needs --run DIR");
  if (fs::exists(o.run_dir) && !fs::is_empty(o.run_dir) &&
      !fs::exists(fs::path(o.run_dir) / "tokenizer.json"))
    throw InputError(
        fmt::format("{}: not empty and not a bench data run; give a new --run", o.run_dir));
  fs::remove_all(o.run_dir);
  fs::create_directories(o.run_dir);
  const auto start = Clock::now();
  TrainingData data = load_training_data(config, o.run_dir, false);
  const double prepare_s = since(start);
  const double prepare_anon_mb = anonymous.megabytes();
  anonymous.reset();  // from here: what reading batches and training hold
  const int64_t batch_tokens = config.get_int("train.batch_tokens");
  const int64_t batch_sentences = config.get_int("train.batch_sentences");
  TokenBucketBatcher batcher(data.train_lengths(), batch_tokens, batch_sentences, 1);
  const auto batches = batcher.epoch(0);
  const bool stream = o.mode == "stream";
  const int threads = static_cast<int>(config.get_int("data.loader_threads"));
  const int prefetch = static_cast<int>(config.get_int("data.prefetch_batches"));
  auto make = [&](const std::vector<int64_t>& indices) { return data.train_batch(indices); };
  // The loader alone: batches made as fast as it can (the streaming loader's threads, or the
  // in-memory collation the trainer does itself), for up to 20 s or one epoch.
  Json cell = {{"task", o.task},
               {"mode", o.mode},
               {"corpus", o.corpus},
               {"train_examples", data.train_size()},
               {"vocab", data.tokenizer->vocab_size()},
               {"batches_per_epoch", batches.size()},
               {"prepare_s", prepare_s}};
  {
    const auto loader_start = Clock::now();
    std::unique_ptr<BatchPrefetcher> loader;
    if (stream) loader = std::make_unique<BatchPrefetcher>(batches, 0, make, threads, prefetch);
    int64_t examples = 0;
    size_t b = 0;
    for (; b < batches.size() && (b == 0 || since(loader_start) < 20); ++b) {
      Batch batch = loader ? loader->next() : make(batches[b]);
      examples += batch.size();
      if (b == 0) cell["first_batch_s"] = prepare_s + since(loader_start);
    }
    cell["loader_examples_per_s"] = static_cast<double>(examples) / since(loader_start);
    cell["loader_batches"] = b;
  }
  // The trainer with the loader beside it: o.steps updates of the cell's model.
  Seq2Seq model(config, data.tokenizer->vocab_size(), data.target_vocab());
  auto optimizer = make_optimizer(config, model->parameters());
  model->train();
  std::unique_ptr<BatchPrefetcher> loader;
  std::vector<std::vector<int64_t>> order;
  for (int64_t s = 0; s < o.steps; ++s)
    order.push_back(batches[static_cast<size_t>(s) % batches.size()]);
  if (stream) loader = std::make_unique<BatchPrefetcher>(order, 0, make, threads, prefetch);
  const auto train_start = Clock::now();
  int64_t examples = 0;
  double loss = 0;
  for (size_t s = 0; s < order.size(); ++s) {
    Batch batch = loader ? loader->next() : make(order[s]);
    if (batch.size() == 0) continue;
    examples += batch.size();
    loss = train_step(model, *optimizer, batch, 0.1, 1.0).item<double>() /
           static_cast<double>(batch.target_tokens);
  }
  const double train_s = since(train_start);
  cell["train_steps"] = o.steps;
  cell["train_examples_per_s"] = static_cast<double>(examples) / train_s;
  cell["train_s"] = train_s;
  cell["last_loss"] = loss;
  cell["loader_wait_share"] = loader ? loader->wait_seconds() / train_s : 0.0;
  cell["prepare_peak_anon_mb"] = prepare_anon_mb;
  cell["train_peak_anon_mb"] = anonymous.megabytes();
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  cell["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  return cell;
}

void write_scaled_corpus(const std::string& base, int64_t scale, const std::string& out) {
  fs::create_directories(out);
  const auto pairs = read_tsv(fs::path(base) / "train.tsv");
  std::ofstream train(fs::path(out) / "train.tsv.partial", std::ios::binary | std::ios::trunc);
  // Copy r > 0 varies every pair: a number in both sides (so the copies are distinct sentences
  // with the same shape), in an order shuffled per copy.
  std::vector<size_t> order(pairs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int64_t r = 0; r < scale; ++r) {
    Rng rng(static_cast<uint64_t>(r) + 1);
    if (r > 0) rng.shuffle(order);
    for (size_t i : order) {
      const auto& pair = pairs[i];
      if (r == 0)
        train << pair.source << '\t' << pair.target << '\n';
      else
        train << pair.source << " (" << r << ")\t" << pair.target << " (" << r << ")\n";
    }
  }
  train.close();
  if (!train) throw Error("cannot write " + out + "/train.tsv (disk full?)");
  fs::rename(fs::path(out) / "train.tsv.partial", fs::path(out) / "train.tsv");
  for (const char* split : {"valid.tsv", "test.tsv"})
    fs::copy_file(fs::path(base) / split, fs::path(out) / split,
                  fs::copy_options::overwrite_existing);
}

void write_scenes_corpus(const std::string& out, int64_t images, int64_t size) {
  static const char* colours[] = {"red", "green", "blue", "yellow"};
  static const int rgb[4][3] = {{220, 30, 30}, {30, 180, 30}, {30, 60, 220}, {230, 210, 20}};
  static const char* places[] = {"top left", "top right", "bottom left", "bottom right"};
  fs::create_directories(fs::path(out) / "images");
  Progress progress("generating images", images, "img");
  auto split = [&](const std::string& name, int64_t first, int64_t count) {
    std::string lines;
    for (int64_t i = first; i < first + count; ++i) {
      Rng rng(static_cast<uint64_t>(i) * 7919 + 1);
      const auto colour = rng.below(4), place = rng.below(4);
      const int64_t side =
          size / 3 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(size / 6)));
      auto image = torch::full({3, size, size}, 235, torch::kUInt8);
      const int64_t y = place < 2 ? 2 : size - side - 2, x = place % 2 == 0 ? 2 : size - side - 2;
      for (int c = 0; c < 3; ++c)
        image[c].narrow(0, y, side).narrow(1, x, side).fill_(rgb[colour][c]);
      const std::string file = fmt::format("scene-{:06d}.png", i);
      save_png((fs::path(out) / "images" / file).string(), image);
      lines += fmt::format("{}\ta {} square at the {}\n", file, colours[colour], places[place]);
      progress.advance();
    }
    write_file_atomic((fs::path(out) / (name + ".tsv")).string(), lines);
  };
  const int64_t valid = std::min<int64_t>(200, images / 10), test = valid;
  split("train", 0, images - valid - test);
  split("valid", images - valid - test, valid);
  split("test", images - test, test);
  progress.finish();
  write_file_atomic((fs::path(out) / "complete").string(), std::to_string(images) + "\n");
}

Json bench_data(const DataBenchOptions& o) {
  const std::string work = o.work.empty() ? data_cache_dir() + "/bench-data" : o.work;
  fs::create_directories(work);
  const std::string base = corpus_directory("ui-fr");
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  Json result = {{"cells", Json::array()}, {"work", work}};
  auto run_cell = [&](const std::string& task, const std::string& corpus, const std::string& mode,
                      const std::string& label) {
    const std::string tag = fmt::format("{}-{}", label, mode);
    const std::string out = work + "/" + tag + ".json", err = work + "/" + tag + ".log";
    std::vector<std::string> argv = {exe,
                                     "bench",
                                     "data",
                                     "--cell",
                                     "--task",
                                     task,
                                     "--corpus",
                                     corpus,
                                     "--mode",
                                     mode,
                                     "--run",
                                     work + "/run-" + tag,
                                     "--steps",
                                     std::to_string(o.steps),
                                     "--image-size",
                                     std::to_string(o.image_size),
                                     "--json"};
    log_info(fmt::format("bench data: {} ({} from {}, log {})", tag, mode, corpus, err));
    BackgroundProcess child(argv, out, err);
    BackgroundProcess::Exit exit{};
    while (!child.poll(exit)) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Json cell;
    if (exit.status == 0) {
      try {
        cell = Json::parse(read_file(out));
      } catch (const Json::exception&) {
        cell = {{"error", "unreadable output"}};
      }
    } else {
      cell = {{"error", fmt::format("exit status {} (see {})", exit.status, err)}};
    }
    cell["label"] = label;
    cell["task"] = task;
    cell["mode"] = mode;
    cell["max_rss_mb"] = static_cast<double>(exit.max_rss_kib) / 1024.0;
    result["cells"].push_back(cell);
    log_info(fmt::format("bench data: {} done: {}", tag, cell.dump()));
  };
  for (int64_t scale : o.scales) {
    const std::string corpus = fmt::format("{}/ui-fr-x{}", work, scale);
    if (!fs::exists(corpus + "/test.tsv")) write_scaled_corpus(base, scale, corpus);
    for (const auto& mode : o.modes)
      run_cell("translation", corpus, mode, fmt::format("text x{}", scale));
  }
  if (o.images > 0) {
    const std::string corpus = fmt::format("{}/scenes-{}", work, o.images);
    if (!fs::exists(corpus + "/complete")) write_scenes_corpus(corpus, o.images, o.image_size);
    for (const auto& mode : o.modes)
      run_cell("captioning", corpus, mode, fmt::format("{} images", o.images));
  }
  return result;
}

std::string format_data(const Json& result) {
  std::string out =
      fmt::format("{:<16} {:<7} {:>10} {:>9} {:>9} {:>12} {:>12} {:>7} {:>10} {:>12} {:>12}\n",
                  "corpus", "mode", "examples", "prepare", "1st batch", "loader ex/s",
                  "trainer ex/s", "wait", "peak RSS", "anon prepare", "anon train");
  for (const auto& cell : result["cells"]) {
    if (cell.contains("error")) {
      out += fmt::format("{:<16} {:<7} {}\n", cell["label"].get<std::string>(),
                         cell["mode"].get<std::string>(), cell["error"].get<std::string>());
      continue;
    }
    out += fmt::format(
        "{:<16} {:<7} {:>10} {:>8.1f}s {:>8.1f}s {:>12.0f} {:>12.1f} {:>6.1f}% "
        "{:>7.0f} MB {:>9.0f} MB {:>9.0f} MB\n",
        cell["label"].get<std::string>(), cell["mode"].get<std::string>(),
        cell["train_examples"].get<int64_t>(), cell["prepare_s"].get<double>(),
        cell["first_batch_s"].get<double>(), cell["loader_examples_per_s"].get<double>(),
        cell["train_examples_per_s"].get<double>(), 100 * cell["loader_wait_share"].get<double>(),
        cell["max_rss_mb"].get<double>(), cell["prepare_peak_anon_mb"].get<double>(),
        cell["train_peak_anon_mb"].get<double>());
  }
  return out;
}

}  // namespace seqlab
