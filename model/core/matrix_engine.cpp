#include "model/core/matrix_engine.h"

#include <algorithm>
#include <vector>

#include "common/numerics/fp.h"
#include "model/core/functional.h"
#include "model/core/system.h"

namespace tessera::model {

using isa::Opcode;

MatrixEngine::MatrixEngine(sc_core::sc_module_name name, Core& c, int unit_id)
    : Unit(name, c, unit_id), acc("acc", c.p.acc, c.p.acc_ports), track(c.p.R, c.p.double_buffer) {}

void matmul_acc_writes(const isa::Instr& in, const timing::MatmulTimes& t, uint64_t R, uint32_t instr,
                       const SparseMemory& acc, std::vector<AccWrite>& out) {
  const bool os = in.dataflow == uint64_t(isa::Dataflow::os);
  const size_t first = out.size();
  auto push = [&](uint64_t cycle, uint64_t i, uint64_t c) {
    const uint64_t addr = in.c_addr + i * in.c_stride + 4 * c;
    uint32_t v;
    acc.read(addr, reinterpret_cast<uint8_t*>(&v), 4);
    out.push_back(AccWrite{cycle, addr, v, instr});
  };
  if (os) {
    // The drain sends row m-1 first.
    for (uint64_t i = in.m; i-- > 0;)
      for (uint64_t c = 0; c < in.n; ++c) push(t.D + R + 1 - i, i, c);
  } else {
    // Cycle S + R + 1 + (i + c): walk the anti-diagonals, rows in order within one.
    for (uint64_t d = 0; d + 1 < in.m + in.n; ++d)
      for (uint64_t i = d >= in.n ? d - in.n + 1 : 0; i < in.m && i <= d; ++i) push(t.S + R + 1 + d, i, d - i);
  }
  std::sort(out.begin() + std::ptrdiff_t(first), out.end(), [](const AccWrite& a, const AccWrite& b) {
    return a.cycle != b.cycle ? a.cycle < b.cycle : a.addr < b.addr;
  });
}

timing::MatmulTimes MatmulTrack::tile(uint64_t Q, const isa::Instr& in, uint32_t index) {
  const bool os = in.dataflow == uint64_t(isa::Dataflow::os);
  const uint64_t q = Q + (int64_t(index) == fault.delay_instr ? 1 : 0);
  return timer_.tile(q, timing::MatmulTile{os, in.m, in.k, in.n});
}

void MatmulTrack::writes(const isa::Instr& in, const timing::MatmulTimes& t, uint32_t index, SparseMemory& acc) {
  const uint64_t n = in.m * in.n;
  if (!log && (fault.flip_write < 0 || uint64_t(fault.flip_write) < n_writes_ ||
               uint64_t(fault.flip_write) >= n_writes_ + n)) {
    n_writes_ += n;
    return;
  }
  scratch_.clear();
  matmul_acc_writes(in, t, R_, index, acc, scratch_);
  for (AccWrite& w : scratch_) {
    if (int64_t(n_writes_++) == fault.flip_write) {
      w.value ^= uint32_t(1) << (fault.flip_bit % 32);
      acc.write(w.addr, reinterpret_cast<const uint8_t*>(&w.value), 4);
    }
    if (log) log->push_back(w);
  }
}

bool MatrixEngine::step(const isa::Instr& in, uint32_t index, uint64_t arrival) {
  uint64_t vis;
  int latest;
  if (!tokens_ready(in.wait, vis, latest)) return false;
  const uint64_t free = track.earliest_q();
  const uint64_t Q = std::max({arrival, free, vis});
  account_wait(free, arrival, Q, vis, latest);
  pop_tokens(in.wait, Q, index);
  started(Q);
  InstrRecord& rec = core.records[index];
  rec.start = Q;
  ++st.instructions;
  ++st.opcodes[uint8_t(in.op)];
  uint64_t e;
  if (in.op == Opcode::matmul && in.pred_words) core.l1.traffic.read(4, in.pred_words);
  if (in.op == Opcode::matmul && !core.predicate_holds(in)) {
    // A false predicate: the array idles; the tile completes with the instructions before
    // it (in order), clearing C when it would have overwritten it (an untimed write).
    ++st.skipped;
    e = track.sync(Q, true);
    if (!in.accumulate) {
      acc.traffic.write(in.n * 4, in.m);
      if (core.sys.functional()) {
        const std::vector<uint8_t> zero(in.n * 4, 0);
        for (uint64_t i = 0; i < in.m; ++i) acc.mem.write(in.c_addr + i * in.c_stride, zero.data(), zero.size());
      }
    }
  } else if (in.op == Opcode::matmul) {
    const bool os = in.dataflow == uint64_t(isa::Dataflow::os);
    const timing::MatmulTimes tm = track.tile(Q, in, index);
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
    // The engine is never delayed, but its operand reads and its result writes take their share
    // of the L1's and the accumulator's ports from the clients booked after them.
    const uint64_t a_rows = os ? in.k : in.m, a_bytes = (os ? in.m : in.k) * ea;
    core.l1.ports.claim(false, tm.S, a_rows * a_bytes, a_bytes);
    core.l1.ports.claim(false, tm.W, in.k * in.n * eb, in.n * eb);
    const uint64_t c_bytes = in.m * in.n * 4, c_from = os ? tm.D + 1 : tm.S + core.p.R + 1;
    const uint64_t c_span = tm.E + 1 - std::min(c_from, tm.E);
    if (in.accumulate) acc.ports.claim(false, c_from, c_bytes, (c_bytes + c_span - 1) / c_span);
    acc.ports.claim(true, c_from, c_bytes, (c_bytes + c_span - 1) / c_span);
    if (core.sys.functional()) {
      fn_matmul(in, core.l1.mem, acc.mem, core.numeric);
      track.writes(in, tm, index, acc.mem);
    }
  } else {
    e = track.sync(Q, in.op == Opcode::tpush);
  }
  rec.E = e;
  rec.done = true;
  push_tokens(in.signal, e, index);
  finished(e);
  return true;
}

}  // namespace tessera::model
