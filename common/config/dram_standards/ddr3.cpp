// DDR3 SDRAM (JEDEC JESD79-3): no pseudo-channels, no bank groups, all-bank REFRESH only; the
// data bus moves two transfers per command clock and row and column commands share one bus.
// Presets: configs/dram/ddr3-2133.yaml (values and sources: docs/presets.md).
#include "common/config/dram_standard.h"

TESSERA_DRAM_STANDARD(ddr3){
    .name = "ddr3",
    .document = "JEDEC JESD79-3",
    .pseudo_channels = false,
    .bank_groups = false,
    .transfers_per_tck = 2,
    .single_command_bus = true,
    .per_bank_refresh = false,
    .stacked = false,
};
