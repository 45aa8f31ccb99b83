// core/config.cpp: a run config (JSON with includes and typed, validated keys) and --set overrides.
#include "core/config.h"
#include "fuzz/fuzz_support.h"

namespace {
// A few keys of every type, as the layers declare theirs.
const bool declared =
    seqlab::ConfigSchema::global().add(
        seqlab::key_int("train.max_steps", 100, "steps").range(0, 1e9)) &&
    seqlab::ConfigSchema::global().add(seqlab::key_number("train.lr", 1e-3, "lr").range(0, 100)) &&
    seqlab::ConfigSchema::global().add(
        seqlab::key_string("model.encoder", "gru", "encoder").one_of({"gru", "lstm"})) &&
    seqlab::ConfigSchema::global().add(seqlab::key_bool("data.lowercase", false, "lowercase")) &&
    seqlab::ConfigSchema::global().add(
        seqlab::key_strings("eval.metrics", seqlab::Json::array({"bleu"}), "metrics"));
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // The input's last line, when it looks like key=value, is a --set override too.
  std::vector<std::string> sets;
  const auto newline = bytes.rfind('\n');
  if (newline != std::string::npos && bytes.find('=', newline) != std::string::npos)
    sets.push_back(bytes.substr(newline + 1));
  return seqlab::fuzz::expect_input_errors_only([&] {
    const std::string path = seqlab::fuzz::as_file(data, size, "config.json");
    const auto config = seqlab::Config::from_file(path, sets);
    (void)config.get_int("train.max_steps");
    (void)config.get_number("train.lr");
    (void)config.get_string("model.encoder");
    (void)config.resolved().dump();
  });
}
