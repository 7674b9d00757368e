#pragma once
// A DRAM standard (DDR3, HBM2E, HBM3, HBM3E, ...) described once: its organisation, the timing
// rules the controller model (model/dram) and the trace checker (model/dram_checker) apply, and
// the checks only it needs. Each standard is one file common/config/dram_standards/NAME.cpp that
// defines its descriptor with TESSERA_DRAM_STANDARD(NAME); the build lists every file of that
// folder, so adding the file is what registers the standard (docs/extending.md, "Add a DRAM
// standard"). `dram.standard` names a registered standard, and check_dram() is the one validator
// of a `dram` section: the loader runs it after every key parsed, so presets, files and --set
// overrides are all checked the same way.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.h"

namespace tessera::config {

// Reports one problem of a `dram` section: the key most responsible, what was expected, what was found.
using DramFail = std::function<void(const std::string& path, const std::string& expected, const std::string& got)>;

struct DramStandard {
  const char* name = "";       // the value of dram.standard, and the file's name
  const char* document = "";   // where its rules come from (a JEDEC standard number, or a preset source)
  // Organisation: whether the standard has pseudo-channels and bank groups (without them the
  // count must be 1).
  bool pseudo_channels = true;
  bool bank_groups = true;
  // Timing rules. Data transfers per command clock: tCK = transfers_per_tck / data rate, and
  // one burst occupies the data bus burst_length / transfers_per_tck tCK.
  int64_t transfers_per_tck = 2;
  bool single_command_bus = false;  // row and column commands share one bus (DDR), not two (HBM)
  bool per_bank_refresh = true;     // a per-bank REFRESH exists, so controller.refresh may be per_bank
  // Packaging: a stacked memory (HBM: a 1024-bit interface per stack) or DIMM-style 64-bit
  // channels; the area and energy models (common/tech) price the PHYs and commands of each.
  bool stacked = true;
  // Rules of this standard beyond the common ones of check_dram (nullptr: none). Runs only on a
  // section that passed the common rules.
  void (*check)(const DramConfig&, const DramFail&) = nullptr;
};

// The standard `name` names, or nullptr.
const DramStandard* find_dram_standard(std::string_view name);
// The standard a loaded configuration names (the loader has checked that it exists).
const DramStandard& dram_standard(const ArchConfig&);
// Names of every registered standard, sorted.
std::vector<std::string> dram_standard_names();
// Adds a standard defined outside common/config/dram_standards/ (a test's toy standard, a
// plug-in). InputError if a standard of that name exists already.
void register_dram_standard(const DramStandard&);

// The one validator of the `dram` section (docs/config.md, "Consistency checks" 7-21): the
// common rules, then the named standard's organisation, timing rules and own check.
void check_dram(const ArchConfig&, const DramFail&);

}  // namespace tessera::config

// Defines the descriptor of standard NAME; follow it with `{ .name = "NAME", ... };`. NAME must be
// the file's name without .cpp: the build refers to tessera_dram_standard_NAME by the file name.
#define TESSERA_DRAM_STANDARD(NAME)                                              \
  extern const ::tessera::config::DramStandard tessera_dram_standard_##NAME;     \
  const ::tessera::config::DramStandard tessera_dram_standard_##NAME =
