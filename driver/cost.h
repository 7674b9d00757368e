#pragma once
// What a costed request costs (docs/energy.md, docs/area.md): energy by component and stage,
// power per chip and area, from the event counts of the simulated segments of a TimingReport
// and the technology table of the architecture's node.
#include <string>

#include "common/config/config.h"
#include "common/tech/energy.h"
#include "driver/report.h"
#include "model/core/model.h"

namespace tessera::driver {

// The energy model's inputs from a run of `seconds` on `chips` chips. Refresh is charged for the
// whole time, pseudo-channels x seconds / tREFI all-bank refreshes (per-bank refresh costs the
// same per interval): a DRAM refreshes whether it is accessed or not, while the DRAM models
// count refreshes up to their last access only, which would make a request costed as a sum of
// segments cheaper than the same work run at once (docs/energy.md §5).
tech::EnergyCounts counts_of(const model::Totals& t, const config::ArchConfig& arch, uint32_t chips, double seconds);

// Fills r.cost and every simulated segment's dynamic_j. `tech` names a table or a file (empty:
// the table of process.node_nm). A missing table for the node gives a cost with available =
// false and the reason; a named table that cannot be loaded is an InputError.
void cost_request(TimingReport& r, const config::ArchConfig& arch, const std::string& tech);

}  // namespace tessera::driver
