#include "tests/test_support.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/files.h"
#include "core/log.h"
#include "core/random.h"
#include "core/tensor_file.h"
#include "data/image.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"
#include "train/run_directory.h"

namespace fs = std::filesystem;

namespace seqlab::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  fs::path base = fs::temp_directory_path() / "seqlab-tests";
  path_ = (base / (std::to_string(getpid()) + "-" + std::to_string(counter++))).string();
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void write_text(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string write_reverse_corpus(const TempDir& dir) {
  seqlab::Rng rng(9);
  auto make = [&](int count) {
    std::string text;
    for (int i = 0; i < count; ++i) {
      std::string source;
      int64_t length = 3 + static_cast<int64_t>(rng.below(5));
      for (int64_t t = 0; t < length; ++t) source += static_cast<char>('a' + rng.below(8));
      text += source + "\t" + std::string(source.rbegin(), source.rend()) + "\n";
    }
    return text;
  };
  std::string corpus = dir.file("corpus");
  write_text(corpus + "/train.tsv", make(400));
  write_text(corpus + "/valid.tsv", make(40));
  write_text(corpus + "/test.tsv", make(40));
  return corpus;
}

namespace {

// A split of scenes: a 6x6 square of one of three colours in one of four quadrants (jittered),
// captioned "<colour> square at <top|bottom> <left|right>", plus <split>.regions.json.
void write_split(const std::string& dir, const std::string& split, int count, uint64_t seed) {
  const std::vector<std::string> colours = {"red", "green", "blue"};
  const std::vector<std::string> places = {"top left", "top right", "bottom left", "bottom right"};
  seqlab::Rng rng(seed);
  std::string tsv;
  seqlab::Json regions = seqlab::Json::object();
  for (int i = 0; i < count; ++i) {
    const auto colour = rng.below(3), place = rng.below(4);
    const int64_t top = (place / 2) * 8 + static_cast<int64_t>(rng.below(3)),
                  left = (place % 2) * 8 + static_cast<int64_t>(rng.below(3));
    auto image = torch::full({3, 16, 16}, 30, torch::kUInt8);
    image[static_cast<int64_t>(colour)].narrow(0, top, 6).narrow(1, left, 6).fill_(255);
    std::string file = fmt::format("{}-{}.png", split, i);
    seqlab::save_png(dir + "/images/" + file, image);
    tsv += fmt::format("{}\t{} square at {}\n", file, colours[colour], places[place]);
    regions[file] = {{{"word", colours[colour]},
                      {"box", {left / 16.0, top / 16.0, (left + 6) / 16.0, (top + 6) / 16.0}}}};
  }
  seqlab::write_file_atomic(dir + "/" + split + ".tsv", tsv);
  seqlab::write_file_atomic(dir + "/" + split + ".regions.json", regions.dump());
}

}  // namespace

std::string write_squares_corpus(const TempDir& dir) {
  const std::string corpus = dir.file("squares");
  std::filesystem::create_directories(corpus + "/images");
  write_split(corpus, "train", 300, 1);
  write_split(corpus, "valid", 30, 2);
  write_split(corpus, "test", 60, 3);
  return corpus;
}

std::vector<torch::Tensor> checkpoint_tensors(const std::string& run_dir, bool buffers) {
  auto config = Config::from_file(run_dir + "/config.json");
  auto tokenizer = Tokenizer::load(run_dir + "/tokenizer.json");
  Seq2Seq model(config, tokenizer->vocab_size(), tokenizer->vocab_size());
  load_weights(*model, run_dir + "/checkpoint.safetensors", "model.");
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  if (buffers)
    for (const auto& b : model->buffers()) out.push_back(b.detach().clone());
  return out;
}

std::vector<double> logged_values(const std::string& run_dir, const std::string& event,
                                  const std::string& key) {
  std::vector<double> values;
  for (const auto& record : read_json_lines(run_dir + "/metrics.jsonl"))
    if (record.value("event", "") == event) values.push_back(record[key].get<double>());
  return values;
}

int64_t checkpoint_step(const std::string& run_dir) {
  TensorFile file(run_dir + "/checkpoint.safetensors");
  return nlohmann::json::parse(file.metadata("state"))["step"].get<int64_t>();
}

namespace {
int64_t environment_integer(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::stoll(text) : fallback;
}
}  // namespace

uint64_t learning_seed(uint64_t base) {
  return base + static_cast<uint64_t>(environment_integer("SEQLAB_TEST_SEED", 0)) * 1000;
}

void use_learning_threads() {
  at::set_num_threads(static_cast<int>(environment_integer("SEQLAB_TEST_THREADS", 1)));
}

void report_learning(const std::string& test, const std::string& values) {
  std::cout << "learning: " << test << " " << values << std::endl;
}

}  // namespace seqlab::testing
