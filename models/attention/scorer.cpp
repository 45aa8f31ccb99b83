#include "models/attention/scorer.h"

namespace seqlab {
SEQLAB_DEFINE_REGISTRY(scorer_registry, "scorers");
}
