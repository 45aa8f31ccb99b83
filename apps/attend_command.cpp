#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "apps/commands.h"
#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"
#include "eval/heatmap.h"
#include "models/attention/attention.h"
#include "train/run_directory.h"

namespace seqlab::apps {

Json write_attention_map(LoadedRun& run, const std::string& text, const std::string& out_png) {
  require_utf8(text, "--text");
  auto ids = run.tokenizer->encode(text);
  if (ids.empty()) throw InputError("--text is empty after tokenization");
  std::vector<Example> examples = {{ids, {}}};
  Batch batch = collate(examples, {0}).to(run.device);
  SearchOptions options = search_options(run.config);
  options.beam = 1;  // one path, one map row per generated token
  AttentionRecorder recorder;
  auto found = greedy_search(run.model, {batch.source, batch.source_lengths, batch.source_mask, {}}, options);
  auto maps = recorder.stacked("decoder.cross");  // [1, heads, steps, S]
  if (!maps.defined())
    throw InputError(fmt::format("the model of this run has no attention to draw (decoder '{}'); "
                                 "attention decoders: bahdanau, luong",
                                 run.config.get_string("model.decoder")));
  std::vector<std::string> source_tokens, target_tokens;
  for (int64_t id : ids) source_tokens.push_back(run.tokenizer->piece(id));
  for (int64_t id : found[0].tokens) target_tokens.push_back(run.tokenizer->piece(id));
  target_tokens.push_back("</s>");
  int64_t rows = std::min<int64_t>(maps.size(2), static_cast<int64_t>(target_tokens.size()));
  target_tokens.resize(static_cast<size_t>(rows));
  auto weights = maps[0].mean(0).slice(0, 0, rows);  // heads averaged: [steps, S]
  write_attention_png(out_png, weights, source_tokens, target_tokens);
  std::vector<std::vector<float>> matrix;
  for (int64_t i = 0; i < rows; ++i) {
    auto row = weights[i].contiguous();
    matrix.emplace_back(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
  }
  Json result = {{"source", text},
                 {"translation", run.tokenizer->decode(found[0].tokens)},
                 {"source_tokens", source_tokens},
                 {"target_tokens", target_tokens},
                 {"weights", matrix},
                 {"png", out_png}};
  std::string json_path = std::filesystem::path(out_png).replace_extension(".json").string();
  write_file_atomic(json_path, result.dump() + "\n");
  result.erase("weights");
  result["json"] = json_path;
  return result;
}

void add_attend_command(CLI::App& app, Action& action) {
  auto* attend = app.add_subcommand("attend", "Draw the attention map of one translation as PNG (+ JSON)");
  struct Args {
    std::string run, text, image, out, device;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  attend->add_option("--run", args->run, "Run directory")->required();
  auto* text = attend->add_option("--text", args->text, "Source sentence");
  auto* image = attend->add_option("--image", args->image, "Image file (captioning runs)");
  text->excludes(image);
  attend->add_option("--out", args->out, "PNG to write (weights go beside it as .json)")->required();
  attend->add_option("--device", args->device, "Override the run's device");
  attend->add_flag("--json", args->json, "Print one JSON object");
  attend->callback([&action, args] {
    action = [args] {
      if (args->text.empty() && args->image.empty())
        throw InputError("give --text \"...\" (or --image FILE for a captioning run)");
      if (!args->image.empty())
        throw InputError("--image needs a captioning run; image encoders are not built yet");
      LoadedRun run = load_run(args->run, args->device);
      Json result = write_attention_map(run, args->text, args->out);
      if (args->json) print_json(result.dump());
      else std::cout << fmt::format("{}\n-> {} ({})\n", result["translation"].get<std::string>(),
                                    args->out, result["json"].get<std::string>());
      return 0;
    };
  });
}

}  // namespace seqlab::apps
