// File helpers: atomic writes (temp file + fsync + rename, so a crash never leaves a half-written
// file), directories that appear whole or not at all, and the locations seqlab uses.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace seqlab {

// Reads a whole file; InputError naming the file when it cannot be read.
std::string read_file(const std::string& path);

// Writes `content` to `path` atomically.
void write_file_atomic(const std::string& path, const std::string& content);

// Calls `write(tmp_path)` to produce the file, then moves it into place atomically. The temp file
// is removed if `write` throws.
void write_atomic_with(const std::string& path,
                       const std::function<void(const std::string&)>& write);

// A directory that is built under a temporary name and renamed into place by commit(); if the
// object is destroyed before commit() (an exception, an interrupted run), the partial directory
// is removed, so a cache never holds half-built data.
class StagingDirectory {
 public:
  explicit StagingDirectory(std::string final_path);
  ~StagingDirectory();
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;

  const std::string& path() const { return staging_path_; }  // write here
  void commit();  // replaces final_path (an old version is removed)

 private:
  std::string final_path_;
  std::string staging_path_;
  bool committed_ = false;
};

// Root of the seqlab source tree (configs/, experiments/): $SEQLAB_HOME or the build's source dir.
std::string seqlab_home();

// The data cache: $SEQLAB_DATA, else $XDG_CACHE_HOME/seqlab, else ~/.cache/seqlab.
std::string data_cache_dir();

// True when `name` is one plain path component: letters, digits, '.', '_', '-', '=', ',', '+' and
// '~', not starting with '.' or '~', at most 200 bytes. Names from specs, stores and packages that
// become file names must be plain, so no "../" or "/" takes a write outside its folder.
bool is_plain_name(const std::string& name);

// True when `path` (resolved, symlinks included) lies inside `root` (resolved); neither needs to
// exist.
bool lies_inside(const std::string& path, const std::string& root);

// Lines of a text file without their line endings ("\r\n" too).
std::vector<std::string> read_lines(const std::string& path);

}  // namespace seqlab
