#pragma once
// DmaEngine: one strided-copy engine of a core (rtl/dma_engine.sv); docs/timing.md "DMA".
#include <systemc>

#include <cstdint>

#include "model/core/unit.h"

namespace tessera::model {

class DmaEngine : public Unit {
 public:
  DmaEngine(sc_core::sc_module_name name, Core& core, int id);
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  uint64_t T_ = 0, sram_e_ = 0, dram_done_ = 0;
  int dram_left_ = 0;
  sc_core::sc_event dram_ev_;
};

}  // namespace tessera::model
