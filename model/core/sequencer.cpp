#include "model/core/sequencer.h"

#include <algorithm>
#include <string>

#include "model/core/system.h"

namespace tessera::model {

using isa::Opcode;

Sequencer::Sequencer(sc_core::sc_module_name name, Core& c) : sc_module(name), core_(c) { SC_METHOD(run); }

bool Sequencer::drained(uint64_t& e_max, int& busy_unit) const {
  e_max = 0;
  bool any = false;
  for (int u = 0; u < kQueueUnits; ++u) {
    const Unit* unit = core_.units[size_t(u)];
    if (!unit) continue;
    if (unit->completed < unit->disp.size()) {
      busy_unit = u;
      return false;
    }
    if (unit->completed) {
      e_max = std::max(e_max, unit->last_e + 1);
      any = true;
    }
  }
  if (!any) e_max = 0;
  return true;
}

void Sequencer::run() {
  // A stand-in core runs its own instructions; this object only keeps its halt and release.
  // In a parallel run another worker simulates the cores of a chip that is not local.
  if (core_.sys.failed() || core_.stand_in || !core_.sys.local(core_.chip.index)) return;
  const uint64_t f = core_.p.fetch_cycles();
  const uint64_t depth = core_.p.queue_depth;
  while (pc_ < core_.code.size()) {
    const isa::Instr& in = core_.code[pc_];
    InstrRecord& rec = core_.records[pc_];
    const uint64_t base = std::max(pc_ == 0 ? f - 1 : d_prev_ + f, floor_);
    if (in.op == Opcode::halt || in.op == Opcode::barrier) {
      uint64_t e_max;
      int busy = 0;
      if (!drained(e_max, busy)) {
        wait_ = Wait::Drain;
        wait_unit_ = busy;
        next_trigger(core_.units[busy]->progress_ev);
        return;
      }
      const uint64_t x = std::max(base, e_max);
      rec.dispatch = base;
      rec.start = x;
      if (in.op == Opcode::halt) {
        st.drain += x - base;
        rec.E = x;
        rec.done = true;
        halted = true;
        halt_cycle = x;
        st.halt_cycle = x;
        wait_ = Wait::None;
        ++pc_;
        return;
      }
      uint64_t r = x;
      const isa::Scope scope = isa::Scope(in.scope);
      if (scope != isa::Scope::core) {
        if (!barrier_arrived_) {
          st.drain += x - base;
          barrier_arrived_ = true;
          barrier_x_ = x;
          release.reset();
          core_.sys.barrier_arrive(core_.chip.index, core_.index, scope, uint32_t(in.id), x,
                                   core_.where(uint32_t(pc_)));
          if (core_.sys.failed()) return;
        }
        if (!release) {
          wait_ = Wait::Barrier;
          next_trigger(release_ev);
          return;
        }
        r = *release;
        barrier_arrived_ = false;
        st.barrier_wait += r - x;
      } else {
        st.drain += x - base;
      }
      ++st.barriers;
      rec.E = r;
      rec.done = true;
      floor_ = r + 1;
      d_prev_ = base;
      wait_ = Wait::None;
      ++pc_;
      continue;
    }
    Unit* u = core_.units[in.unit];
    const uint64_t k = core_.pos[pc_];
    uint64_t d = base;
    if (k >= depth) {
      if (u->leave.size() <= k - depth) {
        wait_ = Wait::QueueFull;
        wait_unit_ = in.unit;
        next_trigger(u->progress_ev);
        return;
      }
      const uint64_t fl = u->leave[k - depth] + 1;
      if (fl > d) {
        st.stall_queue_full[in.unit] += fl - d;
        d = fl;
      }
    }
    u->disp.push_back(d);
    u->dispatch_ev.notify();
    rec.dispatch = d;
    ++st.dispatched;
    d_prev_ = d;
    wait_ = Wait::None;
    ++pc_;
  }
}

std::string Sequencer::blocked_on() const {
  if (halted) return "";
  const std::string at = pc_ < core_.code.size() ? core_.where(uint32_t(pc_)) : std::string();
  switch (wait_) {
    case Wait::None:
      return "seq: running";
    case Wait::Drain:
      return "seq: drains the core before " + std::string(isa::name(core_.code[pc_].op)) + " " + at + " (" +
             std::string(unit_name(wait_unit_)) + " still busy)";
    case Wait::Barrier:
      return "seq: waits at barrier " + at + " id " + std::to_string(core_.code[pc_].id);
    case Wait::QueueFull:
      return "seq: dispatch of " + at + " waits: queue of " + std::string(unit_name(wait_unit_)) + " is full (" +
             std::to_string(core_.p.queue_depth) + " entries)";
  }
  return "seq: running";
}

}  // namespace tessera::model
