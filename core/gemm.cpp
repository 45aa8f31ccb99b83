#include "core/gemm.h"

#include <cstdlib>
#include <memory>
#include <mutex>

#include <ATen/native/Resize.h>
#include <ATen/ops/addmm_cpu_dispatch.h>
#include <ATen/ops/mm_cpu_dispatch.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <torch/library.h>

#include "core/error.h"
#include "core/int8_gemm.h"

namespace seqlab {
namespace {

using at::Tensor;

// A 2-D fp32 operand as sgemm reads it: row-major with leading dimension `ld`, or its transpose
// ('T'). Anything else (a broadcast or a gathered view) is copied to contiguous rows first.
struct Operand {
  const float* data;
  char trans;
  int64_t ld;
  Tensor keep;  // owns the copy when one was made
};

Operand operand(const Tensor& t) {
  const int64_t rows = t.size(0), cols = t.size(1);
  const int64_t s0 = t.stride(0), s1 = t.stride(1);
  if (s1 == 1 && s0 >= std::max<int64_t>(1, cols)) return {t.data_ptr<float>(), 'N', s0, {}};
  if (s0 == 1 && s1 >= std::max<int64_t>(1, rows)) return {t.data_ptr<float>(), 'T', s1, {}};
  Tensor copy = t.contiguous();
  return {copy.data_ptr<float>(), 'N', std::max<int64_t>(1, cols), copy};
}

bool writable_rows(const Tensor& c) {
  return c.stride(1) == 1 && c.stride(0) >= std::max<int64_t>(1, c.size(1));
}

// The products this backend takes: fp32 CPU matrices with something to multiply. The rest (other
// dtypes, empty dimensions, mismatched shapes: LibTorch's kernel gives the usual error) goes to
// LibTorch's own kernel.
bool takes(const Tensor& a, const Tensor& b) {
  return a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && a.dim() == 2 &&
         b.dim() == 2 && a.layout() == at::kStrided && b.layout() == at::kStrided &&
         a.size(1) == b.size(0) && a.numel() > 0 && b.numel() > 0 && !a.is_conj() && !b.is_conj() &&
         !a.is_neg() && !b.is_neg();
}

// c = alpha a b + beta c, c [M, N] writable rows (beta 0: c is not read).
void sgemm(const Tensor& a, const Tensor& b, float alpha, float beta, Tensor& c) {
  Operand x = operand(a), y = operand(b);
  const int64_t m = a.size(0), n = b.size(1), k = a.size(1);
  dnnl_status_t status = dnnl_sgemm(x.trans, y.trans, m, n, k, alpha, x.data, x.ld, y.data, y.ld,
                                    beta, c.data_ptr<float>(), c.stride(0));
  TORCH_CHECK(status == dnnl_success, "oneDNN sgemm failed with status ", static_cast<int>(status),
              " for [", m, ", ", k, "] x [", k, ", ", n, "]");
}

// out = alpha a b + beta self, out already [M, N]; `self` is broadcast to [M, N] (a bias row)
// and not read when beta is 0. An output whose rows are not contiguous gets the values through a
// temporary.
void product_into(Tensor& out, const Tensor& a, const Tensor& b, float alpha, float beta,
                  const Tensor& self) {
  Tensor c = writable_rows(out) ? out : at::empty(out.sizes(), out.options());
  if (beta != 0.0f && !c.is_same(self)) c.copy_(self.expand({out.size(0), out.size(1)}));
  sgemm(a, b, alpha, beta, c);
  if (!c.is_same(out)) out.copy_(c);
}

bool fp32_out(const Tensor& t) {
  return t.scalar_type() == at::kFloat && t.layout() == at::kStrided;
}

Tensor mm(const Tensor& self, const Tensor& mat2) {
  if (!takes(self, mat2)) return at::cpu::mm(self, mat2);
  if (auto int8 = find_int8_weight(mat2)) return int8_linear(self, *int8);
  Tensor out = at::empty({self.size(0), mat2.size(1)}, self.options());
  product_into(out, self, mat2, 1.0f, 0.0f, {});
  return out;
}

Tensor& mm_out(const Tensor& self, const Tensor& mat2, Tensor& out) {
  if (!takes(self, mat2) || !fp32_out(out) || out.is_same(self) || out.is_same(mat2))
    return at::cpu::mm_out(out, self, mat2);
  at::native::resize_output(out, {self.size(0), mat2.size(1)});
  product_into(out, self, mat2, 1.0f, 0.0f, {});
  return out;
}

bool takes_bias(const Tensor& self, const Tensor& a, const Tensor& b) {
  if (self.scalar_type() != at::kFloat || self.layout() != at::kStrided || self.dim() > 2)
    return false;
  // self must broadcast to [M, N]
  const int64_t m = a.size(0), n = b.size(1);
  if (self.dim() == 2)
    return (self.size(0) == m || self.size(0) == 1) && (self.size(1) == n || self.size(1) == 1);
  if (self.dim() == 1) return self.size(0) == n || self.size(0) == 1;
  return true;
}

Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2, const at::Scalar& beta,
             const at::Scalar& alpha) {
  if (!takes(mat1, mat2) || !takes_bias(self, mat1, mat2))
    return at::cpu::addmm(self, mat1, mat2, beta, alpha);
  if (auto int8 = find_int8_weight(mat2); int8 && alpha.toFloat() == 1.0f) {
    Tensor out = int8_linear(mat1, *int8);
    if (beta.toFloat() != 0.0f) out.add_(self.expand({out.size(0), out.size(1)}), beta);
    return out;
  }
  Tensor out = at::empty({mat1.size(0), mat2.size(1)}, mat1.options());
  product_into(out, mat1, mat2, alpha.toFloat(), beta.toFloat(), self);
  return out;
}

Tensor& addmm_out(const Tensor& self, const Tensor& mat1, const Tensor& mat2,
                  const at::Scalar& beta, const at::Scalar& alpha, Tensor& out) {
  if (!takes(mat1, mat2) || !takes_bias(self, mat1, mat2) || !fp32_out(out) || out.is_same(mat1) ||
      out.is_same(mat2))
    return at::cpu::addmm_out(out, self, mat1, mat2, beta, alpha);
  if (!out.is_same(self)) at::native::resize_output(out, {mat1.size(0), mat2.size(1)});
  if (out.size(0) != mat1.size(0) || out.size(1) != mat2.size(1))
    return at::cpu::addmm_out(out, self, mat1, mat2, beta, alpha);  // LibTorch's own shape error
  product_into(out, mat1, mat2, alpha.toFloat(), beta.toFloat(), self);
  return out;
}

Tensor& addmm_inplace(Tensor& self, const Tensor& mat1, const Tensor& mat2, const at::Scalar& beta,
                      const at::Scalar& alpha) {
  if (!takes(mat1, mat2) || !fp32_out(self) || self.dim() != 2 || self.size(0) != mat1.size(0) ||
      self.size(1) != mat2.size(1) || self.is_same(mat1) || self.is_same(mat2))
    return at::cpu::addmm_(self, mat1, mat2, beta, alpha);
  product_into(self, mat1, mat2, alpha.toFloat(), beta.toFloat(), self);
  return self;
}

std::mutex g_mutex;
std::unique_ptr<torch::Library> g_library;  // alive while the oneDNN kernels are registered

}  // namespace

GemmBackend gemm_backend_from_environment() {
  const char* value = std::getenv("SEQLAB_GEMM");
  if (value == nullptr || std::string(value).empty() || std::string(value) == "onednn")
    return GemmBackend::onednn;
  if (std::string(value) == "blas") return GemmBackend::blas;
  throw InputError(
      fmt::format("SEQLAB_GEMM={}: expected onednn (the default: oneDNN's sgemm for the CPU's "
                  "instruction set) or blas (LibTorch's BLAS)",
                  value));
}

namespace {

void switch_backend(GemmBackend backend) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (backend == GemmBackend::blas) {
    g_library.reset();  // the registrations leave with it; LibTorch's kernels come back
    return;
  }
  if (g_library) return;
  // Registering a kernel for an operator and key that already have one replaces it, with a
  // warning per operator that says so; it is what this does on purpose.
  struct Quiet : c10::WarningHandler {
    void process(const c10::SourceLocation&, const std::string&, const bool) override {}
  } quiet;
  c10::Warning::WarningHandlerGuard guard(&quiet);
  auto library =
      std::make_unique<torch::Library>(torch::Library::IMPL, "aten", c10::DispatchKey::CPU,
                                       __FILE__, static_cast<uint32_t>(__LINE__));
  library->impl("mm", TORCH_FN(mm));
  library->impl("mm.out", TORCH_FN(mm_out));
  library->impl("addmm", TORCH_FN(addmm));
  library->impl("addmm.out", TORCH_FN(addmm_out));
  library->impl("addmm_", TORCH_FN(addmm_inplace));
  g_library = std::move(library);
}

}  // namespace

GemmBackendScope::GemmBackendScope(GemmBackend backend) : previous_(gemm_backend()) {
  switch_backend(backend);
}

GemmBackendScope::~GemmBackendScope() { switch_backend(previous_); }

GemmBackend gemm_backend() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_library ? GemmBackend::onednn : GemmBackend::blas;
}

std::string describe_gemm_backend() {
  if (gemm_backend() == GemmBackend::blas) return "blas";
  std::string isa = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());  // "cpu_isa_avx512_core", ...
  if (isa.rfind("cpu_isa_", 0) == 0) isa = isa.substr(8);
  return fmt::format("onednn ({})", isa);
}

}  // namespace seqlab
