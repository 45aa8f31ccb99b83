// Tensors in and out of safetensors files (core/safetensors.h): what weights and checkpoints are
// made of. Reading checks a tensor's dtype and shape against the one it is read into before a byte
// is copied, so a file of another model is an InputError naming the tensor, never a crash later.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "core/safetensors.h"

namespace seqlab {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes the tensors (any device; written as their CPU, contiguous, little-endian bytes) and the
// metadata, atomically.
void write_tensor_file(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

class TensorFile {
 public:
  // Reads and checks the header; InputError naming the file when it is not a valid safetensors
  // file (and a pointer to `seqlab convert` when it is an old TorchScript archive).
  explicit TensorFile(std::string path);

  const std::string& path() const { return path_; }
  const TensorFileHeader& header() const { return header_; }
  bool has(const std::string& name) const { return header_.tensors.count(name) > 0; }
  // A metadata value; InputError naming the file and key when it is absent.
  const std::string& metadata(const std::string& key) const;

  // InputError unless `name` is there with `like`'s dtype and shape.
  void check(const std::string& name, const torch::Tensor& like) const;
  // Copies the stored bytes into `target` (any device), after check().
  void read_into(const std::string& name, torch::Tensor& target) const;
  // A new CPU tensor of the stored dtype and shape.
  torch::Tensor read(const std::string& name) const;

 private:
  std::string path_;
  TensorFileHeader header_;
};

// A module's parameters and buffers by their registered names (the checkpoint keys), each with
// `prefix` in front.
NamedTensors module_tensors(torch::nn::Module& module, const std::string& prefix = "");

// Checks that `file` holds exactly the module's tensors under `prefix` (none missing, none extra,
// each with its dtype and shape), then copies them in. Nothing is copied when a check fails.
void load_module_tensors(torch::nn::Module& module, const TensorFile& file,
                         const std::string& prefix = "");

}  // namespace seqlab
