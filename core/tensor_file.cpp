#include "core/tensor_file.h"

#include <fstream>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"

namespace seqlab {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors stores little-endian bytes");

const std::vector<std::pair<torch::ScalarType, const char*>>& dtype_names() {
  static const std::vector<std::pair<torch::ScalarType, const char*>> names = {
      {torch::kFloat, "F32"},    {torch::kDouble, "F64"}, {torch::kLong, "I64"},
      {torch::kInt, "I32"},      {torch::kShort, "I16"},  {torch::kChar, "I8"},
      {torch::kByte, "U8"},      {torch::kBool, "BOOL"},  {torch::kHalf, "F16"},
      {torch::kBFloat16, "BF16"}};
  return names;
}

std::string dtype_name(torch::ScalarType type) {
  for (const auto& [t, name] : dtype_names())
    if (t == type) return name;
  throw Error(fmt::format("a tensor of type {} cannot be stored", c10::toString(type)));
}

std::optional<torch::ScalarType> dtype_of(const std::string& name) {
  for (const auto& [t, n] : dtype_names())
    if (name == n) return t;
  return std::nullopt;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

void write_tensor_file(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorLayout> layout;
  std::vector<torch::Tensor> contiguous;
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    if (!names.insert(name).second)
      throw Error(fmt::format("{}: two tensors named '{}'", path, name));
    auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    layout.push_back(
        {name, dtype_name(cpu.scalar_type()), cpu.sizes().vec(), uint64_t(cpu.nbytes())});
    contiguous.push_back(std::move(cpu));
  }
  const std::string header = format_safetensors_header(layout, metadata);
  write_atomic_with(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& t : contiguous)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    out.flush();
    if (!out) throw Error("write failed for " + tmp + " (disk full?)");
  });
}

TensorFile::TensorFile(std::string path) : path_(std::move(path)) {
  if (looks_like_torchscript_archive(path_))
    throw InputError(
        fmt::format("{} is a TorchScript archive (seqlab's format before safetensors): loading one "
                    "can run code it contains. "
                    "If you trust where it came from, convert the run once with `seqlab convert "
                    "RUN_DIR --trust-code`",
                    path_));
  header_ = read_safetensors_header(path_);
}

const std::string& TensorFile::metadata(const std::string& key) const {
  auto it = header_.metadata.find(key);
  if (it == header_.metadata.end())
    throw InputError(fmt::format("{}: no '{}' in its metadata", path_, key));
  return it->second;
}

void TensorFile::check(const std::string& name, const torch::Tensor& like) const {
  auto it = header_.tensors.find(name);
  if (it == header_.tensors.end())
    throw InputError(
        fmt::format("{}: no tensor '{}' (a file of another model or config?)", path_, name));
  const TensorEntry& entry = it->second;
  const std::string want_dtype = dtype_name(like.scalar_type());
  const std::vector<int64_t> want_shape = like.sizes().vec();
  if (entry.dtype != want_dtype || entry.shape != want_shape)
    throw InputError(fmt::format(
        "{}: tensor '{}' is {} {}, the model expects {} {} (a file of another model or "
        "config?)",
        path_, name, entry.dtype, shape_text(entry.shape), want_dtype, shape_text(want_shape)));
}

torch::Tensor TensorFile::read(const std::string& name) const {
  auto it = header_.tensors.find(name);
  if (it == header_.tensors.end()) throw InputError(fmt::format("{}: no tensor '{}'", path_, name));
  const TensorEntry& entry = it->second;
  auto dtype = dtype_of(entry.dtype);
  if (!dtype)
    throw InputError(fmt::format("{}: tensor '{}' has dtype {}, which seqlab does not read", path_,
                                 name, entry.dtype));
  torch::Tensor out = torch::empty(entry.shape, torch::TensorOptions().dtype(*dtype));
  std::ifstream in(path_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(header_.data_offset + entry.begin));
  if (!in.read(static_cast<char*>(out.data_ptr()),
               static_cast<std::streamsize>(entry.end - entry.begin)))
    throw InputError(fmt::format(
        "{}: cannot read the bytes of tensor '{}' (file changed while read?)", path_, name));
  if (*dtype == torch::kBool) {  // any byte but 0 and 1 is not a bool
    const auto* bytes = static_cast<const uint8_t*>(out.data_ptr());
    for (int64_t i = 0; i < out.numel(); ++i)
      if (bytes[i] > 1)
        throw InputError(
            fmt::format("{}: tensor '{}' holds a bool that is neither 0 nor 1", path_, name));
  }
  return out;
}

void TensorFile::read_into(const std::string& name, torch::Tensor& target) const {
  check(name, target);
  torch::NoGradGuard no_grad;
  target.copy_(read(name));
}

NamedTensors module_tensors(torch::nn::Module& module, const std::string& prefix) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    if (item.value().defined()) out.emplace_back(prefix + item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    if (item.value().defined()) out.emplace_back(prefix + item.key(), item.value());
  return out;
}

void load_module_tensors(torch::nn::Module& module, const TensorFile& file,
                         const std::string& prefix) {
  NamedTensors tensors = module_tensors(module, prefix);
  std::set<std::string> expected;
  for (const auto& [name, tensor] : tensors) {
    file.check(name, tensor);
    expected.insert(name);
  }
  for (const auto& [name, entry] : file.header().tensors)
    if (name.compare(0, prefix.size(), prefix) == 0 && !expected.count(name))
      throw InputError(fmt::format(
          "{}: holds tensor '{}', which this model does not have (a file of another model "
          "or config?)",
          file.path(), name));
  for (auto& [name, tensor] : tensors) file.read_into(name, tensor);
}

}  // namespace seqlab
