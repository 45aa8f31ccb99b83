#include "train/checkpoint.h"

#include <cmath>

#include <fmt/format.h>
#include <torch/serialize.h>

#include "core/error.h"
#include "core/files.h"
#include "core/tensor_file.h"
#include "core/trust.h"
#include "train/optimizer_state.h"

namespace seqlab {
namespace {

constexpr const char* kFormat = "seqlab-checkpoint";
constexpr const char* kFormatVersion = "1";

}  // namespace

Json TrainState::to_json() const {
  return {{"step", step},
          {"epoch", epoch},
          {"batch_in_epoch", batch_in_epoch},
          {"best_valid_loss", std::isfinite(best_valid_loss) ? Json(best_valid_loss) : Json()},
          {"best_valid_bleu", best_valid_bleu},
          {"validations_without_improvement", validations_without_improvement},
          {"early_stopped", early_stopped},
          {"elapsed_seconds", elapsed_seconds},
          {"schedule", schedule},
          {"extra", extra}};
}

TrainState TrainState::from_json(const Json& j, const std::string& origin) {
  return with_json_context(origin + ": training state", [&] {
    TrainState s;
    s.step = j.at("step");
    s.epoch = j.at("epoch");
    s.batch_in_epoch = j.at("batch_in_epoch");
    s.best_valid_loss = j.at("best_valid_loss").is_null() ? std::numeric_limits<double>::infinity()
                                                          : j.at("best_valid_loss").get<double>();
    s.best_valid_bleu = j.at("best_valid_bleu");
    s.validations_without_improvement = j.at("validations_without_improvement");
    s.early_stopped = j.value("early_stopped", false);
    s.elapsed_seconds = j.value("elapsed_seconds", 0.0);
    s.schedule = j.value("schedule", Json::object());
    s.extra = j.value("extra", Json::object());
    if (s.step < 0 || s.epoch < 0 || s.batch_in_epoch < 0)
      throw InputError(
          fmt::format("{}: training state has a negative step, epoch or batch", origin));
    return s;
  });
}

void write_checkpoint(const std::string& path, torch::nn::Module& model,
                      torch::optim::Optimizer* optimizer, const TrainState& state,
                      const std::map<std::string, torch::Tensor>& tensors) {
  NamedTensors stored = module_tensors(model, "model.");
  std::map<std::string, std::string> metadata{
      {"format", kFormat}, {"format_version", kFormatVersion}, {"state", state.to_json().dump()}};
  if (optimizer) {
    OptimizerSnapshot snapshot = snapshot_optimizer(*optimizer, model, "optimizer.");
    stored.insert(stored.end(), snapshot.tensors.begin(), snapshot.tensors.end());
    metadata["optimizer"] = snapshot.meta.dump();
  }
  for (const auto& [name, tensor] : tensors) stored.emplace_back("tensor." + name, tensor);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  stored.emplace_back("torch_rng", generator.get_state());
  write_tensor_file(path, stored, metadata);
}

TrainState read_checkpoint(const std::string& path, torch::nn::Module& model,
                           torch::optim::Optimizer* optimizer,
                           std::map<std::string, torch::Tensor>* tensors) {
  TensorFile file(path);
  if (file.header().metadata.count("format") == 0 || file.metadata("format") != kFormat)
    throw InputError(fmt::format("{}: not a seqlab checkpoint (its metadata has no format \"{}\")",
                                 path, kFormat));
  if (file.metadata("format_version") != kFormatVersion)
    throw InputError(fmt::format("{}: checkpoint format version {} (this seqlab reads {})", path,
                                 file.metadata("format_version"), kFormatVersion));
  // Checks first: the state, the model's tensors, the named tensors, the generator state.
  TrainState state =
      TrainState::from_json(parse_json(file.metadata("state"), path + ": state"), path);
  for (const auto& [name, tensor] : module_tensors(model, "model.")) file.check(name, tensor);
  if (tensors)
    for (const auto& [name, tensor] : *tensors) file.check("tensor." + name, tensor);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  file.check("torch_rng", generator.get_state());
  if (optimizer && !file.header().metadata.count("optimizer"))
    throw InputError(
        fmt::format("{}: holds no optimizer state (a fitted run's checkpoint?)", path));
  // Then the copies; the optimizer checks its own part before it changes anything.
  if (optimizer) {
    const Json meta = parse_json(file.metadata("optimizer"), path + ": optimizer");
    restore_optimizer(*optimizer, model, meta, file, "optimizer.");
  }
  load_module_tensors(model, file, "model.");
  if (tensors)
    for (auto& [name, tensor] : *tensors) file.read_into("tensor." + name, tensor);
  generator.set_state(file.read("torch_rng"));
  return state;
}

TrainState read_legacy_checkpoint(const std::string& path, torch::nn::Module& model,
                                  torch::optim::Optimizer* optimizer,
                                  std::map<std::string, torch::Tensor>* tensors,
                                  bool* had_optimizer) {
  CodeTrust::require(path, "a checkpoint in seqlab's format before safetensors");
  torch::serialize::InputArchive archive, model_archive;
  c10::IValue state;
  torch::Tensor rng;
  try {
    archive.load_from(path);
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer) {
      torch::serialize::InputArchive optimizer_archive;
      const bool found = archive.try_read("optimizer", optimizer_archive);
      if (found) optimizer->load(optimizer_archive);
      if (had_optimizer) *had_optimizer = found;
    }
    if (tensors)
      for (const auto& key : archive.keys())
        if (key.rfind("tensor.", 0) == 0) {
          torch::Tensor t;
          archive.read(key, t);
          (*tensors)[key.substr(7)] = t;
        }
    archive.read("state", state);
    archive.read("torch_rng", rng);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw InputError(path + ": unreadable checkpoint: " + what.substr(0, what.find('\n')));
  }
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng);
  return TrainState::from_json(parse_json(state.toStringRef(), path + ": state"), path);
}

void read_legacy_weights(torch::nn::Module& model, const std::string& path,
                         const std::string& entry) {
  CodeTrust::require(path, "weights in seqlab's format before safetensors");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
    if (entry.empty()) {
      model.load(archive);
    } else {
      torch::serialize::InputArchive nested;
      archive.read(entry, nested);
      model.load(nested);
    }
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw InputError(path + ": cannot load weights (corrupt, or from a different model config): " +
                     what.substr(0, what.find('\n')));
  }
}

}  // namespace seqlab
