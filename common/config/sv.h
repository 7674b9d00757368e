#pragma once
// The SystemVerilog view of a configuration: package `tessera_cfg_pkg` with one localparam per
// schema key (name = key path in upper snake case, e.g. MATRIX_ROWS, L1_BANK_WIDTH), from which
// the RTL takes its parameters. Enum keys become their value index, enum lists a bit mask
// (bit i = value i of the schema's list), with a named constant for every value.
#include <string>

#include "common/config/config.h"

namespace tessera::config {

std::string to_sv_package(const ArchConfig&);

}  // namespace tessera::config
