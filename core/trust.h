// Whether this command may load files that are code. A TorchScript archive (the weights format
// before safetensors, a model.vision.pretrained module) is a program: loading it can read and
// write files. seqlab loads one only while a CodeTrust scope granted by the user's --trust-code
// flag is alive. It is not a config key on purpose: a config, spec or run someone sends must not
// be able to turn it on.
#pragma once

#include <string>

namespace seqlab {

class CodeTrust {
 public:
  explicit CodeTrust(bool granted);
  ~CodeTrust();
  CodeTrust(const CodeTrust&) = delete;
  CodeTrust& operator=(const CodeTrust&) = delete;

  // True while a scope that grants trust is alive.
  static bool granted();
  // InputError saying that `path` (which `what` describes) is code and how to allow it, unless
  // granted.
  static void require(const std::string& path, const std::string& what);

 private:
  bool previous_;
};

}  // namespace seqlab
