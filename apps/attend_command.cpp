#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/commands.h"
#include "core/error.h"
#include "eval/attention_map.h"
#include "eval/translate.h"
#include "train/run_directory.h"

namespace seqlab::apps {

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
      Json result = write_attention_map(run.model, *run.tokenizer, run.device, search_options(run.config),
                                        run.config.get_string("model.decoder"), args->text, args->out);
      if (args->json) print_json(result.dump());
      else std::cout << fmt::format("{}\n-> {} ({})\n", result["translation"].get<std::string>(),
                                    args->out, result["json"].get<std::string>());
      return 0;
    };
  });
}

}  // namespace seqlab::apps
