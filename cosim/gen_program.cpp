#include "cosim/gen_program.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "common/numerics/fp.h"
#include "common/util/error.h"

namespace tessera::cosim {

namespace {

using isa::DType;
using isa::Instr;
using isa::Opcode;
using isa::Space;

// Bytes of one element of an ISA format (its codes equal tessera::num::DType's).
uint64_t elem_bytes(DType t) { return num::dtype_bytes(num::DType(uint8_t(t))); }

// The L2 image: [0, kRandBytes) random bytes (matmul operands, copies), [kRandBytes,
// kDataBytes) FP32 values (vector operands). Stores go above kDataBytes.
constexpr uint64_t kRandBytes = 0x8000;
constexpr uint64_t kDataBytes = 0x10000;
// Most L2 bytes one round stores; a job that would pass it is not added.
constexpr uint64_t kRoundL2 = 0x8000;

uint16_t bit(uint8_t unit) { return uint16_t(1u << unit); }

// One job: a chain of instructions whose order is kept by tokens between its units. Jobs
// of a round touch disjoint L1, L2 and accumulator bytes, except that a matmul may
// accumulate onto rows of an earlier one (the matrix engine runs in program order).
struct Job {
  std::vector<Instr> code;
};

class Generator {
 public:
  Generator(const config::ArchConfig& a, const GenOptions& o) : a_(a), opt_(o), rng_(o.seed * 0x9E3779B97F4A7C15ull + 1) {
    dmas_ = uint32_t(a.core.dma_engines);
    mx_ = uint8_t(isa::Unit::mx0);
    vec_ = uint8_t(isa::Unit::vec);
    R_ = uint64_t(a.matrix.rows);
    C_ = uint64_t(a.matrix.cols);
    l1_bytes_ = uint64_t(a.l1.bytes);
    l2_bytes_ = uint64_t(a.l2.bytes);
    acc_rows_ = uint64_t(a.accumulator.bytes) / (4 * C_);
    depth_ = uint32_t(a.core.token_depth);
    for (auto p : {config::MatrixPrecision::int8, config::MatrixPrecision::fp8_e4m3, config::MatrixPrecision::fp8_e5m2,
                   config::MatrixPrecision::bf16}) {
      if (config::supports(a, p)) formats_.push_back(p);
    }
    ws_ = config::supports(a, config::Dataflow::ws);
    os_ = config::supports(a, config::Dataflow::os);
    acc_written_.assign(acc_rows_, false);
    acc_read_.assign(acc_rows_, false);
  }

  Generated run() {
    Generated g;
    g.program.arch_name = a_.name;
    g.program.arch_fingerprint = config::fingerprint(a_);
    std::vector<uint8_t> l2(kDataBytes);
    for (uint64_t i = 0; i < kRandBytes; i += 2) {
      // Half random bits (INT8 and FP8 codes of every class), half BF16 values of moderate size.
      const uint16_t h = U(0, 1) ? uint16_t(rng_()) : uint16_t(std::bit_cast<uint32_t>(float(int(U(0, 400)) - 200) / 32.0f) >> 16);
      l2[i] = uint8_t(h);
      l2[i + 1] = uint8_t(h >> 8);
    }
    for (uint64_t i = kRandBytes; i < kDataBytes; i += 4) {
      float f = float(int(U(0, 4000)) - 2000) / 256.0f;
      const uint64_t r = U(0, 99);
      const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, 3e38f, -88.0f, 90.0f};
      if (r < 4) f = specials[U(0, 8)];
      else if (r < 8) f = std::bit_cast<float>(uint32_t(rng_()));
      std::memcpy(&l2[i], &f, 4);
    }
    g.program.data.push_back(isa::DataSection{0, Space::l2, 0, l2});
    stable_hi_ = kDataBytes;

    isa::TextSection text;
    while (text.code.size() + 1 < opt_.length) round(text.code, opt_.length - 1 - uint32_t(text.code.size()));
    if (opt_.illegal) g.defect = add_defect(text.code);
    Instr halt;
    halt.op = Opcode::halt;
    halt.unit = uint8_t(isa::Unit::seq);
    text.code.push_back(halt);
    g.program.text.push_back(std::move(text));
    return g;
  }

 private:
  uint64_t U(uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_); }
  uint8_t dma() { return uint8_t(U(0, dmas_ - 1)); }
  uint8_t sync_unit() { return U(0, dmas_) == dmas_ ? vec_ : dma(); }

  // L1 bytes of this round; 0 when the round is full.
  uint64_t l1_alloc(uint64_t bytes, uint64_t align) {
    uint64_t at = (l1_next_ + align - 1) / align * align;
    if (U(0, 3) == 0) at += align * U(1, 3);  // gaps, so banks and rows start anywhere
    if (at + bytes > l1_bytes_) return UINT64_MAX;
    l1_next_ = at + bytes;
    return at;
  }
  uint64_t l2_alloc(uint64_t bytes, uint64_t align) {
    uint64_t at = (l2_next_ + align - 1) / align * align + align * U(0, 2);
    if (at + bytes > std::min(l2_bytes_, stable_hi_ + kRoundL2)) return UINT64_MAX;
    l2_next_ = at + bytes;
    return at;
  }

  // A copy of `rows` rows of `len` bytes as a 2-D or (even rows, sometimes) 3-D walk.
  Instr copy(bool load, uint8_t unit, uint64_t l1, uint64_t l1_stride, uint64_t l2, uint64_t l2_stride, uint64_t len,
             uint64_t rows) {
    Instr in;
    in.op = load ? Opcode::load : Opcode::store;
    in.unit = unit;
    in.src_space = uint64_t(load ? Space::l2 : Space::l1);
    in.dst_space = uint64_t(load ? Space::l1 : Space::l2);
    in.src_addr = load ? l2 : l1;
    in.dst_addr = load ? l1 : l2;
    in.len = len;
    in.n1 = rows;
    in.n2 = 1;
    in.src_stride1 = load ? l2_stride : l1_stride;
    in.dst_stride1 = load ? l1_stride : l2_stride;
    if (rows % 2 == 0 && U(0, 2) == 0) {
      in.n1 = rows / 2;
      in.n2 = 2;
      in.src_stride2 = in.src_stride1 * in.n1;
      in.dst_stride2 = in.dst_stride1 * in.n1;
    }
    return in;
  }
  // Row stride of `len`-byte rows: dense, padded or bank-aligned, a multiple of `align`.
  uint64_t stride_for(uint64_t len, uint64_t align) {
    const uint64_t dense = (len + align - 1) / align * align;
    switch (U(0, 3)) {
      case 0: return dense;
      case 1: return dense + align * U(1, 4);
      case 2: return (len + 63) / 64 * 64;
      default: return dense + align * U(0, 16);
    }
  }

  // Loads of `rows` x `len` bytes from L2 `src` into fresh L1; returns the L1 address.
  uint64_t load_operand(Job& j, uint8_t unit, uint64_t src, uint64_t src_stride, uint64_t len, uint64_t rows,
                        uint64_t l1_stride, uint64_t align, uint16_t signal) {
    const uint64_t at = l1_alloc((rows - 1) * l1_stride + len, align);
    if (at == UINT64_MAX) return at;
    Instr in = copy(true, unit, at, l1_stride, src, src_stride, len, rows);
    in.signal = signal;
    j.code.push_back(in);
    return at;
  }

  // fresh: write new rows (a tile whose rows another unit then reads).
  bool matmul_job(Job& j, bool fresh = false) {
    const bool os = os_ && (!ws_ || U(0, 1));
    const auto pa = formats_[U(0, formats_.size() - 1)];
    auto pb = pa;
    if (pa != config::MatrixPrecision::int8) {
      std::vector<config::MatrixPrecision> fl;
      for (auto p : formats_)
        if (p != config::MatrixPrecision::int8) fl.push_back(p);
      if (U(0, 1)) pb = fl[U(0, fl.size() - 1)];
    }
    auto dt = [](config::MatrixPrecision p) {
      switch (p) {
        case config::MatrixPrecision::int8: return DType::int8;
        case config::MatrixPrecision::fp8_e4m3: return DType::fp8_e4m3;
        case config::MatrixPrecision::fp8_e5m2: return DType::fp8_e5m2;
        default: return DType::bf16;
      }
    };
    const DType at = dt(pa), bt = dt(pb);
    const uint64_t ea = at == DType::bf16 ? 2 : 1, eb = bt == DType::bf16 ? 2 : 1;
    const uint64_t m = os ? U(1, R_) : U(1, 3 * R_), k = os ? U(1, 3 * R_) : U(1, R_), n = U(1, C_);
    const uint64_t a_rows = os ? k : m, a_len = (os ? m : k) * ea, b_len = n * eb;
    const uint64_t a_stride = stride_for(a_len, ea), b_stride = stride_for(b_len, eb);
    // Accumulate onto rows an earlier tile wrote (same layout), or write fresh rows.
    Instr mm;
    mm.op = Opcode::matmul;
    mm.unit = mx_;
    mm.a_type = uint64_t(at);
    mm.b_type = uint64_t(bt);
    mm.dataflow = uint64_t(os ? isa::Dataflow::os : isa::Dataflow::ws);
    mm.m = m;
    mm.k = k;
    mm.n = n;
    mm.a_stride = a_stride;
    mm.b_stride = b_stride;
    mm.c_stride = 4 * C_ * U(1, 2);
    const uint64_t row_span = (m - 1) * (mm.c_stride / (4 * C_)) + 1;
    bool acc = false;
    if (!fresh && U(0, 2) == 0 && row_span <= acc_rows_) {
      const uint64_t r0 = U(0, acc_rows_ - row_span);
      acc = true;
      // Never onto rows another unit reads in this round: its reads are timed by its own
      // beats in the RTL, the model's at its start.
      for (uint64_t i = 0; i < m; ++i) {
        const uint64_t r = r0 + i * (mm.c_stride / (4 * C_));
        acc = acc && acc_written_[r] && !acc_read_[r];
      }
      if (acc) mm.c_addr = r0 * 4 * C_;
    }
    if (!acc) {
      if (acc_next_ + row_span > acc_rows_) return false;
      mm.c_addr = acc_next_ * 4 * C_;
      acc_next_ += row_span;
    }
    mm.accumulate = acc;
    const uint64_t r0 = mm.c_addr / (4 * C_);
    // Operands: random bytes of the L2 image, each loaded by a random DMA engine.
    const uint8_t da = dma(), db = dma();
    const uint64_t a_src = U(0, kRandBytes - a_rows * a_len) / ea * ea;
    const uint64_t b_src = U(0, kRandBytes - k * b_len) / eb * eb;
    // Same engine: the later load's completion implies the earlier's, one token suffices.
    const uint64_t a_l1 = load_operand(j, da, a_src, a_len, a_len, a_rows, a_stride, ea, da == db ? 0 : bit(mx_));
    if (a_l1 == UINT64_MAX) return false;
    const uint64_t b_l1 = load_operand(j, db, b_src, b_len, b_len, k, b_stride, eb, bit(mx_));
    if (b_l1 == UINT64_MAX) return false;
    mm.a_addr = a_l1;
    mm.b_addr = b_l1;
    mm.wait = uint16_t(bit(da) | bit(db));
    j.code.push_back(mm);
    for (uint64_t i = 0; i < m; ++i) acc_written_[r0 + i * (mm.c_stride / (4 * C_))] = true;
    return true;
  }

  // rows x cols elements of format t into fresh L1 (element-aligned or 16-byte aligned, random
  // stride): 4-byte elements from the L2 value region, narrower ones from the random bytes (every
  // byte pattern is a code of INT8, FP8, BF16 and FP16).
  struct Operand {
    uint64_t addr, stride;
    DType type;
  };
  Operand vec_operand(Job& j, uint8_t unit, uint64_t rows, uint64_t cols, uint16_t signal, DType t) {
    const uint64_t e = elem_bytes(t), len = cols * e, l2_stride = stride_for(len, e);
    const uint64_t span = (rows - 1) * l2_stride + len;
    const uint64_t src = e == 4 ? kRandBytes + U(0, (kDataBytes - kRandBytes - span) / 4) * 4
                                : U(0, (kRandBytes - span) / e) * e;
    const uint64_t s = stride_for(len, e);
    return {load_operand(j, unit, src, l2_stride, len, rows, s, U(0, 4) == 0 ? e : 16, signal), s, t};
  }
  // A vector operand's format: FP32 half the time, else any of the seven.
  DType vec_format() { return U(0, 1) ? DType::fp32 : DType(uint8_t(U(0, 6))); }

  // A matmul tile and a reader of its rows in the accumulator: a vector chain whose first
  // source is in acc, or a DMA store from acc to L2 or into L1.
  bool acc_job(Job& j) {
    if (!matmul_job(j, true)) return false;
    const Instr mm = j.code.back();
    const uint64_t m = mm.m, n = mm.n, rs = mm.c_stride;
    const DType ct = mm.a_type == uint64_t(DType::int8) ? DType::int32 : DType::fp32;
    for (uint64_t i = 0; i < m; ++i) acc_read_[mm.c_addr / (4 * C_) + i * (rs / (4 * C_))] = true;
    if (U(0, 1)) {
      const uint64_t rows = U(1, std::min<uint64_t>(m, 8)), cols = U(1, n);
      j.code.back().signal = bit(vec_);
      return vector_job(j, Operand{mm.c_addr + 4 * U(0, n - cols), rs, ct}, rows, cols);
    }
    // Any byte range of the rows (the DMA reads the accumulator's bytes as they are).
    const uint64_t off = U(0, 4 * n - 1), len = U(1, 4 * n - off), rows = U(1, m);
    const uint8_t d = dma();
    j.code.back().signal = bit(d);
    Instr s;
    s.op = Opcode::store;
    s.unit = d;
    s.wait = bit(mx_);
    s.src_space = uint64_t(Space::acc);
    s.src_addr = mm.c_addr + off;
    s.src_stride1 = rs;
    s.len = len;
    s.n1 = rows;
    s.n2 = 1;
    if (U(0, 2) == 0) {
      const uint64_t ls = stride_for(len, 1);
      const uint64_t at = l1_alloc((rows - 1) * ls + len, U(0, 1) ? 1 : 16);
      if (at == UINT64_MAX) return false;
      s.dst_space = uint64_t(Space::l1);
      s.dst_addr = at;
      s.dst_stride1 = ls;
    } else {
      const uint64_t l2s = stride_for(len, 1);
      const uint64_t at = l2_alloc((rows - 1) * l2s + len, 1);
      if (at == UINT64_MAX) return false;
      s.dst_space = uint64_t(Space::l2);
      s.dst_addr = at;
      s.dst_stride1 = l2s;
    }
    j.code.push_back(s);
    return true;
  }

  // A chain of 1-3 vector instructions on rows x cols elements; with `from`, the first
  // instruction's first source is that accumulator operand (its matrix tile signals vec).
  bool vector_job(Job& j, Operand from = Operand{UINT64_MAX, 0, DType::fp32}, uint64_t from_rows = 0,
                  uint64_t from_cols = 0) {
    static const Opcode two[] = {Opcode::vadd, Opcode::vsub, Opcode::vmul, Opcode::vmax};
    static const Opcode one[] = {Opcode::vexp, Opcode::vrecip, Opcode::vrsqrt, Opcode::vtanh, Opcode::vsilu,
                                 Opcode::vgelu, Opcode::vscale, Opcode::vmask, Opcode::vcvt};
    static const Opcode red[] = {Opcode::vrsum, Opcode::vrmax, Opcode::vrsumsq, Opcode::vargmax, Opcode::vtopk};
    static const Opcode rowc[] = {Opcode::vsub_row, Opcode::vmul_row, Opcode::vadd_col, Opcode::vmul_col};
    const bool acc_src = from.addr != UINT64_MAX;
    uint64_t rows = acc_src ? from_rows : U(1, 8), cols = acc_src ? from_cols : U(1, 3 * uint64_t(a_.vector.lanes));
    Operand cur = from;
    const int ops = int(U(1, 3));
    const uint8_t st = dma();
    for (int o = 0; o < ops; ++o) {
      Instr v;
      v.unit = vec_;
      const uint64_t kind = U(0, 10);
      v.op = kind < 3 ? two[U(0, 3)] : kind < 6 ? one[U(0, 8)] : kind < 7 ? red[U(0, 4)] : kind < 9 ? rowc[U(0, 3)]
             : kind < 10 ? Opcode::vrope : Opcode::vfill;
      // vrope pairs the halves of a row; the accumulator operand is read, not filled over.
      if (v.op == Opcode::vrope && cols % 2) v.op = Opcode::vadd;
      if (v.op == Opcode::vfill && o == 0 && acc_src) v.op = Opcode::vexp;
      const bool reduce = std::find(std::begin(red), std::end(red), v.op) != std::end(red);
      uint16_t wait = 0;
      size_t first_load = SIZE_MAX;  // this op's first operand load, if it made one
      const bool in_acc = o == 0 && acc_src;
      if (in_acc) wait |= bit(mx_);
      if (v.op != Opcode::vfill) {
        if (cur.addr == UINT64_MAX) {
          const uint8_t d = dma();
          cur = vec_operand(j, d, rows, cols, bit(vec_), vec_format());
          if (cur.addr == UINT64_MAX) return false;
          wait |= bit(d);
          first_load = j.code.size() - 1;
        }
        v.src1_space = uint64_t(in_acc ? Space::acc : Space::l1);
        v.src1_type = uint64_t(cur.type);
        v.src1_addr = cur.addr;
        v.src1_stride = cur.stride;
      }
      const bool has2 = std::find(std::begin(two), std::end(two), v.op) != std::end(two) ||
                        std::find(std::begin(rowc), std::end(rowc), v.op) != std::end(rowc) || v.op == Opcode::vrope;
      if (has2) {
        const bool by_row = v.op == Opcode::vsub_row || v.op == Opcode::vmul_row;
        const bool by_col = v.op == Opcode::vadd_col || v.op == Opcode::vmul_col;
        // vrope: one table row per iarg data rows (heads per token).
        if (v.op == Opcode::vrope) v.iarg = U(1, 3);
        const uint64_t rows2 = by_col ? 1 : v.op == Opcode::vrope ? (rows - 1) / v.iarg + 1 : rows;
        const uint8_t d = dma();
        const Operand s2 = vec_operand(j, d, rows2, by_row ? 1 : cols, bit(vec_), vec_format());
        if (s2.addr == UINT64_MAX) return false;
        // One engine loaded both: its later completion implies the earlier, one token.
        if (first_load != SIZE_MAX && j.code[first_load].unit == d) j.code[first_load].signal = 0;
        wait |= bit(d);
        v.src2_space = uint64_t(Space::l1);
        v.src2_type = uint64_t(s2.type);
        v.src2_addr = s2.addr;
        v.src2_stride = by_col ? 0 : s2.stride;  // a row-0 operand has no stride
        // The two sources swap places (the accumulator operand second) for the symmetric
        // element-wise opcodes, half the time.
        if (in_acc && std::find(std::begin(two), std::end(two), v.op) != std::end(two) && v.op != Opcode::vsub &&
            U(0, 1)) {
          std::swap(v.src1_space, v.src2_space);
          std::swap(v.src1_type, v.src2_type);
          std::swap(v.src1_addr, v.src2_addr);
          std::swap(v.src1_stride, v.src2_stride);
        }
      }
      if (v.op == Opcode::vscale || v.op == Opcode::vfill || v.op == Opcode::vcvt) {
        v.imm = float(int(U(0, 64)) - 32) / 8.0f;
        if (v.op == Opcode::vscale) v.imm2 = float(int(U(0, 64)) - 32) / 4.0f;
      }
      // vmask: row 0's position around the columns; one row per position or a GQA-like group.
      if (v.op == Opcode::vmask) v.iarg = U(0, cols + 2) << 16 | U(1, 4);
      // vtopk: k = 1 (greedy sampling) half the time, else up to the whole row.
      if (v.op == Opcode::vtopk) v.iarg = U(0, 1) ? 1 : U(1, cols);
      // vtopk writes k values then k columns per row.
      const uint64_t out_cols = v.op == Opcode::vtopk ? 2 * v.iarg : reduce ? 1 : cols;
      // vargmax's indices are int32, vtopk's rows fp32 words; the others write any format.
      const DType dt = v.op == Opcode::vargmax ? DType::int32 : v.op == Opcode::vtopk ? DType::fp32 : vec_format();
      const uint64_t de = elem_bytes(dt);
      const uint64_t ds = stride_for(out_cols * de, de);
      const uint64_t d = l1_alloc((rows - 1) * ds + out_cols * de, U(0, 4) == 0 ? de : 16);
      if (d == UINT64_MAX) return false;
      v.dst_space = uint64_t(Space::l1);
      v.dst_type = uint64_t(dt);
      v.dst_addr = d;
      v.dst_stride = ds;
      v.rows = rows;
      v.cols = cols;
      v.wait = wait;
      const bool last = o + 1 == ops;
      if (last) v.signal = bit(st);
      j.code.push_back(v);
      cur = {d, ds, dt};
      cols = out_cols;
    }
    // The last result goes to fresh L2 (the store waits for the vector unit's token).
    const uint64_t ce = elem_bytes(cur.type), len = cols * ce, l2s = stride_for(len, ce);
    const uint64_t dst = l2_alloc((rows - 1) * l2s + len, ce);
    if (dst == UINT64_MAX) return false;
    Instr s = copy(false, st, cur.addr, cur.stride, dst, l2s, len, rows);
    s.wait = bit(vec_);
    j.code.push_back(s);
    return true;
  }

  // L2 -> L1 -> L2 through two engines (or one), any alignment, from anywhere already written.
  bool copy_job(Job& j) {
    const uint64_t len = U(1, 100), rows = U(1, 6), ls = stride_for(len, 1), ds = stride_for(len, 1);
    const uint64_t span = (rows - 1) * ls + len;
    if (span > stable_hi_) return false;
    const uint64_t src = U(0, stable_hi_ - span);
    const uint8_t a = dma(), b = dma();
    const uint64_t l1 = load_operand(j, a, src, ls, len, rows, ds, 1, a == b ? 0 : bit(b));
    if (l1 == UINT64_MAX) return false;
    const uint64_t s2 = stride_for(len, 1);
    const uint64_t dst = l2_alloc((rows - 1) * s2 + len, 1);
    if (dst == UINT64_MAX) return false;
    Instr s = copy(false, b, l1, ds, dst, s2, len, rows);
    s.wait = a == b ? 0 : bit(a);
    j.code.push_back(s);
    return true;
  }

  // tpush on one unit, tpop on another (or the same): an ordering with no data.
  bool sync_job(Job& j) {
    const uint8_t u = sync_unit(), v = sync_unit();
    Instr p;
    p.op = Opcode::tpush;
    p.unit = u;
    p.signal = bit(v);
    Instr q;
    q.op = Opcode::tpop;
    q.unit = v;
    q.wait = bit(u);
    j.code.push_back(p);
    j.code.push_back(q);
    return true;
  }

  // Pushes of a job per counter (u -> v).
  static void count_pushes(const Job& j, std::map<std::pair<uint8_t, uint8_t>, uint32_t>& n) {
    for (const Instr& in : j.code)
      for (uint8_t v = 0; v < 16; ++v)
        if ((in.signal >> v) & 1) ++n[{in.unit, v}];
  }

  // One round: jobs interleaved at random (each unit's instructions in job order, so every
  // pop takes the token its own job pushed), then a barrier. Pushes per counter stay within
  // core.token_depth and every push is popped in the round.
  void round(std::vector<Instr>& out, uint32_t budget) {
    l1_next_ = 0;
    acc_next_ = 0;
    acc_read_.assign(acc_rows_, false);
    // Copies read L2 below stable_hi_ only: the image and earlier rounds' stores, never a
    // store of this round. Stores wrap to the bottom of the store region between rounds.
    if (l2_next_ + kRoundL2 > l2_bytes_) l2_next_ = kDataBytes;
    stable_hi_ = l2_next_;
    std::vector<Job> jobs;
    std::map<std::pair<uint8_t, uint8_t>, uint32_t> pushes;
    uint32_t size = 0;
    const uint32_t want = uint32_t(U(1, 6));
    for (uint32_t t = 0; t < 3 * want && jobs.size() < want && size < budget; ++t) {
      Job j;
      const std::vector<bool> acc_before = acc_written_, read_before = acc_read_;
      const uint64_t kind = U(0, 11);
      const bool ok = kind < 4    ? matmul_job(j)
                      : kind < 7  ? vector_job(j)
                      : kind < 9  ? copy_job(j)
                      : kind < 11 ? acc_job(j)
                                  : sync_job(j);
      if (!ok || j.code.empty()) {
        acc_written_ = acc_before;
        acc_read_ = read_before;
        break;
      }
      std::map<std::pair<uint8_t, uint8_t>, uint32_t> n = pushes;
      count_pushes(j, n);
      bool fits = true;
      for (const auto& [c, k] : n) fits = fits && k + 1 <= depth_;  // +1: the closing token mx0 -> vec
      if (!fits) {
        acc_written_ = acc_before;
        acc_read_ = read_before;
        break;
      }
      pushes = std::move(n);
      size += uint32_t(j.code.size());
      jobs.push_back(std::move(j));
    }
    if (jobs.empty()) {
      Job j;
      sync_job(j);
      jobs.push_back(std::move(j));
    }
    // The last matmul signals the vector unit, which pops it: the barrier's last awaited
    // completion is then never a second matrix completion in one cycle (docs/rtl.md, "One
    // completion per unit per cycle"), because the pop completes after it.
    int last_mm = -1;
    for (size_t i = 0; i < jobs.size(); ++i)
      for (const Instr& in : jobs[i].code)
        if (in.op == Opcode::matmul) last_mm = int(i);
    if (last_mm >= 0) {
      // A tile already signalling vec (its rows are a vector source) is popped by that
      // vector instruction, which completes after it.
      bool popped = false;
      for (auto it = jobs[last_mm].code.rbegin(); it != jobs[last_mm].code.rend(); ++it)
        if (it->op == Opcode::matmul) {
          popped = (it->signal & bit(vec_)) != 0;
          it->signal |= bit(vec_);
          break;
        }
      // In the same job, so that the pop comes after its push in program order.
      if (!popped) {
        Instr q;
        q.op = Opcode::tpop;
        q.unit = vec_;
        q.wait = bit(mx_);
        jobs[last_mm].code.push_back(q);
      }
    }
    // Random merge: the lowest pending job is always eligible, so the merge never sticks.
    std::vector<size_t> next(jobs.size(), 0);
    std::map<uint8_t, size_t> unit_job;  // per unit: the job index its instructions have reached
    size_t left = 0;
    for (const Job& j : jobs) left += j.code.size();
    while (left > 0) {
      std::vector<size_t> ok;
      for (size_t i = 0; i < jobs.size(); ++i) {
        if (next[i] >= jobs[i].code.size()) continue;
        const uint8_t u = jobs[i].code[next[i]].unit;
        bool earlier_pending = false;
        for (size_t e = 0; e < i && !earlier_pending; ++e)
          for (size_t x = next[e]; x < jobs[e].code.size(); ++x)
            if (jobs[e].code[x].unit == u) {
              earlier_pending = true;
              break;
            }
        if (!earlier_pending) ok.push_back(i);
      }
      const size_t i = ok[U(0, ok.size() - 1)];
      out.push_back(jobs[i].code[next[i]++]);
      --left;
    }
    Instr b;
    b.op = Opcode::barrier;
    b.unit = uint8_t(isa::Unit::seq);
    b.scope = uint64_t(isa::Scope::core);
    b.id = U(0, 15);
    out.push_back(b);
  }

  Defect add_defect(std::vector<Instr>& code) {
    if (U(0, 1)) {
      // A pop of a counter nothing pushes to.
      Instr q;
      q.op = Opcode::tpop;
      q.unit = vec_;
      q.wait = bit(uint8_t(dma()));
      code.push_back(q);
      return Defect::deadlock;
    }
    const uint8_t u = sync_unit(), v = sync_unit();
    for (uint32_t i = 0; i <= depth_; ++i) {
      Instr p;
      p.op = Opcode::tpush;
      p.unit = u;
      p.signal = bit(v);
      code.push_back(p);
    }
    return Defect::token_overflow;
  }

  const config::ArchConfig& a_;
  GenOptions opt_;
  std::mt19937_64 rng_;
  uint32_t dmas_ = 1, depth_ = 1;
  uint8_t mx_ = 4, vec_ = 12;
  uint64_t R_ = 8, C_ = 8, l1_bytes_ = 0, l2_bytes_ = 0, acc_rows_ = 0;
  std::vector<config::MatrixPrecision> formats_;
  bool ws_ = true, os_ = true;
  uint64_t l1_next_ = 0, l2_next_ = kDataBytes, acc_next_ = 0, stable_hi_ = kDataBytes;
  std::vector<bool> acc_written_;
  std::vector<bool> acc_read_;  // rows a vector or DMA instruction of this round reads
};

}  // namespace

std::string defect_name(Defect d) {
  switch (d) {
    case Defect::deadlock: return "deadlock";
    case Defect::token_overflow: return "token overflow";
    default: return "none";
  }
}

Generated generate_program(const config::ArchConfig& a, const GenOptions& opt, const std::string& arch_source) {
  auto need = [&](bool ok, const std::string& key, const std::string& what) {
    if (!ok) throw InputError(arch_source + ": " + key + " must be " + what + " for generated programs (the RTL core's shape)");
  };
  need(a.system.chips == 1, "system.chips", "1");
  need(a.chip.cores == 1, "chip.cores", "1");
  need(a.core.matrix_engines >= 1, "core.matrix_engines", "at least 1");
  need(a.core.dma_engines >= 1, "core.dma_engines", "at least 1");
  need(uint64_t(a.l2.bytes) >= 2 * kDataBytes, "l2.bytes", "at least 128 KiB");
  need(a.l1.bytes >= 16 * 1024, "l1.bytes", "at least 16 KiB");
  if (opt.length < 2 || opt.length > kMaxLength)
    throw InputError("--length: expected 2 to " + std::to_string(kMaxLength) + " instructions, got " +
                     std::to_string(opt.length));
  return Generator(a, opt).run();
}

}  // namespace tessera::cosim
