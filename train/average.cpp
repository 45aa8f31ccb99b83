#include "train/average.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "core/tensor_file.h"
#include "train/run_directory.h"

namespace fs = std::filesystem;

namespace seqlab {

std::vector<std::pair<int64_t, std::string>> kept_step_weights(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(dir)) return found;
  static const std::regex kName(R"(step-([0-9]{1,18})\.safetensors)");
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && !entry.is_symlink() && std::regex_match(name, m, kName))
      found.emplace_back(std::stoll(m[1].str()), entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

void keep_step_weights(torch::nn::Module& model, const std::string& run_dir, int64_t step,
                       int64_t keep) {
  if (keep <= 0) return;
  fs::create_directories(fs::path(run_dir) / "checkpoints");
  save_weights(model, fmt::format("{}/checkpoints/step-{}.safetensors", run_dir, step));
  // Oldest first. A resumed run may find files of steps after the one it resumed at (written
  // before a kill): they are from the abandoned future and go; of the rest the newest `keep` stay.
  const auto kept = kept_step_weights(run_dir);
  const auto past = static_cast<size_t>(
      std::count_if(kept.begin(), kept.end(), [&](const auto& k) { return k.first <= step; }));
  for (size_t i = 0; i < kept.size(); ++i)
    if (i >= past || i + static_cast<size_t>(keep) < past) fs::remove(kept[i].second);
}

Json average_run(const std::string& run_dir, int64_t last, const std::string& out_dir) {
  if (last < 0) throw InputError(fmt::format("--last must be 0 (all) or positive, not {}", last));
  auto kept = kept_step_weights(run_dir);
  if (kept.empty())
    throw InputError(fmt::format(
        "{} kept no checkpoint weights to average (RUN/checkpoints/step-S.safetensors): "
        "train with train.keep_last N",
        run_dir));
  if (last > 0 && static_cast<size_t>(last) > kept.size())
    throw InputError(
        fmt::format("{} kept {} checkpoint(s), fewer than --last {}", run_dir, kept.size(), last));
  if (last > 0) kept.erase(kept.begin(), kept.end() - last);
  LoadedRun run = load_run_without_weights(run_dir, "cpu");
  torch::NoGradGuard no_grad;
  const NamedTensors tensors = module_tensors(*run.model);
  std::map<std::string, torch::Tensor> sums;
  for (const auto& [step, path] : kept) {
    load_weights(*run.model, path);
    for (const auto& [name, tensor] : tensors) {
      if (!tensor.is_floating_point()) {
        sums[name] = tensor.clone();  // the newest wins
        continue;
      }
      auto as_double = tensor.to(torch::kDouble);
      auto it = sums.find(name);
      if (it == sums.end())
        sums[name] = as_double.clone();
      else
        it->second.add_(as_double);
    }
  }
  const double count = static_cast<double>(kept.size());
  for (const auto& [name, tensor] : tensors) {
    const auto& sum = sums.at(name);
    tensor.copy_(tensor.is_floating_point() ? (sum / count).to(tensor.scalar_type()) : sum);
  }
  const std::string out =
      out_dir.empty() ? fmt::format("{}/average-last{}", run_dir, kept.size()) : out_dir;
  fs::create_directories(out);
  for (const char* file : {"config.json", "tokenizer.json", "labels.json"}) {
    const fs::path from = fs::path(run_dir) / file;
    if (fs::exists(from))
      write_file_atomic((fs::path(out) / file).string(), read_file(from.string()));
  }
  save_weights(*run.model, out + "/" + kBestWeightsFile);
  Json steps = Json::array(), files = Json::array();
  for (const auto& [step, path] : kept) {
    steps.push_back(step);
    files.push_back(path);
  }
  Json record = {{"run", out}, {"source", run_dir}, {"steps", steps}, {"files", files}};
  write_file_atomic(out + "/averaged.json", record.dump(2) + "\n");
  return record;
}

}  // namespace seqlab
