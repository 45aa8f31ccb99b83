#include "data/debian_packages.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"

namespace fs = std::filesystem;

namespace seqlab {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

namespace {

bool valid_package_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-'))
      return false;
  return true;
}

// What apt's index says of a package's candidate version.
struct IndexedDeb {
  std::string file;    // the .deb's file name (Filename: without its folder)
  std::string sha256;  // lower-case hex
};

// The first record of `package` in Packages-format text (records separated by empty lines).
IndexedDeb find_record(const std::string& text, const std::string& package) {
  IndexedDeb deb;
  std::istringstream lines(text);
  bool ours = false;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (ours && !deb.file.empty()) break;
      ours = false;
      deb = {};
      continue;
    }
    if (line.rfind("Package: ", 0) == 0) ours = line.substr(9) == package;
    if (line.rfind("Filename: ", 0) == 0) deb.file = fs::path(line.substr(10)).filename().string();
    if (line.rfind("SHA256: ", 0) == 0) deb.sha256 = line.substr(8);
  }
  return ours ? deb : IndexedDeb{};
}

IndexedDeb indexed_deb(const std::string& package) {
  // $SEQLAB_PACKAGE_INDEX: a Packages-format file of the user's (a local mirror's index, or the
  // tests' packages built on the spot), consulted before apt's.
  if (const char* index = std::getenv("SEQLAB_PACKAGE_INDEX"); index && *index) {
    IndexedDeb deb = find_record(read_file(index), package);
    if (!deb.file.empty() && deb.sha256.size() == 64) {
      if (!is_plain_name(deb.file) || fs::path(deb.file).extension() != ".deb")
        throw InputError(fmt::format("{}: package '{}' names the file '{}', not a plain .deb name",
                                     index, package, deb.file));
      return deb;
    }
  }
  CommandResult result =
      run_command(fmt::format("apt-cache show --no-all-versions {}", shell_quote(package)));
  IndexedDeb deb = find_record(result.output, package);
  if (result.status != 0 || deb.file.empty() || deb.sha256.size() != 64)
    throw InputError(
        fmt::format("package '{}' is not in apt's package index (apt-cache show: exit {}). Check "
                    "the name; on a machine whose "
                    "package lists are empty, run `apt-get update` (scripts/setup.sh does)",
                    package, result.status));
  if (!is_plain_name(deb.file) || fs::path(deb.file).extension() != ".deb")
    throw InputError(fmt::format(
        "package '{}': apt's index names the file '{}', not a plain .deb name", package, deb.file));
  return deb;
}

// The file is a regular file (not a link someone planted) with the expected hash.
bool has_hash(const fs::path& file, const std::string& sha256) {
  std::error_code error;
  if (!fs::is_regular_file(fs::symlink_status(file, error))) return false;
  return sha256_file_hex(file.string()) == sha256;
}

std::string last_lines(const std::string& text, size_t count) {
  size_t pos = text.size();
  while (count-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw Error("cannot run: " + command);
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return result;
}

std::vector<std::string> download_debs(const std::vector<std::string>& packages,
                                       const std::string& download_dir) {
  fs::create_directories(download_dir);
  std::vector<std::string> debs;
  for (const auto& package : packages) {
    if (!valid_package_name(package))
      throw InputError("invalid Debian package name '" + package + "'");
    const IndexedDeb indexed = indexed_deb(package);
    const fs::path deb = fs::path(download_dir) / indexed.file;
    if (fs::exists(fs::symlink_status(deb)) && !has_hash(deb, indexed.sha256)) {
      log_warning(fmt::format("{}: not the SHA-256 apt's index gives ({}); fetching it again",
                              deb.string(), indexed.sha256));
      fs::remove(deb);
    }
    if (!fs::exists(fs::symlink_status(deb))) {
      log_info("downloading package " + package);
      // Into a private folder first: a download cut short never looks like a cached .deb.
      std::string partial = (fs::path(download_dir) / (".partial-" + package)).string();
      fs::remove_all(partial);
      fs::create_directories(partial);
      CommandResult result = run_command(fmt::format("cd {} && apt-get download -q {}",
                                                     shell_quote(partial), shell_quote(package)));
      // apt names the file after the version with its epoch ("_4%3a7.4.7-1_all.deb"), the
      // index's Filename without it: take the one .deb the folder holds.
      fs::path fetched;
      int found = 0;
      for (const auto& entry : fs::directory_iterator(partial))
        if (entry.is_regular_file() && entry.path().extension() == ".deb") {
          fetched = entry.path();
          ++found;
        }
      if (result.status != 0 || found != 1) {
        fs::remove_all(partial);
        throw InputError(fmt::format(
            "package '{}' could not be downloaded with `apt-get download` (exit {}):\n{}\n"
            "Check the name; on a machine whose package lists are empty, run `apt-get update` "
            "(scripts/setup.sh does).",
            package, result.status, last_lines(result.output, 3)));
      }
      if (!has_hash(fetched, indexed.sha256)) {
        fs::remove_all(partial);
        throw InputError(fmt::format(
            "package '{}': the downloaded {} does not have the SHA-256 apt's index gives ({})",
            package, indexed.file, indexed.sha256));
      }
      fs::rename(fetched, deb);
      fs::remove_all(partial);
    }
    debs.push_back(deb.string());
  }
  return debs;
}

void unpack_deb(const std::string& deb, const std::string& into) {
  fs::create_directories(into);
  CommandResult result =
      run_command(fmt::format("dpkg-deb -x {} {}", shell_quote(deb), shell_quote(into)));
  if (result.status != 0)
    throw InputError(fmt::format("cannot unpack {} (dpkg-deb exit {}): {}", deb, result.status,
                                 last_lines(result.output, 3)));
}

std::string download_npm(const std::string& spec, const std::string& integrity,
                         const std::string& download_dir) {
  fs::create_directories(download_dir);
  // npm names its tarball NAME-VERSION.tgz (a scope's @ and / become nothing and -).
  std::string file = spec;
  if (!file.empty() && file[0] == '@') file.erase(0, 1);
  std::replace(file.begin(), file.end(), '/', '-');
  auto at = file.rfind('@');
  if (at != std::string::npos) file[at] = '-';
  fs::path tgz = fs::path(download_dir) / (file + ".tgz");
  auto verified = [&](const fs::path& path) {
    std::error_code error;
    return fs::is_regular_file(fs::symlink_status(path, error)) &&
           sha512_file_integrity(path.string()) == integrity;
  };
  if (fs::exists(fs::symlink_status(tgz))) {
    if (verified(tgz)) return tgz.string();
    log_warning(fmt::format("{}: not the published integrity of {} ({}); fetching it again",
                            tgz.string(), spec, integrity));
    fs::remove(tgz);
  }
  if (run_command("command -v npm").status != 0)
    throw InputError(fmt::format("npm is needed to fetch {} (scripts/setup.sh installs it)", spec));
  fs::path partial = fs::path(download_dir) / ".partial-npm";
  fs::remove_all(partial);
  fs::create_directories(partial);
  auto result = run_command(fmt::format("cd {} && npm pack --silent {}",
                                        shell_quote(partial.string()), shell_quote(spec)));
  fs::path fetched = partial / (file + ".tgz");
  if (result.status != 0 || !fs::exists(fetched)) {
    fs::remove_all(partial);
    throw InputError(
        fmt::format("npm package '{}' could not be fetched with `npm pack` (exit {}):\n{}", spec,
                    result.status, last_lines(result.output, 3)));
  }
  if (!verified(fetched)) {
    fs::remove_all(partial);
    throw InputError(fmt::format(
        "npm package '{}': the fetched tarball does not have the published integrity {}", spec,
        integrity));
  }
  fs::rename(fetched, tgz);
  fs::remove_all(partial);
  return tgz.string();
}

std::string package_file(const std::string& root, const std::string& relative) {
  fs::path at = root;
  for (const auto& part : fs::path(relative)) {
    const std::string name = part.string();
    if (name.empty() || name == "." || name == ".." || part.is_absolute() ||
        name.find('/') != std::string::npos)
      return "";
    at /= part;
    std::error_code error;
    const auto status = fs::symlink_status(at, error);
    if (error || fs::is_symlink(status) || !fs::exists(status)) return "";
  }
  std::error_code error;
  return fs::is_regular_file(fs::symlink_status(at, error)) ? at.string() : "";
}

void unpack_tgz(const std::string& tgz, const std::string& into) {
  fs::create_directories(into);
  auto result = run_command(fmt::format("tar --no-same-owner --no-same-permissions -xzf {} -C {}",
                                        shell_quote(tgz), shell_quote(into)));
  if (result.status != 0)
    throw Error(fmt::format("cannot unpack {} (exit {}): {}", tgz, result.status,
                            last_lines(result.output, 3)));
}

}  // namespace seqlab
