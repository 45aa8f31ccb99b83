// The user guide cannot rot: every `seqlab ...` command in a shell block of README.md and docs/
// parses against the CLI as built (its subcommand, every flag and every value's validator), run
// with SEQLAB_CHECK_ARGS=1 so that nothing trains or downloads; every config and spec it names
// exists.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/debian_packages.h"
#include "seqlab_paths.h"

namespace fs = std::filesystem;

namespace {

struct Command {
  std::string file;
  int line;
  std::string text;
};

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// The seqlab part of one shell line: after a pipe, before a comment, a redirection or `&&`.
std::string seqlab_part(std::string line) {
  if (line.rfind("$ ", 0) == 0) line = line.substr(2);
  auto hash = line.find(" #");
  if (hash != std::string::npos) line = line.substr(0, hash);
  auto at = line.find("seqlab ");
  if (at == std::string::npos || (at > 0 && line[at - 1] != ' ' && line[at - 1] != '|')) return "";
  if (at > 0 && line.substr(0, at).find('|') == std::string::npos) return "";  // an argument
  line = line.substr(at);
  for (const char* end : {" > ", " >> ", " 2>", " && ", " | ", " < "}) {
    auto cut = line.find(end);
    if (cut != std::string::npos) line = line.substr(0, cut);
  }
  return trim(line);
}

// README.md, then docs/*.md in name order: the user guide.
std::vector<fs::path> guide_files() {
  std::vector<fs::path> files = {fs::path(SEQLAB_SOURCE_DIR) / "README.md"};
  for (const auto& entry : fs::directory_iterator(fs::path(SEQLAB_SOURCE_DIR) / "docs"))
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  std::sort(files.begin() + 1, files.end());
  return files;
}

std::vector<Command> documented_commands() {
  std::vector<Command> commands;
  for (const auto& file : guide_files()) {
    std::ifstream in(file);
    std::string line, pending;
    bool shell = false;
    int number = 0, start = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.rfind("```", 0) == 0) {
        shell = !shell && (line == "```sh" || line == "```bash" || line == "```console");
        continue;
      }
      if (!shell) continue;
      if (pending.empty()) start = number;
      if (!line.empty() && line.back() == '\\') {  // a continued line
        pending += line.substr(0, line.size() - 1) + " ";
        continue;
      }
      const std::string text = seqlab_part(trim(pending + line));
      pending.clear();
      if (!text.empty())
        commands.push_back({file.lexically_relative(SEQLAB_SOURCE_DIR).string(), start, text});
    }
  }
  return commands;
}

}  // namespace

TEST_CASE("every seqlab command of README.md and docs/ parses against the CLI") {
  const auto commands = documented_commands();
  // The guide has dozens; finding few means the extraction broke, not that the guide is short.
  REQUIRE(commands.size() >= 30);
  for (const auto& c : commands) {
    // Placeholders a reader replaces (RUN, "<dir>") stay what they are: values, not flags.
    const std::string shell = "cd '" + std::string(SEQLAB_SOURCE_DIR) +
                              "' && SEQLAB_CHECK_ARGS=1 " + std::string(SEQLAB_BINARY_DIR) +
                              "/bin/" + c.text + " 2>&1";
    const auto result = seqlab::run_command(shell);
    INFO(c.file << ":" << c.line << ": " << c.text << "\n" << result.output);
    CHECK(result.status == 0);
    // A config or spec the guide names is one the repository ships.
    std::istringstream words(c.text);
    std::string word, previous;
    while (words >> word) {
      if (previous == "--config" || (word.rfind("experiments/", 0) == 0 && previous != "--out"))
        CHECK(fs::exists(fs::path(SEQLAB_SOURCE_DIR) / word));
      previous = word;
    }
  }
}

TEST_CASE("every relative link and picture of README.md and docs/ points at a file that exists") {
  int links = 0;
  for (const auto& file : guide_files()) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    for (size_t at = s.find("]("); at != std::string::npos; at = s.find("](", at + 2)) {
      const size_t end = s.find(')', at);
      if (end == std::string::npos) break;
      std::string target = s.substr(at + 2, end - at - 2);
      if (target.find("://") != std::string::npos || target.rfind("#", 0) == 0) continue;
      target = target.substr(0, target.find('#'));
      if (target.empty() || target.find(' ') != std::string::npos) continue;
      ++links;
      INFO(file.filename().string() << " links to " << target);
      CHECK(fs::exists(file.parent_path() / target));
    }
  }
  CHECK(links >= 30);
}
