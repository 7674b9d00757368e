// The execution units of a core: queue handling and tokens (Unit), and the timing of each
// instruction class (docs/timing.md). Each step() computes an instruction's timeline
// from the formulas when the information it needs is known, performs its functional
// effect in functional mode, records tokens and statistics, and returns; it blocks only
// for DRAM transfers and messages, whose timing other processes decide.
#include <algorithm>
#include <string>

#include "common/util/error.h"
#include "model/core/functional.h"
#include "model/core/system.h"

namespace tessera::model {

using isa::Opcode;
using isa::Space;

namespace {

uint64_t dtype_size(uint64_t t) { return num::dtype_bytes(num::DType(t)); }

// DRAM bursts one engine may have in flight: dma.max_outstanding requests of
// dma.burst_bytes each (docs/timing.md, "DMA").
uint32_t dram_outstanding(const timing::ArchParams& p) {
  const uint64_t per = std::max<uint64_t>(1, p.dma_burst / p.dram_burst_bytes);
  return uint32_t(std::min<uint64_t>(uint64_t(p.dma_max_outstanding) * per, UINT32_MAX));
}

}  // namespace

// ---- Unit --------------------------------------------------------------------------------

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
    if (!step(core.code[idx], idx, disp[head_] + 1)) return;
    if (core.sys.failed()) return;
    ++head_;
    phase_ = 0;
    waiting_.clear();
  }
}

std::string Unit::blocked_on() const {
  if (head_ >= instrs.size()) return "";
  const uint32_t idx = instrs[head_];
  std::string s = std::string(unit_name(id)) + ": head " + core.where(idx) + " [" +
                  isa::format_instr(core.code[idx]) + "]";
  if (!waiting_.empty()) s += " " + waiting_;
  return s;
}

bool Unit::tokens_ready(uint16_t mask, uint64_t& visible, int& latest) {
  visible = 0;
  latest = kNoUnit;
  for (int u = 0; u < kQueueUnits; ++u) {
    if (!((mask >> u) & 1)) continue;
    timing::TokenCounter& c = core.tokens[u][id];
    if (!c.next_available()) {
      waiting_ = "waits for token " + std::string(unit_name(u)) + "->" + std::string(unit_name(id)) +
                 " (counter at 0; " + std::to_string(c.pops()) + " popped so far)";
      next_trigger(*core.token_ev[u][id]);
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
    core.token_ev[id][v]->notify();
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

void Unit::complete(const isa::Instr& in, uint32_t index, uint64_t start, uint64_t e) {
  InstrRecord& rec = core.records[index];
  rec.E = e;
  rec.done = true;
  account_busy(start, e);
  push_tokens(in.signal, e, index);
  finished(e);
}

// ---- Matrix engine ---------------------------------------------------------------------------

MatrixEngine::MatrixEngine(sc_core::sc_module_name name, Core& c, int unit_id)
    : Unit(name, c, unit_id), acc("acc", c.p.acc), timer_(c.p.R, c.p.double_buffer) {}

bool MatrixEngine::step(const isa::Instr& in, uint32_t index, uint64_t arrival) {
  uint64_t vis;
  int latest;
  if (!tokens_ready(in.wait, vis, latest)) return false;
  const uint64_t free = timer_.earliest_q();
  const uint64_t Q = std::max({arrival, free, vis});
  account_wait(free, arrival, Q, vis, latest);
  pop_tokens(in.wait, Q, index);
  started(Q);
  InstrRecord& rec = core.records[index];
  rec.start = Q;
  ++st.instructions;
  ++st.opcodes[uint8_t(in.op)];
  uint64_t e;
  if (in.op == Opcode::matmul) {
    const bool os = in.dataflow == uint64_t(isa::Dataflow::os);
    const timing::MatmulTimes tm = timer_.tile(Q, timing::MatmulTile{os, in.m, in.k, in.n});
    rec.W = tm.W;
    rec.S = tm.S;
    rec.D = tm.D;
    rec.m = in.m;
    rec.k = in.k;
    rec.os = os;
    e = tm.E;
    account_busy(tm.W, tm.E);
    core.macs_by_type[in.a_type][in.b_type] += in.m * in.k * in.n;
    // Operand rows read from L1 (A or A^T, and B), result rows in the accumulator.
    const uint64_t ea = dtype_size(in.a_type), eb = dtype_size(in.b_type);
    if (os) {
      core.l1.traffic.read(in.m * ea, in.k);
    } else {
      core.l1.traffic.read(in.k * ea, in.m);
    }
    core.l1.traffic.read(in.n * eb, in.k);
    if (in.accumulate) acc.traffic.read(in.n * 4, in.m);
    acc.traffic.write(in.n * 4, in.m);
    if (core.sys.functional()) fn_matmul(in, core.l1.mem, acc.mem, core.numeric);
  } else {
    e = timer_.sync(Q, in.op == Opcode::tpush);
  }
  rec.E = e;
  rec.done = true;
  push_tokens(in.signal, e, index);
  finished(e);
  return true;
}

// ---- Vector engine ---------------------------------------------------------------------------

VectorEngine::VectorEngine(sc_core::sc_module_name name, Core& c, int unit_id) : Unit(name, c, unit_id) {}

namespace {

// The timing class and operand shapes of spec/isa.yaml for one vector instruction.
timing::VecShape vector_shape(const isa::Instr& in, const Core& core) {
  const isa::OpcodeInfo& info = isa::info(in.op);
  timing::VecShape s;
  s.rows = in.rows;
  s.cols = in.cols;
  s.iarg = std::max<uint64_t>(in.iarg, 1);
  s.cls = info.vector_class;
  s.src2_shape = info.shapes[2];
  s.has_src1 = info.shapes[1] != isa::OperandShape::none;
  auto operand = [&](uint64_t space, uint64_t addr, uint64_t stride, uint64_t type) {
    timing::VecOperand o;
    o.tier = core.tier(Space(space));
    o.addr = addr;
    o.stride = stride;
    o.elem_bytes = dtype_size(type);
    return o;
  };
  s.src1 = operand(in.src1_space, in.src1_addr, in.src1_stride, in.src1_type);
  s.src2 = operand(in.src2_space, in.src2_addr, in.src2_stride, in.src2_type);
  s.dst = operand(in.dst_space, in.dst_addr, in.dst_stride, in.dst_type);
  if (!s.has_src1) s.src1.tier = nullptr;
  if (s.src2_shape == isa::OperandShape::none) s.src2.tier = nullptr;
  return s;
}

// The rows of operand `k` (0 dst, 1 src1, 2 src2) as the DRAM and the SRAM ports see them.
isa::OperandRows operand_rows(const isa::Instr& in, int k) {
  const isa::OperandShape shape = isa::info(in.op).shapes[size_t(k)];
  const uint64_t stride = k == 0 ? in.dst_stride : k == 1 ? in.src1_stride : in.src2_stride;
  const uint64_t type = k == 0 ? in.dst_type : k == 1 ? in.src1_type : in.src2_type;
  return isa::operand_rows(shape, in.rows, in.cols, stride, dtype_size(type), std::max<uint64_t>(in.iarg, 1));
}

dram::Pattern3D pattern_of(uint64_t addr, const isa::OperandRows& x) {
  dram::Pattern3D p;
  p.base = addr;
  p.len = x.row_bytes;
  p.n1 = x.rows;
  p.n2 = 1;
  p.stride1 = x.stride;
  p.stride2 = 0;
  if (x.rows > 1 && x.stride == 0) {  // a broadcast row is read once
    p.n1 = 1;
  }
  return p;
}

// Accesses of one port: `beats` lane-groups, split into full and partial widths.
void count_port(SramTraffic* t, bool write, uint64_t rows, uint64_t cols, uint64_t lanes, uint64_t es, bool packed) {
  if (!t) return;
  auto add = [&](uint64_t width, uint64_t count) { write ? t->write(width, count) : t->read(width, count); };
  if (packed) {
    const uint64_t g = lanes / cols;
    add(g * cols * es, rows / g);
    add((rows % g) * cols * es, 1);
  } else {
    add(lanes * es, rows * (cols / lanes));
    add((cols % lanes) * es, rows);
  }
}

}  // namespace

bool VectorEngine::step(const isa::Instr& in, uint32_t index, uint64_t arrival) {
  const timing::VecShape shape = vector_shape(in, core);
  const bool packed = !(shape.cls == timing::VecClass::reduce || shape.cls == timing::VecClass::topk) && in.cols < core.p.lanes;
  InstrRecord& rec = core.records[index];
  if (phase_ == 0) {
    bool done;
    if (!begin(in, index, arrival, T_, done)) return false;
    if (done) return true;
    if (core.sys.functional()) {
      fn_vector(in, [this](Space s, uint32_t e) -> SparseMemory& { return core.memory(s, e); }, core.p.lanes,
                core.numeric);
    }
    // Traffic of the SRAM ports.
    const uint64_t L = core.p.lanes;
    if (shape.has_src1) {
      count_port(core.traffic(Space(in.src1_space), uint32_t(in.acc_engine)), false, in.rows, in.cols, L,
                 shape.src1.elem_bytes, packed);
    }
    if (shape.src2_shape != timing::OperandShape::none) {
      const isa::OperandRows x = operand_rows(in, 2);
      SramTraffic* t = core.traffic(Space(in.src2_space), uint32_t(in.acc_engine));
      if (t) t->read(x.row_bytes, x.rows);
    }
    {
      const isa::OperandRows x = operand_rows(in, 0);
      SramTraffic* t = core.traffic(Space(in.dst_space), uint32_t(in.acc_engine));
      if (shape.cls == timing::VecClass::reduce || shape.cls == timing::VecClass::topk) {
        if (t) t->write(x.row_bytes, x.rows);
      } else {
        count_port(t, true, in.rows, in.cols, L, shape.dst.elem_bytes, packed);
      }
    }
    // Sources in DRAM are read before the first beat issues.
    reads_left_ = 0;
    read_done_ = T_;
    write_pending_ = false;
    auto read_operand = [&](uint64_t addr, const isa::OperandRows& x) {
      ++reads_left_;
      core.chip.dram->request(pattern_of(addr, x), false, dram_outstanding(core.p), T_, core.key(id),
                              [this](uint64_t done) {
                                read_done_ = std::max(read_done_, done);
                                --reads_left_;
                                dram_ev_.notify();
                              });
    };
    if (shape.has_src1 && Space(in.src1_space) == Space::hbm) read_operand(in.src1_addr, operand_rows(in, 1));
    if (shape.src2_shape != timing::OperandShape::none && Space(in.src2_space) == Space::hbm)
      read_operand(in.src2_addr, operand_rows(in, 2));
    phase_ = 1;
  }
  if (phase_ == 1) {
    if (reads_left_ > 0) {
      waiting_ = "waits for its DRAM operand reads";
      next_trigger(dram_ev_);
      return false;
    }
    const timing::VecTiming vt = timing::vector_timing(shape, core.p.lanes, core.p.special_cycles);
    const uint64_t first = read_done_;  // = T when no operand is in DRAM
    st.stall_dram += first - T_;
    st.bank_conflict += vt.conflicts;
    // Operands from L2 take longer than the L1 read the pipeline depth covers.
    uint64_t extra = 0;
    auto slower = [&](uint64_t space) {
      if (Space(space) == Space::l2 && core.p.l2.latency > core.p.l1.latency)
        extra = std::max(extra, core.p.l2.latency - core.p.l1.latency);
    };
    if (shape.has_src1) slower(in.src1_space);
    if (shape.src2_shape != timing::OperandShape::none) slower(in.src2_space);
    const uint64_t x = first + vt.issue - 1 + core.p.vec_latency + vt.tail + extra;
    write_done_ = x;
    if (Space(in.dst_space) == Space::hbm) {
      write_pending_ = true;
      core.chip.dram->request(pattern_of(in.dst_addr, operand_rows(in, 0)), true, dram_outstanding(core.p), x,
                              core.key(id), [this](uint64_t done) {
                                write_done_ = std::max(write_done_, done);
                                write_pending_ = false;
                                dram_ev_.notify();
                              });
    }
    rec.S = first;
    phase_ = 2;
  }
  if (write_pending_) {
    waiting_ = "waits for its DRAM result write";
    next_trigger(dram_ev_);
    return false;
  }
  complete(in, index, T_, write_done_);
  return true;
}

// ---- DMA engine ------------------------------------------------------------------------------

DmaEngine::DmaEngine(sc_core::sc_module_name name, Core& c, int unit_id) : Unit(name, c, unit_id) {}

bool DmaEngine::step(const isa::Instr& in, uint32_t index, uint64_t arrival) {
  InstrRecord& rec = core.records[index];
  if (phase_ == 0) {
    bool done;
    if (!begin(in, index, arrival, T_, done)) return false;
    if (done) return true;
    const Space ss = Space(in.src_space), ds = Space(in.dst_space);
    timing::DmaShape sh;
    sh.src = timing::DmaSide{core.tier(ss), in.src_addr, in.src_stride1, in.src_stride2};
    sh.dst = timing::DmaSide{core.tier(ds), in.dst_addr, in.dst_stride1, in.dst_stride2};
    sh.len = in.len;
    sh.n1 = in.n1;
    sh.n2 = in.n2;
    const bool dram_side = ss == Space::hbm || ds == Space::hbm;
    const uint64_t lat_out = (!dram_side && (ss == Space::l2 || ds == Space::l2)) ? core.p.l2.latency : 0;
    const timing::DmaTiming dt = timing::dma_timing(sh, core.p.dma_bytes_per_cycle, core.p.dma_max_outstanding, lat_out);
    st.bank_conflict += dt.conflicts;
    st.throttle += dt.throttle;
    const uint64_t t0 = T_ + core.p.dma_setup;
    const uint64_t tl = t0 + dt.last_issue;
    rec.S = t0;
    // SRAM traffic: every beat reads the source and writes the destination.
    const uint64_t bpc = core.p.dma_bytes_per_cycle;
    const uint64_t rows = in.n1 * in.n2;
    auto count = [&](SramTraffic* t, bool write) {
      if (!t) return;
      auto add = [&](uint64_t w, uint64_t c) { write ? t->write(w, c) : t->read(w, c); };
      add(bpc, rows * (in.len / bpc));
      add(in.len % bpc, rows);
    };
    count(core.traffic(ss, uint32_t(in.acc_engine)), false);
    count(core.traffic(ds, uint32_t(in.acc_engine)), true);
    if (core.sys.functional()) {
      fn_copy(in, [this, &in](Space s, uint32_t) -> SparseMemory& { return core.memory(s, uint32_t(in.acc_engine)); });
    }
    const uint64_t lat_s = core.latency(ss), lat_d = core.latency(ds);
    if (!dram_side) {
      complete(in, index, T_, tl + lat_s + lat_d);
      return true;
    }
    dram::Pattern3D src{in.src_addr, in.len, in.n1, in.n2, in.src_stride1, in.src_stride2};
    dram::Pattern3D dst{in.dst_addr, in.len, in.n1, in.n2, in.dst_stride1, in.dst_stride2};
    dram_left_ = 0;
    dram_done_ = 0;
    auto cb = [this](uint64_t done) {
      dram_done_ = std::max(dram_done_, done);
      --dram_left_;
      dram_ev_.notify();
    };
    const uint32_t mo = dram_outstanding(core.p);
    if (ss == Space::hbm && ds == Space::hbm) {
      dram_left_ = 2;
      core.chip.dram->request(src, false, mo, t0, core.key(id), cb);
      core.chip.dram->request(dst, true, mo, t0, core.key(id), cb);
      sram_e_ = tl;
    } else if (ss == Space::hbm) {
      dram_left_ = 1;
      core.chip.dram->request(src, false, mo, t0, core.key(id), cb);
      sram_e_ = tl + lat_d;
    } else {
      dram_left_ = 1;
      core.chip.dram->request(dst, true, mo, t0 + lat_s, core.key(id), cb);
      sram_e_ = tl + lat_s;
    }
    phase_ = 1;
  }
  if (dram_left_ > 0) {
    waiting_ = "waits for its DRAM transfer";
    next_trigger(dram_ev_);
    return false;
  }
  const Space ss = Space(in.src_space), ds = Space(in.dst_space);
  // A load into SRAM writes the last data l1/l2/acc latency after it has arrived.
  const uint64_t dram_e = (ss == Space::hbm && ds != Space::hbm) ? dram_done_ + core.latency(ds) : dram_done_;
  const uint64_t e = std::max(sram_e_, dram_e);
  st.stall_dram += e - sram_e_;
  complete(in, index, T_, e);
  return true;
}

// ---- Collective unit ---------------------------------------------------------------------

CollectiveUnit::CollectiveUnit(sc_core::sc_module_name name, Core& c, int unit_id) : Unit(name, c, unit_id) {}

bool CollectiveUnit::step(const isa::Instr& in, uint32_t index, uint64_t arrival) {
  System& sys = core.sys;
  const uint32_t chips = core.p.chips;
  const uint32_t self = core.chip.index;
  const bool sends = in.op == Opcode::csend || in.op == Opcode::creduce;
  const bool recvs = in.op == Opcode::crecv || in.op == Opcode::creduce;
  const bool reduce = in.op == Opcode::creduce;
  auto mem = [this, &in](Space s, uint32_t) -> SparseMemory& { return core.memory(s, uint32_t(in.acc_engine)); };
  if (phase_ == 0) {
    bool done;
    if (!begin(in, index, arrival, T_, done)) return false;
    if (done) return true;
    waits_ = 0;
    send_e_ = T_;
    recv_e_ = T_;
    recv_arrived_ = false;
    const uint64_t mo = dram_outstanding(core.p);
    if (sends) {
      const uint32_t dst = uint32_t((self + in.peer_send) % chips);
      std::vector<uint8_t> payload;
      if (sys.functional()) payload = fn_send_payload(in, mem);
      if (SramTraffic* t = core.traffic(Space(in.send_space), uint32_t(in.acc_engine))) t->read(in.bytes, 1);
      ++waits_;
      auto sent = [this](uint64_t depart_end_fs) {
        send_e_ = core.sys.clock.cycle_at_or_after(depart_end_fs);
        --waits_;
        ev_.notify();
      };
      const uint64_t bytes = in.bytes, tag = in.tag, key = core.key(id);
      if (Space(in.send_space) == Space::hbm) {
        ++waits_;
        auto pl = std::make_shared<std::vector<uint8_t>>(std::move(payload));
        core.chip.dram->request(dram::Pattern3D{in.send_addr, in.bytes, 1, 1, 0, 0}, false, uint32_t(mo), T_, key,
                                [this, self, dst, tag, bytes, key, pl, sent](uint64_t done) {
                                  core.sys.links->send(done, self, dst, uint16_t(tag), bytes, key, std::move(*pl), sent);
                                  --waits_;
                                  ev_.notify();
                                });
      } else {
        sys.links->send(T_ + core.latency(Space(in.send_space)), self, dst, uint16_t(in.tag), in.bytes, key,
                        std::move(payload), sent);
      }
    }
    if (recvs) {
      const uint32_t src = uint32_t((self + in.peer_recv) % chips);
      const Space rs = Space(in.recv_space);
      old_read_done_ = T_;
      if (reduce && rs == Space::hbm) {  // the chunk the received one is added to
        ++waits_;
        core.chip.dram->request(dram::Pattern3D{in.recv_addr, in.bytes, 1, 1, 0, 0}, false, uint32_t(mo), T_,
                                core.key(id), [this](uint64_t done) {
                                  old_read_done_ = done;
                                  --waits_;
                                  ev_.notify();
                                });
      }
      ++waits_;
      sys.links->claim(T_, src, self, uint16_t(in.tag), in.bytes, core.key(id), core.where(index),
                       [this](uint64_t arrival_fs, const std::vector<uint8_t>& payload) {
                         arrival_fs_ = arrival_fs;
                         payload_ = payload;
                         recv_arrived_ = true;
                         --waits_;
                         ev_.notify();
                       });
    }
    phase_ = 1;
  }
  if (phase_ == 1) {
    if (waits_ > 0) {
      waiting_ = recvs && !recv_arrived_ ? "waits for the matching message" : "waits for its link/DRAM transfers";
      next_trigger(ev_);
      return false;
    }
    if (recvs) {
      const Space rs = Space(in.recv_space);
      const uint64_t ac = core.sys.clock.cycle_at_or_after(arrival_fs_);
      uint64_t w = std::max({T_, ac, old_read_done_});
      st.stall_link += w - T_;
      if (sys.functional()) fn_receive(in, payload_, mem, core.numeric);
      payload_.clear();
      payload_.shrink_to_fit();
      if (SramTraffic* t = core.traffic(rs, uint32_t(in.acc_engine))) {
        if (reduce) t->read(in.bytes, 1);
        t->write(in.bytes, 1);
      }
      if (rs == Space::hbm) {
        ++waits_;
        core.chip.dram->request(dram::Pattern3D{in.recv_addr, in.bytes, 1, 1, 0, 0}, true,
                                dram_outstanding(core.p), reduce ? w + 1 : w, core.key(id), [this](uint64_t done) {
                                  recv_e_ = done;
                                  --waits_;
                                  ev_.notify();
                                });
      } else {
        const uint64_t lat = core.latency(rs);
        recv_e_ = reduce ? w + lat + 1 + lat : w + lat;
      }
    }
    phase_ = 2;
  }
  if (waits_ > 0) {
    waiting_ = "waits for its DRAM write";
    next_trigger(ev_);
    return false;
  }
  complete(in, index, T_, std::max(send_e_, recv_e_));
  return true;
}

// ---- Sequencer -------------------------------------------------------------------------------

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
  if (core_.sys.failed()) return;
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
        waiting_ = "drains the core before " + std::string(isa::name(in.op)) + " " + core_.where(uint32_t(pc_)) +
                   " (" + std::string(unit_name(busy)) + " still busy)";
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
        waiting_.clear();
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
          waiting_ = "waits at barrier " + core_.where(uint32_t(pc_)) + " id " + std::to_string(in.id);
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
      waiting_.clear();
      ++pc_;
      continue;
    }
    Unit* u = core_.units[in.unit];
    const uint64_t k = core_.pos[pc_];
    uint64_t d = base;
    if (k >= depth) {
      if (u->leave.size() <= k - depth) {
        waiting_ = "dispatch of " + core_.where(uint32_t(pc_)) + " waits: queue of " +
                   std::string(unit_name(in.unit)) + " is full (" + std::to_string(depth) + " entries)";
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
    waiting_.clear();
    ++pc_;
  }
}

std::string Sequencer::blocked_on() const {
  if (halted) return "";
  return "seq: " + (waiting_.empty() ? std::string("running") : waiting_);
}

}  // namespace tessera::model
