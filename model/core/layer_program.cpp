#include "model/core/layer_program.h"

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "model/core/program_util.h"

namespace tessera::model {

using isa::DType;
using isa::Instr;
using isa::Opcode;
using isa::Space;

LayerShape llama3_70b_decode(uint64_t batch, uint64_t context) {
  LayerShape s;
  s.batch = batch;
  s.context = context;
  return s;
}

namespace {

constexpr int kVec = 12, kColl = 13, kSeq = 14;
uint64_t esize(DType t) { return num::dtype_bytes(num::DType(t)); }
uint16_t bit(int u) { return unit_bit(u); }
uint64_t align(uint64_t a, uint64_t b) { return (a + b - 1) / b * b; }
uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// The instructions of one core, with the token balance checked at every barrier: a phase
// must pop every token it pushes, so phases never see each other's tokens.
class CoreCode {
 public:
  std::vector<Instr> code;

  Instr& add(Instr in) {
    for (int u = 0; u < 14; ++u) {
      if ((in.wait >> u) & 1) --balance_[u][in.unit];
      if ((in.signal >> u) & 1) ++balance_[in.unit][u];
    }
    code.push_back(in);
    return code.back();
  }
  void barrier(isa::Scope scope, uint32_t id) {
    for (int u = 0; u < 14; ++u)
      for (int v = 0; v < 14; ++v)
        if (balance_[u][v] != 0)
          throw std::logic_error("layer program: unbalanced tokens " + std::to_string(u) + "->" + std::to_string(v) +
                                 " before barrier " + std::to_string(id));
    Instr b;
    b.op = Opcode::barrier;
    b.unit = kSeq;
    b.scope = uint64_t(scope);
    b.id = id;
    code.push_back(b);
  }
  // A token from `from` to `to` carried by tpush/tpop (when the instructions involved have
  // no free mask bit).
  void tpush(int unit, uint16_t signal) {
    Instr in;
    in.op = Opcode::tpush;
    in.unit = uint8_t(unit);
    in.signal = signal;
    add(in);
  }
  void tpop(int unit, uint16_t wait) {
    Instr in;
    in.op = Opcode::tpop;
    in.unit = uint8_t(unit);
    in.wait = wait;
    add(in);
  }

 private:
  std::array<std::array<int64_t, 14>, 14> balance_{};
};

struct Operand {
  Space space = Space::l1;
  uint64_t addr = 0, stride = 0;
  DType type = DType::fp32;
};

Instr vop(Opcode op, Operand dst, Operand src1, uint64_t rows, uint64_t cols) {
  Instr v;
  v.op = op;
  v.unit = kVec;
  v.dst_space = uint64_t(dst.space);
  v.dst_addr = dst.addr;
  v.dst_stride = dst.stride;
  v.dst_type = uint64_t(dst.type);
  if (op != Opcode::vfill) {
    v.src1_space = uint64_t(src1.space);
    v.src1_addr = src1.addr;
    v.src1_stride = src1.stride;
    v.src1_type = uint64_t(src1.type);
  }
  v.rows = rows;
  v.cols = cols;
  return v;
}

Instr vop2(Opcode op, Operand dst, Operand src1, Operand src2, uint64_t rows, uint64_t cols) {
  Instr v = vop(op, dst, src1, rows, cols);
  v.src2_space = uint64_t(src2.space);
  v.src2_addr = src2.addr;
  v.src2_stride = src2.stride;
  v.src2_type = uint64_t(src2.type);
  return v;
}

struct Machine {
  uint64_t P, Q, E, D, R, C, L1, acc_bytes, max_stream;
};

// L1 allocations of one phase (reset at each barrier).
class Arena {
 public:
  explicit Arena(uint64_t size) : size_(size) {}
  uint64_t take(uint64_t bytes) {
    const uint64_t a = top_;
    top_ = align(top_ + bytes, 1024);
    if (top_ > size_) throw InputError("layer program: the phase needs more than l1.bytes = " + std::to_string(size_));
    return a;
  }
  void reset() { top_ = 0; }

 private:
  uint64_t size_, top_ = 0;
};

// C[batch x Nc] = X[batch x K] (fp8 in L1) * W[K x Nc] (fp8 in HBM, row-major), written to
// `out` in L1. K tiles go round-robin to the engines, each engine accumulating its own
// partial sum per output tile in accumulator region (region0 + tile); the vector engine
// adds the engines' partials and converts. Weight tiles stream through two L1 slots per
// engine, loaded by dma (engine mod 2).
struct ProjArgs {
  uint64_t K, Nc, batch, w_hbm, x_l1, region0;
  Operand out;
  uint16_t out_signal;  // units told when the last output tile is written
};

void emit_proj(CoreCode& cc, Arena& l1, const Machine& m, const ProjArgs& a) {
  const uint64_t ktiles = ceil_div(a.K, m.R), ntiles = ceil_div(a.Nc, m.C);
  const uint64_t ntw = ceil_div(a.Nc, ntiles);  // equal tile widths, <= C
  const uint64_t region = a.batch * 4 * m.C;
  if ((a.region0 + ntiles) * region > m.acc_bytes)
    throw InputError("layer program: projection outputs do not fit accumulator.bytes");
  // One DMA instruction brings `group` of an engine's K tiles (about 128 KiB), so the DRAM
  // latency of each instruction is paid once per group.
  const uint64_t tiles_per_engine = ceil_div(ktiles, m.E);
  const uint64_t group = std::clamp<uint64_t>((128 << 10) / (m.R * ntw), 1, tiles_per_engine);
  const uint64_t tile_bytes = m.R * ntw, slot_bytes = align(group * tile_bytes, 64);
  const uint64_t slots = l1.take(2 * m.E * slot_bytes);
  // Groups per engine over the whole projection, for the slot-reuse tokens.
  std::vector<uint64_t> total(m.E, 0), done(m.E, 0);
  for (uint64_t nt = 0; nt < ntiles; ++nt)
    for (uint64_t e = 0; e < m.E && e < ktiles; ++e) total[e] += ceil_div(ceil_div(ktiles - e, m.E), group);
  const uint64_t engines_used = std::min<uint64_t>(m.E, ktiles);
  const uint64_t tmp = l1.take(engines_used * a.batch * ntw * 4);
  for (uint64_t nt = 0; nt < ntiles; ++nt) {
    const uint64_t n0 = nt * ntw, nw = std::min(ntw, a.Nc - n0);
    // Engine e takes K tiles e, e + E, e + 2E, ...; its groups are loaded and multiplied in
    // turn, the engines interleaved so that the two DMA engines alternate.
    std::vector<uint64_t> next_kt(m.E);
    for (uint64_t e = 0; e < m.E; ++e) next_kt[e] = e;
    bool more = true;
    while (more) {
      more = false;
      for (uint32_t e = 0; e < engines_used; ++e) {
        if (next_kt[e] >= ktiles) continue;
        const int mx = 4 + int(e), dma = int(e % 2);
        const uint64_t g = done[e]++;
        const uint64_t kt0 = next_kt[e];
        const uint64_t n_in_group = std::min<uint64_t>(group, ceil_div(ktiles - kt0, m.E));
        const uint64_t slot = slots + (e * 2 + g % 2) * slot_bytes;
        // Full K tiles load as one 3-D copy (a plane per tile); a short last tile alone.
        const uint64_t last_kt = kt0 + (n_in_group - 1) * m.E;
        const bool short_last = last_kt * m.R + m.R > a.K;
        const uint64_t full = short_last ? n_in_group - 1 : n_in_group;
        auto load_tiles = [&](uint64_t first_kt, uint64_t count, uint64_t rows, uint64_t dst, bool first, bool last) {
          Instr ld = dma_copy(Opcode::load, dma, Space::l1, dst, Space::hbm, a.w_hbm + first_kt * m.R * a.Nc + n0, nw,
                              rows, nw, a.Nc);
          ld.n2 = count;
          ld.dst_stride2 = count > 1 ? tile_bytes : 0;
          ld.src_stride2 = count > 1 ? m.E * m.R * a.Nc : 0;
          if (first && g >= 2) ld.wait = bit(mx);  // the slot's previous group has been used
          if (last) ld.signal = bit(mx);
          cc.add(ld);
        };
        if (full) load_tiles(kt0, full, m.R, slot, true, !short_last);
        if (short_last) load_tiles(last_kt, 1, a.K - last_kt * m.R, slot + full * tile_bytes, full == 0, true);
        for (uint64_t j = 0; j < n_in_group; ++j) {
          const uint64_t kt = kt0 + j * m.E;
          const uint64_t k0 = kt * m.R, kw = std::min(m.R, a.K - k0);
          Instr mm;
          mm.op = Opcode::matmul;
          mm.unit = uint8_t(mx);
          mm.a_type = mm.b_type = uint64_t(DType::fp8_e4m3);
          mm.accumulate = kt >= m.E ? 1 : 0;
          mm.a_addr = a.x_l1 + k0;
          mm.a_stride = a.K;
          mm.b_addr = slot + j * tile_bytes;
          mm.b_stride = nw;
          mm.c_addr = (a.region0 + nt) * region;
          mm.c_stride = 4 * m.C;
          mm.m = a.batch;
          mm.k = kw;
          mm.n = nw;
          if (j == 0) mm.wait = bit(dma);
          if (j + 1 == n_in_group && g + 2 < total[e]) mm.signal |= bit(dma);  // slot free
          if (kt + m.E >= ktiles) mm.signal |= bit(kVec);  // this engine's last K tile of the output tile
          cc.add(mm);
        }
        next_kt[e] = kt0 + n_in_group * m.E;
        more |= next_kt[e] < ktiles;
      }
    }
    // Sum the engines' partials: copy engines 1.. to L1, add them to engine 0's, convert.
    const Operand acc0{Space::acc, (a.region0 + nt) * region, 4 * m.C, DType::fp32};
    const bool last_tile = nt + 1 == ntiles;
    if (engines_used == 1) {
      Instr v = vop(Opcode::vcvt, Operand{a.out.space, a.out.addr + n0 * esize(a.out.type), a.out.stride, a.out.type},
                    acc0, a.batch, nw);
      v.imm = 1.0f;
      v.wait = bit(4);
      if (last_tile) v.signal = a.out_signal;
      cc.add(v);
      continue;
    }
    for (uint64_t e = 1; e < engines_used; ++e) {
      Instr v = vop(Opcode::vcvt, Operand{Space::l1, tmp + e * a.batch * nw * 4, nw * 4, DType::fp32}, acc0, a.batch, nw);
      v.acc_engine = e;
      v.imm = 1.0f;
      v.wait = bit(4 + int(e));
      cc.add(v);
    }
    for (uint64_t e = 1; e < engines_used; ++e) {
      const bool last = e + 1 == engines_used;
      const Operand sum{Space::l1, tmp, nw * 4, DType::fp32};
      const Operand dst = last ? Operand{a.out.space, a.out.addr + n0 * esize(a.out.type), a.out.stride, a.out.type}
                               : sum;
      Instr v = vop2(Opcode::vadd, dst, e == 1 ? acc0 : sum,
                     Operand{Space::l1, tmp + e * a.batch * nw * 4, nw * 4, DType::fp32}, a.batch, nw);
      if (e == 1) v.wait = bit(4);
      if (last && last_tile) v.signal = a.out_signal;
      cc.add(v);
    }
  }
}


// RMSNorm of `rows` rows of x (bf16 in L2) with a gain (bf16 in HBM), written as fp8 to L2.
void emit_norm(CoreCode& cc, Arena& l1, uint64_t rows, uint64_t d, uint64_t x_l2, uint64_t gain_l2, uint64_t out_l2) {
  const uint64_t xa = l1.take(rows * d * 2), ga = l1.take(d * 2), ss = l1.take(rows * 4), rs = l1.take(rows * 4);
  const uint64_t t32 = l1.take(rows * d * 4), y = l1.take(rows * d);
  Instr ld = dma_copy(Opcode::load, 0, Space::l1, xa, Space::l2, x_l2, rows * d * 2);
  ld.signal = bit(kVec);
  cc.add(ld);
  ld = dma_copy(Opcode::load, 1, Space::l1, ga, Space::l2, gain_l2, d * 2);
  ld.signal = bit(kVec);
  cc.add(ld);
  const Operand x{Space::l1, xa, d * 2, DType::bf16}, col{Space::l1, ss, 4, DType::fp32}, r{Space::l1, rs, 4, DType::fp32};
  Instr v = vop(Opcode::vrsumsq, col, x, rows, d);
  v.wait = bit(0) | bit(1);
  cc.add(v);
  v = vop(Opcode::vscale, col, col, rows, 1);
  v.imm = 1.0f / float(d);
  v.imm2 = 1e-5f;
  cc.add(v);
  cc.add(vop(Opcode::vrsqrt, r, col, rows, 1));
  cc.add(vop2(Opcode::vmul_row, Operand{Space::l1, t32, d * 4, DType::fp32}, x, r, rows, d));
  v = vop2(Opcode::vmul_col, Operand{Space::l1, y, d, DType::fp8_e4m3}, Operand{Space::l1, t32, d * 4, DType::fp32},
           Operand{Space::l1, ga, 0, DType::bf16}, rows, d);
  v.signal = bit(0);
  cc.add(v);
  Instr st = dma_copy(Opcode::store, 0, Space::l2, out_l2, Space::l1, y, rows * d);
  st.wait = bit(kVec);
  cc.add(st);
}

// Loads a whole activation matrix from L2 into L1 and hands it to every matrix engine.
uint64_t emit_load_activation(CoreCode& cc, Arena& l1, const Machine& m, uint64_t l2_addr, uint64_t bytes) {
  const uint64_t a = l1.take(bytes);
  cc.add(dma_copy(Opcode::load, 0, Space::l1, a, Space::l2, l2_addr, bytes));
  uint16_t all = 0;
  for (uint64_t e = 0; e < m.E; ++e) all |= bit(4 + int(e));
  cc.tpush(0, all);
  for (uint64_t e = 0; e < m.E; ++e) cc.tpop(4 + int(e), bit(0));
  return a;
}

// Ring all-reduce (bf16) of a batch x cols slice in L1 across the chips, then the residual
// add with the same columns of x (bf16 in L2), written to out (bf16 in L2).
void emit_allreduce_residual(CoreCode& cc, Arena& l1, const Machine& m, uint32_t chip, uint32_t core, uint64_t phase,
                             uint64_t y, uint64_t batch, uint64_t cols, uint64_t d, uint64_t col0, uint64_t xs,
                             uint64_t out_l2) {
  const uint64_t slice = batch * cols * 2;
  uint16_t wait_vadd = bit(1);  // the x slice, loaded by dma1
  if (m.P > 1) {
    const uint64_t P = m.P, chunk = slice / P;
    auto tag = [&](uint64_t step) {
      const uint64_t t = ((phase * 2 * P + step) * m.Q) + core;
      if (t > 0xffff) throw InputError("layer program: too many chips x cores for 16-bit collective tags");
      return t;
    };
    auto coll = [&](Opcode op, uint64_t send_chunk, uint64_t recv_chunk) {
      Instr c;
      c.op = op;
      c.unit = kColl;
      if (op != Opcode::crecv) {
        c.send_space = uint64_t(Space::l1);
        c.send_addr = y + send_chunk * chunk;
        c.peer_send = 1;
      }
      if (op != Opcode::csend) {
        c.recv_space = uint64_t(Space::l1);
        c.recv_addr = y + recv_chunk * chunk;
        c.peer_recv = P - 1;
      }
      if (op == Opcode::creduce) c.dtype = uint64_t(DType::bf16);
      c.bytes = chunk;
      return c;
    };
    const uint64_t r = chip;
    for (uint64_t j = 0; j + 1 < P; ++j) {
      Instr c = coll(Opcode::creduce, (r + P - j) % P, (r + 2 * P - j - 1) % P);
      c.tag = tag(j);
      if (j == 0) c.wait = bit(kVec);
      cc.add(c);
    }
    for (uint64_t j = 0; j + 1 < P; ++j) {
      Instr s = coll(Opcode::csend, (r + 1 + P - j) % P, 0);
      s.tag = tag(P + j);
      cc.add(s);
      Instr c = coll(Opcode::crecv, 0, (r + P - j) % P);
      c.tag = tag(P + j);
      if (j + 2 == P) c.signal = bit(kVec);
      cc.add(c);
    }
    wait_vadd |= bit(kColl);
  }
  const uint64_t xo = l1.take(slice);
  Instr v = vop2(Opcode::vadd, Operand{Space::l1, xo, cols * 2, DType::bf16}, Operand{Space::l1, xs, cols * 2, DType::bf16},
                 Operand{Space::l1, y, cols * 2, DType::bf16}, batch, cols);
  v.wait = wait_vadd;
  v.signal = bit(0);
  cc.add(v);
  Instr st = dma_copy(Opcode::store, 0, Space::l2, out_l2 + col0 * 2, Space::l1, xo, cols * 2, batch, d * 2, cols * 2);
  st.wait = bit(kVec);
  cc.add(st);
}

// Loads the x columns a core adds its projection to (issued early, to overlap).
uint64_t emit_load_slice(CoreCode& cc, Arena& l1, uint64_t x_l2, uint64_t batch, uint64_t cols, uint64_t d,
                         uint64_t col0) {
  const uint64_t xs = l1.take(batch * cols * 2);
  Instr ld = dma_copy(Opcode::load, 1, Space::l1, xs, Space::l2, x_l2 + col0 * 2, cols * 2, batch, cols * 2, d * 2);
  ld.signal = bit(kVec);
  cc.add(ld);
  return xs;
}

}  // namespace

isa::Program build_layer_program(const config::ArchConfig& cfg, const LayerShape& sh) {
  Machine m;
  m.P = uint64_t(cfg.system.chips);
  m.Q = uint64_t(cfg.chip.cores);
  m.E = uint64_t(cfg.core.matrix_engines);
  m.D = uint64_t(cfg.core.dma_engines);
  m.R = uint64_t(cfg.matrix.rows);
  m.C = uint64_t(cfg.matrix.cols);
  m.L1 = uint64_t(cfg.l1.bytes);
  m.acc_bytes = uint64_t(cfg.accumulator.bytes);
  m.max_stream = uint64_t(cfg.matrix.max_stream);
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw InputError("layer program: " + what);
  };
  need(m.D >= 2, "needs core.dma_engines >= 2");
  need(m.R == m.C, "needs a square array (matrix.rows == matrix.cols)");
  need(config::supports(cfg, config::MatrixPrecision::fp8_e4m3), "needs fp8_e4m3 in matrix.precisions");
  need(config::supports(cfg, config::Dataflow::ws), "needs the ws dataflow");
  need(sh.q_heads % m.P == 0 && sh.kv_heads % m.P == 0, "query and KV heads must divide over system.chips");
  need(sh.q_heads % sh.kv_heads == 0, "query heads must be a multiple of KV heads");
  need(sh.d_ff % m.P == 0, "d_ff must divide over system.chips");
  need(sh.batch % m.Q == 0, "batch must divide over chip.cores");
  const uint64_t hd = sh.head_dim, d = sh.d_model, B = sh.batch, ctx = sh.context;
  const uint64_t hq = sh.q_heads / m.P, kv = sh.kv_heads / m.P, g = sh.q_heads / sh.kv_heads;
  const uint64_t qkv_c = (hq + 2 * kv) * hd, ff_c = sh.d_ff / m.P;
  need(qkv_c % m.Q == 0 && d % m.Q == 0 && ff_c % m.Q == 0, "projection widths must divide over chip.cores");
  const uint64_t qkv_core = qkv_c / m.Q, dm_core = d / m.Q, ff_core = ff_c / m.Q, spc = B / m.Q;
  need(hd <= m.R && hd % 2 == 0, "head_dim must be even and at most matrix.rows");
  need(ctx % m.C == 0, "context must be a multiple of matrix.cols");
  need(B <= m.max_stream && g <= m.max_stream, "batch must be at most matrix.max_stream");
  need(m.P == 1 || (B * dm_core * 2) % (m.P * 2) == 0, "all-reduce slices must split into whole bf16 chunks");

  // HBM (per chip): weight slices per core, the KV cache, RoPE tables, norm gains.
  uint64_t top = 0;
  auto hbm = [&](uint64_t bytes) {
    const uint64_t a = top;
    top = align(top + bytes, 4096);
    return a;
  };
  const uint64_t w_qkv = hbm(m.Q * d * qkv_core), w_o = hbm(m.Q * hq * hd * dm_core);
  const uint64_t w_gate = hbm(m.Q * d * ff_core), w_up = hbm(m.Q * d * ff_core), w_down = hbm(m.Q * ff_c * dm_core);
  const uint64_t kT = hbm(B * kv * hd * ctx), vc = hbm(B * kv * ctx * hd), rope = hbm(B * hd * 4);
  // L2 (per chip): the activations exchanged between cores.
  top = 0;
  const uint64_t x_in = hbm(B * d * 2), xn1 = hbm(B * d), qkv = hbm(B * qkv_c), attn = hbm(B * hq * hd);
  const uint64_t x1 = hbm(B * d * 2), xn2 = hbm(B * d), hbuf = hbm(B * ff_c), x2 = hbm(B * d * 2);
  // The norm gains stay in L2 (every core reads them each step).
  const uint64_t gain1 = hbm(d * 2), gain2 = hbm(d * 2);

  isa::Program prog;
  prog.arch_name = cfg.name;
  prog.arch_fingerprint = config::fingerprint(cfg);
  const uint64_t tc = m.C, ntc = ctx / tc;
  const uint64_t cs = align(ctx * 4, 4 * m.C);  // accumulator row stride of the scores
  const uint64_t o_off = align(g * cs, 4 * m.C);
  need(o_off + g * 4 * m.C <= m.acc_bytes, "attention scores do not fit accumulator.bytes");
  const uint16_t to_coll = m.P > 1 ? bit(kColl) : 0;
  for (uint32_t chip = 0; chip < m.P; ++chip) {
    for (uint32_t core = 0; core < m.Q; ++core) {
      CoreCode cc;
      Arena l1(m.L1);
      uint32_t barrier_id = 0;
      auto end_phase = [&]() {
        cc.barrier(isa::Scope::chip, ++barrier_id);
        l1.reset();
      };
      const uint64_t row0 = core * spc;
      // 1. Attention RMSNorm of this core's rows.
      emit_norm(cc, l1, spc, d, x_in + row0 * d * 2, gain1, xn1 + row0 * d);
      end_phase();
      // 2. QKV projection: this core's columns of [Q | K | V].
      {
        const uint64_t x = emit_load_activation(cc, l1, m, xn1, B * d);
        const uint64_t out = l1.take(B * qkv_core);
        emit_proj(cc, l1, m, ProjArgs{d, qkv_core, B, w_qkv + core * d * qkv_core, x, 0,
                                      Operand{Space::l1, out, qkv_core, DType::fp8_e4m3}, bit(0)});
        Instr st = dma_copy(Opcode::store, 0, Space::l2, qkv + core * qkv_core, Space::l1, out, qkv_core, B, qkv_c, qkv_core);
        st.wait = bit(kVec);
        cc.add(st);
      }
      end_phase();
      // 3. Attention of this core's sequences, one (sequence, KV head) item at a time.
      {
        const uint64_t rows = l1.take(spc * qkv_c), tab = l1.take(spc * hd * 4);
        cc.add(dma_copy(Opcode::load, 0, Space::l1, rows, Space::l2, qkv + row0 * qkv_c, spc * qkv_c));
        cc.add(dma_copy(Opcode::load, 0, Space::l1, tab, Space::hbm, rope + row0 * hd * 4, spc * hd * 4));
        cc.tpush(0, bit(kVec));
        cc.tpop(kVec, bit(0));
        uint64_t kbuf[2], vbuf[2];
        for (int b = 0; b < 2; ++b) {
          kbuf[b] = l1.take(ntc * hd * tc);
          vbuf[b] = l1.take(ntc * tc * hd);
        }
        const uint64_t sf = l1.take(g * ctx * 4), mxv = l1.take(g * 4), sm = l1.take(g * 4);
        const uint64_t n = spc * kv;
        struct Item {
          uint64_t s, h, sg, qr, kr, p, o, k_cache, v_cache;
          int mx, dma, b;
        };
        std::vector<Item> items(n);
        for (uint64_t i = 0; i < n; ++i) {
          Item& it = items[i];
          it.s = i / kv;
          it.h = i % kv;
          it.sg = row0 + it.s;
          it.mx = 4 + int(i % m.E);
          it.dma = int(i % 2);
          it.b = int(i % 2);
          it.qr = l1.take(g * hd);
          it.kr = l1.take(hd);
          it.p = l1.take(g * ctx);
          it.o = l1.take(g * hd);
          it.k_cache = kT + (it.sg * kv + it.h) * hd * ctx;
          it.v_cache = vc + (it.sg * kv + it.h) * ctx * hd;
        }
        auto table = [&](const Item& it) { return Operand{Space::l1, tab + it.s * hd * 4, hd * 4, DType::fp32}; };
        // The new token's keys (rotated) and values join the caches (position ctx - 1) first;
        // the DMA engine that stores an item's key also streams its cache afterwards.
        for (const Item& it : items) {
          Instr v = vop2(Opcode::vrope, Operand{Space::l1, it.kr, hd, DType::fp8_e4m3},
                         Operand{Space::l1, rows + it.s * qkv_c + (hq + it.h) * hd, hd, DType::fp8_e4m3}, table(it), 1,
                         hd);
          v.iarg = 1;
          v.signal = bit(it.dma);
          cc.add(v);
        }
        for (const Item& it : items) {
          Instr st = dma_copy(Opcode::store, it.dma, Space::hbm, it.k_cache + ctx - 1, Space::l1, it.kr, 1, hd, ctx, 1);
          st.wait = bit(kVec);
          cc.add(st);
          cc.add(dma_copy(Opcode::store, it.dma, Space::hbm, it.v_cache + (ctx - 1) * hd, Space::l1,
                      rows + it.s * qkv_c + (hq + kv + it.h) * hd, hd));
        }
        for (uint64_t i = 0; i < n; ++i) {
          const Item& it = items[i];
          const int mx = it.mx, dma = it.dma, b = it.b;
          Instr v = vop2(Opcode::vrope, Operand{Space::l1, it.qr, hd, DType::fp8_e4m3},
                         Operand{Space::l1, rows + it.s * qkv_c + it.h * g * hd, hd, DType::fp8_e4m3}, table(it), g, hd);
          v.iarg = g;
          v.signal = bit(mx);
          cc.add(v);
          // The key block as tiles of hd x tc (a plane per tile), then the value block (contiguous).
          Instr ld = dma_copy(Opcode::load, dma, Space::l1, kbuf[b], Space::hbm, it.k_cache, tc, hd, tc, ctx);
          ld.n2 = ntc;
          ld.dst_stride2 = ntc > 1 ? hd * tc : 0;
          ld.src_stride2 = ntc > 1 ? tc : 0;
          if (i >= 2) ld.wait = bit(items[i - 2].mx);  // buffer b is free again
          ld.signal = bit(mx);
          cc.add(ld);
          ld = dma_copy(Opcode::load, dma, Space::l1, vbuf[b], Space::hbm, it.v_cache, ctx * hd);
          ld.signal = bit(mx);
          cc.add(ld);
          if (i >= m.E) cc.tpop(mx, bit(kVec));  // the vector engine has read this engine's previous results
          for (uint64_t t = 0; t < ntc; ++t) {
            Instr mm;
            mm.op = Opcode::matmul;
            mm.unit = uint8_t(mx);
            mm.a_type = mm.b_type = uint64_t(DType::fp8_e4m3);
            mm.a_addr = it.qr;
            mm.a_stride = hd;
            mm.b_addr = kbuf[b] + t * hd * tc;
            mm.b_stride = tc;
            mm.c_addr = t * tc * 4;
            mm.c_stride = cs;
            mm.m = g;
            mm.k = hd;
            mm.n = tc;
            if (t == 0) mm.wait = bit(dma) | bit(kVec);
            if (t + 1 == ntc) mm.signal = bit(kVec);
            cc.add(mm);
          }
          // Softmax of the scaled scores, rows of ctx.
          const Operand S{Space::l1, sf, ctx * 4, DType::fp32}, MX{Space::l1, mxv, 4, DType::fp32},
              SM{Space::l1, sm, 4, DType::fp32};
          v = vop(Opcode::vscale, S, Operand{Space::acc, 0, cs, DType::fp32}, g, ctx);
          v.acc_engine = uint64_t(mx - 4);
          v.imm = 1.0f / float(hd);
          v.wait = bit(mx);
          cc.add(v);
          cc.add(vop(Opcode::vrmax, MX, S, g, ctx));
          cc.add(vop2(Opcode::vsub_row, S, S, MX, g, ctx));
          cc.add(vop(Opcode::vexp, S, S, g, ctx));
          cc.add(vop(Opcode::vrsum, SM, S, g, ctx));
          cc.add(vop(Opcode::vrecip, SM, SM, g, 1));
          v = vop2(Opcode::vmul_row, Operand{Space::l1, it.p, ctx, DType::fp8_e4m3}, S, SM, g, ctx);
          v.signal = bit(mx);
          cc.add(v);
          for (uint64_t t = 0; t < ntc; ++t) {
            Instr mm;
            mm.op = Opcode::matmul;
            mm.unit = uint8_t(mx);
            mm.a_type = mm.b_type = uint64_t(DType::fp8_e4m3);
            mm.accumulate = t > 0 ? 1 : 0;
            mm.a_addr = it.p + t * tc;
            mm.a_stride = ctx;
            mm.b_addr = vbuf[b] + t * tc * hd;
            mm.b_stride = hd;
            mm.c_addr = o_off;
            mm.c_stride = 4 * m.C;
            mm.m = g;
            mm.k = tc;
            mm.n = hd;
            if (t == 0) mm.wait = bit(dma) | bit(kVec);
            if (t + 1 == ntc) {
              mm.signal = bit(kVec);
              if (i + 2 < n) mm.signal |= bit(dma);
            }
            cc.add(mm);
          }
          v = vop(Opcode::vcvt, Operand{Space::l1, it.o, hd, DType::fp8_e4m3},
                  Operand{Space::acc, o_off, 4 * m.C, DType::fp32}, g, hd);
          v.acc_engine = uint64_t(mx - 4);
          v.imm = 1.0f;
          v.wait = bit(mx);
          v.signal = bit(dma) | (i + m.E < n ? bit(mx) : 0);
          cc.add(v);
        }
        // Attention outputs to L2, after every item's loads (a store in front of a load would
        // hold the next item's cache stream behind this item's compute).
        for (const Item& it : items) {
          Instr st = dma_copy(Opcode::store, it.dma, Space::l2, attn + it.sg * hq * hd + it.h * g * hd, Space::l1, it.o,
                          g * hd);
          st.wait = bit(kVec);
          cc.add(st);
        }
      }
      end_phase();
      // 4. Output projection (row-parallel), all-reduce, residual.
      {
        const uint64_t xs = emit_load_slice(cc, l1, x_in, B, dm_core, d, core * dm_core);
        const uint64_t a = emit_load_activation(cc, l1, m, attn, B * hq * hd);
        const uint64_t y = l1.take(B * dm_core * 2);
        emit_proj(cc, l1, m, ProjArgs{hq * hd, dm_core, B, w_o + core * hq * hd * dm_core, a, 0,
                                      Operand{Space::l1, y, dm_core * 2, DType::bf16}, to_coll});
        emit_allreduce_residual(cc, l1, m, chip, core, 0, y, B, dm_core, d, core * dm_core, xs, x1);
      }
      end_phase();
      // 5. FFN RMSNorm.
      emit_norm(cc, l1, spc, d, x1 + row0 * d * 2, gain2, xn2 + row0 * d);
      end_phase();
      // 6. Gate and up projections, SiLU(gate) * up.
      {
        const uint64_t x = emit_load_activation(cc, l1, m, xn2, B * d);
        const uint64_t gt = l1.take(B * ff_core * 4), up = l1.take(B * ff_core * 4), hh = l1.take(B * ff_core);
        emit_proj(cc, l1, m, ProjArgs{d, ff_core, B, w_gate + core * d * ff_core, x, 0,
                                      Operand{Space::l1, gt, ff_core * 4, DType::fp32}, 0});
        emit_proj(cc, l1, m, ProjArgs{d, ff_core, B, w_up + core * d * ff_core, x, ceil_div(ff_core, m.C),
                                      Operand{Space::l1, up, ff_core * 4, DType::fp32}, 0});
        const Operand G{Space::l1, gt, ff_core * 4, DType::fp32}, U{Space::l1, up, ff_core * 4, DType::fp32};
        cc.add(vop(Opcode::vsilu, G, G, B, ff_core));
        Instr v = vop2(Opcode::vmul, Operand{Space::l1, hh, ff_core, DType::fp8_e4m3}, G, U, B, ff_core);
        v.signal = bit(0);
        cc.add(v);
        Instr st = dma_copy(Opcode::store, 0, Space::l2, hbuf + core * ff_core, Space::l1, hh, ff_core, B, ff_c, ff_core);
        st.wait = bit(kVec);
        cc.add(st);
      }
      end_phase();
      // 7. Down projection (row-parallel), all-reduce, residual.
      {
        const uint64_t xs = emit_load_slice(cc, l1, x1, B, dm_core, d, core * dm_core);
        const uint64_t hfull = emit_load_activation(cc, l1, m, hbuf, B * ff_c);
        const uint64_t y = l1.take(B * dm_core * 2);
        emit_proj(cc, l1, m, ProjArgs{ff_c, dm_core, B, w_down + core * ff_c * dm_core, hfull, 0,
                                      Operand{Space::l1, y, dm_core * 2, DType::bf16}, to_coll});
        emit_allreduce_residual(cc, l1, m, chip, core, 1, y, B, dm_core, d, core * dm_core, xs, x2);
      }
      end_phase();
      Instr halt;
      halt.op = Opcode::halt;
      halt.unit = kSeq;
      cc.code.push_back(halt);
      prog.text.push_back(isa::TextSection{chip, core, std::move(cc.code)});
    }
  }
  return prog;
}

}  // namespace tessera::model
