// The sequencer RTL (rtl/sequencer.sv) against docs/timing.md ("Every unit: queues, start
// and tokens"; "Sequencer: fetch, dispatch, halt, barrier"): random deadlock-free programs of
// tpush/tpop/barrier/halt (and bench-defined busy instructions) over the tiny preset's units
// run on the RTL with behavioural units in this file; the dispatch cycle d, start T (Q on
// mx0) and completion E of every instruction and the halt cycle H must equal (1) an
// independent transcription of the formulas below and (2) the SystemC model
// (tessera::model::Simulation) for the programs the model can run. Also: a full queue stalls
// dispatch, a token counter beyond token_depth raises the overflow error with its counter,
// and decode errors stop dispatch. Set TESSERA_WAVES=1 to write sequencer_<test>.fst.
#include <gtest/gtest.h>
#include <verilated.h>
#include <verilated_fst_c.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "Vsequencer.h"
#include "Vsequencer_small.h"
#include "common/config/config.h"
#include "common/isa/isa.h"
#include "model/core/model.h"

namespace {

namespace isa = tessera::isa;
namespace config = tessera::config;
using isa::Instr;
using isa::Opcode;

constexpr uint8_t kDma0 = 0, kDma1 = 1, kMx0 = 4, kVec = 12, kColl = 13, kSeq = 14;
constexpr std::array<uint8_t, 5> kUnits = {kDma0, kDma1, kMx0, kVec, kColl};  // slot order of the RTL
constexpr int kNU = 5;
constexpr uint64_t kNever = ~uint64_t{0};

int slot_of(uint8_t unit) {
  for (int s = 0; s < kNU; ++s)
    if (kUnits[s] == unit) return s;
  return -1;
}
bool is_mx(uint8_t unit) { return unit >= 4 && unit <= 11; }

// Parameters the RTL was verilated with; the bench checks them against the configuration.
struct Params {
  int queue_depth, token_depth, fetch_bytes;
  int f() const { return std::max(1, (64 + fetch_bytes - 1) / fetch_bytes); }
};

// Cycles E - T + 1 of each instruction on a DMA, vector or collective unit. tpush/tpop take
// one (E = T, docs/timing.md). Other instructions are "busy" for a given time: in programs
// checked against the formulas only, a bench rule (`load`: len cycles, `vfill`: rows
// cycles); in programs checked against the model, the duration of each DMA instruction that
// the model reports, which the bench's unit then replays, so the RTL sequencer sees the same
// unit timing as the model's.
using Durations = std::vector<uint64_t>;
Durations bench_durations(const std::vector<Instr>& prog) {
  Durations d;
  for (const Instr& in : prog) d.push_back(in.op == Opcode::load ? in.len : in.op == Opcode::vfill ? in.rows : 1);
  return d;
}

struct Timeline {
  std::vector<uint64_t> d, t, e;  // per instruction (kNever for halt/barrier)
  std::vector<uint64_t> release;  // R of each barrier, in order
  uint64_t halt = kNever;         // H
  // First token overflow: cycle and counter {u, v} (ISA ids).
  uint64_t overflow_cycle = kNever;
  int overflow_u = -1, overflow_v = -1;
};

// ---- (1) the formulas of docs/timing.md, transcribed ------------------------------------------
Timeline expected(const std::vector<Instr>& prog, const Durations& dur, const Params& p) {
  const uint64_t f = uint64_t(p.f());
  Timeline x;
  const size_t n = prog.size();
  x.d.assign(n, kNever);
  x.t.assign(n, kNever);
  x.e.assign(n, kNever);
  uint64_t next_slot = f - 1;  // d_{i-1} + f (d_{-1} = -1)
  uint64_t floor_b = 0;        // B
  uint64_t max_e = 0;          // max E so far (+1 below); 0 with none
  bool any_e = false;
  std::map<int, std::vector<size_t>> unit_instrs;         // program indices per unit
  std::map<std::pair<int, int>, std::vector<uint64_t>> pushes;  // push cycles per counter, in order
  std::map<std::pair<int, int>, size_t> pops_done;
  std::map<std::pair<int, int>, std::vector<std::pair<uint64_t, int>>> events;  // (cycle, +1/-1)
  for (size_t i = 0; i < n; ++i) {
    const Instr& in = prog[i];
    const uint64_t reach = std::max(next_slot, floor_b);
    if (in.op == Opcode::halt) {
      x.halt = std::max(reach, any_e ? max_e + 1 : 0);
      break;
    }
    if (in.op == Opcode::barrier) {
      const uint64_t r = std::max(reach, any_e ? max_e + 1 : 0);  // scope core: R = x
      x.release.push_back(r);
      next_slot = reach + f;
      floor_b = r + 1;
      continue;
    }
    auto& mine = unit_instrs[in.unit];
    const size_t k = mine.size();
    const uint64_t fq = k >= size_t(p.queue_depth) ? x.t[mine[k - p.queue_depth]] + 1 : 0;
    const uint64_t d = std::max(reach, fq);
    x.d[i] = d;
    next_slot = d + f;
    uint64_t v = 0;
    for (int u = 0; u < 16; ++u) {
      if (!((in.wait >> u) & 1)) continue;
      const auto key = std::make_pair(u, int(in.unit));
      const size_t kth = pops_done[key]++;
      v = std::max(v, pushes.at(key).at(kth) + 1);
    }
    uint64_t t = std::max(d + 1, v);
    uint64_t e;
    const size_t prev = k > 0 ? mine[k - 1] : n;
    if (is_mx(in.unit)) {
      // Q_i = max(a_i, Q_{i-1} + 1, S_{i-1}, V_i) with S = Q for tpush/tpop.
      if (prev != n) t = std::max(t, x.t[prev] + 1);
      e = in.op == Opcode::tpush && prev != n ? std::max(t, x.e[prev]) : t;
    } else {
      if (prev != n) t = std::max(t, x.e[prev] + 1);
      e = t + dur[i] - 1;
    }
    x.t[i] = t;
    x.e[i] = e;
    max_e = any_e ? std::max(max_e, e) : e;
    any_e = true;
    mine.push_back(i);
    for (int u = 0; u < 16; ++u) {
      if ((in.wait >> u) & 1) events[{u, int(in.unit)}].push_back({t, -1});
      if ((in.signal >> u) & 1) {
        pushes[{int(in.unit), u}].push_back(e);
        events[{int(in.unit), u}].push_back({e, +1});
      }
    }
  }
  // Counter values after each cycle; the first cycle any exceeds token_depth (ties: the RTL
  // reports the lowest slot pair, so scan in slot order).
  for (int su = 0; su < kNU; ++su) {
    for (int sv = 0; sv < kNU; ++sv) {
      auto it = events.find({kUnits[su], kUnits[sv]});
      if (it == events.end()) continue;
      auto ev = it->second;
      std::sort(ev.begin(), ev.end());
      int64_t value = 0;
      for (size_t j = 0; j < ev.size(); ++j) {
        value += ev[j].second;
        const bool last_of_cycle = j + 1 == ev.size() || ev[j + 1].first != ev[j].first;
        if (last_of_cycle && value > p.token_depth) {
          if (ev[j].first < x.overflow_cycle) {
            x.overflow_cycle = ev[j].first;
            x.overflow_u = kUnits[su];
            x.overflow_v = kUnits[sv];
          }
          break;
        }
      }
    }
  }
  return x;
}

// ---- the RTL with behavioural units ---------------------------------------------------------
struct RtlResult {
  Timeline tl;
  bool err = false;
  int err_code = 0, err_pc = -1, err_counter = -1;
  uint64_t err_cycle = kNever;  // first cycle err_o is set (the error happened the cycle before)
  bool finished = false;
};

template <class W>
void set_wide(W& w, size_t bit, size_t nbits, uint64_t v) {
  for (size_t b = 0; b < nbits; ++b) {
    const size_t i = bit + b;
    const uint32_t m = 1u << (i % 32);
    if ((v >> b) & 1) w[i / 32] |= m; else w[i / 32] &= ~m;
  }
}

// `opcode0`: if set, replaces the opcode byte of word 0 (an undefined opcode cannot be encoded).
template <class V>
RtlResult run_rtl(const std::vector<Instr>& prog, const Durations& dur, const std::string& name,
                  std::optional<uint8_t> opcode0 = {}) {
  constexpr uint64_t max_cycles = 20000;
  std::vector<isa::Word> mem;
  for (const Instr& in : prog) mem.push_back(isa::encode(in));
  if (opcode0) mem.at(0)[0] = *opcode0;
  auto ctx = std::make_unique<VerilatedContext>();
  auto dut = std::make_unique<V>(ctx.get());
  std::unique_ptr<VerilatedFstC> trace;
  uint64_t ticks = 0;
  if (const char* w = std::getenv("TESSERA_WAVES"); w && std::string(w) == "1") {
    ctx->traceEverOn(true);
    trace = std::make_unique<VerilatedFstC>();
    dut->trace(trace.get(), 99);
    trace->open(("sequencer_" + name + ".fst").c_str());
  }
  auto dump = [&] {
    if (trace) trace->dump(ticks);
    ++ticks;
  };
  auto load_word = [&](uint32_t addr) {
    for (size_t i = 0; i < 16; ++i) {
      uint32_t v = 0;
      if (addr < mem.size())
        for (int b = 0; b < 4; ++b) v |= uint32_t(mem[addr][4 * i + b]) << (8 * b);
      dut->imem_word_i[i] = v;
    }
  };
  // Synchronous instruction memory: samples en/addr at the rising edge.
  auto edge = [&] {
    const bool en = dut->imem_en_o;
    const uint32_t addr = dut->imem_addr_o;
    dut->clk_i = 1;
    dut->eval();
    if (en) load_word(addr);
    dut->eval();
    dump();
    dut->clk_i = 0;
    dut->eval();
    dump();
  };

  RtlResult r;
  const size_t n = prog.size();
  r.tl.d.assign(n, kNever);
  r.tl.t.assign(n, kNever);
  r.tl.e.assign(n, kNever);
  std::array<std::vector<size_t>, kNU> per_unit;  // program indices of each unit, in order
  for (size_t i = 0; i < n; ++i)
    if (int s = slot_of(prog[i].unit); s >= 0 && prog[i].op != Opcode::halt && prog[i].op != Opcode::barrier)
      per_unit[s].push_back(i);
  struct UnitState {
    size_t started = 0;
    std::deque<std::pair<uint64_t, uint16_t>> pending;  // (E, signal) in completion order
    uint64_t last_e = 0, last_q = 0;
    bool any = false;
  };
  std::array<UnitState, kNU> units{};

  dut->clk_i = 0;
  dut->rst_ni = 0;
  dut->u_start_i = 0;
  dut->u_done_i = 0;
  dut->bar_release_i = 1;  // one core: chip and system barriers release as the core drains
  for (int s = 0; s < kNU; ++s) set_wide(dut->u_done_signal_i, size_t(s) * 16, 16, 0);
  dut->eval();
  for (int i = 0; i < 3; ++i) edge();
  dut->rst_ni = 1;
  dut->eval();

  for (uint64_t c = 0; c < max_cycles; ++c) {
    dut->u_start_i = 0;
    dut->u_done_i = 0;
    dut->eval();
    uint32_t start = 0, done = 0;
    for (int s = 0; s < kNU; ++s) {
      UnitState& us = units[s];
      const bool may = (dut->u_may_start_o >> s) & 1;
      const bool mx = is_mx(kUnits[s]);
      const bool free = !us.any || (mx ? c >= us.last_q + 1 : c >= us.last_e + 1);
      if (may && free) {
        EXPECT_LT(us.started, per_unit[s].size()) << "unit " << s << " started more than it was given";
        if (us.started >= per_unit[s].size()) break;
        const size_t idx = per_unit[s][us.started++];
        isa::Word w{};
        for (size_t b = 0; b < isa::kWordBytes; ++b)
          w[b] = uint8_t(dut->u_word_o[(s * 512 + 8 * b) / 32] >> ((8 * b) % 32));
        const Instr in = isa::decode(w, idx);
        EXPECT_EQ(isa::encode(in), mem[idx]) << "queue of unit " << s << " delivered another word at " << idx;
        uint64_t e;
        if (mx) {
          e = in.op == Opcode::tpush && us.any ? std::max(c, us.last_e) : c;
          us.last_q = c;
        } else {
          e = c + dur[idx] - 1;
        }
        us.last_e = std::max(us.any ? us.last_e : 0, e);
        us.any = true;
        us.pending.push_back({e, uint16_t(in.signal)});
        r.tl.t[idx] = c;
        r.tl.e[idx] = e;
        start |= 1u << s;
      }
      if (!us.pending.empty() && us.pending.front().first == c) {
        done |= 1u << s;
        set_wide(dut->u_done_signal_i, size_t(s) * 16, 16, us.pending.front().second);
        us.pending.pop_front();
        EXPECT_TRUE(us.pending.empty() || us.pending.front().first != c) << "two completions in one cycle";
      }
    }
    const uint32_t may_before = dut->u_may_start_o;
    dut->u_start_i = start;
    dut->u_done_i = done;
    dut->eval();
    // A unit decides from may_start alone, so it must not depend on this cycle's starts and
    // completions (a token pushed at E is usable from E + 1).
    EXPECT_EQ(uint32_t(dut->u_may_start_o), may_before) << "may_start depends on this cycle's start/done; cycle " << c;
    if (dut->disp_o) r.tl.d.at(dut->disp_pc_o) = c;
    if (dut->bar_release_o) r.tl.release.push_back(c);
    if (dut->err_o && !r.err) {
      r.err = true;
      r.err_cycle = c;
      r.err_code = dut->err_code_o;
      r.err_pc = dut->err_pc_o;
      r.err_counter = dut->err_counter_o;
    }
    if (dut->halt_o) {
      r.tl.halt = c;
      r.finished = true;
      edge();
      break;
    }
    if (r.err && c > r.err_cycle + 4) break;
    edge();
  }
  if (trace) trace->close();
  dut->final();
  return r;
}

// ---- (2) the SystemC model ----------------------------------------------------------------------
Timeline run_model(const config::ArchConfig& cfg, const std::vector<Instr>& prog) {
  isa::Program p;
  p.arch_name = cfg.name;
  p.arch_fingerprint = config::fingerprint(cfg);
  p.text.push_back(isa::TextSection{0, 0, prog});
  tessera::model::Simulation sim(cfg, p);
  sim.run();
  Timeline x;
  const auto& recs = sim.records(0, 0);
  x.d.assign(prog.size(), kNever);
  x.t.assign(prog.size(), kNever);
  x.e.assign(prog.size(), kNever);
  for (const auto& rec : recs) {
    if (rec.opcode == uint8_t(Opcode::halt) || rec.opcode == uint8_t(Opcode::barrier)) continue;
    x.d.at(rec.index) = rec.dispatch;
    x.t.at(rec.index) = rec.start;
    x.e.at(rec.index) = rec.E;
  }
  x.halt = sim.cycles();
  return x;
}
Durations model_durations(const std::vector<Instr>& prog, const Timeline& m) {
  Durations d = bench_durations(prog);
  for (size_t i = 0; i < prog.size(); ++i)
    if (prog[i].op == Opcode::load) d[i] = m.e[i] - m.t[i] + 1;
  return d;
}

// ---- programs --------------------------------------------------------------------------------
Instr sync(Opcode op, uint8_t unit, uint16_t wait, uint16_t signal) {
  Instr in;
  in.op = op;
  in.unit = unit;
  in.wait = wait;
  in.signal = signal;
  return in;
}
Instr halt() { return sync(Opcode::halt, kSeq, 0, 0); }
Instr barrier(uint16_t id) {
  Instr in = sync(Opcode::barrier, kSeq, 0, 0);
  in.scope = uint64_t(isa::Scope::core);
  in.id = id;
  return in;
}
// A real L2 -> L1 load (its duration comes from the model).
Instr l2_load(uint8_t unit, uint64_t len, uint16_t wait, uint16_t signal) {
  Instr in = sync(Opcode::load, unit, wait, signal);
  in.dst_space = uint64_t(isa::Space::l1);
  in.src_space = uint64_t(isa::Space::l2);
  in.src_addr = 4096 * unit;
  in.len = len;
  in.n1 = in.n2 = 1;
  return in;
}
Instr busy(uint8_t unit, uint64_t cycles, uint16_t wait = 0, uint16_t signal = 0) {
  Instr in = sync(unit == kVec ? Opcode::vfill : Opcode::load, unit, wait, signal);
  if (unit == kVec) {
    in.rows = cycles;
    in.cols = 1;
    in.dst_space = uint64_t(isa::Space::l1);
  } else {
    in.len = cycles;
    in.n1 = in.n2 = 1;
    in.dst_space = in.src_space = uint64_t(isa::Space::l1);
  }
  return in;
}

// Random program, deadlock-free by construction: a wait names counter (u, v) only while
// the pushes to it earlier in program order outnumber its pops, and no counter receives
// more than `max_push` pushes in all (so none can exceed token_depth). With `busy`,
// dma0/dma1/vec also run bench-defined busy instructions (transcription check only); with
// `loads`, dma0/dma1 also run L2 -> L1 loads (model check).
enum class Work { tokens_only, busy, loads };
std::vector<Instr> random_program(std::mt19937_64& rng, size_t len, Work work, int max_push) {
  std::vector<Instr> prog;
  std::map<std::pair<int, int>, int> balance, total;
  auto pick = [&](int lo, int hi) { return int(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  for (size_t i = 0; i < len; ++i) {
    const int r = pick(0, 99);
    if (r < 4) {
      prog.push_back(barrier(uint16_t(pick(0, 1000))));
      continue;
    }
    const uint8_t unit = kUnits[pick(0, kNU - 1)];
    uint16_t wait = 0, signal = 0;
    for (uint8_t u : kUnits) {
      if (balance[{u, unit}] > 0 && pick(0, 2) == 0) {
        wait |= uint16_t(1u << u);
        --balance[{u, unit}];
      }
    }
    for (uint8_t v : kUnits) {
      if (total[{unit, v}] < max_push && pick(0, 3) == 0) {
        signal |= uint16_t(1u << v);
        ++balance[{unit, v}];
        ++total[{unit, v}];
      }
    }
    const bool can_busy = work == Work::busy && !is_mx(unit) && unit != kColl;
    const bool can_load = work == Work::loads && (unit == kDma0 || unit == kDma1);
    if (can_busy && r < 40) {
      prog.push_back(busy(unit, uint64_t(pick(1, 12)), wait, signal));
    } else if (can_load && r < 60) {
      prog.push_back(l2_load(unit, 16 * uint64_t(pick(1, 16)), wait, signal));
    } else if (signal != 0 && (wait == 0 || r < 70)) {
      prog.push_back(sync(Opcode::tpush, unit, wait, signal));
    } else if (wait != 0) {
      prog.push_back(sync(Opcode::tpop, unit, wait, signal));
    } else {
      // Nothing to pop and no push chosen: a push to a random existing unit with room.
      const uint8_t v = kUnits[pick(0, kNU - 1)];
      if (total[{unit, v}] >= max_push) continue;
      ++balance[{unit, v}];
      ++total[{unit, v}];
      prog.push_back(sync(Opcode::tpush, unit, 0, uint16_t(1u << v)));
    }
  }
  prog.push_back(halt());
  return prog;
}

void expect_same(const Timeline& got, const Timeline& want, const std::vector<Instr>& prog, const std::string& what,
                 uint64_t seed) {
  for (size_t i = 0; i < prog.size(); ++i) {
    if (prog[i].op == Opcode::halt || prog[i].op == Opcode::barrier) continue;
    EXPECT_EQ(got.d[i], want.d[i]) << what << ": dispatch d of instruction " << i << " (" << isa::format_instr(prog[i])
                                   << "); seed " << seed;
    EXPECT_EQ(got.t[i], want.t[i]) << what << ": start T of instruction " << i << " (" << isa::format_instr(prog[i])
                                   << "); seed " << seed;
    EXPECT_EQ(got.e[i], want.e[i]) << what << ": completion E of instruction " << i << " ("
                                   << isa::format_instr(prog[i]) << "); seed " << seed;
  }
  EXPECT_EQ(got.halt, want.halt) << what << ": halt cycle H; seed " << seed;
}

struct Coverage {
  uint64_t dispatch_stalls = 0, late_starts = 0, token_waits = 0;
};
Coverage g_cov;

template <class V>
void check_program(const std::vector<Instr>& prog, const Params& p, const config::ArchConfig* model_cfg,
                   const std::string& name, uint64_t seed) {
  // The model first: its DMA durations are what the bench's DMA units replay.
  std::optional<Timeline> model;
  if (model_cfg != nullptr) model = run_model(*model_cfg, prog);
  const Durations dur = model ? model_durations(prog, *model) : bench_durations(prog);
  const RtlResult r = run_rtl<V>(prog, dur, name);
  ASSERT_TRUE(r.finished) << name << ": halt not reached; err " << r.err_code << "; seed " << seed;
  EXPECT_FALSE(r.err) << name << ": error code " << r.err_code << "; seed " << seed;
  const Timeline x = expected(prog, dur, p);
  ASSERT_EQ(x.overflow_cycle, kNever) << "generator bug: the program overflows a counter; seed " << seed;
  expect_same(r.tl, x, prog, name + " vs docs/timing.md", seed);
  EXPECT_EQ(r.tl.release, x.release) << name << ": barrier release cycles; seed " << seed;
  if (model) expect_same(r.tl, *model, prog, name + " vs model", seed);
  // What the program exercised (the random tests require each to happen).
  for (size_t i = 1; i < prog.size(); ++i) {
    if (x.d[i] == kNever) continue;
    if (i >= 1 && x.d[i - 1] != kNever && x.d[i] > x.d[i - 1] + uint64_t(p.f())) ++g_cov.dispatch_stalls;
    if (x.t[i] > x.d[i] + 1) ++g_cov.late_starts;
  }
  for (size_t i = 0; i < prog.size(); ++i) {
    if (prog[i].wait == 0 || x.t[i] == kNever) continue;
    // Started the cycle after a matching push completed: the token was the last thing awaited.
    for (size_t j = 0; j < i; ++j)
      if (x.e[j] != kNever && (prog[j].signal >> prog[i].unit) & 1 && (prog[i].wait >> prog[j].unit) & 1 &&
          x.t[i] == x.e[j] + 1)
        ++g_cov.token_waits;
  }
}

Params tiny_params() {
  const config::Arch a = config::load_arch("tiny");
  // The default Vsequencer is verilated with the RTL's default parameters; they must be tiny's.
  EXPECT_EQ(a->core.dma_engines, 2);
  EXPECT_EQ(a->core.matrix_engines, 1);
  return Params{int(a->core.queue_depth), int(a->core.token_depth), int(a->core.fetch_bytes_per_cycle)};
}
// Vsequencer_small: -GQueueDepth=2 -GTokenDepth=3 -GFetchBytesPerCycle=16 (tests/rtl/CMakeLists.txt).
constexpr const char* kSmallYaml = "base: tiny\nname: tiny-seq\ncore: {queue_depth: 2, token_depth: 3, fetch_bytes_per_cycle: 16}\n";
Params small_params() { return Params{2, 3, 16}; }

TEST(Sequencer, TinyParametersArePreset) {
  const Params p = tiny_params();
  EXPECT_EQ(p.queue_depth, 16);
  EXPECT_EQ(p.token_depth, 15);
  EXPECT_EQ(p.fetch_bytes, 64);
  const config::Arch s = config::load_arch_text(kSmallYaml, "small.yaml");
  EXPECT_EQ(s->core.queue_depth, small_params().queue_depth);
  EXPECT_EQ(s->core.token_depth, small_params().token_depth);
  EXPECT_EQ(s->core.fetch_bytes_per_cycle, small_params().fetch_bytes);
}

void report_coverage(const Coverage& before, const std::string& what, bool need_stalls) {
  const uint64_t stalls = g_cov.dispatch_stalls - before.dispatch_stalls;
  const uint64_t late = g_cov.late_starts - before.late_starts;
  const uint64_t waits = g_cov.token_waits - before.token_waits;
  std::printf("%s: %llu dispatch stalls, %llu late starts, %llu starts released by a token\n", what.c_str(),
              static_cast<unsigned long long>(stalls), static_cast<unsigned long long>(late),
              static_cast<unsigned long long>(waits));
  if (need_stalls) {
    EXPECT_GT(stalls, 0u) << what << " never filled a queue";
  }
  EXPECT_GT(late, 0u) << what << " never delayed a start";
  EXPECT_GT(waits, 0u) << what << " never waited for a token";
}

// `count` random programs of `len` instructions from seeds first, first + 1, ...; checked
// against the model too when `cfg` is given.
template <class V>
void random_runs(uint64_t first, uint64_t count, size_t len, Work work, const Params& p,
                 const config::ArchConfig* cfg, const std::string& name, bool need_stalls) {
  const Coverage before = g_cov;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    std::mt19937_64 rng(seed);
    const auto prog = random_program(rng, len, work, p.token_depth);
    std::printf("%s: seed %llu, %zu instructions\n", name.c_str(), static_cast<unsigned long long>(seed),
                prog.size());
    check_program<V>(prog, p, cfg, name, seed);
  }
  report_coverage(before, name, need_stalls);
}

// 60-instruction programs with L2 -> L1 loads on the tiny preset: RTL = formulas = model.
TEST(Sequencer, RandomTokenProgramsMatchFormulasAndModel) {
  const config::Arch cfg = config::load_arch("tiny");
  random_runs<Vsequencer>(1, 60, 60, Work::loads, tiny_params(), cfg.get(), "tokens_tiny", false);
}

// The same on two-entry queues, token_depth 3 and one word per 4 cycles.
TEST(Sequencer, RandomTokenProgramsSmallQueuesSlowFetch) {
  const config::Arch cfg = config::load_arch_text(kSmallYaml, "small.yaml");
  random_runs<Vsequencer_small>(101, 60, 60, Work::loads, small_params(), cfg.get(), "tokens_small", true);
}

// Bench-defined busy instructions on dma0, dma1 and vec: RTL = formulas.
TEST(Sequencer, RandomBusyProgramsMatchFormulas) {
  random_runs<Vsequencer>(201, 200, 80, Work::busy, tiny_params(), nullptr, "busy_tiny", false);
  random_runs<Vsequencer_small>(401, 200, 80, Work::busy, small_params(), nullptr, "busy_small", true);
}

TEST(Sequencer, FullQueueStallsEveryLaterInstruction) {
  // 30 busy instructions of 5 cycles on dma0 (queue of 16), then a tpush on dma1. dma0's
  // k-th instruction starts at T_k = 1 + 5k; from k = 20 on its queue is full and it is
  // dispatched the cycle after instruction k - 16 starts (a start frees its entry for the
  // next cycle, not its own). dma1's tpush waits behind it although its own queue is empty.
  std::vector<Instr> prog;
  for (int i = 0; i < 30; ++i) prog.push_back(busy(kDma0, 5));
  prog.push_back(sync(Opcode::tpush, kDma1, 0, uint16_t(1u << kVec)));
  prog.push_back(sync(Opcode::tpop, kVec, uint16_t(1u << kDma1), 0));
  prog.push_back(halt());
  const Params p = tiny_params();
  check_program<Vsequencer>(prog, p, nullptr, "full_queue", 0);
  const RtlResult r = run_rtl<Vsequencer>(prog, bench_durations(prog), "full_queue_detail");
  for (size_t k = 0; k < 20; ++k) EXPECT_EQ(r.tl.d[k], k) << k;
  for (size_t k = 20; k < 30; ++k) {
    EXPECT_EQ(r.tl.t[k - 16], 1 + 5 * (k - 16)) << k;
    EXPECT_EQ(r.tl.d[k], r.tl.t[k - 16] + 1) << k;
  }
  EXPECT_EQ(r.tl.d[30], r.tl.d[29] + 1);
  EXPECT_EQ(r.tl.d[30], 5u * 29 - 78 + 1);
  EXPECT_EQ(r.tl.t[30], r.tl.d[30] + 1);
  // Halt waits for the last busy instruction: H = E + 1.
  EXPECT_EQ(r.tl.halt, r.tl.e[29] + 1);
  EXPECT_EQ(r.tl.e[29], 1 + 5u * 29 + 4);
}

TEST(Sequencer, HaltWaitsForEveryUnit) {
  std::vector<Instr> prog = {busy(kVec, 12), busy(kDma1, 3), sync(Opcode::tpush, kMx0, 0, uint16_t(1u << kColl)),
                             sync(Opcode::tpop, kColl, uint16_t(1u << kMx0), 0), halt()};
  const RtlResult r = run_rtl<Vsequencer>(prog, bench_durations(prog), "halt_waits");
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.tl.e[0], 1u + 12 - 1);  // vfill dispatched at 0, starts at 1
  EXPECT_EQ(r.tl.halt, r.tl.e[0] + 1);
  const Timeline x = expected(prog, bench_durations(prog), tiny_params());
  EXPECT_EQ(r.tl.halt, x.halt);
  // Halt alone: reached at d = f - 1 = 0 with nothing outstanding.
  const RtlResult h = run_rtl<Vsequencer>({halt()}, bench_durations({halt()}), "halt_only");
  EXPECT_EQ(h.tl.halt, 0u);
  const RtlResult hs = run_rtl<Vsequencer_small>({halt()}, bench_durations({halt()}), "halt_only_small");
  EXPECT_EQ(hs.tl.halt, 3u);  // f = 4 at 16 B per cycle
}

TEST(Sequencer, BarrierDrainsTheCore) {
  std::vector<Instr> prog = {busy(kDma0, 9), barrier(7), sync(Opcode::tpush, kDma1, 0, uint16_t(1u << kVec)),
                             sync(Opcode::tpop, kVec, uint16_t(1u << kDma1), 0), halt()};
  const RtlResult r = run_rtl<Vsequencer>(prog, bench_durations(prog), "barrier");
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.tl.release.size(), 1u);
  EXPECT_EQ(r.tl.release[0], r.tl.e[0] + 1);  // R = x = E + 1
  EXPECT_EQ(r.tl.d[2], r.tl.release[0] + 1);
  const Timeline x = expected(prog, bench_durations(prog), tiny_params());
  expect_same(r.tl, x, prog, "barrier", 0);
  EXPECT_EQ(r.tl.release, x.release);
}

TEST(Sequencer, TokenOverflowRaisesErrorWithCounter) {
  // 16 pushes dma0 -> mx0 with token_depth 15: the 16th completion overflows tokens[dma0][mx0].
  std::vector<Instr> prog;
  for (int i = 0; i < 16; ++i) prog.push_back(sync(Opcode::tpush, kDma0, 0, uint16_t(1u << kMx0)));
  prog.push_back(halt());
  const Timeline x = expected(prog, bench_durations(prog), tiny_params());
  ASSERT_NE(x.overflow_cycle, kNever);
  const RtlResult r = run_rtl<Vsequencer>(prog, bench_durations(prog), "overflow");
  ASSERT_TRUE(r.err);
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.err_code, 5);
  EXPECT_EQ(r.err_counter, (kDma0 << 4) | kMx0);
  EXPECT_EQ(r.err_cycle, x.overflow_cycle + 1);
  // Small variant (token_depth 3), overflow on mx0 -> vec while vec holds its pops back.
  std::vector<Instr> q = {busy(kVec, 20)};
  for (int i = 0; i < 4; ++i) q.push_back(sync(Opcode::tpush, kMx0, 0, uint16_t(1u << kVec)));
  for (int i = 0; i < 4; ++i) q.push_back(sync(Opcode::tpop, kVec, uint16_t(1u << kMx0), 0));
  q.push_back(halt());
  const Timeline xs = expected(q, bench_durations(q), small_params());
  const RtlResult rs = run_rtl<Vsequencer_small>(q, bench_durations(q), "overflow_small");
  ASSERT_TRUE(rs.err);
  EXPECT_EQ(rs.err_code, 5);
  EXPECT_EQ(rs.err_counter, (kMx0 << 4) | kVec);
  EXPECT_EQ(rs.err_cycle, xs.overflow_cycle + 1);
}

TEST(Sequencer, DecodeErrorsStopDispatch) {
  struct Case {
    Instr bad;
    int code;
  };
  std::vector<Case> cases;
  cases.push_back({sync(Opcode::tpush, 2, 0, 1), 2});                   // dma2 absent on tiny
  cases.push_back({sync(Opcode::tpush, 5, 0, 1), 2});                   // mx1 absent
  cases.push_back({sync(Opcode::tpush, kSeq, 0, 1), 2});                // seq is not in class any
  cases.push_back({busy(kMx0, 3), 2});                                  // load on a matrix engine
  cases.push_back({sync(Opcode::tpush, kDma0, 0, uint16_t(1u << 3)), 3});  // signal names dma3
  cases.push_back({sync(Opcode::tpop, kDma0, 0, 0), 3});                // tpop without wait
  cases.push_back({sync(Opcode::halt, kSeq, 0, 1), 3});                 // halt with a mask
  for (size_t k = 0; k < cases.size(); ++k) {
    std::vector<Instr> prog = {sync(Opcode::tpush, kDma0, 0, 1), cases[k].bad, halt()};
    const RtlResult r = run_rtl<Vsequencer>(prog, bench_durations(prog), "decode_error");
    EXPECT_TRUE(r.err) << "case " << k;
    EXPECT_FALSE(r.finished) << "case " << k;
    EXPECT_EQ(r.err_code, cases[k].code) << "case " << k;
    EXPECT_EQ(r.err_pc, 1) << "case " << k;
    EXPECT_EQ(r.err_cycle, 2u) << "case " << k;  // found at its slot d = 1, flag from cycle 2
    EXPECT_EQ(r.tl.d[1], kNever) << "case " << k;
  }
  // An undefined opcode (0x04) in an otherwise valid word.
  std::vector<Instr> prog = {sync(Opcode::tpush, kDma0, 0, 1), halt()};
  const RtlResult r = run_rtl<Vsequencer>(prog, bench_durations(prog), "bad_opcode", uint8_t{0x04});
  EXPECT_EQ(r.err_code, 1);
  EXPECT_EQ(r.err_pc, 0);
}

}  // namespace
