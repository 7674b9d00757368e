#pragma once
// A technology table: the energy per event and the area per unit of one process node
// (configs/tech/*.yaml, keys and ranges in spec/tech.schema.yaml, every value cited in
// docs/energy.md and docs/area.md). The area and energy models price an architecture with one.
// Loading refuses unknown keys, wrong types and out-of-range values with the architecture
// loader's message form, FILE:LINE: key.path: expected ..., got ... (config::ConfigError).
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "tessera/tech/tech_config.h"

namespace tessera::tech {

using Tech = std::shared_ptr<const TechConfig>;

// "28nm", "7nm", ...: tables compiled into the library. Anything containing '/' or ending in
// ".yaml" is a file path instead.
Tech load_tech(const std::string& name_or_path);
// Loads table text as if it were the file `filename`.
Tech load_tech_text(const std::string& yaml, const std::string& filename);
// Names of the embedded tables, sorted.
std::vector<std::string> tech_names();
// The embedded text of configs/tech/NAME.yaml; InputError if there is none.
std::string tech_text(const std::string& name);

// The table an architecture is priced with: `override_name` when given, else the embedded
// table whose node_nm equals process.node_nm. InputError naming the node and the tables when
// none matches.
Tech tech_for(const config::ArchConfig& arch, const std::string& override_name = "");

// Every leaf of the table in schema order as (key path, canonical value text), for
// `tessera tech show` and the citation test.
std::vector<std::pair<std::string, std::string>> leaf_values(const TechConfig&);

}  // namespace tessera::tech
