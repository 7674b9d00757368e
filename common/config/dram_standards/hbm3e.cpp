// HBM3E (the extended-rate HBM3 of JEDEC JESD238): the rules of HBM3 at higher data rates, four
// data transfers per command clock. Presets: configs/dram/hbm3e.yaml (values and sources:
// docs/presets.md).
#include "common/config/dram_standard.h"

TESSERA_DRAM_STANDARD(hbm3e){
    .name = "hbm3e",
    .document = "JEDEC JESD238 (extended rates)",
    .pseudo_channels = true,
    .bank_groups = true,
    .transfers_per_tck = 4,
    .single_command_bus = false,
    .per_bank_refresh = true,
};
