#pragma once
// Consistency checks between keys (docs/config.md, "Consistency checks"), run by the loader
// after every key has parsed and is within its range. Internal to common/config.
#include <functional>
#include <string>
#include <vector>

#include "common/config/config.h"

namespace tessera::config::detail {

struct Origin {
  std::string file;
  int line = 0;
};

// Where a key's value came from (for a key left at its default: its enclosing section).
using OriginFn = std::function<Origin(const std::string& path)>;

void check_consistency(const ArchConfig& cfg, const OriginFn& origin_of, std::vector<Diagnostic>& out);

}  // namespace tessera::config::detail
