#include "core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"
#include "seqlab_paths.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

std::string unique_suffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(getpid()));
  std::ostringstream out;
  out << ".tmp-" << getpid() << "-" << std::hex << (rng() & 0xffffff);
  return out.str();
}

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;  // best effort on filesystems that refuse it
  ::fsync(fd);
  ::close(fd);
}

std::string parent_dir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_atomic_with(const std::string& path,
                       const std::function<void(const std::string&)>& write) {
  std::string dir = parent_dir(path);
  fs::create_directories(dir);
  std::string tmp = path + unique_suffix();
  try {
    write(tmp);
    fsync_path(tmp, false);
    fs::rename(tmp, path);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  fsync_path(dir, true);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  write_atomic_with(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + tmp + ": " + std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) throw Error("write failed for " + tmp + " (disk full?)");
  });
}

StagingDirectory::StagingDirectory(std::string final_path) : final_path_(std::move(final_path)) {
  fs::create_directories(parent_dir(final_path_));
  staging_path_ = final_path_ + unique_suffix();
  fs::create_directories(staging_path_);
}

StagingDirectory::~StagingDirectory() {
  if (!committed_) {
    std::error_code ignored;
    fs::remove_all(staging_path_, ignored);
  }
}

void StagingDirectory::commit() {
  std::string old = final_path_ + unique_suffix();
  bool had_old = fs::exists(final_path_);
  if (had_old) fs::rename(final_path_, old);
  fs::rename(staging_path_, final_path_);
  committed_ = true;
  if (had_old) fs::remove_all(old);
  fsync_path(parent_dir(final_path_), true);
}

std::string seqlab_home() {
  if (const char* home = std::getenv("SEQLAB_HOME"); home && *home) return home;
#ifdef SEQLAB_SOURCE_DIR
  return SEQLAB_SOURCE_DIR;
#else
  return ".";
#endif
}

std::string data_cache_dir() {
  if (const char* dir = std::getenv("SEQLAB_DATA"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return (fs::path(xdg) / "seqlab").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home && *home ? home : "/tmp") / ".cache" / "seqlab").string();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace seqlab
