// Data-parallel training on PyTorch's distributed engine, c10d: the processes of a job meet
// through c10d's TCPStore (rank 0 serves it at MASTER_ADDR:MASTER_PORT) and talk through a c10d
// process group: ProcessGroupGloo on CPU tensors, ProcessGroupNCCL for CUDA tensors where the
// LibTorch build has it (selected from the model's device; nothing here assumes the CPU).
//
// The bookkeeping that makes N processes train what one process trains with N times the batch:
//   - every rank builds the same global batches (budget N x train.batch_tokens) and takes its own
//     contiguous slice of each (shard_batch), so the ranks' slices are disjoint and together the
//     one-process batch;
//   - each rank divides its summed loss by the global batch's target tokens, so the all-reduced
//     SUM of the gradients is the one-process gradient exactly (no averaging factor);
//   - GradientReducer all-reduces gradients in buckets launched from autograd hooks while the
//     backward pass goes on (as PyTorch's DDP does), then writes the sums back into .grad;
//   - the optimizer then steps identically everywhere; rank 0 validates, logs and checkpoints,
//     and broadcasts what the others must agree on (the validation loss, the stop decision).
// Every collective has a timeout (run.collective_timeout): a worker that dies or hangs ends the
// others with an error naming their rank, never a hang.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace torch::nn {
class Module;
}

namespace seqlab {

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  int local_world_size = 1;  // processes on this machine (threads are divided among them)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_seconds = 600;  // every collective and the rendezvous

  bool active() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }
  // RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT (torchrun's names) and
  // SEQLAB_COLLECTIVE_TIMEOUT; a single process when WORLD_SIZE is unset. InputError for values
  // that are not numbers or out of range.
  static DistributedOptions from_environment();
  void check() const;  // InputError unless 0 <= rank < world_size, a port in 1..65535, ...
};

// Which slice of a global batch rank `rank` of `world_size` trains on: the contiguous part
// [n r / N, n (r+1) / N) of its examples (length-sorted within a batch, so every slice pads alike).
// Empty when the batch has fewer examples than there are ranks.
std::vector<int64_t> shard_batch(const std::vector<int64_t>& batch, int rank, int world_size);

// A c10d process group (pimpl: c10d's headers stay in distributed.cpp).
class Communicator {
 public:
  // Rendezvous through the TCP store, then the process group for `device`'s backend. Error naming
  // the address and the rank when the others do not come within the timeout.
  Communicator(const DistributedOptions& options, torch::Device device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int size() const;
  const std::string& backend() const;
  double timeout_seconds() const;

  // Sums in place over the ranks (every rank passes tensors of the same shapes), waiting.
  void all_reduce(std::vector<torch::Tensor> tensors);
  // Sums `values` over the ranks (float64 on the communicator's device).
  std::vector<double> all_reduce_values(const std::vector<double>& values);
  // Rank `root`'s values everywhere.
  void broadcast(std::vector<torch::Tensor> tensors, int root = 0);
  std::vector<double> broadcast_values(const std::vector<double>& values, int root = 0);
  void barrier();

  // An all-reduce started now and waited for later (GradientReducer); holds the tensor.
  struct Pending;
  std::shared_ptr<Pending> all_reduce_async(torch::Tensor tensor);
  void wait(Pending& pending);

  // The backend's error, rethrown as a seqlab Error that names this rank and says what to look
  // for (another worker died or hangs).
  [[noreturn]] void fail(const std::string& what, const std::exception& error) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Rank 0's parameters and buffers on every rank (as DDP starts: whatever each rank initialised
// or loaded, they all go on from the same weights).
void broadcast_module(Communicator& communicator, torch::nn::Module& module);

// Bucketed gradient all-reduce overlapping the backward pass. Parameters are packed in reverse
// registration order (roughly the order autograd produces their gradients) into flat buckets of
// about `bucket_bytes`; a hook on each parameter copies its gradient into its bucket and launches
// the bucket's all-reduce as soon as the bucket is complete. finish() launches what no hook did
// (parameters that got no gradient contribute zeros), waits, and writes the sums into .grad; a
// parameter that got a gradient on no rank is left without one, as in a single process.
class GradientReducer {
 public:
  GradientReducer(Communicator& communicator, const std::vector<torch::Tensor>& parameters,
                  int64_t bucket_bytes);
  ~GradientReducer();  // removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before a backward pass (clears the buckets' bookkeeping).
  void start();
  // After it: every gradient summed over the ranks. Also when this rank had no examples and made
  // no backward pass (its gradients count as zeros).
  void finish();

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Buckets whose all-reduce has started since start() (from hooks during backward, then finish()).
  int64_t launched() const { return static_cast<int64_t>(launch_order_.size()); }
  int64_t gradient_elements() const { return elements_; }
  // Seconds finish() spent waiting for all-reduces (communication not hidden behind backward).
  double wait_seconds() const { return wait_seconds_; }
  void reset_wait_seconds() { wait_seconds_ = 0; }

 private:
  struct Slot {
    torch::Tensor parameter;
    int64_t bucket = 0;
    int64_t offset = 0;
    int hook = -1;
    bool ready = false;
  };
  struct Bucket {
    torch::Tensor flat;
    int64_t pending = 0;
    int64_t size = 0;  // parameters in it
    std::shared_ptr<Communicator::Pending> work;
  };
  void on_gradient(size_t slot, const torch::Tensor& gradient);
  void launch(size_t bucket);  // its all-reduce starts now

  Communicator& communicator_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> launch_order_;
  int64_t elements_ = 0;
  double wait_seconds_ = 0;
};

// The time of one all-reduce of `elements` float32 values on this communicator, alone: the median
// of `repeats` (the benchmark's reference for the all-reduce share of a step).
double time_all_reduce(Communicator& communicator, int64_t elements, int repeats,
                       torch::Device device);

}  // namespace seqlab
