#pragma once
// The main() of every Tessera executable that takes user input (tessera, tessera-cosim): how
// errors escaping a command become exit statuses (common/util/error.h).
#include <cstdio>
#include <exception>

#include "common/util/error.h"

namespace tessera {

// Runs the body of main(): an InputError escaping it is printed as "error: ..." and gives
// exit status 2, any other exception "internal error: ..." and 1.
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
