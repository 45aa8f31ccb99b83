#include "train/checkpoint.h"

#include <cmath>

#include <torch/serialize.h>

#include "core/error.h"
#include "core/files.h"

namespace seqlab {

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

TrainState TrainState::from_json(const Json& j) {
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
  return s;
}

void write_checkpoint(const std::string& path, torch::nn::Module& model,
                      torch::optim::Optimizer* optimizer, const TrainState& state,
                      const std::map<std::string, torch::Tensor>& tensors) {
  torch::serialize::OutputArchive archive, model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  for (const auto& [name, tensor] : tensors) archive.write("tensor." + name, tensor);
  archive.write("state", c10::IValue(state.to_json().dump()));
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  archive.write("torch_rng", generator.get_state());
  write_atomic_with(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

TrainState read_checkpoint(const std::string& path, torch::nn::Module& model,
                           torch::optim::Optimizer* optimizer,
                           std::map<std::string, torch::Tensor>* tensors) {
  torch::serialize::InputArchive archive, model_archive;
  c10::IValue state;
  torch::Tensor rng;
  try {
    archive.load_from(path);
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer) {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
    }
    if (tensors)
      for (auto& [name, tensor] : *tensors) archive.read("tensor." + name, tensor);
    archive.read("state", state);
    archive.read("torch_rng", rng);
  } catch (const c10::Error& e) {
    throw InputError(path + ": unreadable checkpoint: " +
                     std::string(e.what_without_backtrace()).substr(0, 300));
  }
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng);
  return TrainState::from_json(Json::parse(state.toStringRef()));
}

}  // namespace seqlab
