#pragma once
// The small model the driver tests cost: a 4-layer tiny Llama (timing needs its config only).
#include "compiler/compiler.h"
#include "ref/tiny_model.h"
#include "tests/common/hf/test_util.h"

namespace tessera::driver::test_models {

inline hf::ModelConfig tiny_llama() {
  ref::TinyModelOptions o;
  o.layers = 4;
  const test::TempDir dir;
  ref::write_tiny_model(dir.path(), o);
  return compiler::load_model(dir.path());
}

}  // namespace tessera::driver::test_models
