// What every harness shares. A reader of untrusted bytes may throw seqlab::InputError (the bytes
// were bad, and the message says so); anything else (a crash, a sanitizer report, another
// exception type escaping, a leak) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace seqlab::fuzz {

// A file holding `bytes`, for readers that take a path (one per process, rewritten each run).
inline std::string as_file(const uint8_t* data, size_t size, const std::string& name) {
  static const std::string dir = [] {
    std::string d = std::filesystem::temp_directory_path().string() + "/seqlab-fuzz-" +
                    std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  const std::string path = dir + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (size) std::fwrite(data, 1, size, file);
  std::fclose(file);
  return path;
}

template <typename Read>
int expect_input_errors_only(Read&& read) {
  try {
    read();
  } catch (const seqlab::InputError&) {
  }
  return 0;
}

}  // namespace seqlab::fuzz
