#include "data/prefetch.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include <ATen/Parallel.h>

#include "core/error.h"

namespace seqlab {

BatchPrefetcher::BatchPrefetcher(const std::vector<std::vector<int64_t>>& batches, size_t first,
                                 Make make, int workers, int capacity)
    : batches_(batches),
      make_(std::move(make)),
      capacity_(static_cast<size_t>(std::max(1, capacity))),
      next_claim_(first),
      next_take_(first) {
  for (int w = 0; w < std::max(1, workers); ++w) workers_.emplace_back([this] { work(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void BatchPrefetcher::work() {
  // One thread each: the loader runs beside the trainer's threads, not on top of them.
  at::internal::lazy_init_num_threads();
  omp_set_num_threads(1);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // A batch is claimed only while fewer than `capacity` are held: the queue stays bounded.
    changed_.wait(lock,
                  [&] { return stop_ || (next_claim_ < batches_.size() && held_ < capacity_); });
    if (stop_) return;
    const size_t index = next_claim_++;
    ++held_;
    most_held_ = std::max(most_held_, held_);
    lock.unlock();
    std::pair<Batch, std::exception_ptr> made;
    try {
      made.first = make_(batches_[index]);
    } catch (...) {
      made.second = std::current_exception();
    }
    lock.lock();
    ready_.emplace(index, std::move(made));
    changed_.notify_all();
  }
}

Batch BatchPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_take_ >= batches_.size()) throw Error("BatchPrefetcher: no batch left");
  const auto start = std::chrono::steady_clock::now();
  changed_.wait(lock, [&] { return ready_.count(next_take_) > 0; });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto node = ready_.extract(next_take_++);
  --held_;
  lock.unlock();
  changed_.notify_all();
  if (node.mapped().second) std::rethrow_exception(node.mapped().second);
  return std::move(node.mapped().first);
}

int64_t BatchPrefetcher::most_held() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(most_held_);
}

}  // namespace seqlab
