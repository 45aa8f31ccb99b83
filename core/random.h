// Seeding. Every random choice in seqlab flows from a seed in the config: data shuffling uses
// Rng (a portable splitmix/xoshiro generator with its own index sampling, so the same seed gives
// the same order on every platform and standard library), model initialisation uses torch's
// generator seeded by seed_everything().
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace seqlab {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed);
  uint64_t next();             // xoshiro256** (Blackman and Vigna 2018)
  uint64_t below(uint64_t n);  // uniform in [0, n), unbiased (rejection)
  double uniform();            // [0, 1)
  template <typename T>
  void shuffle(std::vector<T>& items) {  // Fisher-Yates
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }
  // The full generator state as text, for checkpoints (resume continues the same stream).
  std::string state() const;
  void set_state(const std::string& text);

 private:
  std::array<uint64_t, 4> s_{};
};

// A stable 64-bit hash (FNV-1a) of text, for deterministic splits independent of input order.
uint64_t stable_hash(const std::string& text, uint64_t seed = 0);

// Seeds torch's CPU (and CUDA, where present) generators.
void seed_everything(uint64_t seed);

// Seeds torch's CPU generator for the life of this object and restores its previous state at the
// end of the scope: a component draws its initial weights from its own seed without changing
// what the rest of the process draws next (the series GRU of a forecast, for one).
class ScopedTorchSeed {
 public:
  explicit ScopedTorchSeed(uint64_t seed);
  ~ScopedTorchSeed();
  ScopedTorchSeed(const ScopedTorchSeed&) = delete;
  ScopedTorchSeed& operator=(const ScopedTorchSeed&) = delete;

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

}  // namespace seqlab
