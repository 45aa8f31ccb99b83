#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "tokenizers/tokenizer.h"

namespace seqlab::apps {

void add_tokenizer_command(CLI::App& app, Action& action) {
  auto* tokenizer = app.add_subcommand("tokenizer", "Train and apply tokenizers");
  tokenizer->require_subcommand(1);
  auto* train = tokenizer->add_subcommand("train", "Train a tokenizer and save it to one file");
  struct Args {
    std::string kind;
    int64_t vocab = 8000;
    std::vector<std::string> inputs;
    std::string out;
    int64_t min_frequency = 1;
    double character_coverage = 1.0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  train->add_option("--kind", args->kind, "char, word, bpe or unigram")->required();
  train->add_option("--vocab", args->vocab,
                    "Vocabulary size, specials included (0: no limit "
                    "for char/word)");
  train
      ->add_option("--input", args->inputs,
                   "Text file, one sentence per line; TSV lines give one sentence per field "
                   "(repeatable)")
      ->required();
  train->add_option("--out", args->out, "Tokenizer file to write")->required();
  train->add_option("--min-frequency", args->min_frequency, "char/word: minimum count to keep");
  train->add_option("--character-coverage", args->character_coverage,
                    "bpe/unigram: share of characters covered");
  train->add_flag("--json", args->json, "Print one JSON object");
  train->callback([&action, args] {
    action = [args] {
      if (args->vocab < 0) throw InputError("--vocab must be >= 0");
      std::vector<std::string> sentences;
      for (const auto& input : args->inputs) {
        auto more = read_training_sentences(input);
        sentences.insert(sentences.end(), more.begin(), more.end());
      }
      TokenizerOptions options;
      options.vocab_size = args->vocab;
      options.min_frequency = args->min_frequency;
      options.character_coverage = args->character_coverage;
      auto trained = train_tokenizer(args->kind, sentences, options);
      trained->save(args->out);
      if (args->json) {
        print_json(Json{{"kind", trained->kind()},
                        {"vocab_size", trained->vocab_size()},
                        {"sentences", sentences.size()},
                        {"out", args->out}}
                       .dump());
      } else {
        std::cout << fmt::format("{} tokenizer: {} symbols from {} sentences -> {}\n",
                                 trained->kind(), trained->vocab_size(), sentences.size(),
                                 args->out);
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
