// Config keys every run has, whatever its model: seed, threads, device.
#include "core/config.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(
        key_int("run.seed", 1, "seed for data order and initialisation").range(0, 9.0e15)) &&
    ConfigSchema::global().add(
        key_int("run.threads", 0, "intra-op CPU threads; 0 = all cores").range(0, 1024)) &&
    ConfigSchema::global().add(
        key_string("run.device", "cpu", "torch device: cpu, cuda or cuda:N"));

}  // namespace
}  // namespace seqlab
