// The seqlab subcommands. Each add_* function declares one subcommand on the CLI11 app and, when
// it is chosen, stores what to run in `action`; main() runs it and maps errors to exit codes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace seqlab::apps {

using Action = std::function<int()>;

void add_list_command(CLI::App& app, Action& action);
void add_data_command(CLI::App& app, Action& action);
void add_tokenizer_command(CLI::App& app, Action& action);
void add_score_command(CLI::App& app, Action& action);
void add_compare_command(CLI::App& app, Action& action);
void add_average_command(CLI::App& app, Action& action);
void add_demo_command(CLI::App& app, Action& action);
void add_train_command(CLI::App& app, Action& action);
void add_eval_command(CLI::App& app, Action& action);
void add_translate_command(CLI::App& app, Action& action);
void add_caption_command(CLI::App& app, Action& action);
void add_classify_command(CLI::App& app, Action& action);
void add_generate_command(CLI::App& app, Action& action);
void add_bench_command(CLI::App& app, Action& action);
void add_attend_command(CLI::App& app, Action& action);
void add_reservoir_command(CLI::App& app, Action& action);
void add_run_command(CLI::App& app, Action& action);
void add_convert_command(CLI::App& app,
                         Action& action);  // run, results, report (and the hidden cell)

// The command line seqlab was started with (main() records it; the --nproc launcher starts its
// workers with it).
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

// Prints `json` as the last line of stdout (the --json contract).
void print_json(const std::string& json);

// --precision {fp32,int8} on a decoding command (default: the run's eval.precision).
void add_precision_option(CLI::App* command, std::string& precision);

}  // namespace seqlab::apps
