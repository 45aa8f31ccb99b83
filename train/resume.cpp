#include "train/resume.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/random.h"
#include "core/runtime.h"
#include "train/run_directory.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

// Keys that steer how long, how often and where a run goes on, not what it learns: a resumed run
// takes them from the command line (to extend max_steps, add a stop_min_lr, use more threads).
constexpr const char* kResumeMayChange[] = {"run.threads",
                                            "run.device",
                                            "train.max_steps",
                                            "train.max_epochs",
                                            "train.max_minutes",
                                            "train.patience",
                                            "train.stop_min_lr",
                                            "train.valid_every",
                                            "train.checkpoint_every",
                                            "train.log_every",
                                            "train.valid_bleu_sentences",
                                            "train.bucket_mb",
                                            "train.keep_last",
                                            "data.streaming",
                                            "data.shard_lines",
                                            "data.loader_threads",
                                            "data.prefetch_batches",
                                            "data.image_disk_cache"};

}  // namespace

Config resumed_config(const std::string& config_path, const Config& requested) {
  Config saved = Config::from_file(config_path);
  Json merged = saved.resolved();
  std::vector<std::string> refused;
  for (const KeySpec* key : ConfigSchema::global().keys()) {
    std::string pointer = "/" + key->path;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    Json::json_pointer at(pointer);
    Json was = merged.contains(at) ? merged.at(at) : Json();
    Json want = requested.resolved().contains(at) ? requested.resolved().at(at) : Json();
    if (was == want) continue;
    if (std::find(std::begin(kResumeMayChange), std::end(kResumeMayChange), key->path) !=
        std::end(kResumeMayChange)) {
      log_info(fmt::format("resume: {} = {} (was {})", key->path, want.dump(), was.dump()));
      merged[at] = want;
    } else {
      refused.push_back(fmt::format("{} = {} (requested {})", key->path, was.dump(), want.dump()));
    }
  }
  if (!refused.empty()) {
    throw InputError(fmt::format(
        "{}: the run was started with {}; --resume cannot change what a run trains. Use a new "
        "--out directory, or resume with the run's own settings (a resume may change only {})",
        config_path, fmt::join(refused, ", "), fmt::join(kResumeMayChange, ", ")));
  }
  return Config::from_json(merged, {}, config_path);
}

RunStart start_run(const Config& requested, const std::string& run_dir, bool resume,
                   const DistributedOptions& distributed) {
  fs::create_directories(run_dir);
  RunStart start;
  start.config = requested;
  start.checkpoint_path = run_dir + "/" + kCheckpointFile;
  const std::string config_path = run_dir + "/config.json";
  start.resume = resume && fs::exists(start.checkpoint_path);
  if (start.resume) start.config = resumed_config(config_path, requested);
  if (distributed.is_main()) start.config.save(config_path);
  int threads = static_cast<int>(start.config.get_int("run.threads"));
  if (distributed
          .active()) {  // the cores (or the threads asked for) shared by this machine's ranks
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(1, threads / std::max(1, distributed.local_world_size));
  }
  configure_threads(threads);
  warn_if_slow_blas();
  start.seed = static_cast<uint64_t>(start.config.get_int("run.seed"));
  seed_everything(start.seed);
  start.device = parse_device(start.config.get_string("run.device"));
  return start;
}

void carry_world_size(TrainState& state, bool resumed, int world_size, const std::string& run_dir) {
  const int64_t saved = state.extra.is_object() ? state.extra.value("world_size", int64_t(1)) : 1;
  if (resumed && saved != world_size)
    throw InputError(fmt::format(
        "{}: the run was trained by {} process(es); resume it with --nproc {} ({} would change how "
        "its batches are split)",
        run_dir, saved, saved, world_size));
  if (world_size > 1) state.extra["world_size"] = world_size;
}

void trim_run_log(const std::string& path, int64_t step, const std::vector<std::string>& only) {
  if (!std::filesystem::exists(path)) return;
  std::string kept;
  for (const auto& record : read_json_lines(path)) {
    const std::string event = record.value("event", "");
    const bool keep =
        event == "start" ||
        (event != "end" && record.contains("step") && record["step"].is_number_integer() &&
         record["step"].get<int64_t>() <= step &&
         (only.empty() || std::find(only.begin(), only.end(), event) != only.end()));
    if (keep) kept += record.dump() + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace seqlab
