#include "core/int8_gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <shared_mutex>
#include <unordered_map>

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "core/error.h"
#include "core/gemm.h"

namespace seqlab {
namespace {

constexpr int kActivationLevels = 127;  // 7 bits: no 16-bit saturation without VNNI
constexpr int kWeightLevels = 127;      // symmetric int8, -128 unused
constexpr int64_t kMinSide = 8;         // smaller matrices are not worth a quantized product

// x [M, K] fp32 contiguous -> a [M, K] uint8 in [0, 127], scale [M], zero point [M].
void quantize_activations(const torch::Tensor& x, torch::Tensor& a, torch::Tensor& scale,
                          torch::Tensor& zero) {
  const int64_t m = x.size(0), k = x.size(1);
  a = torch::empty({m, k}, torch::kUInt8);
  scale = torch::empty({m}, torch::kFloat);
  zero = torch::empty({m}, torch::kInt32);
  const float* xs = x.data_ptr<float>();
  uint8_t* as = a.data_ptr<uint8_t>();
  float* ss = scale.data_ptr<float>();
  int32_t* zs = zero.data_ptr<int32_t>();
  at::parallel_for(0, m, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* row = xs + i * k;
      float lo = 0.0f, hi = 0.0f;  // the range holds 0, so the zero point is one of the levels
      for (int64_t j = 0; j < k; ++j) {
        lo = std::min(lo, row[j]);
        hi = std::max(hi, row[j]);
      }
      float s = (hi - lo) / kActivationLevels;
      if (!(s > 0.0f) || !std::isfinite(s)) s = 1.0f;  // all zeros (or not finite: fp32 garbage)
      const float inverse = 1.0f / s;
      const int32_t z = static_cast<int32_t>(
          std::clamp(std::nearbyint(-lo * inverse), 0.0f, static_cast<float>(kActivationLevels)));
      uint8_t* out = as + i * k;
      for (int64_t j = 0; j < k; ++j) {
        const float q = std::nearbyint(row[j] * inverse) + static_cast<float>(z);
        out[j] = static_cast<uint8_t>(std::clamp(q, 0.0f, static_cast<float>(kActivationLevels)));
      }
      ss[i] = s;
      zs[i] = z;
    }
  });
}

struct Entry {
  torch::Tensor weight;  // keeps the data (and so the key) alive and unchanged while registered
  int64_t version;
  std::shared_ptr<Int8Matrix> matrix;
};

std::shared_mutex g_mutex;
std::unordered_map<const void*, Entry> g_entries;
std::atomic<int64_t> g_count{0};

}  // namespace

Int8Matrix quantize_rows(const torch::Tensor& weight) {
  TORCH_CHECK(weight.dim() == 2 && weight.scalar_type() == torch::kFloat,
              "quantize_rows: expected a 2-D fp32 matrix, got ", weight.sizes(), " ",
              weight.scalar_type());
  torch::NoGradGuard no_grad;
  torch::Tensor w = weight.detach().to(torch::kCPU).contiguous();
  torch::Tensor scales = w.abs().amax(1).div(kWeightLevels);
  scales = torch::where(scales > 0, scales, torch::ones_like(scales));
  torch::Tensor values =
      w.div(scales.unsqueeze(1)).round().clamp(-kWeightLevels, kWeightLevels).to(torch::kInt8);
  torch::Tensor row_sums = values.to(torch::kInt32).sum(1).to(torch::kInt32);
  return {values.contiguous(), scales.contiguous(), row_sums.contiguous()};
}

Int8Matrix select_rows(const Int8Matrix& matrix, const torch::Tensor& ids) {
  return {matrix.values.index_select(0, ids).contiguous(),
          matrix.scales.index_select(0, ids).contiguous(),
          matrix.row_sums.index_select(0, ids).contiguous()};
}

torch::Tensor int8_linear(const torch::Tensor& input, const Int8Matrix& weight,
                          const torch::Tensor& bias) {
  const int64_t n = weight.values.size(0), k = weight.values.size(1);
  TORCH_CHECK(input.dim() == 2 && input.scalar_type() == torch::kFloat && input.size(1) == k,
              "int8_linear: expected fp32 [M, ", k, "], got ", input.sizes(), " ",
              input.scalar_type());
  TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == n),
              "int8_linear: expected a bias [", n, "]");
  const torch::Tensor x = input.contiguous();
  const int64_t m = x.size(0);
  torch::Tensor a, scale, zero;
  quantize_activations(x, a, scale, zero);
  torch::Tensor c = torch::empty({m, n}, torch::kInt32);
  const int32_t no_offset = 0;
  dnnl_status_t status = dnnl_gemm_u8s8s32('N', 'T', 'F', m, n, k, 1.0f, a.data_ptr<uint8_t>(), k,
                                           0, weight.values.data_ptr<int8_t>(), k, 0, 0.0f,
                                           c.data_ptr<int32_t>(), n, &no_offset);
  TORCH_CHECK(status == dnnl_success, "oneDNN u8s8s32 gemm failed with status ",
              static_cast<int>(status), " for [", m, ", ", k, "] x [", k, ", ", n, "]");
  torch::Tensor y = torch::empty({m, n}, torch::kFloat);
  const torch::Tensor b = bias.defined() ? bias.contiguous().to(torch::kFloat) : torch::Tensor();
  const int32_t* cs = c.data_ptr<int32_t>();
  const float* sx = scale.data_ptr<float>();
  const int32_t* zx = zero.data_ptr<int32_t>();
  const float* sw = weight.scales.data_ptr<float>();
  const int32_t* rs = weight.row_sums.data_ptr<int32_t>();
  const float* bs = b.defined() ? b.data_ptr<float>() : nullptr;
  float* ys = y.data_ptr<float>();
  at::parallel_for(0, m, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t* crow = cs + i * n;
      float* yrow = ys + i * n;
      const float si = sx[i];
      const int32_t zi = zx[i];
      for (int64_t j = 0; j < n; ++j) {
        const float value = si * sw[j] * static_cast<float>(crow[j] - zi * rs[j]);
        yrow[j] = bs ? value + bs[j] : value;
      }
    }
  });
  return y;
}

bool int8_has_vnni() {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  // dnnl_cpu_isa_t is a bit set: avx512_core_vnni adds 0x40 to avx512_core, avx2_vnni 0x400.
  return (isa & 0x40u) != 0 || (isa & 0x400u) != 0;
}

std::string describe_int8_path() {
  std::string isa = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
  if (isa.rfind("cpu_isa_", 0) == 0) isa = isa.substr(8);
  if (int8_has_vnni()) return fmt::format("int8 ({}, VNNI)", isa);
  return fmt::format(
      "int8 ({}, no VNNI: u8 x s8 pairs summed in 16 bits, often no faster than fp32 sgemm)", isa);
}

struct Int8Weights::BackendHold {
  GemmBackendScope scope{GemmBackend::onednn};
};

Int8Weights::Int8Weights(torch::nn::Module& module) : backend_(std::make_unique<BackendHold>()) {
  std::unique_lock<std::shared_mutex> lock(g_mutex);
  for (const auto& parameter : module.parameters(/*recurse=*/true)) {
    if (parameter.dim() != 2 || parameter.scalar_type() != torch::kFloat ||
        !parameter.device().is_cpu() || parameter.size(0) < kMinSide ||
        parameter.size(1) < kMinSide || !parameter.is_contiguous())
      continue;
    const void* key = parameter.data_ptr();
    if (g_entries.count(key) > 0) continue;  // another Int8Weights holds it (a shared matrix)
    auto matrix = std::make_shared<Int8Matrix>(quantize_rows(parameter));
    g_entries.emplace(key, Entry{parameter, parameter._version(), matrix});
    keys_.push_back(key);
    fp32_bytes_ += parameter.numel() * 4;
    int8_bytes_ += parameter.numel() + parameter.size(0) * 8;
  }
  g_count.fetch_add(static_cast<int64_t>(keys_.size()));
}

Int8Weights::~Int8Weights() {
  std::unique_lock<std::shared_mutex> lock(g_mutex);
  for (const void* key : keys_) g_entries.erase(key);
  g_count.fetch_sub(static_cast<int64_t>(keys_.size()));
}

std::shared_ptr<const Int8Matrix> find_int8_weight(const torch::Tensor& mat2) {
  if (g_count.load(std::memory_order_relaxed) == 0 || c10::GradMode::is_enabled()) return nullptr;
  if (mat2.dim() != 2 || mat2.scalar_type() != torch::kFloat || !mat2.device().is_cpu())
    return nullptr;
  std::shared_lock<std::shared_mutex> lock(g_mutex);
  auto it = g_entries.find(mat2.data_ptr());
  if (it == g_entries.end()) return nullptr;
  const Entry& entry = it->second;
  const int64_t n = entry.weight.size(0), k = entry.weight.size(1);
  if (mat2.size(0) != k || mat2.size(1) != n || mat2.stride(0) != 1 || mat2.stride(1) != k ||
      entry.weight._version() != entry.version)
    return nullptr;
  return entry.matrix;
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "int8") return Precision::int8;
  throw InputError(fmt::format(
      "precision '{}': expected fp32 (the default) or int8 (linear layers' weights quantized per "
      "output channel, activations per row)",
      name));
}

}  // namespace seqlab
