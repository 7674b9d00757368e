#include "model/core/dma_engine.h"

#include <algorithm>

#include "model/core/functional.h"
#include "model/core/system.h"

namespace tessera::model {

using isa::Space;

DmaEngine::DmaEngine(sc_core::sc_module_name name, Core& c, int unit_id) : Unit(name, c, unit_id) {}

bool DmaEngine::step(const isa::Instr& in, uint32_t index, uint64_t arrival) {
  InstrRecord& rec = core.records[index];
  if (phase_ == 0) {
    bool done;
    if (!begin(in, index, arrival, T_, done)) return false;
    if (done) return true;
    if (in.pred_words)
      if (SramTraffic* t = core.traffic(Space::l1, 0)) t->read(4, in.pred_words);
    if (!core.predicate_holds(in)) {
      // A false predicate: the words are read from L1, nothing moves, the tokens flow.
      ++st.skipped;
      rec.S = T_ + core.p.dma_setup;
      complete(in, index, T_, T_ + core.p.dma_setup + core.latency(Space::l1));
      return true;
    }
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
    // Each SRAM side moves the copy's bytes at the rate of the beat schedule through its tier's
    // ports (and for L2 the on-chip network); what other clients leave of them stretches it.
    const uint64_t bytes = in.len * in.n1 * in.n2, rate = (bytes + dt.last_issue) / (dt.last_issue + 1);
    const uint32_t ae = uint32_t(in.acc_engine);
    const uint64_t lost = std::max(contend(ss, ae, false, t0, bytes, rate), contend(ds, ae, true, t0, bytes, rate));
    const uint64_t tl = t0 + dt.last_issue + lost;
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
  // The DRAM side's completion, for co-simulation's outside memory (docs/cosim.md).
  rec.D = dram_done_;
  complete(in, index, T_, e);
  return true;
}

}  // namespace tessera::model
