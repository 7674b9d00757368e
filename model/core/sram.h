#pragma once
// Sram: one SRAM instance of the model (a core's L1, a chip's L2, a matrix engine's
// accumulator), named as rtl/sram.sv.
#include <systemc>

#include "common/timing/params.h"
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

}  // namespace tessera::model
