// The seqlab subcommands. Each add_* function declares one subcommand on the CLI11 app and, when
// it is chosen, stores what to run in `action`; main() runs it and maps errors to exit codes.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace seqlab {
struct LoadedRun;
}

namespace seqlab::apps {

using Action = std::function<int()>;

void add_list_command(CLI::App& app, Action& action);
void add_data_command(CLI::App& app, Action& action);
void add_tokenizer_command(CLI::App& app, Action& action);
void add_score_command(CLI::App& app, Action& action);
void add_demo_command(CLI::App& app, Action& action);
void add_train_command(CLI::App& app, Action& action);
void add_eval_command(CLI::App& app, Action& action);
void add_translate_command(CLI::App& app, Action& action);
void add_bench_command(CLI::App& app, Action& action);
void add_attend_command(CLI::App& app, Action& action);
void add_reservoir_command(CLI::App& app, Action& action);

// Translates a split of the run's corpus, scores it and writes the hypotheses into the run.
// With attention_maps > 0, also draws the maps of the first N sentences into RUN/attention/.
nlohmann::json evaluate_run(const std::string& run_dir, const std::string& split, int64_t beam,
                            const std::string& device, int64_t attention_maps = 0);

// Prints `json` as the last line of stdout (the --json contract).
void print_json(const std::string& json);

// Greedy-translates `text` while recording attention; writes the heatmap PNG and a JSON with the
// tokens and weights beside it. InputError when the run's model has no attention.
nlohmann::json write_attention_map(LoadedRun& run, const std::string& text,
                                   const std::string& out_png);

}  // namespace seqlab::apps
