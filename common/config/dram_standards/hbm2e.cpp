// HBM2E (JEDEC JESD235): pseudo-channels and bank groups, per-bank REFRESH, separate row and
// column command buses; double data rate on the command clock (two transfers per tCK).
// Presets: configs/dram/hbm2e.yaml (values and sources: docs/presets.md).
#include "common/config/dram_standard.h"

TESSERA_DRAM_STANDARD(hbm2e){
    .name = "hbm2e",
    .document = "JEDEC JESD235",
    .pseudo_channels = true,
    .bank_groups = true,
    .transfers_per_tck = 2,
    .single_command_bus = false,
    .per_bank_refresh = true,
};
