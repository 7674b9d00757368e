#pragma once
// Test harness of the core top level (rtl/core.sv, tiny): loads a program into the core's
// instruction memory under reset, runs it with an L2 of fixed latency behind every DMA
// channel and records the start and completion cycle of every instruction from the core's
// timeline probes; and a generator of token-ordered programs (loads on both DMA engines,
// matmul tiles of every format and dataflow, one vector instruction, a store). Shared by
// tests/rtl/core_test.cpp and bench/rtl_core_bench.cpp.
#include <verilated.h>
#include <verilated_fst_c.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vcore.h"
#include "common/isa/isa.h"
#include "tests/rtl/verilated_top.h"

namespace tessera::rtl_core {

namespace isa = tessera::isa;

constexpr uint32_t kUnits = 5;  // dma0, dma1, mx0, vec, coll (the tiny core's sequencer slots)
constexpr uint32_t kImemWords = 1024;

inline uint32_t slot_of(uint8_t unit) {
  if (unit <= uint8_t(isa::Unit::dma1)) return unit;
  if (unit == uint8_t(isa::Unit::mx0)) return 2;
  if (unit == uint8_t(isa::Unit::vec)) return 3;
  return 4;
}

struct Timeline {
  std::vector<uint64_t> start, end;  // per instruction; UINT64_MAX: not seen
  uint64_t halt = UINT64_MAX;
  bool err = false;
  uint32_t seq_err = 0, core_err = 0;
  uint64_t late_reports = 0;
  uint64_t cycles = 0;                // cycles simulated
  std::vector<std::string> problems;  // protocol violations seen by the bench
};

// The bench of a Verilated core model V (Vcore; the speed bench also runs a baseline build).
template <class V>
class CoreBenchOf : public tessera::rtl_bench::VerilatedTop<V> {
  using tessera::rtl_bench::VerilatedTop<V>::top_;
  using tessera::rtl_bench::VerilatedTop<V>::dump;

 public:
  explicit CoreBenchOf(const std::string& name) : tessera::rtl_bench::VerilatedTop<V>("core_" + name) {}

  // Loads the program under reset, then runs until halt (or an error, or `limit` cycles)
  // with `l2` as the outside memory answering each request after `l2_lat` cycles.
  Timeline run(const std::vector<isa::Instr>& prog, std::vector<uint8_t>& l2, uint32_t l2_lat, uint32_t bpc,
               uint64_t limit = 200000) {
    top_->rst_ni = 0;
    top_->ext_req_ready_i = 0b11;
    for (size_t i = 0; i <= prog.size(); ++i) {
      top_->imem_we_i = i < prog.size();
      if (i < prog.size()) {
        const isa::Word w = isa::encode(prog[i]);
        top_->imem_waddr_i = uint32_t(i);
        for (size_t j = 0; j < isa::kWordBytes / 4; ++j) top_->imem_wdata_i[j] = load32(w.data() + 4 * j);
      }
      edge();
    }
    top_->imem_we_i = 0;
    edge();  // word 0 is read during reset
    top_->rst_ni = 1;

    Timeline tl;
    tl.start.assign(prog.size(), UINT64_MAX);
    tl.end.assign(prog.size(), UINT64_MAX);
    // Instructions of each unit in program order; next to start / complete.
    std::vector<std::vector<size_t>> of_unit(kUnits);
    for (size_t i = 0; i < prog.size(); ++i)
      if (prog[i].op != isa::Opcode::halt) of_unit[slot_of(prog[i].unit)].push_back(i);
    std::vector<size_t> next_start(kUnits, 0), next_end(kUnits, 0);
    struct Rsp {
      uint64_t due;
      std::vector<uint8_t> data;
    };
    std::deque<Rsp> rsps[2];
    for (uint64_t cycle = 0; cycle < limit; ++cycle) {
      for (uint32_t e = 0; e < 2; ++e) {
        const bool have = !rsps[e].empty() && rsps[e].front().due == cycle;
        top_->ext_rsp_valid_i = (top_->ext_rsp_valid_i & ~(1u << e)) | (uint32_t(have) << e);
        for (uint32_t j = 0; j < bpc / 4; ++j)
          top_->ext_rsp_data_i[e * bpc / 4 + j] = have ? load32(rsps[e].front().data.data() + 4 * j) : 0xA5A5A5A5u;
      }
      top_->clk_i = 0;
      top_->eval();
      dump(2 * cycle);
      for (uint32_t e = 0; e < 2; ++e) {
        if (!rsps[e].empty() && rsps[e].front().due == cycle) rsps[e].pop_front();
        if (!((top_->ext_req_valid_o >> e) & 1)) continue;
        const uint64_t a = ext_addr(e);
        const uint32_t n = (top_->ext_req_bytes_o >> (8 * e)) & 0xFF;
        if (((top_->ext_req_space_o >> (2 * e)) & 3) != uint32_t(isa::Space::l2))
          tl.problems.push_back("request outside L2 at " + std::to_string(cycle));
        Rsp r{cycle + l2_lat, std::vector<uint8_t>(bpc, 0)};
        if ((top_->ext_req_write_o >> e) & 1) {
          for (uint32_t i = 0; i < n; ++i)
            l2.at(a + i) = uint8_t(top_->ext_req_data_o[(e * bpc + i) / 4] >> (8 * ((e * bpc + i) % 4)));
        } else {
          for (uint32_t i = 0; i < n; ++i) r.data[i] = l2.at(a + i);
        }
        rsps[e].push_back(std::move(r));
      }
      for (uint32_t u = 0; u < kUnits; ++u) {
        if ((top_->trace_start_o >> u) & 1) {
          if (next_start[u] < of_unit[u].size()) tl.start[of_unit[u][next_start[u]++]] = cycle;
          else tl.problems.push_back("unit slot " + std::to_string(u) + " started an extra instruction at " + std::to_string(cycle));
        }
        for (uint32_t d = (top_->trace_done_o >> (4 * u)) & 0xF; d > 0; --d) {
          if (next_end[u] < of_unit[u].size()) tl.end[of_unit[u][next_end[u]++]] = cycle;
          else tl.problems.push_back("unit slot " + std::to_string(u) + " completed an extra instruction at " + std::to_string(cycle));
        }
      }
      if (top_->late_done_o) ++tl.late_reports;
      if (top_->halt_o) tl.halt = cycle;
      if (top_->err_o) {
        tl.err = true;
        tl.seq_err = top_->seq_err_code_o;
        tl.core_err = top_->core_err_code_o;
      }
      top_->clk_i = 1;
      top_->eval();
      dump(2 * cycle + 1);
      tl.cycles = cycle + 1;
      if (tl.halt != UINT64_MAX || tl.err) break;
    }
    return tl;
  }

  // Accumulator row `r` (Cols FP32/INT32 values, 32 bytes on tiny) after the run.
  std::vector<uint8_t> acc_row(uint32_t r, uint32_t bytes) {
    top_->acc_raddr_i = r;
    edge();
    top_->clk_i = 0;
    top_->eval();
    std::vector<uint8_t> out(bytes);
    for (uint32_t i = 0; i < bytes; ++i) out[i] = uint8_t(top_->acc_rdata_o[i / 4] >> (8 * (i % 4)));
    return out;
  }

 private:
  static uint32_t load32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  uint64_t ext_addr(uint32_t e) const {
    uint64_t a = 0;
    for (uint32_t b = 0; b < 40; ++b) {
      const uint32_t bit = e * 40 + b;
      a |= uint64_t((top_->ext_req_addr_o[bit / 32] >> (bit % 32)) & 1) << b;
    }
    return a;
  }
  void edge() {
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
  }
};

using CoreBench = CoreBenchOf<Vcore>;

// ---- programs ---------------------------------------------------------------------------------

inline isa::Instr dma(bool load, uint8_t unit, uint64_t l1, uint64_t l2, uint64_t len, uint64_t n1, uint64_t n2,
               uint64_t l1_s1, uint64_t l2_s1, uint64_t l1_s2, uint64_t l2_s2, uint16_t wait, uint16_t signal) {
  isa::Instr in;
  in.op = load ? isa::Opcode::load : isa::Opcode::store;
  in.unit = unit;
  in.wait = wait;
  in.signal = signal;
  in.src_space = uint64_t(load ? isa::Space::l2 : isa::Space::l1);
  in.dst_space = uint64_t(load ? isa::Space::l1 : isa::Space::l2);
  in.src_addr = load ? l2 : l1;
  in.dst_addr = load ? l1 : l2;
  in.len = len;
  in.n1 = n1;
  in.n2 = n2;
  in.src_stride1 = load ? l2_s1 : l1_s1;
  in.dst_stride1 = load ? l1_s1 : l2_s1;
  in.src_stride2 = load ? l2_s2 : l1_s2;
  in.dst_stride2 = load ? l1_s2 : l2_s2;
  return in;
}

constexpr uint16_t bit(isa::Unit u) { return uint16_t(1u << uint32_t(u)); }
constexpr uint8_t id(isa::Unit u) { return uint8_t(u); }

struct Case {
  std::vector<isa::Instr> prog;
  std::vector<isa::DataSection> data;
};

// Element bytes of a matmul input format.
inline uint32_t esize(isa::DType t) { return t == isa::DType::bf16 ? 2 : 1; }

// A program of `tiles` matmul tiles fed by loads on both DMA engines, then `burst` tiles that
// reuse the last tile's operands back to back (smaller random m, n; no waits, so tiles overlap
// and some complete in the same cycle; one of them signals the vector unit), a vector
// instruction on FP32 data loaded from L2, and a store of its result; every step ordered by
// tokens.
inline Case random_case(std::mt19937_64& rng, int tiles, int burst = 0) {
  auto U = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  Case c;
  std::vector<uint8_t> l2(64 * 1024);
  for (auto& b : l2) b = uint8_t(rng());
  // Matmul inputs: reasonable floating values so results are not all Inf/NaN (bytes for int8).
  auto fill_bf16 = [&](uint64_t at, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      const float f = float(int(U(0, 200)) - 100) / 16.0f;
      const uint16_t h = uint16_t(std::bit_cast<uint32_t>(f) >> 16);
      l2[at + 2 * i] = uint8_t(h);
      l2[at + 2 * i + 1] = uint8_t(h >> 8);
    }
  };
  auto fill_f32 = [&](uint64_t at, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      const float f = float(int(U(0, 2000)) - 1000) / 128.0f;
      std::memcpy(&l2[at + 4 * i], &f, 4);
    }
  };
  const isa::DType types[] = {isa::DType::int8, isa::DType::fp8_e4m3, isa::DType::fp8_e5m2, isa::DType::bf16};
  uint64_t l1_free = 0, l2_src = 0;
  uint32_t acc_row = 0;  // accumulator rows of 32 bytes (tiny: 512)
  for (int t = 0; t < tiles; ++t) {
    const bool os = U(0, 1);
    const isa::DType at = types[U(0, 3)];
    const isa::DType bt = at == isa::DType::int8 ? isa::DType::int8
                                                   : (U(0, 1) ? at : types[U(1, 3)]);
    const uint64_t m = os ? U(1, 8) : U(1, 24), k = os ? U(1, 24) : U(1, 8), n = U(1, 8);
    // A (ws: m x k) or A^T (os: k x m); B: k x n. Rows 16-byte aligned in L1 and L2.
    const uint64_t a_rows = os ? k : m, a_cols = os ? m : k;
    const uint64_t a_len = a_cols * esize(at), b_len = n * esize(bt);
    const uint64_t a_s = (a_len + 15) / 16 * 16, b_s = (b_len + 15) / 16 * 16;
    // Long programs (the speed bench) reuse the operand regions once they are used up.
    if (l2_src + (a_rows * a_s + k * b_s) > 0x8000) l2_src = 0;
    if (l1_free + (a_rows * a_s + k * b_s) > 0x8000) l1_free = 0;
    const uint64_t a_l2 = l2_src, b_l2 = a_l2 + a_rows * a_s;
    l2_src = b_l2 + k * b_s;
    if (at == isa::DType::bf16) fill_bf16(a_l2, a_rows * a_s / 2);
    if (bt == isa::DType::bf16) fill_bf16(b_l2, k * b_s / 2);
    const uint64_t a_l1 = l1_free, b_l1 = a_l1 + a_rows * a_s;
    l1_free = b_l1 + k * b_s;
    // Split each operand load into two planes (3-D copy) when it has an even number of rows.
    auto load = [&](uint8_t unit, uint64_t l1, uint64_t l2a, uint64_t len, uint64_t rows, uint64_t s) {
      if (rows % 2 == 0 && U(0, 1))
        return dma(true, unit, l1, l2a, len, rows / 2, 2, s, s, s * rows / 2, s * rows / 2, 0, bit(isa::Unit::mx0));
      return dma(true, unit, l1, l2a, len, rows, 1, s, s, 0, 0, 0, bit(isa::Unit::mx0));
    };
    // Double buffering: the loads of tile t wait for tile t - 2 to complete (its token), so
    // token counters stay small and reused operand regions are free.
    c.prog.push_back(load(id(isa::Unit::dma0), a_l1, a_l2, a_len, a_rows, a_s));
    c.prog.push_back(load(id(isa::Unit::dma1), b_l1, b_l2, b_len, k, b_s));
    if (t >= 2) c.prog[c.prog.size() - 2].wait = c.prog.back().wait = bit(isa::Unit::mx0);
    isa::Instr mm;
    mm.op = isa::Opcode::matmul;
    mm.unit = id(isa::Unit::mx0);
    mm.wait = bit(isa::Unit::dma0) | bit(isa::Unit::dma1);
    mm.a_type = uint64_t(at);
    mm.b_type = uint64_t(bt);
    mm.dataflow = uint64_t(os ? isa::Dataflow::os : isa::Dataflow::ws);
    mm.accumulate = 0;
    mm.a_addr = a_l1;
    mm.b_addr = b_l1;
    if (acc_row + m > 512) acc_row = 0;
    mm.c_addr = uint64_t(acc_row) * 32;
    mm.c_stride = 32;
    mm.a_stride = a_s;
    mm.b_stride = b_s;
    mm.m = m;
    mm.k = k;
    mm.n = n;
    acc_row += uint32_t(m);
    if (t + 2 < tiles) mm.signal = bit(isa::Unit::dma0) | bit(isa::Unit::dma1);
    c.prog.push_back(mm);
  }
  const isa::Instr last = c.prog.back();
  const int signaller = burst > 0 ? int(U(0, uint64_t(burst - 1))) : -1;
  for (int t = 0; t < burst; ++t) {
    isa::Instr mm = last;
    mm.wait = 0;
    mm.m = U(1, last.m);
    mm.n = U(1, last.n);
    if (mm.dataflow == uint64_t(isa::Dataflow::os)) mm.k = U(1, last.k);
    mm.accumulate = 0;  // fresh rows: the RTL accumulator has no reset value
    if (acc_row + mm.m > 512) acc_row = 0;
    mm.c_addr = uint64_t(acc_row) * 32;
    acc_row += uint32_t(mm.m);
    mm.signal = t == signaller ? bit(isa::Unit::vec) : 0;
    c.prog.push_back(mm);
  }
  // Vector: FP32 rows x cols loaded on dma0, computed, stored on dma1.
  const uint64_t rows = U(1, 6), cols = U(1, 20), s = (cols * 4 + 15) / 16 * 16 + 16 * U(0, 1);
  const uint64_t x_l2 = 0x8000, y_l2 = 0x9000, r_l2 = 0xA000;
  fill_f32(x_l2, rows * s / 4);
  fill_f32(y_l2, rows * s / 4);
  const uint64_t x_l1 = 0x8000, y_l1 = 0x9000, r_l1 = 0xA000;
  c.prog.push_back(dma(true, id(isa::Unit::dma0), x_l1, x_l2, cols * 4, rows, 1, s, s, 0, 0, 0, bit(isa::Unit::vec)));
  c.prog.push_back(dma(true, id(isa::Unit::dma1), y_l1, y_l2, cols * 4, rows, 1, s, s, 0, 0, 0, bit(isa::Unit::vec)));
  const isa::Opcode ops[] = {isa::Opcode::vadd, isa::Opcode::vmul, isa::Opcode::vexp, isa::Opcode::vsilu,
                             isa::Opcode::vscale, isa::Opcode::vrsum, isa::Opcode::vmax, isa::Opcode::vgelu};
  isa::Instr v;
  v.op = ops[U(0, 7)];
  v.unit = id(isa::Unit::vec);
  v.wait = bit(isa::Unit::dma0) | bit(isa::Unit::dma1) | (burst > 0 ? bit(isa::Unit::mx0) : 0);
  v.signal = bit(isa::Unit::dma1);
  v.dst_space = v.src1_space = uint64_t(isa::Space::l1);
  v.dst_type = v.src1_type = uint64_t(isa::DType::fp32);
  const bool two = v.op == isa::Opcode::vadd || v.op == isa::Opcode::vmul || v.op == isa::Opcode::vmax;
  if (two) {
    v.src2_space = uint64_t(isa::Space::l1);
    v.src2_type = uint64_t(isa::DType::fp32);
    v.src2_addr = y_l1;
    v.src2_stride = s;
  }
  v.src1_addr = x_l1;
  v.src1_stride = s;
  v.dst_addr = r_l1;
  v.dst_stride = v.op == isa::Opcode::vrsum ? 16 : s;
  v.rows = rows;
  v.cols = cols;
  if (v.op == isa::Opcode::vscale) {
    v.imm = 0.75f;
    v.imm2 = -1.5f;
  }
  c.prog.push_back(v);
  const uint64_t r_len = v.op == isa::Opcode::vrsum ? 4 : cols * 4;
  c.prog.push_back(dma(false, id(isa::Unit::dma1), r_l1, r_l2, r_len, rows, 1, v.dst_stride, v.dst_stride, 0, 0,
                       bit(isa::Unit::vec), 0));
  isa::Instr halt;
  halt.op = isa::Opcode::halt;
  halt.unit = id(isa::Unit::seq);
  c.prog.push_back(halt);
  c.data.push_back(isa::DataSection{0, isa::Space::l2, 0, l2});
  return c;
}


}  // namespace tessera::rtl_core
