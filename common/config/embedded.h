#pragma once
// The preset files (configs/arch/*.yaml, configs/dram/*.yaml) compiled into tessera_config by
// `scripts/gen_config.py embed`, so `--arch sohu-like` works from any directory. Internal to
// common/config.
#include <vector>

namespace tessera::config::detail {

struct EmbeddedFile {
  const char* dir;   // "arch", "dram": the folder under configs/
  const char* name;  // file name without .yaml
  const char* path;  // repository-relative path, used in messages
  const char* text;
};

const std::vector<EmbeddedFile>& embedded_files();

}  // namespace tessera::config::detail
