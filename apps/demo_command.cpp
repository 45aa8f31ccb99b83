#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/commands.h"
#include "core/files.h"
#include "core/runtime.h"
#include "data/recipe.h"
#include "tokenizers/tokenizer.h"

namespace seqlab::apps {

void add_demo_command(CLI::App& app, Action& action) {
  auto* demo = app.add_subcommand(
      "demo", "The README's main job on default data: prepare the en-fr UI corpus and show it");
  demo->callback([&action] {
    action = [] {
      warn_if_slow_blas();
      PreparedCorpus corpus = prepare_corpus("ui-fr");
      std::cout << fmt::format("ui-fr corpus in {}\n", corpus.directory);
      for (const auto& [name, count] : corpus.counts)
        std::cout << fmt::format("  {:<10} {:>8}\n", name, count);
      auto train = load_corpus_split("ui-fr", "train");
      std::vector<std::string> sentences;
      double source_words = 0, target_words = 0;
      for (const auto& pair : train) {
        sentences.push_back(pair.source);
        sentences.push_back(pair.target);
        source_words += static_cast<double>(std::count(pair.source.begin(), pair.source.end(), ' ') + 1);
        target_words += static_cast<double>(std::count(pair.target.begin(), pair.target.end(), ' ') + 1);
      }
      std::cout << fmt::format("  mean words per sentence: en {:.1f}, fr {:.1f}\n",
                               source_words / double(train.size()),
                               target_words / double(train.size()));
      TokenizerOptions options;
      options.vocab_size = 8000;
      auto bpe = train_tokenizer("bpe", sentences, options);
      std::string path = corpus.directory + "/bpe8k.tokenizer";
      bpe->save(path);
      std::cout << fmt::format("joint BPE tokenizer: {} pieces -> {}\n", bpe->vocab_size(), path);
      for (size_t i = 0; i < std::min<size_t>(3, train.size()); ++i) {
        std::cout << fmt::format("  en: {}\n  fr: {}\n  bpe: ", train[i].source, train[i].target);
        for (const auto& p : bpe->pieces(train[i].target)) std::cout << p << ' ';
        std::cout << "\n";
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
