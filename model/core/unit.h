#pragma once
// Unit: what every unit of a core shares (rtl/unit_queue.sv and rtl/token_counter.sv in the RTL):
// its queue of dispatched instructions, the dependency tokens it pops and pushes, and the
// busy/idle/stall accounting of docs/model.md. Each engine derives from it and supplies step().
#include <systemc>

#include <cstdint>
#include <string>
#include <vector>

#include "common/isa/isa.h"
#include "common/numerics/fp.h"
#include "model/core/memory.h"
#include "model/core/stats.h"

namespace tessera::model {

class Core;

// Sees which instruction each unit processes, so that the writes its WriteObserver side
// receives next belong to that instruction (co-simulation, cosim/cosim.cpp). on_step comes
// before every attempt to schedule an instruction, including attempts that block; a unit
// makes an instruction's functional writes only in the attempt that schedules it.
// on_acc_row_write is for the matrix engine's accumulator writes with their cycles (a result
// row written at `cycle`), which model/core/matrix_engine.* does not report yet; an observer
// that needs them overrides it.
class InstrObserver : public WriteObserver {
 public:
  virtual void on_step(uint32_t chip, uint32_t core, int unit, uint32_t index) = 0;
  virtual void on_acc_row_write(uint32_t /*chip*/, uint32_t /*core*/, uint32_t /*engine*/, uint32_t /*index*/,
                                uint64_t /*cycle*/, uint64_t /*addr*/, const uint8_t* /*data*/, uint64_t /*n*/) {}
};

// Bytes of one element of an ISA dtype code.
inline uint64_t dtype_size(uint64_t dtype) { return num::dtype_bytes(num::DType(dtype)); }

class Unit : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Unit);
  Unit(sc_core::sc_module_name name, Core& core, int id);

  Core& core;
  const int id;
  std::vector<uint32_t> instrs;  // program indices of this unit's instructions (static)
  std::vector<uint64_t> disp;    // dispatch cycle of each, appended by the sequencer
  std::vector<uint64_t> leave;   // cycle each left the queue (started)
  uint64_t completed = 0;        // instructions whose completion cycle is known
  uint64_t last_e = 0;           // latest completion cycle
  sc_core::sc_event dispatch_ev, progress_ev;
  UnitStats st;

  // Deadlock report: what the head instruction waits for.
  virtual std::string blocked_on() const;

 protected:
  void run();
  // Processes instrs[head]; true when it has been scheduled to completion, false when
  // blocked (the unit has called next_trigger).
  virtual bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) = 0;

  // Waits for the tokens of `mask`; on success `visible` is the first cycle they all are
  // and `latest` the unit whose token came last (kNoUnit when none).
  bool tokens_ready(uint16_t mask, uint64_t& visible, int& latest);
  void pop_tokens(uint16_t mask, uint64_t t, uint32_t index);
  void push_tokens(uint16_t mask, uint64_t e, uint32_t index);
  // Idle/token stall accounting between the unit becoming free at `free` and starting at `t`.
  void account_wait(uint64_t free, uint64_t arrival, uint64_t t, uint64_t token_visible, int latest);
  void account_busy(uint64_t from, uint64_t to);  // [from, to] inclusive, union with earlier
  void started(uint64_t t);
  void finished(uint64_t e);
  // The start of an instruction on a unit that runs one at a time (DMA, vector, collective):
  // waits for its tokens, T = max(arrival, previous E + 1, tokens), pops them. tpush and tpop
  // complete at T (`done`).
  bool begin(const isa::Instr& in, uint32_t index, uint64_t arrival, uint64_t& t, bool& done);
  // Books `bytes` this unit reads from (or writes to) space `s` from cycle `start` at `rate` bytes
  // per cycle on that tier's ports (docs/timing.md, "SRAM ports and arbitration"); adds the cycles
  // lost to the tier's contention statistic and returns them (0 for hbm).
  uint64_t contend(isa::Space s, uint32_t acc_engine, bool write, uint64_t start, uint64_t bytes, uint64_t rate);
  // Records completion at `e`: busy cycles from `start`, signal tokens, progress.
  void complete(const isa::Instr& in, uint32_t index, uint64_t start, uint64_t e);

  size_t head_ = 0;
  int phase_ = 0;
  // What the current block is, for the deadlock report: a description, or a token counter
  // (from unit waiting_token_) that has nothing to pop; rendered only when reported.
  const char* waiting_ = nullptr;
  int waiting_token_ = kNoUnit;
};

}  // namespace tessera::model
