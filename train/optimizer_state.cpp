#include "train/optimizer_state.h"

#include <map>

#include <fmt/format.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/torch.h>

#include "core/error.h"

namespace seqlab {
namespace {

// The optimizers' own key for a parameter's state.
std::string state_key(const torch::Tensor& p) {
  return c10::guts::to_string(p.unsafeGetTensorImpl());
}

std::map<const void*, std::string> parameter_names(torch::nn::Module& model) {
  std::map<const void*, std::string> names;
  for (const auto& item : model.named_parameters(/*recurse=*/true))
    names[item.value().unsafeGetTensorImpl()] = item.key();
  return names;
}

std::string kind_of(torch::optim::Optimizer& optimizer) {
  if (dynamic_cast<torch::optim::AdamW*>(&optimizer)) return "adamw";
  if (dynamic_cast<torch::optim::Adam*>(&optimizer)) return "adam";
  if (dynamic_cast<torch::optim::SGD*>(&optimizer)) return "sgd";
  throw Error("checkpoint: this optimizer's state cannot be stored (adamw, adam and sgd can)");
}

template <typename Options>
Json adam_options(const Options& o) {
  return {{"lr", o.lr()},
          {"betas", {std::get<0>(o.betas()), std::get<1>(o.betas())}},
          {"eps", o.eps()},
          {"weight_decay", o.weight_decay()},
          {"amsgrad", o.amsgrad()}};
}
template <typename Options>
void set_adam_options(Options& o, const Json& j) {
  o.lr(j.at("lr").get<double>());
  o.betas(std::make_tuple(j.at("betas").at(0).get<double>(), j.at("betas").at(1).get<double>()));
  o.eps(j.at("eps").get<double>());
  o.weight_decay(j.at("weight_decay").get<double>());
  o.amsgrad(j.at("amsgrad").get<bool>());
}

Json group_options(const std::string& kind, const torch::optim::OptimizerOptions& options) {
  if (kind == "adamw") return adam_options(static_cast<const torch::optim::AdamWOptions&>(options));
  if (kind == "adam") return adam_options(static_cast<const torch::optim::AdamOptions&>(options));
  const auto& o = static_cast<const torch::optim::SGDOptions&>(options);
  return {{"lr", o.lr()},
          {"momentum", o.momentum()},
          {"dampening", o.dampening()},
          {"weight_decay", o.weight_decay()},
          {"nesterov", o.nesterov()}};
}
void set_group_options(const std::string& kind, torch::optim::OptimizerOptions& options,
                       const Json& j) {
  if (kind == "adamw")
    return set_adam_options(static_cast<torch::optim::AdamWOptions&>(options), j);
  if (kind == "adam") return set_adam_options(static_cast<torch::optim::AdamOptions&>(options), j);
  auto& o = static_cast<torch::optim::SGDOptions&>(options);
  o.lr(j.at("lr").get<double>());
  o.momentum(j.at("momentum").get<double>());
  o.dampening(j.at("dampening").get<double>());
  o.weight_decay(j.at("weight_decay").get<double>());
  o.nesterov(j.at("nesterov").get<bool>());
}

// The tensors a parameter's state holds, by field name (undefined ones left out).
template <typename State>
std::map<std::string, torch::Tensor> adam_fields(State& s) {
  std::map<std::string, torch::Tensor> out{{"exp_avg", s.exp_avg()},
                                           {"exp_avg_sq", s.exp_avg_sq()}};
  if (s.max_exp_avg_sq().defined()) out["max_exp_avg_sq"] = s.max_exp_avg_sq();
  return out;
}

}  // namespace

OptimizerSnapshot snapshot_optimizer(torch::optim::Optimizer& optimizer, torch::nn::Module& model,
                                     const std::string& prefix) {
  const std::string kind = kind_of(optimizer);
  const auto names = parameter_names(model);
  OptimizerSnapshot snapshot;
  snapshot.meta = {{"kind", kind}, {"groups", Json::array()}, {"steps", Json::object()}};
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    snapshot.meta["groups"].push_back(group_options(kind, group.options()));
    for (auto& p : group.params()) {
      auto name = names.find(p.unsafeGetTensorImpl());
      if (name == names.end())
        throw Error("checkpoint: the optimizer holds a parameter the model does not have");
      auto found = states.find(state_key(p));
      if (found == states.end()) continue;  // never stepped
      std::map<std::string, torch::Tensor> fields;
      if (kind == "sgd") {
        auto& s = static_cast<torch::optim::SGDParamState&>(*found->second);
        if (s.momentum_buffer().defined()) fields["momentum_buffer"] = s.momentum_buffer();
      } else if (kind == "adamw") {
        auto& s = static_cast<torch::optim::AdamWParamState&>(*found->second);
        snapshot.meta["steps"][name->second] = s.step();
        fields = adam_fields(s);
      } else {
        auto& s = static_cast<torch::optim::AdamParamState&>(*found->second);
        snapshot.meta["steps"][name->second] = s.step();
        fields = adam_fields(s);
      }
      for (const auto& [field, tensor] : fields)
        snapshot.tensors.emplace_back(prefix + name->second + "." + field, tensor);
    }
  }
  return snapshot;
}

void restore_optimizer(torch::optim::Optimizer& optimizer, torch::nn::Module& model,
                       const Json& meta, const TensorFile& file, const std::string& prefix) {
  const std::string kind = kind_of(optimizer);
  const auto names = parameter_names(model);
  with_json_context(file.path() + ": optimizer metadata", [&] {
    if (meta.at("kind").get<std::string>() != kind)
      throw InputError(fmt::format("{}: the checkpoint's optimizer is {}, this run's is {}",
                                   file.path(), meta.at("kind").get<std::string>(), kind));
    const Json& groups = meta.at("groups");
    if (!groups.is_array() || groups.size() != optimizer.param_groups().size())
      throw InputError(fmt::format("{}: the checkpoint has {} parameter groups, the optimizer {}",
                                   file.path(), groups.size(), optimizer.param_groups().size()));
    const Json& steps = meta.at("steps");
    if (!steps.is_object()) throw InputError(file.path() + ": optimizer steps: expected an object");
    // Everything checked (and the new state built aside) before the optimizer is touched.
    std::map<std::string, std::unique_ptr<torch::optim::OptimizerParamState>> built;
    std::vector<Json> options;
    size_t g = 0;
    for (auto& group : optimizer.param_groups()) {
      Json copy = group_options(kind, group.options());
      const Json& saved = groups.at(g++);
      for (const auto& item : copy.items()) {
        const bool same_type = saved.contains(item.key()) &&
                               (saved[item.key()].type() == item.value().type() ||
                                (saved[item.key()].is_number() && item.value().is_number()));
        if (!same_type)
          throw InputError(
              fmt::format("{}: optimizer group option '{}' missing or of the wrong type",
                          file.path(), item.key()));
      }
      options.push_back(saved);
      for (auto& p : group.params()) {
        const std::string& name = names.at(p.unsafeGetTensorImpl());
        auto field = [&](const char* what) -> torch::Tensor {
          const std::string key = prefix + name + "." + what;
          if (!file.has(key)) return {};
          torch::Tensor t = torch::empty_like(p, torch::MemoryFormat::Contiguous).detach();
          file.read_into(key, t);  // checks dtype and shape against the parameter
          return t;
        };
        if (kind == "sgd") {
          torch::Tensor momentum = field("momentum_buffer");
          if (!momentum.defined()) continue;
          auto s = std::make_unique<torch::optim::SGDParamState>();
          s->momentum_buffer(momentum);
          built[state_key(p)] = std::move(s);
          continue;
        }
        const bool has_step = steps.contains(name);
        torch::Tensor m = field("exp_avg"), v = field("exp_avg_sq"), vmax = field("max_exp_avg_sq");
        if (!has_step && !m.defined() && !v.defined()) continue;  // never stepped
        if (!has_step || !m.defined() || !v.defined())
          throw InputError(fmt::format(
              "{}: optimizer state of '{}' is incomplete (step, exp_avg and exp_avg_sq go "
              "together)",
              file.path(), name));
        const int64_t step = steps.at(name).get<int64_t>();
        if (step < 0)
          throw InputError(
              fmt::format("{}: optimizer step of '{}' is negative", file.path(), name));
        if (kind == "adamw") {
          auto s = std::make_unique<torch::optim::AdamWParamState>();
          s->step(step).exp_avg(m).exp_avg_sq(v).max_exp_avg_sq(vmax);
          built[state_key(p)] = std::move(s);
        } else {
          auto s = std::make_unique<torch::optim::AdamParamState>();
          s->step(step).exp_avg(m).exp_avg_sq(v).max_exp_avg_sq(vmax);
          built[state_key(p)] = std::move(s);
        }
      }
    }
    // Every stored optimizer tensor belongs to a parameter of the model.
    for (const auto& [key, entry] : file.header().tensors) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      bool known = false;
      for (const auto& [impl, name] : names)
        if (key.compare(prefix.size(), name.size() + 1, name + ".") == 0) known = true;
      if (!known)
        throw InputError(fmt::format(
            "{}: optimizer tensor '{}' belongs to no parameter of this model", file.path(), key));
    }
    g = 0;
    for (auto& group : optimizer.param_groups())
      set_group_options(kind, group.options(), options[g++]);
    optimizer.state().clear();
    for (auto& [key, state] : built) optimizer.state()[key] = std::move(state);
  });
}

}  // namespace seqlab
