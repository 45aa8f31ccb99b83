#include "models/norm/norm.h"

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(norm_registry, "norms");

namespace {
const bool declared = ConfigSchema::global().add(
    key_number("model.norm.eps", 1e-5, "layer_norm / rms_norm: added to the variance").range(0, 1));
}

}  // namespace seqlab
