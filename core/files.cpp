#include "core/files.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

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

namespace {

// The cache holds packages and corpora other runs trust: it must be this user's alone. Created
// with mode 0700; an existing one must be a real directory (not a link) owned by this user, and
// loses any group/other permissions.
void make_private_directory(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir.parent_path(), error);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(
        fmt::format("cannot create the data cache {}: {}", dir.string(), std::strerror(errno)));
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    throw InputError(
        fmt::format("the data cache {} is not a directory (a symbolic link?); set SEQLAB_DATA to a "
                    "folder of your own",
                    dir.string()));
  if (info.st_uid != ::geteuid())
    throw InputError(fmt::format(
        "the data cache {} belongs to another user (uid {}); set SEQLAB_DATA to a folder "
        "of your own",
        dir.string(), info.st_uid));
  if ((info.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    throw Error(fmt::format("cannot make the data cache {} private: {}", dir.string(),
                            std::strerror(errno)));
}

}  // namespace

std::string data_cache_dir() {
  fs::path dir;
  if (const char* explicit_dir = std::getenv("SEQLAB_DATA"); explicit_dir && *explicit_dir) {
    dir = explicit_dir;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    dir = fs::path(xdg) / "seqlab";
  } else {
    // $HOME, else the account's home directory; never a folder every user shares.
    const char* home = std::getenv("HOME");
    std::string home_dir = home && *home ? home : "";
    if (home_dir.empty())
      if (const struct passwd* account = ::getpwuid(::geteuid()); account && account->pw_dir)
        home_dir = account->pw_dir;
    dir = home_dir.empty() ? fs::path(fmt::format("/tmp/seqlab-cache-{}", ::geteuid()))
                           : fs::path(home_dir) / ".cache" / "seqlab";
  }
  make_private_directory(fs::absolute(dir));
  return dir.string();
}

bool is_plain_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name[0] == '.' || name[0] == '~') return false;
  // '~' appears in Debian versions (dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb); it
  // only means a home directory at the start of a shell word, which the first character rules out.
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
          c == '=' || c == ',' || c == '+' || c == '~'))
      return false;
  return true;
}

bool lies_inside(const std::string& path, const std::string& root) {
  std::error_code error;
  const fs::path resolved = fs::weakly_canonical(fs::absolute(path), error);
  if (error) return false;
  const fs::path base = fs::weakly_canonical(fs::absolute(root), error);
  if (error) return false;
  auto p = resolved.begin();
  for (auto b = base.begin(); b != base.end(); ++b, ++p) {
    if (b->empty()) continue;  // a trailing separator
    if (p == resolved.end() || *p != *b) return false;
  }
  return true;
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
