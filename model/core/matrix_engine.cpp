#include "model/core/matrix_engine.h"

#include <algorithm>
#include <vector>

#include "common/numerics/fp.h"
#include "model/core/functional.h"
#include "model/core/system.h"

namespace tessera::model {

using isa::Opcode;

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
  if (in.op == Opcode::matmul && in.pred_words) core.l1.traffic.read(4, in.pred_words);
  if (in.op == Opcode::matmul && !core.predicate_holds(in)) {
    // A false predicate: the array idles; the tile completes with the instructions before
    // it (in order), clearing C when it would have overwritten it (an untimed write).
    ++st.skipped;
    e = timer_.sync(Q, true);
    if (!in.accumulate) {
      acc.traffic.write(in.n * 4, in.m);
      if (core.sys.functional()) {
        const std::vector<uint8_t> zero(in.n * 4, 0);
        for (uint64_t i = 0; i < in.m; ++i) acc.mem.write(in.c_addr + i * in.c_stride, zero.data(), zero.size());
      }
    }
  } else if (in.op == Opcode::matmul) {
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

}  // namespace tessera::model
