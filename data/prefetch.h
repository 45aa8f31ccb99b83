// The streaming loader: worker threads make the batches of an epoch ahead of the trainer, in a
// bounded queue, and hand them out in order. A batch's content depends only on its indices (never
// on which worker made it or when), so training is the same with any number of workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/batch.h"

namespace seqlab {

class BatchPrefetcher {
 public:
  using Make = std::function<Batch(const std::vector<int64_t>& indices)>;
  // Makes batches[first], batches[first + 1], ... with `workers` threads, holding at most
  // `capacity` made and not yet taken (or being made).
  BatchPrefetcher(const std::vector<std::vector<int64_t>>& batches, size_t first, Make make,
                  int workers, int capacity);
  ~BatchPrefetcher();  // stops the workers (batches not taken are dropped)
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next batch in order; rethrows what making it threw. Error past the last batch.
  Batch next();
  // The most batches held at once, made or being made and not yet taken (never above capacity).
  int64_t most_held() const;
  // Seconds next() waited for a batch not yet made: the loader's share of the trainer's time.
  double wait_seconds() const { return wait_seconds_; }

 private:
  void work();
  const std::vector<std::vector<int64_t>>& batches_;
  Make make_;
  size_t capacity_;
  size_t next_claim_, next_take_;
  std::map<size_t, std::pair<Batch, std::exception_ptr>> ready_;
  size_t held_ = 0, most_held_ = 0;
  bool stop_ = false;
  double wait_seconds_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> workers_;
};

}  // namespace seqlab
