// Cosine similarity with a learned temperature (as in Graves et al. 2014's content addressing and
// Henry et al. 2020's QK-norm): tau * cos(q, k). Bounded scores; tau starts at 10 so the softmax
// is not flat at initialisation.
#include <torch/torch.h>

#include "models/attention/attention.h"
#include "models/attention/scorer.h"

namespace seqlab {
namespace {

class CosineScorerImpl : public ScorerImpl {
 public:
  explicit CosineScorerImpl(const ScorerDims& d) {
    log_temperature_ = register_parameter("log_temperature", torch::full({1}, std::log(10.0)));
    if (d.key_dim != d.query_dim)
      key_ = register_module(
          "key", torch::nn::Linear(torch::nn::LinearOptions(d.key_dim, d.query_dim).bias(false)));
  }
  torch::Tensor project_keys(const torch::Tensor& k) override {
    auto keys = key_ ? key_(k) : k;
    return torch::nn::functional::normalize(
        keys, torch::nn::functional::NormalizeFuncOptions().dim(-1).eps(1e-6));
  }
  torch::Tensor score(const torch::Tensor& q, const torch::Tensor& kn) override {
    auto qn = torch::nn::functional::normalize(
        q, torch::nn::functional::NormalizeFuncOptions().dim(-1).eps(1e-6));
    return query_key_products(qn, kn) * log_temperature_.exp();  // [B, Tq, Tk]
  }

 private:
  torch::Tensor log_temperature_;
  torch::nn::Linear key_{nullptr};
};

const bool registered =
    register_scorer<CosineScorerImpl>("cosine", "temperature * cos(q, k), learned temperature");

}  // namespace
}  // namespace seqlab
