#pragma once
// Sram: one SRAM instance of the model (a core's L1, a chip's L2, a matrix engine's
// accumulator), named as rtl/sram.sv.
#include <systemc>

#include <cstdint>
#include <vector>

#include "common/timing/params.h"
#include "common/timing/ports.h"
#include "model/core/memory.h"
#include "model/core/stats.h"

namespace tessera::model {

// One SRAM instance (a core's L1, a chip's L2, an engine's accumulator): its bank geometry
// (docs/timing.md, "SRAM accesses and bank conflicts"), its bytes in functional mode and
// the accesses made to it by width. It has no process: the units time their accesses with
// the bank arithmetic of sram.h when they schedule an instruction.
class Sram : public sc_core::sc_module {
 public:
  Sram(sc_core::sc_module_name name, const timing::BankGeometry& g) : sc_module(name), geometry(g) {}
  const timing::BankGeometry& geometry;
  SparseMemory mem;
  SramTraffic traffic;
};

// The paths into one chip's L2 (docs/timing.md, "SRAM ports and arbitration", "On-chip
// network"): the L2's bank ports, the network's L2-side ports and each core's network port, each
// a shared bandwidth. Clients book their bytes first come, first served in the order the model
// schedules their instructions, which is deterministic.
class L2Fabric {
 public:
  explicit L2Fabric(const timing::ArchParams& p);
  // Books `bytes` that core `core` reads from the L2 (or writes to it) from cycle `start` at up
  // to `rate` bytes per cycle; returns the cycles the ports and the network cost beyond that rate.
  uint64_t access(uint32_t core, bool write, uint64_t start, uint64_t bytes, uint64_t rate);

 private:
  timing::BandwidthCalendar banks_, banks_read_, banks_write_, noc_read_, noc_write_;
  std::vector<timing::BandwidthCalendar> core_read_, core_write_;
};

}  // namespace tessera::model
