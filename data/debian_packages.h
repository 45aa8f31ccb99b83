// Package files without installing anything: `apt-get download` fetches .debs (no dependency
// trees) into a cache folder that later runs reuse, and `dpkg-deb -x` unpacks one into a folder.
#pragma once

#include <string>
#include <vector>

namespace seqlab {

// Downloads each package (or reuses a .deb already in `download_dir`); returns the .deb paths.
// Every .deb, fetched or reused, must have the SHA-256 that apt's (signed) package index gives
// for the candidate version; a cached file that does not is fetched again. InputError naming the
// package when apt cannot find it or the hash does not match.
std::vector<std::string> download_debs(const std::vector<std::string>& packages,
                                       const std::string& download_dir);

// Unpacks a .deb's files under `into` (nothing is installed). Error naming the file on failure.
void unpack_deb(const std::string& deb, const std::string& into);

// npm packages the same way: `npm pack NAME@VERSION` fetches the .tgz into `download_dir` (or
// reuses it); returns its path. `integrity` is the version's published Subresource Integrity
// ("sha512-...", `npm view NAME@VERSION dist.integrity`), pinned by the recipe: a tarball, fetched
// or reused, that does not have it is refused. InputError when npm is missing or cannot fetch it.
std::string download_npm(const std::string& spec, const std::string& integrity,
                         const std::string& download_dir);
// Unpacks a .tgz under `into` (an npm tarball's files land in into/package/).
void unpack_tgz(const std::string& tgz, const std::string& into);

// `relative` inside an unpacked package: its path, when every component is a plain name (no "..",
// nothing absolute), none of them a symbolic link, and the last a regular file; "" when there is
// no such file. A package's own symlinks are never followed out of its folder.
std::string package_file(const std::string& root, const std::string& relative);

// Runs a shell command, returning its exit status and combined output.
struct CommandResult {
  int status = 0;
  std::string output;
};
CommandResult run_command(const std::string& command);

// `text` as one single-quoted shell word.
std::string shell_quote(const std::string& text);

}  // namespace seqlab
