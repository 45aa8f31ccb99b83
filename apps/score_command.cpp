#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "apps/text_input.h"
#include "eval/metric.h"

namespace seqlab::apps {

void add_score_command(CLI::App& app, Action& action) {
  auto* score = app.add_subcommand("score", "Score hypotheses against references (corpus level)");
  auto metric = std::make_shared<std::string>();
  auto refs = std::make_shared<std::vector<std::string>>();
  auto hyp = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  score
      ->add_option(
          "metric", *metric,
          "bleu, chrf, cider, bleu-1 .. bleu-4, accuracy, macro_f1 (see `seqlab list metrics`)")
      ->required();
  score->add_option("--ref", *refs, "Reference file, one line per hypothesis (repeatable)")
      ->required();
  score->add_option("--hyp", *hyp, "Hypothesis file")->required();
  score->add_flag("--json", *json, "Print one JSON object");
  score->callback([&action, metric, refs, hyp, json] {
    action = [metric, refs, hyp, json] {
      auto scorer = metric_registry().create(*metric);
      auto hypotheses = read_text_lines(*hyp);
      const auto references = read_reference_files(*refs);
      check_reference_lines(*refs, references, *hyp, hypotheses.size());
      MetricScore result = scorer->corpus_score(hypotheses, references);
      if (*json) {
        print_json(Json{{"metric", *metric},
                        {"score", result.score},
                        {"signature", result.signature},
                        {"details", result.details}}
                       .dump());
      } else {
        std::cout << result.summary << "\n" << result.signature << "\n";
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
