#pragma once
// The model configs of configs/models/, compiled into the library (the build generates the
// table from the files), so a model name works from any working directory.
#include <string_view>
#include <vector>

namespace tessera::compiler {

struct EmbeddedModel {
  std::string_view name;  // directory name under configs/models
  std::string_view json;  // its config.json
};

const std::vector<EmbeddedModel>& embedded_models();

}  // namespace tessera::compiler
