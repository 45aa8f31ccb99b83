#include "tests/runner/tiny_spec.h"

#include "seqlab_paths.h"

namespace seqlab::testing {

std::string write_base_config(const TempDir& dir, const std::string& corpus) {
  Json config = {{"data", {{"corpus", corpus}, {"tokenizer", "char"}, {"vocab_size", 0}}},
                 {"model", {{"embedding_dim", 16}, {"hidden_dim", 32}, {"dropout", 0.0}}},
                 {"train",
                  {{"lr", 0.005},
                   {"batch_tokens", 120},
                   {"max_steps", 40},
                   {"valid_every", 20},
                   {"valid_bleu_sentences", 10},
                   {"checkpoint_every", 10},
                   {"log_every", 10},
                   {"patience", 0}}},
                 {"eval", {{"beam", 2}}}};
  std::string path = dir.file("base.json");
  write_text(path, config.dump(2));
  return path;
}

std::string write_spec(const TempDir& dir, const std::string& base, Json extra) {
  Json spec = {
      {"name", "tiny"},
      {"title", "Tiny grid"},
      {"base", base},
      {"grid", {{"model.decoder", {"rnn", "bahdanau"}}}},
      {"seeds", {1, 2}},
      {"evaluate",
       {{"splits", {"test"}}, {"beam", 2}, {"length_buckets", {4, 5}}, {"attention_maps", 1}}},
      {"expect",
       {{"text", "attention helps"},
        {"relations", {"bleu(model.decoder=bahdanau) > bleu(model.decoder=rnn)"}}}}};
  merge_json(spec, extra);
  std::string path = dir.file("spec.json");
  write_text(path, spec.dump(2));
  return path;
}

RunnerOptions runner_options(const std::string& spec, const std::string& out) {
  RunnerOptions options;
  options.spec_path = spec;
  options.out_dir = out;
  options.jobs = 2;
  options.threads = 2;
  options.executable = std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab";
  options.progress = false;
  return options;
}

}  // namespace seqlab::testing
