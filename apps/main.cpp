// seqlab: the command-line program. Thin: parse, call the library, map errors to exit codes
// (0 success, 1 runtime failure, 2 bad usage or bad input).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "core/gemm.h"
#include "core/log.h"
#include "core/trust.h"

namespace seqlab::apps {
namespace {
std::vector<std::string> g_command_line;
}  // namespace
void set_command_line(int argc, char** argv) { g_command_line.assign(argv, argv + argc); }
const std::vector<std::string>& command_line() { return g_command_line; }
}  // namespace seqlab::apps

int main(int argc, char** argv) {
  seqlab::apps::set_command_line(argc, argv);
  CLI::App app{"seqlab: RNN, reservoir and transformer sequence models under one runner"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  // Given anywhere on the command line (subcommands pass options they do not know to here).
  bool trust_code = false;
  app.add_flag(
      "--trust-code", trust_code,
      "Allow loading files that are code: TorchScript archives (runs saved before safetensors, "
      "model.vision.pretrained modules). They can read and write files when loaded; use only for "
      "files you trust (docs/security.md)");
  app.fallthrough();
  seqlab::apps::Action action;
  seqlab::apps::add_list_command(app, action);
  seqlab::apps::add_data_command(app, action);
  seqlab::apps::add_tokenizer_command(app, action);
  seqlab::apps::add_score_command(app, action);
  seqlab::apps::add_compare_command(app, action);
  seqlab::apps::add_average_command(app, action);
  seqlab::apps::add_train_command(app, action);
  seqlab::apps::add_eval_command(app, action);
  seqlab::apps::add_translate_command(app, action);
  seqlab::apps::add_caption_command(app, action);
  seqlab::apps::add_classify_command(app, action);
  seqlab::apps::add_generate_command(app, action);
  seqlab::apps::add_bench_command(app, action);
  seqlab::apps::add_attend_command(app, action);
  seqlab::apps::add_reservoir_command(app, action);
  seqlab::apps::add_run_command(app, action);
  seqlab::apps::add_demo_command(app, action);
  seqlab::apps::add_convert_command(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }
  // SEQLAB_CHECK_ARGS=1: stop once the command line parsed (the guide's commands are checked
  // against the CLI this way, tests/apps/docs_commands_test.cpp).
  if (const char* check = std::getenv("SEQLAB_CHECK_ARGS"); check && std::string(check) == "1")
    return 0;
  try {
    seqlab::GemmBackendScope gemm(seqlab::gemm_backend_from_environment());
    seqlab::CodeTrust trust(trust_code);
    return action ? action() : 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    // Workers of a data-parallel job say which rank failed (unless the message does).
    const bool names_rank = std::string(e.what()).rfind("rank ", 0) == 0;
    std::fprintf(stderr, "seqlab: error: %s%s\n", names_rank ? "" : seqlab::console_tag().c_str(),
                 e.what());
    return seqlab::exit_status_for(e);
  }
}
