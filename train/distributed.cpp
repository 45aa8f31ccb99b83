// c10d behind train/distributed.h. LibTorch's headers declare ProcessGroupGloo only under
// USE_C10D_GLOO, which Debian's build (Gloo compiled in) does not export to its users.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include "train/distributed.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include "core/error.h"
#include "train/rendezvous_store.h"

namespace seqlab {
namespace {

int64_t environment_int(const char* name, int64_t fallback, int64_t low, int64_t high) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < low || value > high)
    throw InputError(fmt::format("environment variable {}={}: expected an integer in {}..{}", name,
                                 text, low, high));
  return value;
}

std::chrono::milliseconds milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

bool loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

DistributedOptions DistributedOptions::from_environment() {
  DistributedOptions options;
  options.world_size = static_cast<int>(environment_int("WORLD_SIZE", 1, 1, 1 << 20));
  options.rank = static_cast<int>(environment_int("RANK", 0, 0, 1 << 20));
  options.local_world_size =
      static_cast<int>(environment_int("LOCAL_WORLD_SIZE", options.world_size, 1, 1 << 20));
  if (const char* address = std::getenv("MASTER_ADDR"); address && *address)
    options.master_addr = address;
  options.master_port =
      static_cast<int>(environment_int("MASTER_PORT", options.master_port, 1, 65535));
  if (const char* timeout = std::getenv("SEQLAB_COLLECTIVE_TIMEOUT"); timeout && *timeout) {
    char* end = nullptr;
    options.timeout_seconds = std::strtod(timeout, &end);
    if (*end != '\0' || !(options.timeout_seconds > 0))
      throw InputError(fmt::format("SEQLAB_COLLECTIVE_TIMEOUT={}: expected seconds > 0", timeout));
  }
  options.check();
  return options;
}

void DistributedOptions::check() const {
  if (world_size < 1)
    throw InputError(fmt::format("world size {}: expected at least 1", world_size));
  if (rank < 0 || rank >= world_size)
    throw InputError(fmt::format("rank {} with world size {}: expected 0 <= rank < world size",
                                 rank, world_size));
  if (master_port < 1 || master_port > 65535)
    throw InputError(fmt::format("master port {}: expected 1..65535", master_port));
  if (master_addr.empty()) throw InputError("master address: empty");
  if (!(timeout_seconds > 0)) throw InputError("collective timeout: expected seconds > 0");
}

std::vector<int64_t> shard_batch(const std::vector<int64_t>& batch, int rank, int world_size) {
  const auto n = static_cast<int64_t>(batch.size());
  const int64_t begin = n * rank / world_size, end = n * (rank + 1) / world_size;
  return {batch.begin() + begin, batch.begin() + end};
}

struct Communicator::Pending {
  c10::intrusive_ptr<c10d::Work> work;
  torch::Tensor tensor;  // what is being reduced (in place)
};

struct Communicator::Impl {
  DistributedOptions options;
  torch::Device device{torch::kCPU};
  std::string backend;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
};

Communicator::Communicator(const DistributedOptions& options, torch::Device device)
    : impl_(new Impl) {
  options.check();
  impl_->options = options;
  impl_->device = device;
  const auto timeout = milliseconds(options.timeout_seconds);
  try {
    RendezvousOptions store_options;
    store_options.address = options.master_addr;
    store_options.port = options.master_port;
    store_options.is_server = options.rank == 0;
    if (const char* token = std::getenv("SEQLAB_STORE_TOKEN"); token) store_options.token = token;
    store_options.timeout = timeout;
    impl_->store = c10::make_intrusive<RendezvousStore>(store_options);
    // Every rank checks in, so a missing one is named here rather than as a Gloo timeout.
    impl_->store->add("seqlab/joined", 1);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (impl_->store->add("seqlab/joined", 0) < options.world_size) {
      if (std::chrono::steady_clock::now() > deadline)
        throw Error(fmt::format("{} of {} ranks joined", impl_->store->add("seqlab/joined", 0),
                                options.world_size));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (const std::exception& e) {
    std::string message = e.what();  // c10 appends a stack trace after the first line
    if (auto newline = message.find('\n'); newline != std::string::npos) message.resize(newline);
    throw Error(
        fmt::format("rank {} of {}: no rendezvous at {}:{} within {:.0f} s ({}). Rank 0 serves the "
                    "store there: "
                    "check MASTER_ADDR / MASTER_PORT, that the port is free on rank 0's machine, "
                    "and that every "
                    "rank was started",
                    options.rank, options.world_size, options.master_addr, options.master_port,
                    options.timeout_seconds, message));
  }
  try {
#ifdef USE_C10D_NCCL
    if (device.is_cuda()) {
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, options.rank,
                                                                 options.world_size, nccl);
      impl_->backend = "nccl";
    }
#endif
    if (!impl_->group) {
      // Gloo also reduces CUDA tensors (through host memory) where NCCL is not built in.
      auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
      if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface)
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
      else if (loopback(options.master_addr))
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      gloo->threads = 2;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, options.rank,
                                                                 options.world_size, gloo);
      impl_->backend = "gloo";
    }
  } catch (const std::exception& e) {
    std::string message = e.what();  // without c10's stack trace
    if (auto newline = message.find('\n'); newline != std::string::npos) message.resize(newline);
    throw Error(fmt::format("rank {} of {}: cannot connect the process group: {}", options.rank,
                            options.world_size, message));
  }
}

Communicator::~Communicator() = default;

int Communicator::rank() const { return impl_->options.rank; }
int Communicator::size() const { return impl_->options.world_size; }
const std::string& Communicator::backend() const { return impl_->backend; }
double Communicator::timeout_seconds() const { return impl_->options.timeout_seconds; }

void Communicator::fail(const std::string& what, const std::exception& error) const {
  std::string message = error.what();  // c10 appends a stack trace after the first line
  if (auto newline = message.find('\n'); newline != std::string::npos) message.resize(newline);
  throw Error(fmt::format(
      "rank {} of {}: {} failed: {}. Another worker has died or stopped answering (collective "
      "timeout {:.0f} s); its own log says why",
      rank(), size(), what, message, timeout_seconds()));
}

void Communicator::all_reduce(std::vector<torch::Tensor> tensors) {
  // One collective per tensor (a process group's list is one tensor per device), all in flight.
  std::vector<std::shared_ptr<Pending>> pending;
  for (auto& tensor : tensors) pending.push_back(all_reduce_async(tensor));
  for (auto& one : pending) wait(*one);
}

std::vector<double> Communicator::all_reduce_values(const std::vector<double>& values) {
  auto tensor = torch::tensor(values, torch::kFloat64).to(impl_->device);
  all_reduce({tensor});
  tensor = tensor.cpu();
  return {tensor.data_ptr<double>(), tensor.data_ptr<double>() + tensor.numel()};
}

void Communicator::broadcast(std::vector<torch::Tensor> tensors, int root) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  try {
    for (auto& tensor : tensors) {
      std::vector<torch::Tensor> one{tensor};
      impl_->group->broadcast(one, options)->wait();
    }
  } catch (const std::exception& e) {
    fail("broadcast", e);
  }
}

std::vector<double> Communicator::broadcast_values(const std::vector<double>& values, int root) {
  auto tensor = torch::tensor(values, torch::kFloat64).to(impl_->device);
  broadcast({tensor}, root);
  tensor = tensor.cpu();
  return {tensor.data_ptr<double>(), tensor.data_ptr<double>() + tensor.numel()};
}

void Communicator::barrier() {
  try {
    impl_->group->barrier()->wait();
  } catch (const std::exception& e) {
    fail("barrier", e);
  }
}

std::shared_ptr<Communicator::Pending> Communicator::all_reduce_async(torch::Tensor tensor) {
  auto pending = std::make_shared<Pending>();
  pending->tensor = tensor;
  std::vector<torch::Tensor> tensors{std::move(tensor)};
  try {
    pending->work = impl_->group->allreduce(tensors);
  } catch (const std::exception& e) {
    fail("all-reduce", e);
  }
  return pending;
}

void Communicator::wait(Pending& pending) {
  try {
    pending.work->wait();
  } catch (const std::exception& e) {
    fail("all-reduce", e);
  }
}

void broadcast_module(Communicator& communicator, torch::nn::Module& module) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p.detach());
  for (const auto& b : module.buffers()) tensors.push_back(b);
  communicator.broadcast(tensors);
}

GradientReducer::GradientReducer(Communicator& communicator,
                                 const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes)
    : communicator_(communicator) {
  std::vector<torch::Tensor> trained;
  for (const auto& p : parameters)
    if (p.requires_grad()) trained.push_back(p);
  // Reverse registration order: the output layers' gradients come first in a backward pass.
  std::reverse(trained.begin(), trained.end());
  std::vector<std::vector<size_t>> members;
  int64_t bucket_elements = 0;
  for (const auto& p : trained) {
    const bool fits =
        !members.empty() && bucket_elements > 0 &&
        (bucket_elements + p.numel()) * static_cast<int64_t>(p.element_size()) <= bucket_bytes &&
        slots_[members.back().front()].parameter.scalar_type() == p.scalar_type() &&
        slots_[members.back().front()].parameter.device() == p.device();
    if (!fits) {
      members.emplace_back();
      bucket_elements = 0;
    }
    Slot slot;
    slot.parameter = p;
    slot.bucket = static_cast<int64_t>(members.size()) - 1;
    slot.offset = bucket_elements;
    bucket_elements += p.numel();
    members.back().push_back(slots_.size());
    slots_.push_back(slot);
  }
  for (const auto& bucket_members : members) {
    Bucket bucket;
    int64_t elements = 0;
    for (size_t s : bucket_members) elements += slots_[s].parameter.numel();
    const auto& first = slots_[bucket_members.front()].parameter;
    bucket.flat = torch::zeros({elements}, first.options().requires_grad(false));
    bucket.size = static_cast<int64_t>(bucket_members.size());
    elements_ += elements;
    buckets_.push_back(std::move(bucket));
  }
  for (size_t s = 0; s < slots_.size(); ++s) {
    slots_[s].hook = slots_[s].parameter.register_hook(
        [this, s](const torch::Tensor& gradient) { on_gradient(s, gradient); });
  }
  start();
}

GradientReducer::~GradientReducer() {
  for (auto& slot : slots_)
    if (slot.hook >= 0) slot.parameter.remove_hook(static_cast<unsigned>(slot.hook));
}

void GradientReducer::start() {
  for (auto& slot : slots_) slot.ready = false;
  for (auto& bucket : buckets_) {
    bucket.pending = bucket.size;
    bucket.work.reset();
  }
  launch_order_.clear();
}

void GradientReducer::on_gradient(size_t s, const torch::Tensor& gradient) {
  Slot& slot = slots_[s];
  Bucket& bucket = buckets_[static_cast<size_t>(slot.bucket)];
  if (bucket.work)
    throw Error("GradientReducer: a parameter's gradient arrived twice in one backward pass");
  torch::NoGradGuard no_grad;
  auto part = bucket.flat.narrow(0, slot.offset, slot.parameter.numel());
  if (slot.ready) {  // a second contribution (a reentrant backward)
    part.add_(gradient.reshape(-1));
    return;
  }
  part.copy_(gradient.reshape(-1));
  slot.ready = true;
  if (--bucket.pending == 0) launch(static_cast<size_t>(slot.bucket));
}

void GradientReducer::launch(size_t b) {
  buckets_[b].work = communicator_.all_reduce_async(buckets_[b].flat);
  launch_order_.push_back(b);
}

void GradientReducer::finish() {
  if (slots_.empty()) return;  // nothing trainable
  torch::NoGradGuard no_grad;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    Bucket& bucket = buckets_[b];
    if (bucket.work) continue;
    for (auto& slot : slots_)  // parameters without a gradient this step contribute zeros
      if (slot.bucket == static_cast<int64_t>(b) && !slot.ready)
        bucket.flat.narrow(0, slot.offset, slot.parameter.numel()).zero_();
    launch(b);
  }
  // Which parameters got a gradient on any rank: one that got none anywhere keeps no gradient, as
  // in one process (the optimizer then skips it rather than stepping on zeros).
  std::vector<float> had_gradient(slots_.size());
  for (size_t s = 0; s < slots_.size(); ++s) had_gradient[s] = slots_[s].ready ? 1.0f : 0.0f;
  auto flags = communicator_.all_reduce_async(
      torch::tensor(had_gradient).to(slots_.front().parameter.device()));
  const auto waiting = std::chrono::steady_clock::now();
  for (size_t b : launch_order_) communicator_.wait(*buckets_[b].work);
  communicator_.wait(*flags);
  wait_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting).count();
  const auto anywhere = flags->tensor.cpu().contiguous();
  const float* got = anywhere.data_ptr<float>();
  for (size_t s = 0; s < slots_.size(); ++s) {
    auto& slot = slots_[s];
    auto& grad = slot.parameter.mutable_grad();
    if (got[s] == 0) {
      grad = torch::Tensor();
      continue;
    }
    auto sum = buckets_[static_cast<size_t>(slot.bucket)].flat.narrow(0, slot.offset,
                                                                      slot.parameter.numel());
    if (grad.defined())
      grad.copy_(sum.view_as(grad));
    else
      grad = sum.view(slot.parameter.sizes()).clone();
  }
  for (auto& bucket : buckets_) bucket.work.reset();
}

double time_all_reduce(Communicator& communicator, int64_t elements, int repeats,
                       torch::Device device) {
  auto tensor =
      torch::ones({elements}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  communicator.all_reduce({tensor});  // warm-up: connections, buffers
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    communicator.barrier();
    const auto start = std::chrono::steady_clock::now();
    communicator.all_reduce({tensor});
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

}  // namespace seqlab
