#include "train/convert.h"

#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/trust.h"
#include "train/checkpoint.h"
#include "train/optimizers.h"
#include "train/run_directory.h"

namespace fs = std::filesystem;

namespace seqlab {

std::vector<std::string> convert_run(const std::string& run_dir) {
  const fs::path dir(run_dir);
  const fs::path old_best = dir / kLegacyBestWeightsFile,
                 old_checkpoint = dir / kLegacyCheckpointFile;
  if (!fs::exists(old_best) && !fs::exists(old_checkpoint))
    throw InputError(fmt::format("{} holds no {} or {} to convert", run_dir, kLegacyBestWeightsFile,
                                 kLegacyCheckpointFile));
  CodeTrust::require(fs::exists(old_best) ? old_best.string() : old_checkpoint.string(),
                     "in seqlab's format before safetensors");
  std::vector<std::string> written;
  if (fs::exists(old_best)) {
    LoadedRun run = load_run_without_weights(run_dir, "cpu");
    read_legacy_weights(*run.model, old_best.string());
    save_weights(*run.model, (dir / kBestWeightsFile).string());
    written.push_back((dir / kBestWeightsFile).string());
  }
  if (fs::exists(old_checkpoint)) {
    LoadedRun run = load_run_without_weights(run_dir, "cpu");
    // The trainer's optimizer is built over model->parameters() in this order (trainer.cpp).
    auto optimizer = make_optimizer(run.config, run.model->parameters());
    std::map<std::string, torch::Tensor> tensors;
    bool had_optimizer = false;
    // The generator state it restores is the one write_checkpoint stores again.
    TrainState state = read_legacy_checkpoint(old_checkpoint.string(), *run.model, optimizer.get(),
                                              &tensors, &had_optimizer);
    write_checkpoint((dir / kCheckpointFile).string(), *run.model,
                     had_optimizer ? optimizer.get() : nullptr, state, tensors);
    written.push_back((dir / kCheckpointFile).string());
  }
  return written;
}

}  // namespace seqlab
