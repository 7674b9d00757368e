#pragma once
// MatrixEngine: a systolic array and its accumulator (rtl/matrix_engine.sv); matmul tiles timed
// by docs/timing.md "Matrix engine: matmul". MatmulTrack is the engine's timing and its list of
// accumulator writes without SystemC, so the RTL benches compare the RTL with the model's own code.
#include <systemc>

#include <cstdint>
#include <vector>

#include "common/timing/timing.h"
#include "model/core/memory.h"
#include "model/core/sram.h"
#include "model/core/unit.h"

namespace tessera::model {

// One accumulator word written by a matmul: the cycle whose clock edge writes it, its byte
// address in the accumulator, the value written and the instruction's index in its program.
struct AccWrite {
  uint64_t cycle = 0;
  uint64_t addr = 0;
  uint32_t value = 0;
  uint32_t instr = 0;
  bool operator==(const AccWrite&) const = default;
};

// Test-only faults (issue 14): they make the model wrong on purpose so a test can show that a
// comparison with the RTL finds the slip at the right instruction and write.
struct MatmulFault {
  int64_t delay_instr = -1;  // this instruction's tile is taken one cycle late
  int64_t flip_write = -1;   // this accumulator write (counted from 0 over the engine's run)...
  uint32_t flip_bit = 0;     // ...has this bit of its value flipped, in the log and the accumulator
};

// The accumulator writes of one matmul tile timed `t` (docs/timing.md): weight-stationary row i,
// column c at S + i + R + c + 1; output-stationary row i (all n columns) at D + R + 1 - i. In
// order of cycle, then address; `acc` holds the values after the tile.
void matmul_acc_writes(const isa::Instr& in, const timing::MatmulTimes& t, uint64_t R, uint32_t instr,
                       const SparseMemory& acc, std::vector<AccWrite>& out);

class MatmulTrack {
 public:
  MatmulTrack(uint64_t rows, bool double_buffer) : R_(rows), timer_(rows, double_buffer) {}
  uint64_t earliest_q() const { return timer_.earliest_q(); }
  // Times the tile of matmul `index` taken at Q (Q + 1 under fault.delay_instr).
  timing::MatmulTimes tile(uint64_t Q, const isa::Instr& in, uint32_t index);
  uint64_t sync(uint64_t Q, bool is_push) { return timer_.sync(Q, is_push); }
  // After the tile's functional execution: appends its writes to *log (when set) and applies
  // fault.flip_write to the log and to `acc`.
  void writes(const isa::Instr& in, const timing::MatmulTimes& t, uint32_t index, SparseMemory& acc);

  MatmulFault fault;
  std::vector<AccWrite>* log = nullptr;

 private:
  uint64_t R_;
  timing::MatmulTimer timer_;
  uint64_t n_writes_ = 0;
  std::vector<AccWrite> scratch_;
};

class MatrixEngine : public Unit {
 public:
  MatrixEngine(sc_core::sc_module_name name, Core& core, int id);
  Sram acc;           // this engine's accumulator
  MatmulTrack track;  // timing; set track.log (functional mode) to record accumulator writes
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
};

}  // namespace tessera::model
