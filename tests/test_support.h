// Helpers shared by the test binaries.
#pragma once

#include <string>

namespace seqlab::testing {

// A fresh empty directory under the build's temp area, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_text(const std::string& path, const std::string& content);

}  // namespace seqlab::testing
