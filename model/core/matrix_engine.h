#pragma once
// MatrixEngine: a systolic array and its accumulator (rtl/matrix_engine.sv); matmul tiles timed
// by docs/timing.md "Matrix engine: matmul".
#include <systemc>

#include "common/timing/timing.h"
#include "model/core/sram.h"
#include "model/core/unit.h"

namespace tessera::model {

class MatrixEngine : public Unit {
 public:
  MatrixEngine(sc_core::sc_module_name name, Core& core, int id);
  Sram acc;  // this engine's accumulator
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  timing::MatmulTimer timer_;
};

}  // namespace tessera::model
