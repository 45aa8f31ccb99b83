#include "core/error.h"

namespace seqlab {

int exit_status_for(const std::exception& e) {
  return dynamic_cast<const InputError*>(&e) != nullptr ? 2 : 1;
}

}  // namespace seqlab
