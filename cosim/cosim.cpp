#include "cosim/cosim.h"

#include <verilated.h>
#include <verilated_fst_c.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <sstream>
#include <type_traits>
#include <unordered_map>

#include "Vcore.h"
#include "Vcore___024root.h"
#include "cosim/vcore_io.h"
#include "common/util/error.h"
#include "model/core/model.h"
#include "model/core/unit.h"

namespace tessera::cosim {

using isa::Instr;
using isa::Opcode;
using isa::Space;

void check_rtl_code(std::span<const isa::Instr> code, const std::string& where) {
  static const Opcode vec_ops[] = {Opcode::vadd,     Opcode::vsub,     Opcode::vmul,     Opcode::vmax,    Opcode::vsub_row,
                                   Opcode::vmul_row, Opcode::vadd_col, Opcode::vmul_col, Opcode::vscale,  Opcode::vfill,
                                   Opcode::vexp,     Opcode::vrecip,   Opcode::vrsqrt,   Opcode::vtanh,   Opcode::vsilu,
                                   Opcode::vgelu,    Opcode::vrsum,    Opcode::vrmax,    Opcode::vrsumsq, Opcode::vargmax,
                                   Opcode::vtopk,    Opcode::vmask,    Opcode::vcvt,     Opcode::vrope};
  if (code.size() > kImemWords)
    throw InputError(where + ": the program has " + std::to_string(code.size()) +
                     " instructions; the RTL core's instruction memory holds " + std::to_string(kImemWords));
  for (size_t i = 0; i < code.size(); ++i) {
    const Instr& in = code[i];
    auto refuse = [&](const std::string& why) {
      throw InputError(where + ": instruction #" + std::to_string(i) + " (" + isa::format_instr(in) + "): " + why +
                       " is not implemented by the RTL core (docs/rtl.md)");
    };
    const isa::Format f = isa::info(in.op).format;
    if (f == isa::Format::coll) refuse("a collective instruction");
    if ((in.op == Opcode::tpush || in.op == Opcode::tpop) && isa::kUnitsMx.contains(in.unit))
      refuse("tpush/tpop on a matrix engine");
    if (f == isa::Format::dma) {
      const Space s = Space(in.src_space), d = Space(in.dst_space);
      const bool outside = s == Space::l2 || s == Space::hbm;
      const bool ok =
          (in.op == Opcode::load && outside && d == Space::l1) ||
          (in.op == Opcode::store && s == Space::l1 && (d == Space::l2 || d == Space::hbm)) ||
          (in.op == Opcode::store && s == Space::acc && (d == Space::l2 || d == Space::hbm || d == Space::l1));
      if (!ok) refuse("DMA other than l2/hbm -> l1, l1 -> l2/hbm and acc -> l2/hbm/l1");
      if (in.pred_words) refuse("a predicated DMA");
    }
    if (f == isa::Format::vector) {
      if (std::find(std::begin(vec_ops), std::end(vec_ops), in.op) == std::end(vec_ops)) refuse(std::string(isa::info(in.op).name));
      const isa::OpcodeInfo& oi = isa::info(in.op);
      const uint64_t sp[3] = {in.dst_space, in.src1_space, in.src2_space};
      // Any format (the engine decodes and encodes); vargmax's and vtopk's destination types
      // are the validator's business.
      for (int k = 0; k < 3; ++k) {
        if (oi.shapes[k] == isa::OperandShape::none) continue;
        if (k == 0 && sp[k] != uint64_t(Space::l1)) refuse("a vector result outside l1");
        if (sp[k] != uint64_t(Space::l1) && sp[k] != uint64_t(Space::acc)) refuse("a vector source outside l1 and acc");
      }
    }
  }
}

namespace {

using Clock = std::chrono::steady_clock;

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}
std::string hex_bytes(const std::vector<uint8_t>& v) {
  std::string s;
  char b[4];
  for (uint8_t x : v) {
    std::snprintf(b, sizeof b, "%02x", x);
    s += b;
  }
  return s;
}

// What cosim runs: one core's program with its data outside the core, in instructions the RTL
// core implements.
void check_supported(const isa::Program& prog) {
  if (prog.text.size() != 1) throw InputError("cosim: the program must have one text section (one core), it has " +
                                              std::to_string(prog.text.size()));
  for (const auto& d : prog.data)
    if (d.space != Space::l2 && d.space != Space::hbm)
      throw InputError("cosim: data sections must be in l2 or hbm (the RTL core's outside memory)");
  check_rtl_code(prog.text[0].code, "cosim");
}

// The model's side: per instruction, the bytes it writes in each memory.
struct Expected {
  std::map<uint64_t, uint8_t> l1, l2, acc, hbm;
};

class Recorder : public model::InstrObserver {
 public:
  explicit Recorder(size_t n) : writes(n) {}
  std::vector<Expected> writes;
  void on_step(uint32_t, uint32_t, int, uint32_t index) override { current_ = int64_t(index); }
  void on_write(const model::MemorySite& site, uint64_t addr, const uint8_t* data, uint64_t n) override {
    if (current_ < 0) return;
    Expected& e = writes[size_t(current_)];
    auto& m = site.space == Space::l1 ? e.l1 : site.space == Space::acc ? e.acc : site.space == Space::hbm ? e.hbm : e.l2;
    for (uint64_t i = 0; i < n; ++i) m[addr + i] = data[i];
  }

 private:
  int64_t current_ = -1;
};

struct ModelRun {
  std::vector<model::InstrRecord> recs;
  std::vector<Expected> writes;
  uint64_t halt = 0;
  std::vector<uint8_t> l2, l1;
  std::vector<uint8_t> acc;
  std::map<uint64_t, uint8_t> hbm;  // the final HBM bytes at every address an instruction wrote
  std::string error;
  double seconds = 0;
};

ModelRun run_model(const config::ArchConfig& arch, const isa::Program& prog) {
  ModelRun r;
  model::RunOptions o;
  o.functional = true;
  model::Simulation sim(arch, prog, o);  // InputError: the program is invalid for the architecture
  Recorder rec(prog.text[0].code.size());
  sim.observe(&rec);
  const auto t0 = Clock::now();
  try {
    sim.run();
  } catch (const InputError& e) {
    r.error = e.what();
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.recs = sim.records(0, 0);
  r.writes = std::move(rec.writes);
  if (r.error.empty()) {
    r.halt = sim.cycles();
    r.l2 = sim.read_memory(0, 0, Space::l2, 0, 0, uint64_t(arch.l2.bytes));
    r.l1 = sim.read_memory(0, 0, Space::l1, 0, 0, uint64_t(arch.l1.bytes));
    r.acc = sim.read_memory(0, 0, Space::acc, 0, 0, uint64_t(arch.accumulator.bytes));
    // HBM is large and sparse: read back the runs of bytes the instructions wrote.
    std::map<uint64_t, bool> at;
    for (const Expected& e : r.writes)
      for (const auto& [a, b] : e.hbm) at[a] = true;
    for (auto it = at.begin(); it != at.end();) {
      const uint64_t a0 = it->first;
      uint64_t n = 0;
      while (it != at.end() && it->first == a0 + n) {
        ++n;
        ++it;
      }
      const std::vector<uint8_t> bytes = sim.read_memory(0, 0, Space::hbm, 0, a0, n);
      for (uint64_t k = 0; k < n; ++k) r.hbm[a0 + k] = bytes[k];
    }
  }
  return r;
}

// The RTL side, checked against a ModelRun as it goes.
class RtlRun {
 public:
  RtlRun(const config::ArchConfig& arch, const isa::Program& prog, const ModelRun& m, const Options& opt, Result& res,
         uint64_t trace_from, uint64_t trace_to)
      : arch_(arch), code_(prog.text[0].code), m_(m), opt_(opt), res_(res), trace_from_(trace_from), trace_to_(trace_to) {
    D_ = uint32_t(arch.core.dma_engines);
    lanes_ = uint32_t(arch.vector.lanes);
    bpc_ = uint32_t(arch.dma.bytes_per_cycle);
    l2_lat_ = uint64_t(arch.l2.latency);
    row_bytes_ = 4 * uint32_t(arch.matrix.cols);
    port_bytes_ = std::max<uint32_t>(2 * uint32_t(std::max(arch.matrix.rows, arch.matrix.cols)), bpc_);
    l2_.assign(uint64_t(arch.l2.bytes), 0);
    std::copy(opt.memory.begin(), opt.memory.end(), l2_.begin());
    for (const auto& d : prog.data) {
      if (d.space == Space::hbm) {
        for (uint64_t k = 0; k < d.bytes.size(); ++k) hbm_set(d.addr + k, d.bytes[k]);
      } else {
        std::copy(d.bytes.begin(), d.bytes.end(), l2_.begin() + int64_t(d.addr));
      }
    }
    ctx_ = std::make_unique<VerilatedContext>();
    top_ = std::make_unique<Vcore>(ctx_.get());
    if (trace_to_ > 0) {
      ctx_->traceEverOn(true);
      fst_ = std::make_unique<VerilatedFstC>();
      top_->trace(fst_.get(), 99);
      fst_->open(opt.wave.c_str());
    }
    slots_ = D_ + 3;
    of_slot_.resize(slots_);
    for (size_t i = 0; i < code_.size(); ++i)
      if (code_[i].op != Opcode::halt && code_[i].op != Opcode::barrier) of_slot_[slot_of(code_[i].unit)].push_back(i);
    next_start_.assign(slots_, 0);
    next_end_.assign(slots_, 0);
    running_.assign(slots_, -1);
    got_.resize(code_.size());
    acc_writer_.assign(uint64_t(arch.accumulator.bytes) / row_bytes_, -1);
  }
  ~RtlRun() {
    top_->final();
    if (fst_) fst_->close();
  }

  // Runs to the halt, a divergence or the limit. False at a divergence.
  bool run() {
    load_program();
    uint64_t last_event = 0;
    for (cycle_ = 0; cycle_ < opt_.max_cycles; ++cycle_) {
      drive_responses();
      drive_fault();
      top_->clk_i = 0;
      top_->eval();
      dump(2 * cycle_);
      bool event = false;
      if (!outside_requests()) return false;
      if (!l1_writes()) return false;
      for (uint32_t s = 0; s < slots_; ++s) {
        if ((top_->trace_start_o >> s) & 1) {
          event = true;
          if (!started(s)) return false;
        } else if (!missed_start(s)) {
          return false;
        }
      }
      std::vector<size_t> done;
      for (uint32_t s = 0; s < slots_; ++s) {
        uint32_t n = uint32_t(bits(top_->trace_done_o, 4 * s, 4));
        for (; n > 0; --n) {
          event = true;
          const int64_t i = completed(s);
          if (i < 0) return false;
          done.push_back(size_t(i));
        }
        if (!missed_end(s)) return false;
      }
      if (top_->err_o) {
        res_.rtl_error = "the core reported error (sequencer code " + std::to_string(top_->seq_err_code_o) +
                         ", core code " + std::to_string(top_->core_err_code_o) + ") at cycle " + std::to_string(cycle_);
        if (m_.error.empty()) return diverge("core", -1, "error", std::nullopt, "no error", res_.rtl_error);
        break;
      }
      const bool halt = top_->halt_o;
      if (m_.error.empty()) {
        if (halt && cycle_ != m_.halt)
          return diverge("core", -1, "halt cycle H", std::nullopt, std::to_string(m_.halt), std::to_string(cycle_));
        if (!halt && cycle_ == m_.halt)
          return diverge("core", -1, "halt cycle H", std::nullopt, std::to_string(m_.halt), "no halt in this cycle");
      }
      top_->clk_i = 1;
      top_->eval();
      dump(2 * cycle_ + 1);
      // Matmul rows are checked after the clock edge that writes the last of them.
      for (size_t i : done)
        if (code_[i].op == Opcode::matmul && m_.error.empty() && !check_acc(i)) return false;
      if (halt) {
        res_.cycles = cycle_ + 1;
        return m_.error.empty() ? final_check() : true;
      }
      if (event) last_event = cycle_;
      if (cycle_ - last_event > opt_.stall_cycles) {
        res_.rtl_error = "no instruction started or completed for " + std::to_string(opt_.stall_cycles) +
                         " cycles (cycle " + std::to_string(cycle_) + ")";
        if (m_.error.empty()) return diverge("core", -1, "progress", std::nullopt, "halt at " + std::to_string(m_.halt), res_.rtl_error);
        break;
      }
      if (trace_to_ > 0 && cycle_ >= trace_to_) break;
    }
    res_.cycles = cycle_;
    if (m_.error.empty() && res_.rtl_error.empty() && trace_to_ == 0)
      return diverge("core", -1, "halt", std::nullopt, "halt at " + std::to_string(m_.halt),
                     "none within --max-cycles " + std::to_string(opt_.max_cycles));
    return true;
  }

  uint64_t cycle() const { return cycle_; }
  // Hands the outside memory over to a reader that outlives the run.
  std::function<std::vector<uint8_t>(Space, uint64_t, uint64_t)> take_memory() {
    auto l2 = std::make_shared<std::vector<uint8_t>>(std::move(l2_));
    auto hbm = std::make_shared<std::unordered_map<uint64_t, std::vector<uint8_t>>>(std::move(hbm_));
    return [l2, hbm](Space s, uint64_t a, uint64_t n) {
      std::vector<uint8_t> out(n, 0);
      for (uint64_t i = 0; i < n; ++i) {
        if (s == Space::l2) {
          if (a + i < l2->size()) out[i] = (*l2)[a + i];
        } else if (s == Space::hbm) {
          const auto it = hbm->find((a + i) / kPage);
          if (it != hbm->end()) out[i] = it->second[(a + i) % kPage];
        } else {
          throw InputError("cosim: only L2 and HBM are read back after a run");
        }
      }
      return out;
    };
  }

 private:
  uint32_t slot_of(uint8_t unit) const { return trace_slot(unit, D_); }
  std::string slot_name(uint32_t s) const { return trace_slot_name(s, D_); }

  void dump(uint64_t t) {
    if (fst_ && cycle_ + 1 >= trace_from_ && cycle_ <= trace_to_) fst_->dump(t);
  }
  void load_program() {
    // tiny has one core on one chip: a chip or system barrier releases when this core has
    // drained (docs/timing.md: R = the largest x over the cores, no link crossing with one
    // chip), which the sequencer does in the cycle it sees the release input set.
    cosim::load_program(*top_, code_, D_, true);
  }

  void drive_responses() {
    for (uint32_t e = 0; e < D_; ++e) {
      const bool have = !rsps_[e].empty() && rsps_[e].front().due == cycle_;
      set_response(e, have ? &rsps_[e].front().data : nullptr);
    }
  }

  // The outside port. L2: every request answered after l2.latency cycles. HBM: the model
  // times a transfer as one DRAM request entering at its first beat (docs/timing.md, "DMA"),
  // so the outside answers every beat in its own cycle except the transfer's last, which it
  // holds until the model's DRAM completion D of that instruction: then E = max(the SRAM
  // side's end, D + latency) as in the model. That D is valid for the RTL because the
  // instruction's start, which fixes when the request enters the DRAM, is compared too.
  // Writes are checked against the model's.
  bool outside_requests() {
    uint32_t now = 0;  // engines answered in this cycle
    for (uint32_t e = 0; e < D_; ++e) {
      if (!rsps_[e].empty() && rsps_[e].front().due == cycle_) rsps_[e].pop_front();
      if (!((top_->ext_req_valid_o >> e) & 1)) continue;
      const uint64_t a = bits(top_->ext_req_addr_o, 40 * e, 40);
      const uint32_t n = uint32_t(bits(top_->ext_req_bytes_o, 8 * e, 8));
      const uint32_t space = uint32_t(bits(top_->ext_req_space_o, 2 * e, 2));
      const bool hbm = space == uint32_t(Space::hbm);
      if (!hbm && (space != uint32_t(Space::l2) || a + n > l2_.size()))
        return diverge(slot_name(e), running_[e], "outside request", a, "an L2 or HBM address", "space " + std::to_string(space));
      Rsp r{cycle_ + l2_lat_, std::vector<uint8_t>(bpc_, 0)};
      if (hbm) {
        if (running_[e] < 0 || beats_left_[e] == 0)
          return diverge(slot_name(e), running_[e], "HBM request beyond the transfer's beats", a, "none", "a request");
        r.due = --beats_left_[e] == 0 ? std::max(cycle_, m_.recs[size_t(running_[e])].D) : cycle_;
      }
      if (!rsps_[e].empty()) r.due = std::max(r.due, rsps_[e].back().due + 1);  // answers stay in order
      if ((top_->ext_req_write_o >> e) & 1) {
        for (uint32_t i = 0; i < n; ++i) {
          const uint8_t b = byte_at(top_->ext_req_data_o, 8 * (e * bpc_ + i));
          if (!write(e, hbm ? Space::hbm : Space::l2, a + i, b)) return false;
          if (hbm) hbm_set(a + i, b);
          else l2_[a + i] = b;
        }
      } else {
        for (uint32_t i = 0; i < n; ++i) r.data[i] = hbm ? hbm_get(a + i) : l2_[a + i];
      }
      if (r.due == cycle_ && rsps_[e].empty()) {
        set_response(e, &r.data);
        now |= 1u << e;
      } else {
        rsps_[e].push_back(std::move(r));
      }
    }
    // The same-cycle answers take effect before the clock edge.
    if (now) top_->eval();
    return true;
  }
  void set_response(uint32_t e, const std::vector<uint8_t>* data) { cosim::set_response(*top_, e, bpc_, data); }
  uint8_t hbm_get(uint64_t a) const {
    const auto it = hbm_.find(a / kPage);
    return it == hbm_.end() ? 0 : it->second[a % kPage];
  }
  void hbm_set(uint64_t a, uint8_t b) {
    auto& page = hbm_[a / kPage];
    if (page.empty()) page.assign(kPage, 0);
    page[a % kPage] = b;
  }

  // The L1 write ports: one per vector lane, then one per DMA engine.
  bool l1_writes() {
    const auto& root = *top_->rootp;
    const uint32_t ports = lanes_ + D_;
    for (uint32_t p = 0; p < ports; ++p) {
      if (!((bits(root.core__DOT__wr_req, p, 1)) & 1)) continue;
      const uint64_t a = bits(root.core__DOT__wr_addr, 32 * p, 32);
      const uint32_t n = uint32_t(bits(root.core__DOT__wr_bytes, 8 * p, 8));
      const uint32_t slot = p < lanes_ ? D_ + 1 : p - lanes_;
      for (uint32_t i = 0; i < n; ++i) {
        const uint8_t b = byte_at(root.core__DOT__wr_data, 8 * (p * port_bytes_ + i));
        if (!write(slot, Space::l1, (a + i) % uint64_t(arch_.l1.bytes), b)) return false;
      }
    }
    return true;
  }

  // One byte written by the instruction running on `slot`, against the model's.
  bool write(uint32_t slot, Space space, uint64_t addr, uint8_t b) {
    const int64_t i = running_[slot];
    const std::string what = space == Space::l1 ? "L1 write" : space == Space::hbm ? "HBM write" : "L2 write";
    if (m_.error.empty() == false) return true;
    if (i < 0) return diverge(slot_name(slot), last_of_slot(slot), what + " with no instruction running", addr, "none", hex(b));
    const Expected& ex = m_.writes[size_t(i)];
    const auto& exp = space == Space::l1 ? ex.l1 : space == Space::hbm ? ex.hbm : ex.l2;
    const auto it = exp.find(addr);
    uint8_t want = it == exp.end() ? 0 : it->second;
    if (it != exp.end() && model_fault(Fault::Kind::flip) && uint32_t(i) == opt_.fault.instr &&
        it == first_write(size_t(i)))
      want ^= 1;
    if (it == exp.end()) return diverge(slot_name(slot), i, what + " outside the instruction's writes", addr, "none", hex(b));
    if (b != want) return diverge(slot_name(slot), i, what, addr, hex(want), hex(b));
    auto& g = space == Space::l1 ? got_[size_t(i)].l1 : space == Space::hbm ? got_[size_t(i)].hbm : got_[size_t(i)].l2;
    g[addr] = b;
    (space == Space::l1 ? res_.l1_write_bytes : space == Space::hbm ? res_.hbm_write_bytes : res_.l2_write_bytes) += 1;
    if (space == Space::l1) l1_[addr] = b;
    return true;
  }
  // The first byte the instruction writes in the model (the flip fault's target).
  std::map<uint64_t, uint8_t>::const_iterator first_write(size_t i) const {
    const Expected& e = m_.writes[i];
    return !e.l1.empty() ? e.l1.begin() : !e.l2.empty() ? e.l2.begin() : !e.hbm.empty() ? e.hbm.begin() : e.acc.begin();
  }
  int64_t last_of_slot(uint32_t s) const {
    return next_end_[s] > 0 ? int64_t(of_slot_[s][next_end_[s] - 1]) : -1;
  }

  bool model_fault(Fault::Kind k) const { return opt_.fault.side == Fault::Side::model && opt_.fault.kind == k; }
  // The RTL side's fault inputs for this cycle (Fault).
  void drive_fault() {
    if (opt_.fault.side != Fault::Side::rtl || opt_.fault.kind == Fault::Kind::none || !m_.error.empty()) return;
    const size_t i = opt_.fault.instr;
    if (opt_.fault.kind == Fault::Kind::delay) {
      top_->test_stall_i = cycle_ == m_.recs[i].S;
    } else {
      uint64_t prev_end = 0;  // the previous matmul's completion: later writes are this one's
      for (size_t j = 0; j < i; ++j)
        if (code_[j].op == Opcode::matmul) prev_end = m_.recs[j].E;
      top_->test_flip_i[0] = (cycle_ > prev_end && cycle_ <= m_.recs[i].E) ? 1u : 0u;
    }
  }

  uint64_t model_start(size_t i) const { return m_.recs[i].start; }
  uint64_t model_end(size_t i) const {
    return m_.recs[i].E + (model_fault(Fault::Kind::delay) && opt_.fault.instr == i ? 1 : 0);
  }

  bool started(uint32_t s) {
    if (next_start_[s] >= of_slot_[s].size())
      return diverge(slot_name(s), -1, "start of an instruction the program does not have", std::nullopt, "none", "a start");
    const size_t i = of_slot_[s][next_start_[s]++];
    order_.push_back(i);
    if (s != D_) running_[s] = int64_t(i);  // the matrix engine's writes are checked at completion
    if (s < D_) {
      const Instr& in = code_[i];
      const bool hbm = in.src_space == uint64_t(Space::hbm) || in.dst_space == uint64_t(Space::hbm);
      beats_left_[s] = hbm ? outside_beats(in, bpc_) : 0;
    }
    if (code_[i].op == Opcode::matmul) {
      const Instr& in = code_[i];
      for (uint64_t r = 0; r < in.m; ++r) acc_writer_[(in.c_addr + r * in.c_stride) / row_bytes_] = int64_t(i);
    }
    if (!m_.error.empty()) return true;
    ++res_.starts;
    if (cycle_ != model_start(i)) return diverge(slot_name(s), int64_t(i), "start", std::nullopt, std::to_string(model_start(i)), std::to_string(cycle_));
    return true;
  }
  bool missed_start(uint32_t s) {
    if (!m_.error.empty() || next_start_[s] >= of_slot_[s].size()) return true;
    const size_t i = of_slot_[s][next_start_[s]];
    if (cycle_ == model_start(i))
      return diverge(slot_name(s), int64_t(i), "start", std::nullopt, std::to_string(cycle_), "not started in this cycle");
    return true;
  }
  int64_t completed(uint32_t s) {
    if (next_end_[s] >= of_slot_[s].size()) {
      diverge(slot_name(s), -1, "completion of an instruction the program does not have", std::nullopt, "none", "a completion");
      return -1;
    }
    const size_t i = of_slot_[s][next_end_[s]++];
    if (s != D_) running_[s] = -1;
    if (!m_.error.empty()) return int64_t(i);
    ++res_.ends;
    if (cycle_ != model_end(i)) {
      diverge(slot_name(s), int64_t(i), "completion E", std::nullopt, std::to_string(model_end(i)), std::to_string(cycle_));
      return -1;
    }
    // Every byte the model wrote must have been written (L1 and L2; the accumulator after the edge).
    const Expected& want = m_.writes[i];
    for (const auto* pair : {&want.l1, &want.l2, &want.hbm}) {
      const auto& got = pair == &want.l1 ? got_[i].l1 : pair == &want.l2 ? got_[i].l2 : got_[i].hbm;
      for (const auto& [a, b] : *pair)
        if (!got.count(a)) {
          diverge(slot_name(s), int64_t(i),
                  pair == &want.l1 ? "L1 write missing at completion"
                  : pair == &want.l2 ? "L2 write missing at completion"
                                     : "HBM write missing at completion",
                  a, hex(b), "not written");
          return -1;
        }
    }
    return int64_t(i);
  }
  bool missed_end(uint32_t s) {
    if (!m_.error.empty() || next_end_[s] >= of_slot_[s].size()) return true;
    const size_t i = of_slot_[s][next_end_[s]];
    // Only once it started: a missing start is reported at its own cycle.
    if (next_start_[s] > next_end_[s] && cycle_ == model_end(i))
      return diverge(slot_name(s), int64_t(i), "completion E", std::nullopt, std::to_string(cycle_), "not completed in this cycle");
    return true;
  }

  std::vector<uint8_t> acc_row(uint64_t r) {
    top_->acc_raddr_i = uint32_t(r);
    top_->eval();
    std::vector<uint8_t> out(row_bytes_);
    for (uint32_t i = 0; i < row_bytes_; ++i) out[i] = byte_at(top_->acc_rdata_o, 8 * i);
    return out;
  }

  // The result rows of matmul `i` after its completion, unless a later tile already writes them.
  bool check_acc(size_t i) {
    const Instr& in = code_[i];
    const auto& want = m_.writes[i].acc;
    bool flipped = false;
    for (uint64_t r = 0; r < in.m; ++r) {
      const uint64_t base = in.c_addr + r * in.c_stride, row = base / row_bytes_;
      if (acc_writer_[row] != int64_t(i)) {
        ++res_.acc_rows_skipped;
        continue;
      }
      const std::vector<uint8_t> got = acc_row(row);
      for (uint64_t j = 0; j < 4 * in.n; ++j) {
        const auto it = want.find(base + j);
        if (it == want.end()) return diverge("mx0", int64_t(i), "accumulator write missing in the model", base + j, "none", hex(got[j]));
        uint8_t w = it->second;
        if (model_fault(Fault::Kind::flip) && opt_.fault.instr == i && !flipped && it == want.begin()) {
          w ^= 1;
          flipped = true;
        }
        if (got[j] != w) {
          std::vector<uint8_t> wv(4), gv(4);
          const uint64_t e0 = j / 4 * 4;
          for (uint64_t b = 0; b < 4; ++b) {
            gv[3 - b] = got[e0 + b];
            const auto x = want.find(base + e0 + b);
            wv[3 - b] = x == want.end() ? 0 : x->second ^ ((flipped && x == want.begin()) ? 1 : 0);
          }
          return diverge("mx0", int64_t(i), "accumulator (row " + std::to_string(row) + ", column " + std::to_string(j / 4) + ")",
                         base + e0, "0x" + hex_bytes(wv), "0x" + hex_bytes(gv));
        }
        ++res_.acc_bytes;
      }
    }
    return true;
  }

  bool final_check() {
    for (uint64_t a = 0; a < l2_.size(); ++a) {
      if (l2_[a] != m_.l2[a]) return diverge("core", -1, "final L2", a, hex(m_.l2[a]), hex(l2_[a]));
    }
    res_.final_bytes += l2_.size();
    // The accumulator rows the model wrote, and the L1 bytes either side wrote.
    std::vector<bool> rows(acc_writer_.size(), false);
    std::map<uint64_t, bool> l1_any;
    for (const Expected& e : m_.writes) {
      for (const auto& [a, b] : e.acc) rows[a / row_bytes_] = true;
      for (const auto& [a, b] : e.l1) l1_any[a] = true;
    }
    for (const auto& [a, b] : l1_) l1_any[a] = true;
    for (uint64_t r = 0; r < rows.size(); ++r) {
      if (!rows[r]) continue;
      const std::vector<uint8_t> got = acc_row(r);
      for (uint32_t j = 0; j < row_bytes_; ++j)
        if (got[j] != m_.acc[r * row_bytes_ + j])
          return diverge("core", -1, "final accumulator", r * row_bytes_ + j, hex(m_.acc[r * row_bytes_ + j]), hex(got[j]));
      res_.final_bytes += row_bytes_;
    }
    for (const auto& [a, b] : m_.hbm) {
      if (hbm_get(a) != b) return diverge("core", -1, "final HBM (bytes written)", a, hex(b), hex(hbm_get(a)));
      ++res_.final_bytes;
    }
    for (const auto& [a, _] : l1_any) {
      const auto it = l1_.find(a);
      const uint8_t got = it == l1_.end() ? 0 : it->second;
      if (got != m_.l1[a]) return diverge("core", -1, "final L1 (bytes written)", a, hex(m_.l1[a]), it == l1_.end() ? "never written" : hex(got));
      ++res_.final_bytes;
    }
    return true;
  }

  bool diverge(const std::string& unit, int64_t index, const std::string& what, std::optional<uint64_t> addr,
               const std::string& expected, const std::string& actual) {
    Divergence d;
    d.cycle = cycle_;
    d.unit = unit;
    d.index = index;
    if (index >= 0) d.instr = isa::format_instr(code_[size_t(index)]);
    d.what = what;
    d.addr = addr;
    d.expected = expected;
    d.actual = actual;
    const size_t from = order_.size() > opt_.history ? order_.size() - opt_.history : 0;
    for (size_t k = from; k < order_.size(); ++k) {
      const size_t i = order_[k];
      if (int64_t(i) == index) continue;
      std::ostringstream s;
      s << "#" << i << " " << isa::format_instr(code_[i]) << "  (model T " << m_.recs[i].start << ", E " << m_.recs[i].E << ")";
      d.history.push_back(s.str());
    }
    res_.divergence = std::move(d);
    res_.cycles = cycle_ + 1;
    return false;
  }

  struct Rsp {
    uint64_t due;
    std::vector<uint8_t> data;
  };

  const config::ArchConfig& arch_;
  const std::vector<Instr>& code_;
  const ModelRun& m_;
  const Options& opt_;
  Result& res_;
  uint64_t trace_from_, trace_to_;
  uint32_t D_ = 2, lanes_ = 8, bpc_ = 16, row_bytes_ = 32, port_bytes_ = 16, slots_ = 5;
  uint64_t l2_lat_ = 1;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vcore> top_;
  std::unique_ptr<VerilatedFstC> fst_;
  std::vector<uint8_t> l2_;
  static constexpr uint64_t kPage = 4096;
  std::unordered_map<uint64_t, std::vector<uint8_t>> hbm_;  // pages of the HBM the program touches
  uint64_t beats_left_[4] = {0, 0, 0, 0};                   // per DMA engine: HBM beats of its transfer
  std::map<uint64_t, uint8_t> l1_;
  std::deque<Rsp> rsps_[4];
  std::vector<std::vector<size_t>> of_slot_;
  std::vector<size_t> next_start_, next_end_;
  std::vector<int64_t> running_;  // per slot: the instruction between its start and completion
  std::vector<Expected> got_;
  std::vector<int64_t> acc_writer_;  // per accumulator row: the last matmul started on it
  std::vector<size_t> order_;        // instructions in the order the RTL started them
  uint64_t cycle_ = 0;
};

}  // namespace

Result run(const config::ArchConfig& arch, const isa::Program& prog, const Options& opt) {
  const config::Arch tiny = config::load_arch("tiny");
  if (config::fingerprint(arch) != config::fingerprint(*tiny))
    throw InputError("--arch: the co-simulated core is rtl/core.sv verilated for the tiny preset, and " + arch.name +
                     " is a different configuration (its fingerprint differs from tiny's)");
  check_supported(prog);
  if (opt.fault.side == Fault::Side::rtl && opt.fault.kind != Fault::Kind::none &&
      (opt.fault.instr >= prog.text[0].code.size() || prog.text[0].code[opt.fault.instr].op != Opcode::matmul))
    throw InputError("cosim: an RTL-side fault targets a matmul (the core's fault inputs reach the matrix engine)");
  if (opt.memory.size() > uint64_t(arch.l2.bytes))
    throw InputError("--memory: the image has " + std::to_string(opt.memory.size()) + " bytes, more than l2.bytes = " +
                     std::to_string(arch.l2.bytes));
  isa::Program p = prog;
  if (!opt.memory.empty()) p.data.insert(p.data.begin(), isa::DataSection{0, Space::l2, 0, opt.memory});
  Result res;
  res.instructions = p.text[0].code.size();
  const ModelRun m = run_model(arch, p);
  res.model_error = m.error;
  res.model_cycles = m.halt;
  res.model_seconds = m.seconds;
  {
    RtlRun rtl(arch, p, m, opt, res, 0, 0);
    const auto t0 = Clock::now();
    rtl.run();
    res.rtl_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    res.read_rtl = rtl.take_memory();
  }
  if (!m.error.empty() && !res.divergence) {
    if (res.rtl_error.empty()) {
      Divergence d;
      d.cycle = res.cycles;
      d.unit = "core";
      d.what = "program error";
      d.expected = m.error;
      d.actual = "the RTL halted normally";
      res.divergence = d;
    } else {
      res.illegal = true;
    }
  }
  if (res.divergence && !opt.wave.empty()) {
    // A second RTL run with tracing, dumping the window before the divergence.
    const uint64_t c = res.divergence->cycle;
    Result again;
    RtlRun rtl(arch, p, m, opt, again, c > opt.wave_before ? c - opt.wave_before : 0, c + 2);
    rtl.run();
    res.wave = opt.wave;
  }
  return res;
}

std::string report(const Result& r) {
  std::ostringstream s;
  if (r.divergence) {
    const Divergence& d = *r.divergence;
    s << "DIVERGENCE at cycle " << d.cycle << ", unit " << d.unit << ": " << d.what << "\n";
    if (d.index >= 0) s << "  instruction #" << d.index << ": " << d.instr << "\n";
    if (d.addr) s << "  address: " << hex(*d.addr) << "\n";
    s << "  expected (model): " << d.expected << "\n";
    s << "  actual (RTL):     " << d.actual << "\n";
    if (!d.history.empty()) {
      s << "  previous instructions (RTL start order):\n";
      for (const std::string& h : d.history) s << "    " << h << "\n";
    }
    if (!r.wave.empty()) s << "  waveform: " << r.wave << "\n";
    return s.str();
  }
  if (r.illegal) {
    s << "both refused the program:\n  model: " << r.model_error << "\n  RTL:   " << r.rtl_error << "\n";
    return s.str();
  }
  auto rate = [](uint64_t c, double sec) { return sec > 0 ? double(c) / sec : 0.0; };
  s << "no divergence: " << r.instructions << " instructions, " << r.cycles << " cycles (halt at " << r.model_cycles
    << " on both)\n";
  s << "compared: " << r.starts << " starts and " << r.ends << " completions (cycle for cycle); " << r.l1_write_bytes
    << " L1, " << r.l2_write_bytes << " L2 and " << r.hbm_write_bytes
    << " HBM bytes written (address and value, as written); " << r.acc_bytes
    << " accumulator bytes at their matmul's completion";
  if (r.acc_rows_skipped) s << " (" << r.acc_rows_skipped << " rows left to the final check: a later tile wrote them first)";
  s << "; " << r.final_bytes << " bytes of final memory (L2, written accumulator rows, L1 and HBM bytes)\n";
  char b[200];
  std::snprintf(b, sizeof b, "speed: model %.0f cycles/s (%.3f s), RTL %.0f cycles/s (%.3f s)\n",
                rate(r.model_cycles, r.model_seconds), r.model_seconds, rate(r.cycles, r.rtl_seconds), r.rtl_seconds);
  s << b;
  return s.str();
}

}  // namespace tessera::cosim
