// Data-parallel training (train/distributed.h) through the real CLI: `seqlab train --nproc 2`
// against one process with twice the batch, for the demo's GRU, transformer and echo-state
// models (shrunk), kill -9 of one worker, resume, and a resume with another process count.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/child_process.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/debian_packages.h"
#include "models/seq2seq.h"
#include "seqlab_paths.h"
#include "tests/test_support.h"
#include "tokenizers/tokenizer.h"
#include "train/distributed.h"
#include "train/launch.h"

namespace fs = std::filesystem;
using seqlab::Json;

namespace {

using seqlab::testing::checkpoint_step;
using seqlab::testing::checkpoint_tensors;
using seqlab::testing::logged_values;

// The demo's config for `family`, shrunk to seconds on the reversal corpus. `batch_tokens` is
// per process.
std::string demo_arguments(const std::string& family, const std::string& corpus,
                           int64_t batch_tokens, int64_t max_steps, double dropout) {
  std::string args = fmt::format(
      "--config {}/configs/demo/{}.json --set data.corpus={} --set data.tokenizer=char --set "
      "data.vocab_size=0 "
      "--set run.seed=5 --set run.threads=2 --set train.batch_tokens={} --set train.max_steps={} "
      "--set train.valid_every=10 --set train.checkpoint_every=3 --set train.log_every=2 "
      "--set train.valid_bleu_sentences=0 --set train.warmup_steps=0 --set train.lr=0.003",
      SEQLAB_SOURCE_DIR, family, corpus, batch_tokens, max_steps);
  if (family == "gru")
    args += fmt::format(
        " --set model.embedding_dim=16 --set model.hidden_dim=32 --set model.dropout={}", dropout);
  if (family == "transformer")
    args += fmt::format(
        " --set model.transformer.d_model=32 --set model.transformer.ffn_dim=64 "
        "--set model.transformer.encoder_layers=1 --set model.transformer.decoder_layers=1 "
        "--set model.dropout={}",
        dropout);
  if (family == "esn") args += " --set model.reservoir.units=120";
  return args;
}

seqlab::CommandResult seqlab_train(const std::string& arguments) {
  return seqlab::run_command(std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab train " + arguments +
                             " 2>&1");
}

// ||a - b|| over all weights together.
double distance(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i)
    sum += (a[i] - b[i]).to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

// max |a - b| over all weights.
double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].sizes() == b[i].sizes());
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  }
  return worst;
}

}  // namespace

TEST_CASE("shard_batch gives each rank a contiguous disjoint slice and all ranks the whole batch") {
  std::vector<int64_t> batch{4, 9, 1, 7, 3, 8, 2};
  for (int world : {1, 2, 3, 7, 9}) {
    std::vector<int64_t> joined;
    size_t smallest = batch.size(), largest = 0;
    for (int rank = 0; rank < world; ++rank) {
      auto slice = seqlab::shard_batch(batch, rank, world);
      smallest = std::min(smallest, slice.size());
      largest = std::max(largest, slice.size());
      joined.insert(joined.end(), slice.begin(), slice.end());
    }
    CHECK(joined == batch);          // disjoint, in order, nothing left out
    CHECK(largest - smallest <= 1);  // the same share for every rank
  }
  CHECK(seqlab::shard_batch(batch, 8, 9).size() <= 1);
}

TEST_CASE(
    "the process's place in a job comes from torchrun's environment, and bad values are input "
    "errors") {
  struct Variable {
    const char* name;
    std::string saved;
    bool was_set;
  };
  std::vector<Variable> variables;
  for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                           "SEQLAB_COLLECTIVE_TIMEOUT"}) {
    const char* value = std::getenv(name);
    variables.push_back({name, value ? value : "", value != nullptr});
    unsetenv(name);
  }
  const auto alone = seqlab::DistributedOptions::from_environment();
  CHECK_FALSE(alone.active());
  CHECK(alone.is_main());
  setenv("RANK", "1", 1);
  setenv("WORLD_SIZE", "4", 1);
  setenv("LOCAL_WORLD_SIZE", "2", 1);
  setenv("MASTER_ADDR", "10.0.0.7", 1);
  setenv("MASTER_PORT", "29611", 1);
  setenv("SEQLAB_COLLECTIVE_TIMEOUT", "30", 1);
  const auto worker = seqlab::DistributedOptions::from_environment();
  CHECK(worker.active());
  CHECK_FALSE(worker.is_main());
  CHECK(worker.rank == 1);
  CHECK(worker.world_size == 4);
  CHECK(worker.local_world_size == 2);
  CHECK(worker.master_addr == "10.0.0.7");
  CHECK(worker.master_port == 29611);
  CHECK(worker.timeout_seconds == 30);
  setenv("RANK", "4", 1);  // rank outside the world
  CHECK_THROWS_AS(seqlab::DistributedOptions::from_environment(), seqlab::InputError);
  setenv("RANK", "one", 1);
  CHECK_THROWS_WITH(seqlab::DistributedOptions::from_environment(),
                    Catch::Matchers::Contains("RANK=one"));
  setenv("RANK", "0", 1);
  setenv("MASTER_PORT", "70000", 1);
  CHECK_THROWS_AS(seqlab::DistributedOptions::from_environment(), seqlab::InputError);
  for (const auto& v : variables) {
    if (v.was_set)
      setenv(v.name, v.saved.c_str(), 1);
    else
      unsetenv(v.name);
  }
}

TEST_CASE(
    "two processes train the demo models to the weights one process trains with twice the batch") {
  const std::string family = GENERATE(as<std::string>{}, "gru", "transformer");
  DYNAMIC_SECTION(family) {
    seqlab::testing::TempDir dir;
    const std::string corpus = seqlab::testing::write_reverse_corpus(dir);
    const std::string one = dir.file("one"), two = dir.file("two");
    auto single = seqlab_train(demo_arguments(family, corpus, 240, 24, 0.0) + " --out " + one);
    INFO(single.output);
    REQUIRE(single.status == 0);
    auto pair =
        seqlab_train(demo_arguments(family, corpus, 120, 24, 0.0) + " --out " + two + " --nproc 2");
    INFO(pair.output);
    REQUIRE(pair.status == 0);
    CHECK(pair.output.find("data parallel: 2 processes (gloo)") != std::string::npos);

    // The same loss at every logged step (the global batch's), the same validation losses.
    const auto loss_one = logged_values(one, "train", "loss"),
               loss_two = logged_values(two, "train", "loss");
    REQUIRE(loss_one.size() == 12);
    REQUIRE(loss_two.size() == loss_one.size());
    for (size_t i = 0; i < loss_one.size(); ++i)
      CHECK(loss_two[i] == Approx(loss_one[i]).epsilon(1e-4));
    const auto valid_one = logged_values(one, "valid", "loss"),
               valid_two = logged_values(two, "valid", "loss");
    REQUIRE(valid_two.size() == valid_one.size());
    for (size_t i = 0; i < valid_one.size(); ++i)
      CHECK(valid_two[i] == Approx(valid_one[i]).epsilon(1e-4));

    // The same weights, within float32 rounding of different GEMM shapes (which Adam's
    // normalisation amplifies for gradients near zero): far closer than the training moved them.
    const auto initial = [&] {
      seqlab::testing::TempDir zero;
      auto started = seqlab_train(demo_arguments(family, corpus, 240, 1, 0.0) +
                                  " --set train.lr=0 --out " + zero.path());
      REQUIRE(started.status == 0);
      return checkpoint_tensors(zero.path(), /*buffers=*/true);
    }();
    const auto weights_one = checkpoint_tensors(one, /*buffers=*/true),
               weights_two = checkpoint_tensors(two, /*buffers=*/true);
    const double moved = distance(initial, weights_one);
    const double apart = distance(weights_one, weights_two);
    INFO(family << ": training moved the weights by " << moved
                << " (L2); one and two processes differ by " << apart << ", at most "
                << max_difference(weights_one, weights_two) << " in one weight");
    CHECK(moved > 0.1);
    CHECK(apart < 5e-3 * moved);
  }
}

TEST_CASE(
    "two processes fit the echo-state readout to the one-process solution (all-reduced sums)") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  const std::string one = dir.file("one"), two = dir.file("two");
  auto single = seqlab_train(demo_arguments("esn", corpus, 200, 1000, 0) + " --out " + one);
  INFO(single.output);
  REQUIRE(single.status == 0);
  auto pair =
      seqlab_train(demo_arguments("esn", corpus, 200, 1000, 0) + " --out " + two + " --nproc 2");
  INFO(pair.output);
  REQUIRE(pair.status == 0);
  // The same rows and the same penalty chosen; the readouts agree to float64 summation order.
  const auto rows_one = logged_values(one, "valid", "rows"),
             rows_two = logged_values(two, "valid", "rows");
  REQUIRE(rows_one.size() == 1);
  REQUIRE(rows_two.size() == 1);
  CHECK(rows_one[0] == rows_two[0]);
  CHECK(logged_values(one, "valid", "penalty") == logged_values(two, "valid", "penalty"));
  CHECK(logged_values(two, "valid", "loss")[0] ==
        Approx(logged_values(one, "valid", "loss")[0]).epsilon(1e-4));
  const auto a = checkpoint_tensors(one, /*buffers=*/true),
             b = checkpoint_tensors(two, /*buffers=*/true);
  double scale = 0;
  for (const auto& w : a) scale = std::max(scale, w.abs().max().item<double>());
  CHECK(max_difference(a, b) < 1e-4 * scale);
}

TEST_CASE("kill -9 of one worker ends the job naming the rank, and --resume completes it exactly") {
  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  const std::string straight = dir.file("straight"), interrupted = dir.file("interrupted");
  // With dropout: every rank draws its own masks, and the resumed run must draw them again.
  const std::string arguments = demo_arguments("gru", corpus, 120, 40, 0.1);
  auto full = seqlab_train(arguments + " --out " + straight + " --nproc 2");
  INFO(full.output);
  REQUIRE(full.status == 0);

  std::vector<std::string> argv{std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab", "train"};
  {
    std::istringstream words(arguments + " --out " + interrupted + " --nproc 2");
    for (std::string word; words >> word;) argv.push_back(word);
  }
  seqlab::BackgroundProcess launcher(argv, dir.file("launcher.out"), dir.file("launcher.err"));
  // The launcher names its workers' pids; kill rank 1 once a checkpoint past the first is written.
  const std::regex pids(R"(pids (\d+) (\d+))");
  pid_t rank1 = -1;
  bool killed = false;
  seqlab::BackgroundProcess::Exit exit{};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && !killed) {
    std::smatch match;
    const std::string err =
        fs::exists(dir.file("launcher.err")) ? seqlab::read_file(dir.file("launcher.err")) : "";
    if (rank1 < 0 && std::regex_search(err, match, pids)) rank1 = std::stoi(match[2]);
    if (rank1 > 0 && fs::exists(interrupted + "/checkpoint.safetensors") &&
        checkpoint_step(interrupted) >= 6) {
      kill(rank1, SIGKILL);
      killed = true;
    }
    if (launcher.poll(exit)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(killed);
  const auto stopped_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool ended = false;
  while (!(ended = launcher.poll(exit)) && std::chrono::steady_clock::now() < stopped_by)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(ended);
  CHECK(exit.status == 1);
  const std::string err = seqlab::read_file(dir.file("launcher.err"));
  INFO(err);
  CHECK(err.find(fmt::format("rank 1 (pid {}) was killed by signal 9", rank1)) !=
        std::string::npos);
  const int64_t killed_at = checkpoint_step(interrupted);
  CHECK(killed_at < 40);

  auto resumed = seqlab_train(arguments + " --out " + interrupted + " --nproc 2 --resume");
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  CHECK(checkpoint_step(interrupted) == 40);
  const auto a = checkpoint_tensors(straight, /*buffers=*/true),
             b = checkpoint_tensors(interrupted, /*buffers=*/true);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));
  CHECK(logged_values(straight, "train", "loss") == logged_values(interrupted, "train", "loss"));

  // Another process count would train on other batches: refused, saying what to do, by one
  // process and by the workers of a launcher (which then exits with their status 2).
  for (const std::string nproc : {"", " --nproc 3"}) {
    auto other = seqlab_train(arguments + " --out " + interrupted +
                              " --resume --set train.max_steps=50" + nproc);
    INFO(other.output);
    CHECK(other.status == 2);
    CHECK_THAT(other.output, Catch::Matchers::Contains("trained by 2 process(es)") &&
                                 Catch::Matchers::Contains("--nproc 2"));
  }
}

TEST_CASE(
    "a rank whose job never gathers fails with the address it waited at, and --nproc excludes "
    "--rank") {
  seqlab::DistributedOptions lonely;
  lonely.world_size = 2;
  lonely.rank = 1;  // rank 0, which would serve the store, never comes
  lonely.master_port = seqlab::free_port();
  lonely.timeout_seconds = 1;
  CHECK_THROWS_WITH(seqlab::Communicator(lonely, torch::kCPU),
                    Catch::Matchers::Contains("rank 1 of 2: no rendezvous at 127.0.0.1:") &&
                        Catch::Matchers::Contains("every rank was started"));
  // One line a person reads, not a C++ stack trace.
  try {
    seqlab::Communicator communicator(lonely, torch::kCPU);
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    CHECK(std::string(e.what()).find("Exception raised from") == std::string::npos);
  }

  seqlab::testing::TempDir dir;
  const std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  auto both = seqlab_train(demo_arguments("gru", corpus, 120, 4, 0) + " --out " + dir.file("run") +
                           " --nproc 2 --rank 0 --world-size 2");
  CHECK(both.status == 2);
  CHECK_THAT(both.output, Catch::Matchers::Contains("use one or the other"));
}

TEST_CASE(
    "the gradient reducer launches each bucket from the backward pass and writes the sums into "
    ".grad") {
  // One process is a world of its own: the all-reduce is the identity, which isolates the
  // bookkeeping (buckets, hooks, parameters without a gradient) from the arithmetic.
  seqlab::DistributedOptions options;
  options.master_port = seqlab::free_port();
  options.timeout_seconds = 30;
  seqlab::Communicator communicator(options, torch::kCPU);
  torch::manual_seed(1);
  auto used = torch::randn({64, 32}).requires_grad_();
  auto also_used = torch::randn({32}).requires_grad_();
  auto unused = torch::randn({16}).requires_grad_();
  auto frozen = torch::randn({8});  // no gradient wanted: in no bucket
  // A 64-byte budget gives each parameter a bucket of its own (the smallest is 64 bytes).
  seqlab::GradientReducer reducer(communicator, {used, also_used, unused, frozen}, 64);
  CHECK(reducer.buckets() == 3);
  CHECK(reducer.gradient_elements() == 64 * 32 + 32 + 16);
  for (int step = 0; step < 2; ++step) {
    used.mutable_grad() = torch::Tensor();
    also_used.mutable_grad() = torch::Tensor();
    reducer.start();
    auto loss = (torch::randn({8, 64}).matmul(used) + also_used).tanh().sum();
    loss.backward();
    // Both buckets with a gradient went out during backward(); the unused one waits for finish().
    CHECK(reducer.launched() == 2);
    const auto expected_used = used.grad().clone(), expected_also = also_used.grad().clone();
    reducer.finish();
    CHECK(reducer.launched() == 3);
    CHECK(torch::equal(used.grad(), expected_used));
    CHECK(torch::equal(also_used.grad(), expected_also));
    CHECK_FALSE(unused.grad().defined());  // no gradient on any rank: none, as in one process
    CHECK_FALSE(frozen.grad().defined());
  }
  communicator.barrier();
}
