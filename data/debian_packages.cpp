#include "data/debian_packages.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"

namespace fs = std::filesystem;

namespace seqlab {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
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

std::string find_deb(const std::string& dir, const std::string& package) {
  if (!fs::exists(dir)) return "";
  std::string prefix = package + "_";
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) == 0 && entry.path().extension() == ".deb")
      return entry.path().string();
  }
  return "";
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
    std::string deb = find_deb(download_dir, package);
    if (deb.empty()) {
      log_info("downloading package " + package);
      // Into a private folder first: a download cut short never looks like a cached .deb.
      std::string partial = (fs::path(download_dir) / (".partial-" + package)).string();
      fs::remove_all(partial);
      fs::create_directories(partial);
      CommandResult result =
          run_command(fmt::format("cd {} && apt-get download -q {}", shell_quote(partial),
                                  shell_quote(package)));
      std::string fetched = find_deb(partial, package);
      if (result.status != 0 || fetched.empty()) {
        fs::remove_all(partial);
        throw InputError(fmt::format(
            "package '{}' could not be downloaded with `apt-get download` (exit {}):\n{}\n"
            "Check the name; on a machine whose package lists are empty, run `apt-get update` "
            "(scripts/setup.sh does).",
            package, result.status, last_lines(result.output, 3)));
      }
      deb = (fs::path(download_dir) / fs::path(fetched).filename()).string();
      fs::rename(fetched, deb);
      fs::remove_all(partial);
    }
    debs.push_back(deb);
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

std::string download_npm(const std::string& spec, const std::string& download_dir) {
  fs::create_directories(download_dir);
  // npm names its tarball NAME-VERSION.tgz (a scope's @ and / become nothing and -).
  std::string file = spec;
  if (!file.empty() && file[0] == '@') file.erase(0, 1);
  std::replace(file.begin(), file.end(), '/', '-');
  auto at = file.rfind('@');
  if (at != std::string::npos) file[at] = '-';
  fs::path tgz = fs::path(download_dir) / (file + ".tgz");
  if (fs::exists(tgz)) return tgz.string();
  if (run_command("command -v npm").status != 0)
    throw InputError(fmt::format("npm is needed to fetch {} (scripts/setup.sh installs it)", spec));
  fs::path partial = fs::path(download_dir) / ".partial-npm";
  fs::remove_all(partial);
  fs::create_directories(partial);
  auto result = run_command(fmt::format("cd {} && npm pack --silent {}", shell_quote(partial.string()), shell_quote(spec)));
  fs::path fetched = partial / (file + ".tgz");
  if (result.status != 0 || !fs::exists(fetched)) {
    fs::remove_all(partial);
    throw InputError(fmt::format("npm package '{}' could not be fetched with `npm pack` (exit {}):\n{}", spec,
                                 result.status, last_lines(result.output, 3)));
  }
  fs::rename(fetched, tgz);
  fs::remove_all(partial);
  return tgz.string();
}

void unpack_tgz(const std::string& tgz, const std::string& into) {
  fs::create_directories(into);
  auto result = run_command(fmt::format("tar -xzf {} -C {}", shell_quote(tgz), shell_quote(into)));
  if (result.status != 0)
    throw Error(fmt::format("cannot unpack {} (exit {}): {}", tgz, result.status, last_lines(result.output, 3)));
}

}  // namespace seqlab
