#pragma once
// Which architectures the Verilated RTL core can stand in for (cosim/rtl_core.h). Kept apart
// from the core itself so that `tessera`, which does not link Verilator, checks it too.
#include <string>

#include "common/config/config.h"

namespace tessera::cosim {

// InputError unless the core sections of `arch` (core, matrix, accumulator, vector, l1, dma)
// are those rtl/core.sv was verilated for (tiny's); the chip around the core (cores per chip,
// chips, L2, DRAM, links, clock) may differ. `option` names what chose the architecture.
void check_rtl_core_arch(const config::ArchConfig& arch, const std::string& option);

}  // namespace tessera::cosim
