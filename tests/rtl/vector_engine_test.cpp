// The vector engine RTL (tiny preset: 8 lanes, latency 8, special cycles 1, L1 of 4 banks
// x 16 B with latency 2) against the two contracts it implements:
// - docs/isa.md semantics with docs/numerics.md arithmetic: every byte of L1 after each
//   instruction equals a reference built from tessera::num (v_exp, reduce_sum, ...), and
//   the engine writes exactly the addresses the instruction names;
// - docs/timing.md "Vector engine": the instruction started at T completes (last write,
//   done_o) at X = T + I - 1 + latency + tail, with I from this bench's transcription of
//   the beat and bank-conflict rules and, independently, from tessera::timing::vector_timing.
// Random instruction sequences run back to back (the next starts at X + 1); seeds are
// printed and TESSERA_SEED reruns one. TESSERA_WAVES=1 writes vector_engine_<test>.fst.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "Vvector_engine.h"
#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/numerics/fp.h"
#include "common/numerics/vector_math.h"
#include "common/timing/timing.h"
#include "model/core/functional.h"
#include "tests/rtl/verilated_top.h"

namespace {

namespace num = tessera::num;
namespace isa = tessera::isa;
namespace timing = tessera::timing;
using isa::Opcode;

// The verilated instance's parameters (the module defaults, the tiny preset's values).
constexpr uint32_t kLanes = 8, kLatency = 8, kSpecial = 1, kL1Latency = 2, kBanks = 4, kBankBytes = 16;
constexpr uint32_t kTail = 3;  // ceil(log2 8)
// The accumulator as the acc-space ports see it: 8 banks (one per column of the 8x8 array)
// of max(4, 4 * 8 / 8) = 4 bytes (docs/timing.md), i.e. the module's AccBanks/AccBankBytes.
constexpr uint32_t kAccBanks = 8, kAccBankBytes = 4;
constexpr uint32_t kMemBytes = 3 * 16384;
constexpr uint32_t kRegion = 16384;  // src1, src2 and dst each live in one of three regions

enum class Src2 { None, Block, Col0, Row0, Rope };
enum class Cls { Elementwise, Special, Reduce };

struct OpInfo {
  Opcode op;
  Src2 src2;
  Cls cls;
  bool src1;
};

const std::vector<OpInfo>& ops() {
  static const std::vector<OpInfo> v = {
      {Opcode::vadd, Src2::Block, Cls::Elementwise, true},   {Opcode::vsub, Src2::Block, Cls::Elementwise, true},
      {Opcode::vmul, Src2::Block, Cls::Elementwise, true},   {Opcode::vmax, Src2::Block, Cls::Elementwise, true},
      {Opcode::vsub_row, Src2::Col0, Cls::Elementwise, true}, {Opcode::vmul_row, Src2::Col0, Cls::Elementwise, true},
      {Opcode::vadd_col, Src2::Row0, Cls::Elementwise, true}, {Opcode::vmul_col, Src2::Row0, Cls::Elementwise, true},
      {Opcode::vscale, Src2::None, Cls::Elementwise, true},  {Opcode::vfill, Src2::None, Cls::Elementwise, false},
      {Opcode::vexp, Src2::None, Cls::Special, true},        {Opcode::vrecip, Src2::None, Cls::Special, true},
      {Opcode::vrsqrt, Src2::None, Cls::Special, true},      {Opcode::vtanh, Src2::None, Cls::Special, true},
      {Opcode::vsilu, Src2::None, Cls::Special, true},       {Opcode::vgelu, Src2::None, Cls::Special, true},
      {Opcode::vrsum, Src2::None, Cls::Reduce, true},        {Opcode::vrmax, Src2::None, Cls::Reduce, true},
      {Opcode::vrsumsq, Src2::None, Cls::Reduce, true},      {Opcode::vargmax, Src2::None, Cls::Reduce, true},
      {Opcode::vmask, Src2::None, Cls::Elementwise, true},    {Opcode::vtopk, Src2::None, Cls::Reduce, true},
      {Opcode::vcvt, Src2::None, Cls::Elementwise, true},    {Opcode::vrope, Src2::Rope, Cls::Elementwise, true},
  };
  return v;
}

struct VInstr {
  OpInfo info;
  uint32_t rows = 1, cols = 1;
  uint32_t src1 = 0, src2 = 0, dst = 0;
  uint32_t s1_stride = 0, s2_stride = 0, d_stride = 0;
  uint32_t imm = 0, imm2 = 0;  // FP32 bit patterns
  uint32_t iarg = 0;           // vmask: p0 << 16 | rows per position; vtopk: k; vrope: rows per table row
  bool acc1 = false, acc2 = false;  // a source in the accumulator (acc space) rather than L1
  num::DType t1 = num::DType::FP32, t2 = num::DType::FP32, td = num::DType::FP32;  // operand formats
};

uint32_t bytes_of(num::DType t) { return num::dtype_bytes(t); }
constexpr num::DType kFormats[] = {num::DType::INT8, num::DType::FP8_E4M3, num::DType::FP8_E5M2, num::DType::BF16,
                                   num::DType::FP16, num::DType::FP32,     num::DType::INT32};

float f(uint32_t b) { return std::bit_cast<float>(b); }
uint32_t u(float x) { return std::bit_cast<uint32_t>(x); }

uint32_t load32(const std::vector<uint8_t>& m, uint32_t a) {
  return uint32_t(m[a]) | uint32_t(m[a + 1]) << 8 | uint32_t(m[a + 2]) << 16 | uint32_t(m[a + 3]) << 24;
}
void store32(std::vector<uint8_t>& m, uint32_t a, uint32_t v) {
  for (int i = 0; i < 4; ++i) m[a + i] = uint8_t(v >> (8 * i));
}
// The element of format t at a (little-endian), and its store.
uint32_t load_elem(const std::vector<uint8_t>& m, uint32_t a, num::DType t) {
  uint32_t v = 0;
  for (uint32_t i = 0; i < bytes_of(t); ++i) v |= uint32_t(m[a + i]) << (8 * i);
  return v;
}
void store_elem(std::vector<uint8_t>& m, uint32_t a, uint32_t v, uint32_t bytes) {
  for (uint32_t i = 0; i < bytes; ++i) m[a + i] = uint8_t(v >> (8 * i));
}

// ---- reference: docs/isa.md semantics on tessera::num -------------------------------------

// One write of the write port or of the reference: address and the element's bits.
using Write = std::pair<uint32_t, uint32_t>;

// Writes the instruction's results into `mem` (sources are read from `before`, so every
// source is read before any result is written) and lists the writes.
void reference(const VInstr& v, const std::vector<uint8_t>& before, std::vector<uint8_t>& mem,
               std::vector<Write>& written) {
  // Operands are decoded to FP32 and results encoded as the functional model stores them.
  const uint32_t e1 = bytes_of(v.t1), e2 = bytes_of(v.t2), ed = bytes_of(v.td);
  auto x1 = [&](uint32_t r, uint32_t c) { return num::decode(v.t1, load_elem(before, v.src1 + r * v.s1_stride + e1 * c, v.t1)); };
  auto x2 = [&](uint32_t r, uint32_t c) { return num::decode(v.t2, load_elem(before, v.src2 + r * v.s2_stride + e2 * c, v.t2)); };
  auto put = [&](uint32_t r, uint32_t c, float y) {
    const uint32_t a = v.dst + r * v.d_stride + ed * c;
    const uint32_t bits = num::encode(v.td, y, tessera::model::store_overflow(v.td));
    store_elem(mem, a, bits, ed);
    written.push_back({a, bits});
  };
  const float imm = f(v.imm), imm2 = f(v.imm2);
  // vargmax's order (docs/isa.md): NaN above everything, then by value with -0 below +0;
  // the lowest column among the greatest.
  auto above = [](uint32_t a, uint32_t b) {
    auto key = [](uint32_t x) -> int64_t {
      if ((x & 0x7FFFFFFFu) > 0x7F800000u) return INT64_MAX;
      return (x >> 31) ? -int64_t(x & 0x7FFFFFFFu) - 1 : int64_t(x & 0x7FFFFFFFu);
    };
    return key(a) > key(b);
  };
  for (uint32_t r = 0; r < v.rows; ++r) {
    if (v.info.op == Opcode::vargmax) {
      uint32_t best = 0;
      for (uint32_t c = 1; c < v.cols; ++c)
        if (above(u(x1(r, c)), u(x1(r, best)))) best = c;
      const uint32_t a = v.dst + r * v.d_stride;
      store32(mem, a, best);
      written.push_back({a, best});
      continue;
    }
    if (v.info.op == Opcode::vtopk) {
      // k values (NaN canonical) then k columns, largest first, lower column first on ties.
      std::vector<uint32_t> order(v.cols);
      for (uint32_t c = 0; c < v.cols; ++c) order[c] = c;
      std::stable_sort(order.begin(), order.end(),
                       [&](uint32_t a, uint32_t b) { return above(u(x1(r, a)), u(x1(r, b))); });
      for (uint32_t i = 0; i < v.iarg; ++i) {
        uint32_t val = u(x1(r, order[i]));
        if ((val & 0x7FFFFFFFu) > 0x7F800000u) val = u(num::canonical_nan());
        const uint32_t a = v.dst + r * v.d_stride + 4 * i, b = v.dst + r * v.d_stride + 4 * (v.iarg + i);
        store32(mem, a, val);
        store32(mem, b, order[i]);
        written.push_back({a, val});
        written.push_back({b, order[i]});
      }
      continue;
    }
    if (v.info.cls == Cls::Reduce) {
      std::vector<float> row(v.cols);
      for (uint32_t c = 0; c < v.cols; ++c) {
        row[c] = x1(r, c);
        if (v.info.op == Opcode::vrsumsq) row[c] = num::mul_f32(row[c], row[c]);
      }
      put(r, 0, v.info.op == Opcode::vrmax ? num::reduce_max(row, kLanes) : num::reduce_sum(row, kLanes));
      continue;
    }
    for (uint32_t c = 0; c < v.cols; ++c) {
      float y = 0;
      switch (v.info.op) {
        case Opcode::vadd: y = num::add_f32(x1(r, c), x2(r, c)); break;
        case Opcode::vsub: y = num::add_f32(x1(r, c), -x2(r, c)); break;
        case Opcode::vmul: y = num::mul_f32(x1(r, c), x2(r, c)); break;
        case Opcode::vmax: y = num::max_f32(x1(r, c), x2(r, c)); break;
        case Opcode::vsub_row: y = num::add_f32(x1(r, c), -x2(r, 0)); break;
        case Opcode::vmul_row: y = num::mul_f32(x1(r, c), x2(r, 0)); break;
        case Opcode::vadd_col: y = num::add_f32(x1(r, c), x2(0, c)); break;
        case Opcode::vmul_col: y = num::mul_f32(x1(r, c), x2(0, c)); break;
        case Opcode::vscale: y = num::add_f32(num::mul_f32(x1(r, c), imm), imm2); break;
        case Opcode::vfill: y = imm; break;
        case Opcode::vexp: y = num::v_exp(x1(r, c)); break;
        case Opcode::vrecip: y = num::v_recip(x1(r, c)); break;
        case Opcode::vrsqrt: y = num::v_rsqrt(x1(r, c)); break;
        case Opcode::vtanh: y = num::v_tanh(x1(r, c)); break;
        case Opcode::vsilu: y = num::v_silu(x1(r, c)); break;
        case Opcode::vgelu: y = num::v_gelu_tanh(x1(r, c)); break;
        case Opcode::vmask: {
          // The element passes (an FP32 NaN keeps its payload) unless it is masked.
          const uint32_t p0 = v.iarg >> 16, g = std::max(v.iarg & 0xFFFFu, 1u);
          y = c > p0 + r / g ? -std::numeric_limits<float>::infinity() : x1(r, c);
          break;
        }
        case Opcode::vcvt: y = num::mul_f32(x1(r, c), imm); break;
        case Opcode::vrope: {
          // rotate_half: the first half pairs with the second; table row r / iarg holds the
          // cosines of the half's columns, then their sines.
          const uint32_t h = v.cols / 2, t = r / std::max(v.iarg, 1u), j = c < h ? c : c - h;
          const float cs = x2(t, j), sn = x2(t, h + j);
          y = c < h ? num::add_f32(num::mul_f32(x1(r, c), cs), -num::mul_f32(x1(r, c + h), sn))
                    : num::add_f32(num::mul_f32(x1(r, c), cs), num::mul_f32(x1(r, j), sn));
          break;
        }
        default: ADD_FAILURE() << "no reference for opcode"; break;
      }
      put(r, c, y);
    }
  }
}

// ---- timing: docs/timing.md "Vector engine", transcribed independently ---------------------

struct Range {
  uint64_t addr, bytes;
};

// Cycles of one port's beat: max over banks of the distinct lines the ranges touch, in L1
// or in the accumulator.
uint64_t port_cost(const std::vector<Range>& ranges, bool acc = false) {
  const uint64_t width = acc ? kAccBankBytes : kBankBytes, banks = acc ? kAccBanks : kBanks;
  std::set<uint64_t> lines;
  for (const Range& r : ranges)
    for (uint64_t l = r.addr / width; l <= (r.addr + r.bytes - 1) / width; ++l) lines.insert(l);
  std::map<uint64_t, uint64_t> per_bank;
  uint64_t worst = 0;
  for (uint64_t l : lines) worst = std::max(worst, ++per_bank[l % banks]);
  return worst;
}

uint64_t issue_cycles(const VInstr& v) {
  const bool reduce = v.info.cls == Cls::Reduce;
  const bool packed = !reduce && v.cols < kLanes;
  const uint32_t g = packed ? kLanes / v.cols : 1;
  // A beat: rows [r0, r1), columns [c0, c1) of each.
  struct Beat {
    uint32_t r0, r1, c0, c1;
  };
  std::vector<Beat> beats;
  if (packed) {
    for (uint32_t r = 0; r < v.rows; r += g) beats.push_back({r, std::min(v.rows, r + g), 0, v.cols});
  } else {
    for (uint32_t r = 0; r < v.rows; ++r)
      for (uint32_t c = 0; c < v.cols; c += kLanes) beats.push_back({r, r + 1, c, std::min(v.cols, c + kLanes)});
  }
  // vtopk issues every row's beats once per selected element.
  if (v.info.op == Opcode::vtopk) {
    std::vector<Beat> once = beats;
    for (uint32_t p = 1; p < v.iarg; ++p) beats.insert(beats.end(), once.begin(), once.end());
  }
  uint64_t total = 0;
  for (const Beat& b : beats) {
    uint64_t c = v.info.cls == Cls::Special ? kSpecial : 1;
    std::vector<Range> s1, s2, d;
    for (uint32_t r = b.r0; r < b.r1; ++r) {
      const uint64_t e1 = bytes_of(v.t1), e2 = bytes_of(v.t2), ed = bytes_of(v.td), n = b.c1 - b.c0;
      s1.push_back({v.src1 + uint64_t(r) * v.s1_stride + e1 * b.c0, e1 * n});
      d.push_back({v.dst + uint64_t(r) * v.d_stride + ed * b.c0, ed * n});
      if (v.info.src2 == Src2::Block) s2.push_back({v.src2 + uint64_t(r) * v.s2_stride + e2 * b.c0, e2 * n});
      if (v.info.src2 == Src2::Col0 && b.c0 == 0) s2.push_back({v.src2 + uint64_t(r) * v.s2_stride, e2});
      if (v.info.src2 == Src2::Row0) s2.push_back({v.src2 + e2 * b.c0, e2 * n});
      if (v.info.src2 == Src2::Rope) s2.push_back({v.src2 + uint64_t(r / v.iarg) * v.s2_stride + e2 * b.c0, e2 * n});
    }
    if (v.info.src1) c = std::max(c, port_cost(s1, v.acc1));
    c = std::max(c, port_cost(s2, v.acc2));
    if (!reduce) c = std::max(c, port_cost(d));
    total += c;
  }
  return total;
}

// The same through the cycle model's own function.
timing::VecTiming model_timing(const VInstr& v) {
  static const timing::BankGeometry l1{kBanks, kBankBytes, kL1Latency}, acc{kAccBanks, kAccBankBytes, 1};
  timing::VecShape s;
  s.cls = v.info.op == Opcode::vtopk   ? timing::VecClass::topk
          : v.info.cls == Cls::Reduce  ? timing::VecClass::reduce
          : v.info.cls == Cls::Special ? timing::VecClass::special
                                       : timing::VecClass::elementwise;
  s.src2_shape = v.info.src2 == Src2::Block  ? timing::OperandShape::block
                : v.info.src2 == Src2::Col0 ? timing::OperandShape::col0
                : v.info.src2 == Src2::Row0 ? timing::OperandShape::row0
                : v.info.src2 == Src2::Rope ? timing::OperandShape::rope_table
                                            : timing::OperandShape::none;
  s.has_src1 = v.info.src1;
  s.rows = v.rows;
  s.cols = v.cols;
  s.iarg = v.iarg;
  s.src1 = {v.acc1 ? &acc : &l1, v.src1, v.s1_stride, bytes_of(v.t1)};
  s.src2 = {v.acc2 ? &acc : &l1, v.src2, v.s2_stride, bytes_of(v.t2)};
  s.dst = {&l1, v.dst, v.d_stride, bytes_of(v.td)};
  return timing::vector_timing(s, kLanes, kSpecial);
}

// ---- the verilated engine with an L1 behind its ports --------------------------------------

struct Run {
  std::vector<uint64_t> t, x;                   // accept and done cycles of each instruction
  std::vector<std::vector<Write>> written;      // what each instruction wrote
  bool err = false;
};

isa::Word encode(const VInstr& v) {
  isa::Instr in;
  in.op = v.info.op;
  in.unit = static_cast<uint8_t>(isa::Unit::vec);
  in.dst_space = in.src1_space = in.src2_space = static_cast<uint64_t>(isa::Space::l1);
  if (v.acc1) in.src1_space = static_cast<uint64_t>(isa::Space::acc);
  if (v.acc2) in.src2_space = static_cast<uint64_t>(isa::Space::acc);
  in.dst_type = static_cast<uint64_t>(v.td);
  in.src1_type = static_cast<uint64_t>(v.t1);
  in.src2_type = static_cast<uint64_t>(v.t2);
  in.iarg = v.iarg;
  in.rows = v.rows;
  in.cols = v.cols;
  in.dst_addr = v.dst;
  in.src1_addr = v.src1;
  in.src2_addr = v.src2;
  in.dst_stride = v.d_stride;
  in.src1_stride = v.s1_stride;
  in.src2_stride = v.s2_stride;
  in.imm = f(v.imm);
  in.imm2 = f(v.imm2);
  return isa::encode(in);
}

class Bench : public tessera::rtl_bench::VerilatedTop<Vvector_engine> {
 public:
  explicit Bench(const std::string& name) : VerilatedTop("vector_engine_" + name) { reset(); }

  // Offers the words back to back from cycle 0 (start_i whenever one is left) and serves
  // the ports from `mem`: reads see the memory of their request cycle and return
  // kL1Latency cycles later; writes land in their cycle. An acc-space source is served from
  // `mem` as well (the bench checks the engine's acc flags against `acc`, one pair of
  // flags per word).
  Run run(const std::vector<isa::Word>& words, std::vector<uint8_t>& mem, uint64_t limit = 200000,
          const std::vector<std::pair<bool, bool>>* acc = nullptr) {
    Run out;
    struct Pending {
      uint64_t due;
      uint32_t data[4][kLanes];
    };
    std::deque<Pending> reads;
    size_t next = 0;
    for (uint64_t cycle = 0; cycle < limit && out.x.size() < words.size(); ++cycle) {
      for (uint32_t k = 0; k < kLanes; ++k) {
        const bool have = !reads.empty() && reads.front().due == cycle;
        top_->s1_data_i[k] = have ? reads.front().data[0][k] : 0xDEADBEEFu;
        top_->s2_data_i[k] = have ? reads.front().data[1][k] : 0xDEADBEEFu;
        top_->s3_data_i[k] = have ? reads.front().data[2][k] : 0xDEADBEEFu;
        top_->s4_data_i[k] = have ? reads.front().data[3][k] : 0xDEADBEEFu;
      }
      if (!reads.empty() && reads.front().due == cycle) reads.pop_front();
      top_->start_i = next < words.size();
      if (next < words.size()) drive(words[next]);
      top_->clk_i = 0;
      top_->eval();
      dump(2 * cycle);
      if (top_->start_i && top_->ready_o) {
        out.t.push_back(cycle);
        out.written.emplace_back();
        ++next;
      }
      if (top_->s1_en_o || top_->s2_en_o || top_->s3_en_o || top_->s4_en_o) {
        Pending p{cycle + kL1Latency, {}};
        for (uint32_t k = 0; k < kLanes; ++k) {
          p.data[0][k] = (top_->s1_en_o >> k & 1) ? load32(mem, top_->s1_addr_o[k]) : 0xDEADBEEFu;
          p.data[1][k] = (top_->s2_en_o >> k & 1) ? load32(mem, top_->s2_addr_o[k]) : 0xDEADBEEFu;
          p.data[2][k] = (top_->s3_en_o >> k & 1) ? load32(mem, top_->s3_addr_o[k]) : 0xDEADBEEFu;
          p.data[3][k] = (top_->s4_en_o >> k & 1) ? load32(mem, top_->s4_addr_o[k]) : 0xDEADBEEFu;
        }
        reads.push_back(p);
        if (acc && !out.t.empty()) {
          const auto [a1, a2] = (*acc)[out.t.size() - 1];
          if ((top_->s1_en_o && bool(top_->s1_acc_o) != a1) || (top_->s2_en_o && bool(top_->s2_acc_o) != a2))
            ADD_FAILURE() << "instruction " << out.t.size() - 1 << ": acc flags " << int(top_->s1_acc_o) << ","
                          << int(top_->s2_acc_o) << " at cycle " << cycle;
        }
      }
      for (uint32_t k = 0; k < kLanes; ++k) {
        if (!(top_->d_en_o >> k & 1)) continue;
        const uint32_t a = top_->d_addr_o[k];
        if (a + 4 > mem.size() || out.written.empty()) {
          ADD_FAILURE() << "write to " << a << " at cycle " << cycle;
          continue;
        }
        const uint32_t n = top_->d_bytes_o, bits = n == 4 ? top_->d_data_o[k] : top_->d_data_o[k] & ((1u << (8 * n)) - 1u);
        store_elem(mem, a, bits, n);
        out.written.back().push_back({a, bits});
      }
      if (top_->done_o) out.x.push_back(cycle);
      out.err = out.err || top_->err_o;
      top_->clk_i = 1;
      top_->eval();
      dump(2 * cycle + 1);
    }
    return out;
  }

  // Offers one word for one cycle; returns whether the engine took it (went busy).
  bool offer_once(const isa::Word& w, bool& err) {
    top_->start_i = 1;
    drive(w);
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
    top_->start_i = 0;
    top_->clk_i = 0;
    top_->eval();
    const bool taken = !top_->ready_o;
    err = top_->err_o;
    top_->clk_i = 1;
    top_->eval();
    return taken;
  }

 private:
  void drive(const isa::Word& w) {
    for (size_t i = 0; i < isa::kWordBytes / 4; ++i)
      top_->word_i[i] = uint32_t(w[4 * i]) | uint32_t(w[4 * i + 1]) << 8 | uint32_t(w[4 * i + 2]) << 16 |
                        uint32_t(w[4 * i + 3]) << 24;
  }
};

// ---- random operands and instructions -------------------------------------------------------

uint32_t random_value(std::mt19937_64& rng) {
  static const uint32_t specials[] = {0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001,
                                      0x7F800001, 0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
                                      0x3F800000, 0xBF800000, 0x42B20000, 0xC2D00000};
  const uint32_t pick = rng() % 100;
  if (pick < 10) return specials[rng() % std::size(specials)];
  if (pick < 25) return uint32_t(rng());
  // Where the functions do their real work: |x| up to ~16, and some large magnitudes.
  std::uniform_real_distribution<float> d(pick < 90 ? -16.0f : -120.0f, pick < 90 ? 16.0f : 120.0f);
  return u(d(rng));
}

void fill_random(std::vector<uint8_t>& mem, std::mt19937_64& rng) {
  for (uint32_t a = 0; a + 4 <= mem.size(); a += 4) store32(mem, a, random_value(rng));
}

// vtopk's k (1, the greedy-sampling case, half the time; at most cols); vmask's position of
// row 0 (around the columns, so rows are masked partly, wholly or not at all) and rows per
// position (1, a GQA group, or more rows than the block); other opcodes ignore the field,
// so it is random for them as well.
uint32_t random_iarg(std::mt19937_64& rng, Opcode op, uint32_t cols) {
  if (op == Opcode::vtopk) return rng() % 2 ? 1 : 1 + uint32_t(rng() % cols);
  const uint32_t p0 = rng() % 8 == 0 ? uint32_t(rng() % 65536) : uint32_t(rng() % (cols + 3));
  const uint32_t gs[] = {1, 1, 2, 3, 4, 16, uint32_t(1 + rng() % 65535)};
  return p0 << 16 | gs[rng() % std::size(gs)];
}

VInstr random_instr(std::mt19937_64& rng) {
  VInstr v;
  v.info = ops()[rng() % ops().size()];
  v.rows = 1 + rng() % 10;
  static const uint32_t col_choices[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 24, 31};
  v.cols = col_choices[rng() % std::size(col_choices)];
  // Strides that pack rows into few banks (64 = banks x width, 20 of the docs example), the
  // dense one, and random ones; 1 in 5 operands is not 4-byte aligned.
  auto stride = [&](uint32_t min) {
    const uint32_t opts[] = {min, min + 4, 64 * ((min + 63) / 64), 20 * ((min + 19) / 20), min + uint32_t(rng() % 97)};
    return opts[rng() % std::size(opts)];
  };
  auto addr = [&](uint32_t region) {
    const uint32_t a = uint32_t(rng() % 4096);
    return region * kRegion + ((rng() % 5 == 0) ? a : a & ~3u);
  };
  // Each operand in its own region, so no instruction overwrites its own sources.
  uint32_t regions[3] = {0, 1, 2};
  std::shuffle(std::begin(regions), std::end(regions), rng);
  v.src1 = addr(regions[0]);
  v.src2 = addr(regions[1]);
  v.dst = addr(regions[2]);
  // Half the operands FP32, the others any format (vargmax writes int32, vtopk fp32).
  auto format = [&] { return rng() % 2 ? num::DType::FP32 : kFormats[rng() % std::size(kFormats)]; };
  v.t1 = format();
  v.t2 = format();
  v.td = format();
  if (v.info.op == Opcode::vargmax) v.td = num::DType::INT32;
  if (v.info.op == Opcode::vtopk) v.td = num::DType::FP32;
  const uint32_t e1 = bytes_of(v.t1), e2 = bytes_of(v.t2), ed = bytes_of(v.td);
  v.s1_stride = stride(e1 * v.cols);
  v.s2_stride = v.info.src2 == Src2::Col0 ? stride(e2) : stride(e2 * v.cols);
  v.imm = random_value(rng);
  v.imm2 = random_value(rng);
  v.iarg = random_iarg(rng, v.info.op, v.cols);
  if (v.info.op == Opcode::vrope) {
    // Even columns; one table row per 1, 2, 3, 4 or 16 data rows (heads per token).
    if (v.cols % 2) v.cols += 1;
    const uint32_t per[] = {1, 1, 2, 3, 4, 16};
    v.iarg = per[rng() % std::size(per)];
    v.s1_stride = stride(e1 * v.cols);
    v.s2_stride = stride(e2 * v.cols);
  }
  // One source in four in the accumulator: FP32 or INT32, word-aligned address and stride.
  auto to_acc = [&](uint32_t& a, uint32_t& st, num::DType& t, uint32_t min_stride_elems) {
    t = rng() % 4 ? num::DType::FP32 : num::DType::INT32;
    a &= ~3u;
    st = std::max((st + 3) & ~3u, 4 * min_stride_elems);
  };
  if (v.info.src1 && rng() % 4 == 0) {
    v.acc1 = true;
    to_acc(v.src1, v.s1_stride, v.t1, v.cols);
  }
  if (v.info.src2 != Src2::None && rng() % 4 == 0) {
    v.acc2 = true;
    to_acc(v.src2, v.s2_stride, v.t2, v.info.src2 == Src2::Col0 ? 1 : v.cols);
  }
  v.d_stride = stride(v.info.op == Opcode::vtopk ? 8 * v.iarg : v.info.cls == Cls::Reduce ? ed : ed * v.cols);
  return v;
}

uint64_t seed_or_env(uint64_t fallback) {
  const char* s = std::getenv("TESSERA_SEED");
  return s ? std::strtoull(s, nullptr, 0) : fallback;
}

// A test's seed (TESSERA_SEED overrides the fallback; printed), its generator and an L1
// of random words drawn from it.
struct Start {
  uint64_t seed;
  std::mt19937_64 rng;
  std::vector<uint8_t> mem;
};
Start start(const char* test, uint64_t fallback) {
  Start st{seed_or_env(fallback), std::mt19937_64(), std::vector<uint8_t>(kMemBytes)};
  std::printf("%s: seed %llu\n", test, static_cast<unsigned long long>(st.seed));
  st.rng.seed(st.seed);
  fill_random(st.mem, st.rng);
  return st;
}

std::string describe(const VInstr& v) {
  char b[256];
  std::snprintf(b, sizeof b, "%s %ux%u src1=%s%u/%u src2=%s%u/%u dst=%u/%u iarg=%u", isa::name(v.info.op), v.rows,
                v.cols, v.acc1 ? "acc:" : "", v.src1, v.s1_stride, v.acc2 ? "acc:" : "", v.src2, v.s2_stride, v.dst,
                v.d_stride, v.iarg);
  return b;
}

// Runs the instructions back to back on a fresh engine and checks data and timing.
void check_sequence(const std::vector<VInstr>& seq, std::vector<uint8_t> mem, uint64_t seed, const std::string& name,
                    std::vector<uint64_t>* issue_out = nullptr) {
  std::vector<uint8_t> expect = mem;
  std::vector<std::vector<Write>> expect_written(seq.size());
  for (size_t i = 0; i < seq.size(); ++i) {
    const std::vector<uint8_t> before = expect;
    reference(seq[i], before, expect, expect_written[i]);
  }
  std::vector<isa::Word> words;
  std::vector<std::pair<bool, bool>> acc;
  for (const VInstr& v : seq) {
    words.push_back(encode(v));
    acc.emplace_back(v.acc1, v.acc2);
  }
  Bench bench(name);
  const Run run = bench.run(words, mem, 200000, &acc);
  ASSERT_FALSE(run.err) << "engine flagged a supported word; seed " << seed;
  ASSERT_EQ(run.x.size(), seq.size()) << "not every instruction completed; seed " << seed;
  ASSERT_EQ(run.t.size(), seq.size());
  for (size_t i = 0; i < seq.size(); ++i) {
    const VInstr& v = seq[i];
    const uint64_t issue = issue_cycles(v);
    const timing::VecTiming mt = model_timing(v);
    const uint64_t tail = v.info.cls == Cls::Reduce ? kTail : 0;
    if (issue_out) issue_out->push_back(issue);
    EXPECT_EQ(mt.issue, issue) << "bench transcription and common/timing/timing.h disagree: " << describe(v);
    EXPECT_EQ(mt.tail, tail);
    EXPECT_EQ(run.t[i], i == 0 ? 0 : run.x[i - 1] + 1) << "instruction " << i << " started late; seed " << seed;
    EXPECT_EQ(run.x[i], run.t[i] + issue - 1 + kLatency + tail)
        << "instruction " << i << " (" << describe(v) << ") completed at the wrong cycle; seed " << seed;
    // Every write, address and bits, in any order (a packed beat writes several rows at once).
    std::vector<Write> got = run.written[i], want = expect_written[i];
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got.size(), want.size()) << "instruction " << i << " (" << describe(v) << "); seed " << seed;
    for (size_t w = 0; w < std::min(got.size(), want.size()); ++w) {
      if (got[w] != want[w]) {
        ADD_FAILURE() << "instruction " << i << " (" << describe(v) << "): RTL wrote " << std::hex << got[w].second
                      << " at " << std::dec << got[w].first << ", reference " << std::hex << want[w].second << " at "
                      << std::dec << want[w].first << "; seed " << seed;
        break;
      }
    }
  }
  for (uint32_t a = 0; a + 4 <= mem.size(); a += 4) {
    if (load32(mem, a) != load32(expect, a)) {
      ADD_FAILURE() << "L1 word at " << a << ": RTL " << std::hex << load32(mem, a) << ", reference "
                    << load32(expect, a) << std::dec << "; seed " << seed;
      break;
    }
  }
}

VInstr make(Opcode op, uint32_t rows, uint32_t cols, uint32_t stride) {
  VInstr v;
  for (const OpInfo& o : ops())
    if (o.op == op) v.info = o;
  v.rows = rows;
  v.cols = cols;
  v.src1 = 0;
  v.src2 = kRegion;
  v.dst = 2 * kRegion;
  v.s1_stride = v.s2_stride = v.d_stride = stride;
  v.imm = u(0.5f);
  v.imm2 = u(-1.25f);
  if (op == Opcode::vtopk) {
    v.iarg = 1;
    v.d_stride = std::max(stride, 8u);
  }
  if (op == Opcode::vargmax) v.td = num::DType::INT32;
  return v;
}

// docs/timing.md's examples: vfill of 4 x 8 into L1 completes at T + 3 + 8; vscale of a
// 64 x 1 column packs 8 rows per beat, 8 cycles per beat at stride 64, 2 at stride 20.
// The bench's accumulator constants are tiny's geometry as the model times it.
TEST(VectorEngine, TinyAccumulatorGeometry) {
  const timing::ArchParams p = timing::arch_params(*tessera::config::load_arch("tiny"));
  EXPECT_EQ(p.acc.banks, kAccBanks);
  EXPECT_EQ(p.acc.width, kAccBankBytes);
  EXPECT_EQ(p.acc.latency, 1u);
}

TEST(VectorEngine, TimingDocExamples) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> mem(kMemBytes);
  fill_random(mem, rng);
  std::vector<uint64_t> issue;
  check_sequence({make(Opcode::vfill, 4, 8, 32), make(Opcode::vscale, 64, 1, 64), make(Opcode::vscale, 64, 1, 20)},
                 mem, 7, "doc_examples", &issue);
  ASSERT_EQ(issue.size(), 3u);
  EXPECT_EQ(issue[0], 4u);
  EXPECT_EQ(issue[1], 8u * 8u);
  EXPECT_EQ(issue[2], 8u * 2u);
}

// Each opcode alone on row shapes around the lane count, packed and unpacked.
TEST(VectorEngine, EveryOpcodeEveryShapeClass) {
  auto [seed, rng, mem] = start("EveryOpcodeEveryShapeClass", 11);
  std::vector<VInstr> seq;
  for (const OpInfo& o : ops()) {
    for (uint32_t cols : {1u, 3u, 8u, 13u}) {
      // vrope pairs the halves of a row: even columns only.
      const uint32_t c = o.op == Opcode::vrope ? cols + cols % 2 : cols;
      VInstr v = make(o.op, 5, c, 4 * c + 8);
      v.imm = random_value(rng);
      v.imm2 = random_value(rng);
      v.iarg = o.op == Opcode::vrope ? 1 + uint32_t(rng() % 3) : random_iarg(rng, o.op, c);
      if (o.op == Opcode::vtopk) v.d_stride = 8 * v.iarg;
      seq.push_back(v);
    }
  }
  check_sequence(seq, mem, seed, "every_opcode");
}

// Random instruction sequences: shapes, strides (including bank-conflicting and unaligned
// ones), opcodes and L1 contents with special values.
TEST(VectorEngine, RandomSequences) {
  const uint64_t base = seed_or_env(20261123);
  const int runs = std::getenv("TESSERA_SEED") ? 1 : 30;
  for (int i = 0; i < runs; ++i) {
    const uint64_t seed = base + uint64_t(i);
    std::printf("RandomSequences: seed %llu\n", static_cast<unsigned long long>(seed));
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> mem(kMemBytes);
    fill_random(mem, rng);
    std::vector<VInstr> seq;
    for (int n = 0; n < 10; ++n) seq.push_back(random_instr(rng));
    check_sequence(seq, mem, seed, "random_" + std::to_string(seed));
    if (::testing::Test::HasFailure()) break;
  }
}

// Long rows exercise the lane fold (lane j takes j, j+8, ...) before the tree, with NaNs,
// infinities and signed zeros among the elements.
TEST(VectorEngine, ReductionsOverLongRows) {
  auto [seed, rng, mem] = start("ReductionsOverLongRows", 99);
  std::vector<VInstr> seq;
  for (Opcode op : {Opcode::vrsum, Opcode::vrmax, Opcode::vrsumsq, Opcode::vargmax, Opcode::vtopk})
    for (uint32_t cols : {1u, 2u, 7u, 8u, 9u, 23u, 64u, 100u}) {
      VInstr v = make(op, 3, cols, 4 * cols + 4 * (cols % 3));
      if (op == Opcode::vtopk) {
        v.iarg = std::min(cols, 5u);
        v.d_stride = 8 * v.iarg;
      }
      seq.push_back(v);
    }
  // Signed zeros only: the fold must start from the lane's first element, not +0.
  for (uint32_t a = 8192; a < 8192 + 4096; a += 4) store32(mem, a, (rng() & 1) ? 0x80000000u : 0u);
  for (uint32_t cols : {1u, 8u, 16u}) {
    VInstr v = make(Opcode::vrsum, 4, cols, 4 * cols);
    v.src1 = 8192;
    seq.push_back(v);
  }
  check_sequence(seq, mem, seed, "reductions");
}

// Every opcode with its operands in each format, and vcvt between every pair of formats,
// packed (3 columns) and over several beats (13 columns).
TEST(VectorEngine, EveryFormat) {
  auto [seed, rng, mem] = start("EveryFormat", 31);
  std::vector<VInstr> seq;
  for (const OpInfo& o : ops()) {
    for (num::DType t : kFormats) {
      for (uint32_t odd : {3u, 13u}) {
        const uint32_t cols = o.op == Opcode::vrope ? odd + 1 : odd;  // vrope: even rows
        VInstr v = make(o.op, 4, cols, 4 * cols + 4);
        v.t1 = v.t2 = t;
        if (o.op != Opcode::vargmax && o.op != Opcode::vtopk) v.td = t;
        v.imm = random_value(rng);
        v.imm2 = random_value(rng);
        v.iarg = o.op == Opcode::vrope ? 3 : random_iarg(rng, o.op, cols);
        if (o.op == Opcode::vtopk) v.d_stride = 8 * v.iarg;
        seq.push_back(v);
      }
    }
  }
  for (num::DType from : kFormats) {
    for (num::DType to : kFormats) {
      VInstr v = make(Opcode::vcvt, 3, 11, 48);
      v.t1 = from;
      v.td = to;
      v.imm = rng() % 2 ? u(1.0f) : random_value(rng);
      seq.push_back(v);
    }
  }
  check_sequence(seq, mem, seed, "every_format");
}

// vargmax over values drawn from a few classes (so most rows hold ties, across lanes and
// across the beats of one lane), and vmask at the edges of its condition.
TEST(VectorEngine, ArgmaxTiesAndMaskEdges) {
  auto [seed, rng, mem] = start("ArgmaxTiesAndMaskEdges", 5);
  static const uint32_t few[] = {0x00000000, 0x80000000, 0x3F800000, 0xFF800000, 0x7F800000, 0x7FC00000, 0xFFC00001};
  for (uint32_t a = 0; a < 8192; a += 4) {
    // Region 0: mostly -inf and zeros with a few larger values; every class some of the time.
    const uint32_t pick = uint32_t(rng() % 16);
    store32(mem, a, pick < 12 ? few[pick % 4] : few[rng() % std::size(few)]);
  }
  std::vector<VInstr> seq;
  for (uint32_t cols : {1u, 2u, 7u, 8u, 9u, 16u, 17u, 40u, 64u}) {
    seq.push_back(make(Opcode::vargmax, 6, cols, 4 * cols));
    // Every k up to a full sort of the row (each pass stays below the previous pick).
    for (uint32_t k : {1u, 2u, 3u, cols}) {
      if (k > cols) continue;
      VInstr v = make(Opcode::vtopk, 4, cols, 4 * cols);
      v.iarg = k;
      v.d_stride = 8 * k;
      seq.push_back(v);
    }
  }
  for (uint32_t cols : {1u, 5u, 8u, 13u}) {
    for (uint32_t p0 : {0u, 1u, cols - 1, cols, 65535u}) {
      for (uint32_t g : {1u, 2u, 8u, 65535u}) {
        VInstr v = make(Opcode::vmask, 9, cols, 4 * cols + 4);
        v.iarg = p0 << 16 | g;
        seq.push_back(v);
      }
    }
  }
  check_sequence(seq, mem, seed, "argmax_mask");
}

// vrope over packed and unpacked rows, one table row per 1..5 data rows, in every source
// format, and sources in the accumulator (its 8 banks of 4 bytes time the beats: a stride
// of 32 bytes puts a packed beat's rows in the same banks).
TEST(VectorEngine, RopeAndAccumulatorSources) {
  auto [seed, rng, mem] = start("RopeAndAccumulatorSources", 4242);
  std::vector<VInstr> seq;
  for (uint32_t cols : {2u, 4u, 6u, 8u, 16u, 22u})
    for (uint32_t per : {1u, 2u, 5u}) {
      VInstr v = make(Opcode::vrope, 7, cols, 4 * cols + 4 * (rng() % 3));
      v.iarg = per;
      v.t1 = kFormats[rng() % std::size(kFormats)];
      v.t2 = kFormats[rng() % std::size(kFormats)];
      v.td = kFormats[rng() % std::size(kFormats)];
      seq.push_back(v);
    }
  for (const OpInfo& o : ops()) {
    if (!o.src1) continue;
    for (uint32_t cols : {2u, 8u, 12u}) {
      VInstr v = make(o.op, 4, cols, std::max(32u, 4 * cols));
      v.acc1 = true;
      v.acc2 = o.src2 != Src2::None && rng() % 2;
      v.t1 = rng() % 3 ? num::DType::FP32 : num::DType::INT32;
      v.t2 = rng() % 3 ? num::DType::FP32 : num::DType::INT32;
      v.iarg = o.op == Opcode::vrope ? 2 : random_iarg(rng, o.op, cols);
      if (o.op == Opcode::vtopk) v.d_stride = 8 * v.iarg;
      v.imm = random_value(rng);
      seq.push_back(v);
    }
  }
  std::vector<uint64_t> issue;
  check_sequence(seq, mem, seed, "rope_acc", &issue);
}

// Words the engine does not execute are refused and flagged, never run.
TEST(VectorEngine, RefusesUnsupportedWords) {
  VInstr v = make(Opcode::vadd, 2, 4, 16);
  isa::Instr in;
  in.op = v.info.op;
  in.unit = static_cast<uint8_t>(isa::Unit::vec);
  in.dst_space = in.src1_space = in.src2_space = static_cast<uint64_t>(isa::Space::l1);
  in.dst_type = in.src1_type = in.src2_type = static_cast<uint64_t>(isa::DType::fp32);
  in.src2_space = static_cast<uint64_t>(isa::Space::l2);
  in.rows = 2;
  in.cols = 4;
  Bench bench("refuse");
  bool err = false;
  EXPECT_FALSE(bench.offer_once(isa::encode(in), err));
  EXPECT_TRUE(err);
  Bench bench2("refuse_space");
  in.src2_space = static_cast<uint64_t>(isa::Space::l1);
  in.dst_space = static_cast<uint64_t>(isa::Space::l2);
  EXPECT_FALSE(bench2.offer_once(isa::encode(in), err));
  EXPECT_TRUE(err);
  // vargmax writes int32 indices: an fp32 destination is not its instruction.
  Bench bench4("refuse_argmax_fp32");
  in.op = Opcode::vargmax;
  in.dst_space = static_cast<uint64_t>(isa::Space::l1);
  EXPECT_FALSE(bench4.offer_once(isa::encode(in), err));
  EXPECT_TRUE(err);
  // A result in the accumulator: the engine writes L1 only.
  Bench bench5("refuse_dst_acc");
  in.op = Opcode::vadd;
  in.dst_space = static_cast<uint64_t>(isa::Space::acc);
  EXPECT_FALSE(bench5.offer_once(isa::encode(in), err));
  EXPECT_TRUE(err);
  // vrope of an odd row: no rotate_half pairing.
  Bench bench6("refuse_rope_odd");
  in.op = Opcode::vrope;
  in.dst_space = static_cast<uint64_t>(isa::Space::l1);
  in.cols = 5;
  in.iarg = 1;
  EXPECT_FALSE(bench6.offer_once(isa::encode(in), err));
  EXPECT_TRUE(err);
  in.cols = 4;
  in.op = Opcode::vadd;
  Bench bench3("accept");
  in.dst_space = static_cast<uint64_t>(isa::Space::l1);
  EXPECT_TRUE(bench3.offer_once(isa::encode(in), err));
  EXPECT_FALSE(err);
}

}  // namespace
