#include <gtest/gtest.h>

#include "compiler/compiler.h"

namespace tessera::compiler {
namespace {

TEST(Compiler, KnownModelsLoad) {
  for (const std::string& n : model_names()) EXPECT_NO_THROW(load_model(n)) << n;
}

}  // namespace
}  // namespace tessera::compiler
