#pragma once
// Errors raised by bad user input (configs, model files, programs, command-line
// arguments). The message must name the file, the field and what was expected;
// the `tessera` command prints it and exits with status 2. Any other exception
// escaping a command is a bug and exits with status 1.
#include <stdexcept>
#include <string>

namespace tessera {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tessera
