#include "model/core/unit.h"

#include <algorithm>
#include <string>

#include "model/core/system.h"

namespace tessera::model {

using isa::Opcode;

std::string_view unit_name(int unit) {
  if (unit < 0 || unit >= kUnits) return "none";
  return isa::name(isa::Unit(unit));
}

Unit::Unit(sc_core::sc_module_name name, Core& c, int unit_id) : sc_module(name), core(c), id(unit_id) {
  SC_METHOD(run);
}

void Unit::run() {
  if (core.sys.failed()) return;
  while (head_ < instrs.size()) {
    if (head_ >= disp.size()) {
      waiting_ = "waits for the sequencer to dispatch it";
      next_trigger(dispatch_ev);
      return;
    }
    const uint32_t idx = instrs[head_];
    if (core.sys.observer) core.sys.observer->on_step(core.chip.index, core.index, id, idx);
    if (!step(core.code[idx], idx, disp[head_] + 1)) return;
    if (core.sys.failed()) return;
    ++head_;
    phase_ = 0;
    waiting_ = nullptr;
    waiting_token_ = kNoUnit;
  }
}

std::string Unit::blocked_on() const {
  if (head_ >= instrs.size()) return "";
  const uint32_t idx = instrs[head_];
  std::string s = std::string(unit_name(id)) + ": head " + core.where(idx) + " [" +
                  isa::format_instr(core.code[idx]) + "]";
  if (waiting_token_ != kNoUnit) {
    s += " waits for token " + std::string(unit_name(waiting_token_)) + "->" + std::string(unit_name(id)) +
         " (counter at 0; " + std::to_string(core.tokens[waiting_token_][id].pops()) + " popped so far)";
  } else if (waiting_) {
    s += std::string(" ") + waiting_;
  }
  return s;
}

bool Unit::tokens_ready(uint16_t mask, uint64_t& visible, int& latest) {
  visible = 0;
  latest = kNoUnit;
  for (int u = 0; u < kQueueUnits; ++u) {
    if (!((mask >> u) & 1)) continue;
    timing::TokenCounter& c = core.tokens[u][id];
    if (!c.next_available()) {
      waiting_token_ = u;
      next_trigger(core.token_event(u, id));
      return false;
    }
    const uint64_t v = c.next_visible();
    if (latest == kNoUnit || v >= visible) {
      visible = v;
      latest = u;
    }
  }
  return true;
}

void Unit::pop_tokens(uint16_t mask, uint64_t t, uint32_t index) {
  for (int u = 0; u < kQueueUnits; ++u) {
    if (!((mask >> u) & 1)) continue;
    if (auto over = core.tokens[u][id].pop(t)) {
      core.sys.fail(core.where(index) + ": token counter " + std::string(unit_name(u)) + "->" +
                    std::string(unit_name(id)) + " exceeds core.token_depth = " + std::to_string(core.p.token_depth) +
                    " at cycle " + std::to_string(*over));
    }
  }
}

void Unit::push_tokens(uint16_t mask, uint64_t e, uint32_t index) {
  for (int v = 0; v < kQueueUnits; ++v) {
    if (!((mask >> v) & 1)) continue;
    if (auto over = core.tokens[id][v].push(e)) {
      core.sys.fail(core.where(index) + ": token counter " + std::string(unit_name(id)) + "->" +
                    std::string(unit_name(v)) + " exceeds core.token_depth = " + std::to_string(core.p.token_depth) +
                    " at cycle " + std::to_string(*over));
    }
    if (auto& e = core.token_ev[size_t(id)][size_t(v)]) e->notify();
  }
}

void Unit::account_wait(uint64_t free, uint64_t arrival, uint64_t t, uint64_t token_visible, int latest) {
  if (t <= free) return;
  const uint64_t gap = t - free;
  const uint64_t idle = arrival > free ? std::min(gap, arrival - free) : 0;
  st.idle += idle;
  const uint64_t ready = std::max(free, arrival);
  uint64_t tok = 0;
  if (latest != kNoUnit && token_visible > ready) tok = std::min(t, token_visible) - ready;
  if (tok) st.stall_token[latest] += tok;
  st.stall_order += gap - idle - tok;
}

void Unit::account_busy(uint64_t from, uint64_t to) {
  if (to + 1 <= st.covered_until) return;
  const uint64_t lo = std::max(from, st.covered_until);
  st.busy += to + 1 - lo;
  st.covered_until = to + 1;
}

void Unit::started(uint64_t t) {
  leave.push_back(t);
  progress_ev.notify();
}

void Unit::finished(uint64_t e) {
  ++completed;
  last_e = std::max(last_e, e);
  progress_ev.notify();
}

bool Unit::begin(const isa::Instr& in, uint32_t index, uint64_t arrival, uint64_t& t, bool& done) {
  done = false;
  uint64_t vis;
  int latest;
  if (!tokens_ready(in.wait, vis, latest)) return false;
  // One instruction at a time: the next starts the cycle after the previous completes.
  const uint64_t free = completed ? last_e + 1 : 0;
  t = std::max({arrival, free, vis});
  account_wait(free, arrival, t, vis, latest);
  pop_tokens(in.wait, t, index);
  started(t);
  core.records[index].start = t;
  ++st.instructions;
  ++st.opcodes[uint8_t(in.op)];
  if (in.op == Opcode::tpush || in.op == Opcode::tpop) {
    complete(in, index, t, t);
    done = true;
  }
  return true;
}

uint64_t Unit::contend(isa::Space s, uint32_t acc_engine, bool write, uint64_t start, uint64_t bytes, uint64_t rate) {
  uint64_t lost = 0;
  switch (s) {
    case isa::Space::l1:
      lost = core.l1.ports.access(write, start, bytes, rate);
      st.l1_contention += lost;
      break;
    case isa::Space::l2:
      lost = core.chip.l2_fabric.access(core.index, write, start, bytes, rate);
      st.l2_contention += lost;
      break;
    case isa::Space::acc:
      lost = core.engine(acc_engine).acc.ports.access(write, start, bytes, rate);
      st.acc_contention += lost;
      break;
    default:
      break;
  }
  return lost;
}

void Unit::complete(const isa::Instr& in, uint32_t index, uint64_t start, uint64_t e) {
  InstrRecord& rec = core.records[index];
  rec.E = e;
  rec.done = true;
  core.sys.completed(e);
  account_busy(start, e);
  push_tokens(in.signal, e, index);
  finished(e);
}

}  // namespace tessera::model
