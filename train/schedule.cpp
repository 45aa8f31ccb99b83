#include "train/schedule.h"

#include <cmath>

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(schedule_registry, "schedules");

namespace {

double warmup(int64_t step, int64_t warmup_steps) {
  return warmup_steps > 0 && step < warmup_steps ? double(step) / double(warmup_steps) : 1.0;
}

class Constant : public Schedule {
 public:
  explicit Constant(const ScheduleOptions& o) : o_(o) {}
  double factor(int64_t step) const override { return warmup(step, o_.warmup_steps); }
  ScheduleOptions o_;
};

// Vaswani et al. 2017, eq. 3, normalised to 1 at the end of warm-up.
class InverseSqrt : public Schedule {
 public:
  explicit InverseSqrt(const ScheduleOptions& o) : o_(o) {}
  double factor(int64_t step) const override {
    int64_t w = std::max<int64_t>(1, o_.warmup_steps);
    return step < w ? double(step) / double(w) : std::sqrt(double(w) / double(step));
  }
  ScheduleOptions o_;
};

// Loshchilov and Hutter 2017 (one cycle, no restarts) after a linear warm-up.
class Cosine : public Schedule {
 public:
  explicit Cosine(const ScheduleOptions& o) : o_(o) {}
  double factor(int64_t step) const override {
    if (step < o_.warmup_steps) return warmup(step, o_.warmup_steps);
    double span = double(std::max<int64_t>(1, o_.max_steps - o_.warmup_steps));
    double progress = std::min(1.0, double(step - o_.warmup_steps) / span);
    return 0.5 * (1.0 + std::cos(M_PI * progress));
  }
  ScheduleOptions o_;
};

// Multiplies the rate by plateau_factor when validation loss has not improved for
// plateau_patience validations.
class Plateau : public Schedule {
 public:
  explicit Plateau(const ScheduleOptions& o) : o_(o) {}
  double factor(int64_t step) const override { return warmup(step, o_.warmup_steps) * scale_; }
  void on_validation(double loss) override {
    if (loss < best_) {
      best_ = loss;
      bad_ = 0;
    } else if (++bad_ >= o_.plateau_patience) {
      scale_ *= o_.plateau_factor;
      bad_ = 0;
    }
  }
  Json state() const override { return {{"best", best_}, {"bad", bad_}, {"scale", scale_}}; }
  void restore(const Json& s) override {
    best_ = s.value("best", best_);
    bad_ = s.value("bad", bad_);
    scale_ = s.value("scale", scale_);
  }
  ScheduleOptions o_;
  double best_ = 1e300, scale_ = 1.0;
  int64_t bad_ = 0;
};

template <typename T>
bool add(const char* name, const char* help) {
  return schedule_registry().add(
      name, [](const ScheduleOptions& o) { return std::unique_ptr<Schedule>(new T(o)); }, help);
}

const bool registered =
    add<Constant>("constant", "constant rate after an optional linear warm-up") &&
    add<InverseSqrt>("inverse_sqrt", "linear warm-up then 1/sqrt(step); Vaswani et al. 2017") &&
    add<Cosine>("cosine", "linear warm-up then cosine decay to 0 at max_steps") &&
    add<Plateau>("plateau", "multiply the rate by a factor when validation loss stalls");

}  // namespace
}  // namespace seqlab
