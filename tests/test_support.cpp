#include "tests/test_support.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "core/random.h"

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

}  // namespace seqlab::testing
