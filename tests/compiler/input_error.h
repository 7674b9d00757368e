#pragma once
// The message of the InputError a call must throw, for the compiler's diagnostic tests.
#include <gtest/gtest.h>

#include <string>

#include "common/util/error.h"

namespace tessera::compiler {

// The InputError message of f(); fails the calling test when f() throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

}  // namespace tessera::compiler
