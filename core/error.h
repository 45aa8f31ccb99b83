// seqlab's error types. Everything a user can get wrong (a config key, a corpus line, a package
// name) is reported by throwing one of these with what was wrong, where, and what is accepted.
#pragma once

#include <stdexcept>
#include <string>

namespace seqlab {

// A runtime failure (exit status 1): something that was not the user's input went wrong.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Bad input or bad usage (exit status 2): a malformed file, an unknown name, an out-of-range value.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(message) {}
};

// The exit status the CLI contract gives an exception: 2 for bad input, 1 for anything else.
int exit_status_for(const std::exception& e);

}  // namespace seqlab
