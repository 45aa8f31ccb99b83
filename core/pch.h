// Precompiled header for every seqlab target: LibTorch is by far the most expensive include
// (about 25 s per translation unit without this header, 10-14 s with it).
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
