// `seqlab convert RUN_DIR --trust-code`: a run directory from before safetensors (best.pt and
// checkpoint.pt, TorchScript archives) rewritten as best.safetensors and checkpoint.safetensors,
// with the optimizer state, the fitter's sums and the RNG, so the run translates and resumes
// exactly as before. Reading the old files runs whatever code they hold, so it needs a granted
// CodeTrust. The old files are left in place.
#pragma once

#include <string>
#include <vector>

namespace seqlab {

// Returns the files written. InputError when the directory holds nothing to convert.
std::vector<std::string> convert_run(const std::string& run_dir);

}  // namespace seqlab
