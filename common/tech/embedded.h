#pragma once
// The technology tables (configs/tech/*.yaml) compiled into tessera_tech by
// `scripts/gen_config.py embed --namespace tessera::tech::detail`, so `--tech 7nm` works from any
// directory. Internal to common/tech.
#include <vector>

#include "common/config/embedded.h"

namespace tessera::tech::detail {

using config::detail::EmbeddedFile;

const std::vector<EmbeddedFile>& embedded_files();

}  // namespace tessera::tech::detail
