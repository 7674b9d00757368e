#pragma once
// Errors raised by bad user input (configs, model files, programs, command-line
// arguments). The message must name the file, the field and what was expected;
// the `tessera` command prints it and exits with status 2. Any other exception
// escaping a command is a bug and exits with status 1.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

namespace tessera {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs the body of an executable's main(): an InputError escaping it is printed as
// "error: ..." and gives exit status 2, any other exception "internal error: ..." and 1.
template <class Fn>
int exit_status_of(Fn&& body) {
  try {
    return body();
  } catch (const InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 1;
  }
}

}  // namespace tessera
