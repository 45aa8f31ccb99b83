// The Mackey-Glass delay differential equation (Mackey and Glass 1977), the benchmark of Jaeger
// and Haas 2004:  dy/dt = 0.2 y(t - tau) / (1 + y(t - tau)^10) - 0.1 y(t),  tau = 17 (chaotic).
// Integrated as in Jaeger's code (GMD Report 148, section 6): Euler steps of 1/10, every 10th value
// kept (one sample per time unit), a random initial history around 1.2, the first samples
// dropped so the start is on the attractor.
#pragma once

#include <cstdint>
#include <vector>

namespace seqlab {

struct MackeyGlassOptions {
  double tau = 17;
  int64_t substeps = 10;   // Euler steps per sample (step 1/substeps)
  int64_t discard = 1000;  // samples dropped at the start
};

// `samples` values of y, one per time unit, from a history drawn with `seed`.
std::vector<double> mackey_glass(int64_t samples, uint64_t seed,
                                 const MackeyGlassOptions& options = {});

}  // namespace seqlab
