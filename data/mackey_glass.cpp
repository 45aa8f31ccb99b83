#include "data/mackey_glass.h"

#include <cmath>

#include "core/error.h"
#include "core/random.h"

namespace seqlab {

std::vector<double> mackey_glass(int64_t samples, uint64_t seed,
                                 const MackeyGlassOptions& options) {
  if (samples < 0 || options.substeps < 1 || options.tau <= 0)
    throw InputError("mackey_glass: samples >= 0, substeps >= 1 and tau > 0 expected");
  const double dt = 1.0 / double(options.substeps);
  const auto delay = static_cast<int64_t>(std::llround(options.tau * double(options.substeps)));
  Rng rng(seed);
  // A ring of the last `delay` values: history[i % delay] is y(t - tau) when about to write y(t).
  std::vector<double> history(static_cast<size_t>(delay));
  for (auto& v : history) v = 1.2 + 0.2 * (rng.uniform() - 0.5);
  double y = history.back();
  std::vector<double> out;
  out.reserve(static_cast<size_t>(samples));
  const int64_t total = (options.discard + samples) * options.substeps;
  for (int64_t i = 0; i < total; ++i) {
    double& lagged = history[static_cast<size_t>(i % delay)];  // y(t - tau)
    double next = y + dt * (0.2 * lagged / (1 + std::pow(lagged, 10)) - 0.1 * y);
    lagged = y;  // the slot now holds y(t), read again tau later
    y = next;
    if ((i + 1) % options.substeps == 0 && (i + 1) / options.substeps > options.discard)
      out.push_back(y);
  }
  return out;
}

}  // namespace seqlab
