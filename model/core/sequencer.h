#pragma once
// Sequencer: fetch, dispatch, halt and barrier of one core (rtl/sequencer.sv); docs/timing.md
// "Sequencer: fetch, dispatch, halt, barrier".
#include <systemc>

#include <cstdint>
#include <optional>
#include <string>

#include "model/core/stats.h"

namespace tessera::model {

class Core;

class Sequencer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Sequencer);
  Sequencer(sc_core::sc_module_name name, Core& core);
  SeqStats st;
  bool halted = false;
  uint64_t halt_cycle = 0;
  std::string blocked_on() const;
  sc_core::sc_event release_ev;  // barrier release
  std::optional<uint64_t> release;  // set by the system when the current barrier releases

 private:
  void run();
  bool drained(uint64_t& e_max, int& busy_unit) const;
  Core& core_;
  size_t pc_ = 0;
  uint64_t d_prev_ = 0;
  uint64_t floor_ = 0;      // earliest next dispatch after a barrier
  bool barrier_arrived_ = false;
  uint64_t barrier_x_ = 0;
  // What the sequencer waits for, for the deadlock report (rendered only when reported): to
  // drain the core before the halt or barrier at pc_ (unit wait_unit_ still busy), the barrier's
  // release, or room in unit wait_unit_'s queue.
  enum class Wait : uint8_t { None, Drain, Barrier, QueueFull };
  Wait wait_ = Wait::None;
  int wait_unit_ = 0;
};

}  // namespace tessera::model
