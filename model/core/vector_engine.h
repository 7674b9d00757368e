#pragma once
// VectorEngine: the core's vector unit (rtl/vector_engine.sv); docs/timing.md "Vector engine".
#include <systemc>

#include <cstdint>

#include "model/core/unit.h"

namespace tessera::model {

class VectorEngine : public Unit {
 public:
  VectorEngine(sc_core::sc_module_name name, Core& core, int id);
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  // Multi-phase state for hbm operands.
  uint64_t T_ = 0, reads_left_ = 0, read_done_ = 0, write_done_ = 0;
  bool write_pending_ = false;
  sc_core::sc_event dram_ev_;
};

}  // namespace tessera::model
