#pragma once
// The architecture as the compiler plans with it: the shared integer view
// (common/timing/params.h, so the compiler and the model read the same fields) plus the
// rates the cost model (cost_model.h) works in, as doubles per core cycle.
#include <cstdint>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/timing/params.h"

namespace tessera::compiler {

struct Hw : timing::ArchParams {
  const config::ArchConfig* cfg = nullptr;
  double core_hz = 1e9;
  double macs_per_cycle = 1;         // per chip
  double hbm_bytes_per_cycle = 1;    // per chip, peak
  // L2 reads per cycle (docs/timing.md, "On-chip network"): of the chip, all cores streaming, and of
  // one core, through its network port.
  double l2_bytes_per_cycle = 0;
  double l2_core_bytes_per_cycle = 0;
  double link_bytes_per_cycle = 0;   // per link and direction
  double link_latency_cycles = 0;
  // A matrix input format listed in matrix.precisions.
  bool supports(isa::DType matrix_input) const;
};

Hw hw_of(const config::ArchConfig&);

}  // namespace tessera::compiler
