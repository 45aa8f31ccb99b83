#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "data/image.h"
#include "data/task.h"
#include "eval/attention_map.h"
#include "eval/translate.h"
#include "train/run_directory.h"

namespace seqlab::apps {

void add_attend_command(CLI::App& app, Action& action) {
  auto* attend = app.add_subcommand(
      "attend", "Draw the attention map of one translation or caption as PNG (+ JSON)");
  struct Args {
    std::string run, text, image, out, device;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  attend->add_option("--run", args->run, "Run directory")->required();
  auto* text = attend->add_option("--text", args->text, "Source sentence");
  auto* image = attend->add_option("--image", args->image, "Image file (captioning runs)");
  text->excludes(image);
  attend->add_option("--out", args->out, "PNG to write (weights go beside it as .json)")
      ->required();
  attend->add_option("--device", args->device, "Override the run's device");
  attend->add_flag("--json", args->json, "Print one JSON object");
  attend->callback([&action, args] {
    action = [args] {
      if (args->text.empty() && args->image.empty())
        throw InputError("give --text \"...\" (or --image FILE for a captioning run)");
      LoadedRun run = load_run(args->run, args->device);
      const bool captioning = make_task(run.config)->reads_images();
      if (captioning != !args->image.empty())
        throw InputError(
            captioning
                ? fmt::format("{} is a captioning run: give --image FILE", args->run)
                : fmt::format("{} reads text: give --text \"...\" (--image is for captioning runs)",
                              args->run));
      if (captioning) {
        ImageOptions options = ImageOptions::from_config(run.config);
        options.skip_bad = false;
        Json result = write_image_attention_map(
            run.model, *run.tokenizer, run.device, search_options(run.config),
            run.config.get_string("model.decoder"), load_image(args->image, options), args->out);
        if (args->json)
          print_json(result.dump());
        else
          std::cout << fmt::format("{}\n-> {} ({})\n", result["caption"].get<std::string>(),
                                   args->out, result["json"].get<std::string>());
        return 0;
      }
      Json result =
          write_attention_map(run.model, *run.tokenizer, run.device, search_options(run.config),
                              run.config.get_string("model.decoder"), args->text, args->out);
      if (args->json)
        print_json(result.dump());
      else
        std::cout << fmt::format("{}\n-> {} ({})\n", result["translation"].get<std::string>(),
                                 args->out, result["json"].get<std::string>());
      return 0;
    };
  });
}

}  // namespace seqlab::apps
