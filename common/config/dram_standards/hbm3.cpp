// HBM3 (JEDEC JESD238): pseudo-channels and bank groups, per-bank REFRESH, separate row and
// column command buses; four data transfers per command clock (the tCK = 4 / rate relation of
// the Ramulator 2.0 fork [RAM2F], since no JEDEC HBM3 timing table is public).
// Presets: configs/dram/hbm3.yaml (values and sources: docs/presets.md).
#include "common/config/dram_standard.h"

TESSERA_DRAM_STANDARD(hbm3){
    .name = "hbm3",
    .document = "JEDEC JESD238",
    .pseudo_channels = true,
    .bank_groups = true,
    .transfers_per_tck = 4,
    .single_command_bus = false,
    .per_bank_refresh = true,
};
