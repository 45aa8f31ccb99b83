// Learning-rate schedules, chosen by name ("schedules" registry). A schedule maps the step (and,
// for plateau, validation results) to a multiplier of train.lr; its state goes in checkpoints.
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "core/registry.h"

namespace seqlab {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double factor(int64_t step) const = 0;  // step counts from 1
  virtual void on_validation(double valid_loss) {}
  virtual Json state() const { return Json::object(); }
  virtual void restore(const Json& state) {}
};

struct ScheduleOptions {
  int64_t warmup_steps = 0;
  int64_t max_steps = 0;
  double plateau_factor = 0.5;
  int64_t plateau_patience = 1;
};

SEQLAB_DECLARE_REGISTRY(schedule_registry, std::unique_ptr<Schedule>, const ScheduleOptions&);

}  // namespace seqlab
