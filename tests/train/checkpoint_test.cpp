// Checkpoints and weights are tensors plus JSON (safetensors): a crafted or mismatched file is an
// input error before anything is copied, never a crash; files in the format before safetensors
// (TorchScript archives, which can run code) load only with --trust-code, and a converted run
// translates and resumes exactly as the original.
#include <catch2/catch.hpp>

#include <filesystem>

#include <fmt/format.h>

#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "core/tensor_file.h"
#include "core/trust.h"
#include "eval/search.h"
#include "tests/test_support.h"
#include "train/checkpoint.h"
#include "train/convert.h"
#include "train/optimizers.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using seqlab::Json;

namespace {

struct Tiny : torch::nn::Module {
  Tiny(int64_t in, int64_t out) {
    linear = register_module("linear", torch::nn::Linear(in, out));
    register_buffer("count", torch::zeros({2}, torch::kLong));
  }
  torch::nn::Linear linear{nullptr};
};

// A model with one AdamW step taken, so the optimizer has state for every parameter.
std::shared_ptr<torch::optim::AdamW> stepped(Tiny& model) {
  auto optimizer =
      std::make_shared<torch::optim::AdamW>(model.parameters(), torch::optim::AdamWOptions(0.01));
  model.linear->forward(torch::ones({1, model.linear->options.in_features()})).sum().backward();
  optimizer->step();
  return optimizer;
}

std::vector<torch::Tensor> snapshot(torch::nn::Module& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters()) out.push_back(p.detach().clone());
  return out;
}

bool same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

// Rewrites a checkpoint with one tensor replaced (same metadata).
void replace_tensor(const std::string& path, const std::string& name, const torch::Tensor& value) {
  seqlab::TensorFile file(path);
  seqlab::NamedTensors tensors;
  for (const auto& [key, entry] : file.header().tensors)
    tensors.emplace_back(key, key == name ? value : file.read(key));
  seqlab::write_tensor_file(path, tensors, file.header().metadata);
}

// What seqlab wrote before safetensors (a TorchScript archive), as the previous main's
// write_checkpoint and save_weights did.
void write_legacy_checkpoint(const std::string& path, torch::nn::Module& model,
                             torch::optim::Optimizer* optimizer, const seqlab::TrainState& state) {
  torch::serialize::OutputArchive archive, model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("state", c10::IValue(state.to_json().dump()));
  archive.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
  archive.save_to(path);
}
void write_legacy_weights(const std::string& path, torch::nn::Module& model) {
  torch::serialize::OutputArchive archive;
  model.save(archive);
  archive.save_to(path);
}

std::string write_config(const seqlab::testing::TempDir& dir, const std::string& corpus,
                         int64_t max_steps) {
  Json config = {{"run", {{"seed", 5}, {"threads", 1}}},
                 {"data", {{"corpus", corpus}, {"tokenizer", "char"}, {"vocab_size", 0}}},
                 {"model", {{"embedding_dim", 16}, {"hidden_dim", 32}, {"dropout", 0.1}}},
                 {"train",
                  {{"lr", 0.005},
                   {"batch_tokens", 120},
                   {"max_steps", max_steps},
                   {"valid_every", 10},
                   {"valid_bleu_sentences", 5},
                   {"checkpoint_every", 5},
                   {"log_every", 5},
                   {"patience", 0}}}};
  const std::string path = dir.file(fmt::format("config-{}.json", max_steps));
  seqlab::testing::write_text(path, config.dump(2));
  return path;
}

}  // namespace

TEST_CASE("a checkpoint round-trips model, optimizer state, named tensors and the generator") {
  seqlab::testing::TempDir dir;
  torch::manual_seed(1);
  Tiny model(3, 2);
  auto optimizer = stepped(model);
  seqlab::TrainState state;
  state.step = 7;
  state.extra = {{"note", "kept"}};
  std::map<std::string, torch::Tensor> sums{{"xx", torch::rand({3, 3}, torch::kDouble)}};
  seqlab::write_checkpoint(dir.file("c.safetensors"), model, optimizer.get(), state, sums);
  const auto rng_next = torch::rand({4});  // what the generator gives after the save

  torch::manual_seed(99);
  Tiny other(3, 2);
  auto other_optimizer =
      std::make_shared<torch::optim::AdamW>(other.parameters(), torch::optim::AdamWOptions(0.5));
  std::map<std::string, torch::Tensor> read_sums{{"xx", torch::zeros({3, 3}, torch::kDouble)}};
  auto back =
      seqlab::read_checkpoint(dir.file("c.safetensors"), other, other_optimizer.get(), &read_sums);
  CHECK(back.step == 7);
  CHECK(back.extra["note"] == "kept");
  CHECK(same(snapshot(other), snapshot(model)));
  CHECK(torch::equal(read_sums["xx"], sums["xx"]));
  CHECK(torch::equal(torch::rand({4}), rng_next));
  CHECK(other_optimizer->param_groups()[0].options().get_lr() == 0.01);
  for (size_t i = 0; i < model.parameters().size(); ++i) {
    const auto key = c10::guts::to_string(model.parameters()[i].unsafeGetTensorImpl());
    const auto other_key = c10::guts::to_string(other.parameters()[i].unsafeGetTensorImpl());
    auto& a = static_cast<torch::optim::AdamWParamState&>(*optimizer->state().at(key));
    auto& b = static_cast<torch::optim::AdamWParamState&>(*other_optimizer->state().at(other_key));
    CHECK(a.step() == b.step());
    CHECK(torch::equal(a.exp_avg(), b.exp_avg()));
    CHECK(torch::equal(a.exp_avg_sq(), b.exp_avg_sq()));
  }
}

TEST_CASE("a crafted checkpoint is an input error before anything is copied, never a crash") {
  seqlab::testing::TempDir dir;
  torch::manual_seed(1);
  Tiny model(3, 2);
  auto optimizer = stepped(model);
  const std::string path = dir.file("c.safetensors");
  seqlab::write_checkpoint(path, model, optimizer.get(), seqlab::TrainState{});
  torch::manual_seed(2);
  Tiny fresh(3, 2);
  auto fresh_optimizer =
      std::make_shared<torch::optim::AdamW>(fresh.parameters(), torch::optim::AdamWOptions(0.01));
  const auto before = snapshot(fresh);

  SECTION("a moment shorter than its parameter (the fused AdamW step wrote out of bounds)") {
    replace_tensor(path, "optimizer.linear.weight.exp_avg", torch::zeros({1}));
    CHECK_THROWS_WITH(seqlab::read_checkpoint(path, fresh, fresh_optimizer.get()),
                      Contains(path) && Contains("optimizer.linear.weight.exp_avg") &&
                          Contains("F32 [1]") && Contains("[2, 3]"));
    CHECK(fresh_optimizer->state().empty());
  }
  SECTION("a weight of another shape: another model or config") {
    replace_tensor(path, "model.linear.weight", torch::zeros({4, 3}));
    CHECK_THROWS_WITH(
        seqlab::read_checkpoint(path, fresh, fresh_optimizer.get()),
        Contains("tensor 'model.linear.weight' is F32 [4, 3], the model expects F32 [2, 3]"));
  }
  SECTION("a weight of another dtype") {
    replace_tensor(path, "model.linear.bias", torch::zeros({2}, torch::kDouble));
    CHECK_THROWS_WITH(seqlab::read_checkpoint(path, fresh, fresh_optimizer.get()),
                      Contains("F64 [2]"));
  }
  SECTION("a tensor the model does not have") {
    seqlab::NamedTensors tensors;
    seqlab::TensorFile file(path);
    for (const auto& [key, entry] : file.header().tensors)
      tensors.emplace_back(key, file.read(key));
    tensors.emplace_back("model.extra", torch::zeros({2}));
    seqlab::write_tensor_file(path, tensors, file.header().metadata);
    CHECK_THROWS_WITH(seqlab::read_checkpoint(path, fresh, fresh_optimizer.get()),
                      Contains("'model.extra', which this model does not have"));
  }
  SECTION("a training state that is not JSON, or lacks a field") {
    seqlab::TensorFile file(path);
    seqlab::NamedTensors tensors;
    for (const auto& [key, entry] : file.header().tensors)
      tensors.emplace_back(key, file.read(key));
    auto metadata = file.header().metadata;
    metadata["state"] = "{not json";
    seqlab::write_tensor_file(path, tensors, metadata);
    CHECK_THROWS_WITH(seqlab::read_checkpoint(path, fresh, fresh_optimizer.get()),
                      Contains(path) && Contains("state: not valid JSON"));
    metadata["state"] = "{\"step\": \"seven\"}";
    seqlab::write_tensor_file(path, tensors, metadata);
    CHECK_THROWS_WITH(seqlab::read_checkpoint(path, fresh, fresh_optimizer.get()),
                      Contains(path) && Contains("training state"));
  }
  SECTION("bytes that are no checkpoint") {
    seqlab::testing::write_text(path, std::string("\x10\0\0\0\0\0\0\0{\"a\":1}        ", 24));
    CHECK_THROWS_AS(seqlab::read_checkpoint(path, fresh, fresh_optimizer.get()),
                    seqlab::InputError);
  }
  CHECK(same(snapshot(fresh), before));  // nothing was copied
}

TEST_CASE("a TorchScript checkpoint (the format before safetensors) loads only with trust") {
  seqlab::testing::TempDir dir;
  torch::manual_seed(1);
  Tiny model(3, 2);
  auto optimizer = stepped(model);
  seqlab::TrainState state;
  state.step = 3;
  write_legacy_checkpoint(dir.file("checkpoint.pt"), model, optimizer.get(), state);
  Tiny fresh(3, 2);
  auto fresh_optimizer =
      std::make_shared<torch::optim::AdamW>(fresh.parameters(), torch::optim::AdamWOptions(0.01));
  CHECK_THROWS_WITH(
      seqlab::read_checkpoint(dir.file("checkpoint.pt"), fresh, fresh_optimizer.get()),
      Contains("TorchScript archive") && Contains("seqlab convert"));
  std::map<std::string, torch::Tensor> tensors;
  CHECK_THROWS_WITH(seqlab::read_legacy_checkpoint(dir.file("checkpoint.pt"), fresh,
                                                   fresh_optimizer.get(), &tensors),
                    Contains("--trust-code"));
  seqlab::CodeTrust trust(true);
  CHECK(seqlab::read_legacy_checkpoint(dir.file("checkpoint.pt"), fresh, fresh_optimizer.get(),
                                       &tensors)
            .step == 3);
  CHECK(same(snapshot(fresh), snapshot(model)));
}

TEST_CASE(
    "a run saved before safetensors is refused untrusted, converts, translates and resumes "
    "exactly") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  const std::string run = dir.file("run"), old = dir.file("old");
  seqlab::train_model(seqlab::Config::from_file(write_config(dir, corpus, 10)), run, false);
  fs::copy(run, old, fs::copy_options::recursive);
  // The old run: the same weights and training state in the previous format, nothing else.
  {
    seqlab::LoadedRun loaded = seqlab::load_run_without_weights(old);
    auto optimizer = seqlab::make_optimizer(loaded.config, loaded.model->parameters());
    auto state =
        seqlab::read_checkpoint(old + "/checkpoint.safetensors", *loaded.model, optimizer.get());
    write_legacy_checkpoint(old + "/checkpoint.pt", *loaded.model, optimizer.get(), state);
    seqlab::load_weights(*loaded.model, old + "/best.safetensors");
    write_legacy_weights(old + "/best.pt", *loaded.model);
    fs::remove(old + "/checkpoint.safetensors");
    fs::remove(old + "/best.safetensors");
  }
  CHECK_THROWS_WITH(seqlab::load_run(old), Contains("best.pt") && Contains("seqlab convert"));
  CHECK_THROWS_WITH(seqlab::convert_run(old), Contains("--trust-code"));
  const std::vector<std::string> sources = {"abcd", "hgfe", "cabbage"};
  seqlab::SearchOptions greedy;
  auto original = seqlab::load_run(run);
  const auto expected = seqlab::translate_sentences(original, sources, greedy);
  {
    seqlab::CodeTrust trust(true);
    auto trusted = seqlab::load_run(old);  // --trust-code reads the old format directly
    CHECK(seqlab::translate_sentences(trusted, sources, greedy) == expected);
    CHECK(seqlab::convert_run(old).size() == 2);
  }
  auto converted = seqlab::load_run(old);
  CHECK(seqlab::translate_sentences(converted, sources, greedy) == expected);
  // Both resume to step 20 and end with the same weights, bit for bit.
  seqlab::train_model(seqlab::Config::from_file(write_config(dir, corpus, 20)), run, true);
  seqlab::train_model(seqlab::Config::from_file(write_config(dir, corpus, 20)), old, true);
  CHECK(seqlab::testing::checkpoint_step(old) == 20);
  CHECK(same(seqlab::testing::checkpoint_tensors(run, true),
             seqlab::testing::checkpoint_tensors(old, true)));
}
