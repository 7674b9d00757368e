// The Verilated headers come before SystemC's: with SystemC seen first, Verilator's own
// headers expect the SystemC flavour of the model (sc_time_stamp), which this build is not.
#include <verilated.h>

#include "Vcore.h"
#include "Vcore___024root.h"
#include "cosim/vcore_io.h"

#include "cosim/rtl_core.h"

#include <systemc>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/util/error.h"
#include "model/core/system.h"

namespace tessera::cosim {

namespace {

using isa::Instr;
using isa::Opcode;
using isa::Space;

// An answer whose cycle waits for the DRAM (the last beat of an HBM transfer).
constexpr uint64_t kPending = UINT64_MAX;
// RTL cycles with no start, completion, barrier or halt, outside a barrier wait: stuck.
constexpr uint64_t kStallCycles = 1'000'000;

// The Verilated core as a SystemC module. Each core cycle c is processed in two steps of
// SystemC time, because the chip's other processes act at fixed offsets within a cycle
// (model/core/clock.h):
//  - at c*P + 1 fs the cycle's inputs known so far are driven and the core's outside requests
//    read; an HBM transfer's first beat is handed to the DramPort, which takes the requests of a
//    DRAM clock edge at P/2 + 1 fs after it, so the request is in time;
//  - at c*P + P/2 + 3 fs (after the DramPort and the links) the DRAM completions of this cycle
//    are known: a transfer's last beat is answered in its completion cycle, as a modelled DMA
//    engine completes at max(its SRAM side, D + latency) (docs/timing.md, "DMA"). Barrier
//    releases are driven, the trace ports read into the instruction records, and the clock edge
//    ends the cycle.
// While the core waits at a barrier whose release is not known, the module waits for the
// release event instead of stepping, so that a barrier nobody else reaches ends the run as the
// model's deadlock; the cycles of the wait are clocked when the release comes (the drained core
// makes no outside request meanwhile, which is checked).
class RtlCore : public sc_core::sc_module, public model::StandIn {
 public:
  SC_HAS_PROCESS(RtlCore);
  RtlCore(sc_core::sc_module_name name, model::Core& core, const RtlCoreOptions& opt)
      : sc_module(name), core_(core), sys_(core.sys), code_(core.code), totals_(opt.totals) {
    const timing::ArchParams& p = core.p;
    D_ = p.dmas;
    bpc_ = uint32_t(p.dma_bytes_per_cycle);
    l2_lat_ = p.l2.latency + opt.test_l2_delay;
    l2_bytes_ = p.l2_bytes;
    period_ = p.period_fs;
    slots_ = D_ + 3;
    of_slot_.resize(slots_);
    for (size_t i = 0; i < code_.size(); ++i) {
      if (code_[i].op == Opcode::halt || code_[i].op == Opcode::barrier) {
        seq_instrs_.push_back(i);
      } else {
        of_slot_[slot_of(code_[i].unit)].push_back(i);
      }
    }
    next_start_.assign(slots_, 0);
    next_end_.assign(slots_, 0);
    running_.assign(slots_, -1);
    rsps_.resize(D_);
    beats_left_.assign(D_, 0);
    dram_done_.assign(D_, std::nullopt);
    ctx_ = std::make_unique<VerilatedContext>();
    top_ = std::make_unique<Vcore>(ctx_.get(), (std::string(basename()) + "_rtl").c_str());
    load_program(*top_, code_, D_, false);
    if (totals_) ++totals_->cores;
    SC_METHOD(tick);
  }
  ~RtlCore() override {
    top_->final();
    if (totals_) {
      totals_->cycles += cycle_;
      totals_->seconds += seconds_;
    }
  }

  std::string blocked_on() const override {
    std::string s = "RTL core at cycle " + std::to_string(cycle_) + ": ";
    if (phase_ == Phase::barrier_wait)
      return s + "waits at barrier " + core_.where(uint32_t(seq_instrs_[next_seq_])) + " id " +
             std::to_string(code_[seq_instrs_[next_seq_]].id);
    for (uint32_t u = 0; u < slots_; ++u)
      if (running_[u] >= 0) s += slot_name(u) + " runs " + core_.where(uint32_t(running_[u])) + "; ";
    return s + "running";
  }

 private:
  enum class Phase { start, requests, cycle_end, barrier_wait, halted };

  uint32_t slot_of(uint8_t unit) const { return trace_slot(unit, D_); }
  std::string slot_name(uint32_t s) const { return trace_slot_name(s, D_); }
  uint64_t now_fs() const { return uint64_t(sc_core::sc_time_stamp().value()); }
  static sc_core::sc_time fs(uint64_t v) { return sc_core::sc_time::from_value(v); }
  void fail(const std::string& what) {
    sys_.fail(core_.where_core() + " (RTL core), cycle " + std::to_string(cycle_) + ": " + what);
    phase_ = Phase::halted;
  }

  void tick() {
    if (sys_.failed() || phase_ == Phase::halted) return;
    const auto t0 = std::chrono::steady_clock::now();
    switch (phase_) {
      case Phase::start:  // SystemC time 0: cycle 0 begins
        phase_ = Phase::requests;
        next_trigger(fs(1));
        break;
      case Phase::requests:
        requests();
        if (phase_ == Phase::halted) break;
        phase_ = Phase::cycle_end;
        next_trigger(fs(period_ / 2 + 2));
        break;
      case Phase::cycle_end:
        cycle_end();
        break;
      case Phase::barrier_wait:
        released();
        break;
      case Phase::halted:
        break;
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // Drives, for this cycle, the answers due so far and the barrier release; evaluates.
  void drive() {
    for (uint32_t e = 0; e < D_; ++e) {
      if (answered_ & (1u << e)) continue;
      if (!rsps_[e].empty() && rsps_[e].front().due == cycle_) {
        set_response(*top_, e, bpc_, &rsps_[e].front().data);
        rsps_[e].pop_front();
        answered_ |= 1u << e;
      }
    }
    top_->bar_release_i = core_.seq->release && *core_.seq->release <= cycle_;
    top_->clk_i = 0;
    top_->eval();
  }

  // First step of a cycle: the outside requests.
  void requests() {
    answered_ = 0;
    for (uint32_t e = 0; e < D_; ++e) set_response(*top_, e, bpc_, nullptr);
    drive();
    arrive();
    req_valid_ = uint32_t(top_->ext_req_valid_o);
    for (uint32_t e = 0; e < D_ && phase_ != Phase::halted; ++e)
      if ((req_valid_ >> e) & 1) request(e);
    top_->eval();
  }

  // One request of DMA engine e's outside channel. L2: answered after l2.latency. HBM: the
  // transfer's first beat hands the instruction's whole transfer to the DramPort, as the model's
  // DMA engine does at the same cycle (docs/timing.md, "DMA"); every beat is answered in its own
  // cycle except the last, which waits for the DRAM's completion.
  void request(uint32_t e) {
    const uint64_t a = bits(top_->ext_req_addr_o, 40 * e, 40);
    const uint32_t n = uint32_t(bits(top_->ext_req_bytes_o, 8 * e, 8));
    const uint32_t space = uint32_t(bits(top_->ext_req_space_o, 2 * e, 2));
    const bool write = (top_->ext_req_write_o >> e) & 1;
    const bool hbm = space == uint32_t(Space::hbm);
    if (!hbm && (space != uint32_t(Space::l2) || a + n > l2_bytes_))
      return fail(slot_name(e) + " requests " + std::to_string(n) + " bytes at " + std::to_string(a) + " of space " +
                  std::to_string(space) + ", not in L2 or HBM");
    Rsp r{cycle_ + l2_lat_, std::vector<uint8_t>(bpc_, 0)};
    if (hbm) {
      const int64_t i = running_[e];
      if (i < 0 || beats_left_[e] == 0) return fail(slot_name(e) + " requests an HBM beat beyond its transfer");
      const Instr& in = code_[size_t(i)];
      if (beats_left_[e] == outside_beats(in, bpc_)) {
        const bool load = Space(in.src_space) == Space::hbm;
        const model::dram::Pattern3D pat = load ? model::dram::Pattern3D{in.src_addr, in.len, in.n1, in.n2, in.src_stride1, in.src_stride2}
                                         : model::dram::Pattern3D{in.dst_addr, in.len, in.n1, in.n2, in.dst_stride1, in.dst_stride2};
        dram_done_[e].reset();
        core_.chip.dram->request(pat, !load, model::dram_outstanding(core_.p), cycle_,
                                 core_.key(int(isa::kUnitsDma.first + e)), [this, e, i](uint64_t done) {
                                   dram_done_[e] = done;
                                   core_.records[size_t(i)].D = done;
                                   for (Rsp& q : rsps_[e])
                                     if (q.due == kPending) q.due = std::max(q.asked, done);
                                 });
      }
      r.due = --beats_left_[e] == 0 ? (dram_done_[e] ? std::max(cycle_, *dram_done_[e]) : kPending) : cycle_;
    }
    r.asked = cycle_;
    if (!rsps_[e].empty()) {
      if (rsps_[e].back().due == kPending) return fail(slot_name(e) + " requests after the last beat of its transfer");
      r.due = std::max(r.due, rsps_[e].back().due + 1);  // answers stay in order
    }
    if (write) {
      std::vector<uint8_t> data(n);
      for (uint32_t k = 0; k < n; ++k) data[k] = byte_at(top_->ext_req_data_o, 8 * (e * bpc_ + k));
      (hbm ? core_.chip.hbm : core_.chip.l2.mem).write(a, data.data(), n);
    } else {
      (hbm ? core_.chip.hbm : core_.chip.l2.mem).read(a, r.data.data(), n);
    }
    if (r.due == cycle_ && rsps_[e].empty() && !(answered_ & (1u << e))) {
      set_response(*top_, e, bpc_, &r.data);
      answered_ |= 1u << e;
    } else {
      rsps_[e].push_back(std::move(r));
    }
  }

  // The core has drained at a chip or system barrier: it arrives (x = this cycle), as a modelled
  // sequencer does; the release, when known, is driven from its cycle on.
  void arrive() {
    if (!top_->bar_wait_o || arrived_) return;
    if (next_seq_ >= seq_instrs_.size() || code_[seq_instrs_[next_seq_]].op != Opcode::barrier)
      return fail("waits at a barrier the program does not have");
    const size_t i = seq_instrs_[next_seq_];
    arrived_ = true;
    core_.records[i].start = cycle_;
    core_.seq->release.reset();
    sys_.barrier_arrive(core_.chip.index, core_.index, isa::Scope(code_[i].scope), uint32_t(code_[i].id), cycle_,
                        core_.where(uint32_t(i)));
    if (sys_.failed()) return fail("barrier");
    drive();
  }

  // Second step: this cycle's late answers, the release, the trace ports, the clock edge.
  void cycle_end() {
    drive();
    arrive();
    if (phase_ == Phase::halted) return;
    if (uint32_t(top_->ext_req_valid_o) != req_valid_)
      return fail("an outside request changed after the cycle's DRAM completions were answered");
    bool event = false;
    for (uint32_t s = 0; s < slots_; ++s) {
      if ((top_->trace_start_o >> s) & 1) {
        event = true;
        if (next_start_[s] >= of_slot_[s].size()) return fail(slot_name(s) + " starts an instruction the program does not have");
        const size_t i = of_slot_[s][next_start_[s]++];
        core_.records[i].start = cycle_;
        if (s != D_) running_[s] = int64_t(i);
        if (s < D_) {
          const Instr& in = code_[i];
          const bool hbm = in.src_space == uint64_t(Space::hbm) || in.dst_space == uint64_t(Space::hbm);
          beats_left_[s] = hbm ? outside_beats(in, bpc_) : 0;
        }
      }
    }
    for (uint32_t s = 0; s < slots_; ++s) {
      for (uint32_t n = uint32_t(bits(top_->trace_done_o, 4 * s, 4)); n > 0; --n) {
        event = true;
        if (next_end_[s] >= of_slot_[s].size()) return fail(slot_name(s) + " completes an instruction the program does not have");
        const size_t i = of_slot_[s][next_end_[s]++];
        if (s != D_) running_[s] = -1;
        core_.records[i].E = cycle_;
        core_.records[i].done = true;
        sys_.completed(cycle_);
      }
    }
    if (top_->rootp->core__DOT__bar_release) {
      event = true;
      if (next_seq_ >= seq_instrs_.size()) return fail("releases a barrier the program does not have");
      const size_t i = seq_instrs_[next_seq_++];
      model::InstrRecord& rec = core_.records[i];
      if (!arrived_) rec.start = cycle_;  // a core barrier: x = R
      rec.E = cycle_;
      rec.done = true;
      arrived_ = false;
      core_.seq->release.reset();
      sys_.completed(cycle_);
    }
    if (top_->err_o)
      return fail("the core reported an error (sequencer code " + std::to_string(top_->seq_err_code_o) + ", core code " +
                  std::to_string(top_->core_err_code_o) + ")");
    const bool halt = top_->halt_o;
    top_->clk_i = 1;
    top_->eval();
    if (halt) {
      if (next_seq_ >= seq_instrs_.size()) return fail("halts where the program has no halt");
      const size_t i = seq_instrs_[next_seq_++];
      core_.records[i].start = core_.records[i].E = cycle_;
      core_.records[i].done = true;
      core_.seq->halted = true;
      core_.seq->halt_cycle = core_.seq->st.halt_cycle = cycle_;
      sys_.completed(cycle_);
      ++cycle_;
      phase_ = Phase::halted;
      return;
    }
    if (event) last_event_ = cycle_;
    ++cycle_;
    if (arrived_ && !(core_.seq->release && *core_.seq->release <= cycle_)) {
      // Waiting at the barrier: no stepping until the release is known (see the class comment).
      phase_ = Phase::barrier_wait;
      if (core_.seq->release) {
        released();
      } else {
        next_trigger(core_.seq->release_ev);
      }
      return;
    }
    if (cycle_ - last_event_ > kStallCycles)
      return fail("no instruction started or completed for " + std::to_string(kStallCycles) + " cycles");
    phase_ = Phase::requests;
    next_trigger(fs(cycle_ * period_ + 1 - now_fs()));
  }

  // The barrier's release R is known: clock the waiting cycles up to R, then go on stepping.
  void released() {
    const uint64_t r = *core_.seq->release;
    if (r * period_ + 1 < now_fs()) return fail("barrier release at cycle " + std::to_string(r) + " came too late");
    for (; cycle_ < r; ++cycle_) {
      for (uint32_t e = 0; e < D_; ++e) set_response(*top_, e, bpc_, nullptr);
      top_->bar_release_i = 0;
      top_->clk_i = 0;
      top_->eval();
      if (top_->ext_req_valid_o || top_->trace_start_o || top_->trace_done_o || !top_->bar_wait_o)
        return fail("the core acts while it waits at a barrier");
      top_->clk_i = 1;
      top_->eval();
    }
    last_event_ = cycle_;
    phase_ = Phase::requests;
    next_trigger(fs(cycle_ * period_ + 1 - now_fs()));
  }

  struct Rsp {
    uint64_t due;
    std::vector<uint8_t> data;
    uint64_t asked = 0;  // the request's cycle
  };

  model::Core& core_;
  model::System& sys_;
  std::span<const Instr> code_;
  std::shared_ptr<RtlTotals> totals_;
  uint32_t D_ = 2, bpc_ = 16, slots_ = 5;
  uint64_t l2_lat_ = 1, l2_bytes_ = 0, period_ = 1;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vcore> top_;
  Phase phase_ = Phase::start;
  uint64_t cycle_ = 0, last_event_ = 0;
  double seconds_ = 0;
  uint32_t answered_ = 0;   // engines whose answer is driven in this cycle
  uint32_t req_valid_ = 0;  // outside requests read in this cycle's first step
  std::vector<std::deque<Rsp>> rsps_;
  std::vector<uint64_t> beats_left_;                 // per DMA engine: HBM beats of its transfer
  std::vector<std::optional<uint64_t>> dram_done_;   // per DMA engine: its transfer's DRAM completion
  std::vector<std::vector<size_t>> of_slot_;
  std::vector<size_t> seq_instrs_;  // halts and barriers, in program order
  size_t next_seq_ = 0;
  std::vector<size_t> next_start_, next_end_;
  std::vector<int64_t> running_;  // per slot: the instruction between its start and completion
  bool arrived_ = false;          // at a chip or system barrier, not yet released
};

}  // namespace

model::StandInFactory rtl_core_factory(const config::ArchConfig& arch, RtlCoreOptions options) {
  check_rtl_core_arch(arch, "--arch");
  return [options](model::Core& core) -> std::unique_ptr<model::StandIn> {
    check_rtl_code(core.code, core.where_core() + " (RTL core)");
    return std::make_unique<RtlCore>("rtl", core, options);
  };
}

}  // namespace tessera::cosim
