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
// The bank ports of one SRAM instance (docs/timing.md, "SRAM ports and arbitration"): what its
// reads, its writes, and both together may move per cycle over all of its clients.
class BankPorts {
 public:
  BankPorts(const timing::BankGeometry& g, timing::Ports kind);
  // The calendars a read or a write of this SRAM books on (unlimited ones are skipped).
  timing::BandwidthCalendar* shared() { return &shared_; }
  timing::BandwidthCalendar* side(bool write) { return write ? &write_ : &read_; }
  // A client that waits for the ports: the cycles its `bytes` from `start` at `rate` end late.
  uint64_t access(bool write, uint64_t start, uint64_t bytes, uint64_t rate) {
    return timing::book({shared(), side(write)}, start, bytes, rate);
  }
  // A client that is never delayed (matrix engines) takes its bandwidth all the same.
  void claim(bool write, uint64_t start, uint64_t bytes, uint64_t rate) {
    timing::claim({shared(), side(write)}, start, bytes, rate);
  }

 private:
  timing::BandwidthCalendar shared_, read_, write_;
};

class Sram : public sc_core::sc_module {
 public:
  Sram(sc_core::sc_module_name name, const timing::BankGeometry& g, timing::Ports kind)
      : sc_module(name), geometry(g), ports(g, kind) {}
  const timing::BankGeometry& geometry;
  BankPorts ports;
  SparseMemory mem;
  SramTraffic traffic;
};

// The paths into one chip's L2 (docs/timing.md, "SRAM ports and arbitration", "On-chip
// network"): the L2's bank ports, the network's L2-side ports and each core's network port, each
// a shared bandwidth. Clients book their bytes first come, first served in the order the model
// schedules their instructions, which is deterministic.
class L2Fabric {
 public:
  L2Fabric(const timing::ArchParams& p, BankPorts& banks);
  // Books `bytes` that core `core` reads from the L2 (or writes to it) from cycle `start` at up
  // to `rate` bytes per cycle; returns the cycles the ports and the network cost beyond that rate.
  uint64_t access(uint32_t core, bool write, uint64_t start, uint64_t bytes, uint64_t rate);

 private:
  BankPorts& banks_;
  timing::BandwidthCalendar noc_read_, noc_write_;
  std::vector<timing::BandwidthCalendar> core_read_, core_write_;
};

}  // namespace tessera::model
