// The matmul kernel: one fused Linear on every core of the group, and its epilogues.
//
// Per core (schedule.h): for each pass, for each run of k-tiles, the activation tile
// A[pass rows, run] is loaded (or the whole A once, when it fits), then for each column
// group the run's weight chunk comes from the weight ring and every tile becomes one
// weight-stationary matmul per row block on the engine the split names. The accumulator
// regions of a pass sit in one half of each engine's accumulator; the next pass uses the
// other half, so the epilogue of pass i runs on the vector engine while pass i+1 streams.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/numerics/fp.h"
#include "compiler/codegen.h"
#include "compiler/cost_model.h"
#include "compiler/layout.h"

namespace tessera::compiler {

using isa::DType;
using isa::Instr;
using isa::Opcode;
using isa::Space;

namespace {

uint64_t es_of(DType t) { return num::dtype_bytes(num::DType(t)); }

// Where the FP32 sums of a column group are: the accumulator of one engine, or L1 after
// the split-K reduction. Column j of block b is at addr + b * block_stride + 4 j.
struct Sums {
  Space space = Space::acc;
  uint32_t engine = 0;
  uint64_t addr = 0, row_stride = 0, block_stride = 0;
  DType type = DType::fp32;  // INT32 in the accumulators of an INT8 x INT8 matmul
};

// Accumulator region index of (row block sub, pass group index gi) on its engine.
uint64_t region_index(const MatmulPlan& p, uint32_t E, uint64_t gi) {
  return p.split == EngineSplit::N ? gi / E : gi;
}

}  // namespace

// The weight chunks one core reads for a matmul, in the order emit_linear consumes them.
std::vector<WeightChunk> linear_chunks(const Codegen& cg, const Op& op, uint32_t core) {
  std::vector<WeightChunk> v;
  const MatmulPlan& p = op.plan;
  const CoreMatmulWork w = core_work(p, core, cg.hw.engines);
  if (!w.active) return v;
  const Tensor& wt = cg.g.tensors[size_t(op.weight)];
  const uint64_t es = cg.es(wt.dtype), base = cg.addr(wt), Q = k_tiles(p);
  for (const MatmulPass& pass : w.passes) {
    for (uint64_t q0 : k_block_starts(p, pass)) {
      const uint64_t q1 = std::min(Q, q0 + p.k_block);
      for (uint64_t g : pass.groups) {
        v.push_back(WeightChunk{base + packed_tile_offset(p, g, q0, 0, es), packed_run_bytes(p, g, q0, q1, es)});
        expert_predicate(cg, op, g, q0 * p.k_t, q1 == Q ? p.K : q1 * p.k_t, v.back());
      }
    }
  }
  return v;
}

void Codegen::collect_weights(const std::vector<const Op*>& linears, bool tail) {
  for (const Op* op : linears)
    for (uint32_t chip = 0; chip < group_chips; ++chip)
      for (uint32_t core = 0; core < hw.cores; ++core)
        for (const WeightChunk& c : linear_chunks(*this, *op, core)) {
          if (tail)
            ws_of(chip, core).add_tail(c);
          else
            ws_of(chip, core).add(c);
        }
}

namespace {

// The epilogue of one (row block, column group) of a pass, on one core.
struct Epi {
  Codegen& cg;
  const Op& op;
  uint32_t chip, core;
  CoreStream& s;
  Arena& l1;
  const MatmulPlan& p;
  uint64_t identity = 0;       // L1 address of I [C x C] (prefill QKV), 0 = none
  // L1: the core's scales / biases, group by group in the order of its groups
  // (n_group, n_group + n_groups, ...), group_blocks x n_t columns each.
  uint64_t scales = 0, biases = 0;
  uint64_t n_group = 0, n_groups = 1;
  uint64_t rope_rows = 0;      // L1: rope table rows of the step's positions
  // Accumulator area of the K^T transposes: the reserve on engine 0, or (no reserve) the
  // item's own region once its sums are in L1; rows of K^T one transpose may write.
  uint64_t transpose_acc = 0, transpose_rows = 0;
  uint32_t transpose_engine = 0;
  bool all_dmas = false;       // residual rows over every DMA engine (A reloaded per pass)
  int residual_dma = -1;       // with all_dmas: this item's residual rows on one engine (>= 0)
  uint64_t residual_rows = 0;  // L1 address of this item's residual rows loaded ahead, 0 = none

  // What an epilogue writes to its output: FP32 rows when a quantize op follows (INT8).
  DType out_type() const { return cg.t(op.outputs[0]).dtype; }
  int dma() const { return store_dma >= 0 ? store_dma : cg.dma_act(); }
  int store_dma = -1;          // the engine of this item's stores when not the default


  // FP32 values of block b (width w) with scale and bias applied, in L1 or still in acc.
  // INT8 activations: the INT32 sums of each row times the row's (token's) scale, then the
  // channel scales; s_row * (s_col * sum) in the reference order of docs/numerics.md section 10
  // is (sum * s_row) * s_col here, both FP32 roundings.
  Sums finish(const Sums& in, uint64_t rows, uint64_t row0, uint64_t g, uint64_t gw, bool with_bias) {
    const bool scale = op.scale >= 0, bias = with_bias && op.bias >= 0, row = op.row_scale >= 0;
    if (!scale && !bias && !row) return in;
    const uint64_t slot = (g - n_group) / n_groups * p.group_blocks * p.n_t * 4;
    const uint64_t sc = scales + slot, bi = biases + slot;
    Sums y{Space::l1, 0, l1.take(rows * gw * 4, 64, op.name + " epilogue values"), gw * 4, p.n_t * 4};
    uint64_t rs = 0;
    if (row) {
      const Tensor& t = cg.t(op.row_scale);
      rs = l1.take(rows * 4, 64, op.name + " row scales");
      s.emit(Codegen::dma({.load = true,
                           .unit = dma(),
                           .dst = {Space::l1, rs},
                           .src = {t.tier, cg.addr(t) + row0 * 4},
                           .len = rows * 4}));
    }
    for (uint64_t b = 0; b < p.group_blocks; ++b) {
      const BlockCols bc = block_cols(p, g, b);
      if (!bc.width) continue;
      Sums src = in;
      if (row) {
        Instr v = Codegen::vec(Opcode::vmul_row, rows, bc.width);
        Codegen::operand(v, 0, Space::l1, y.addr + b * y.block_stride, y.row_stride, DType::fp32);
        Codegen::operand(v, 1, src.space, src.addr + b * src.block_stride, src.row_stride, src.type, src.engine);
        Codegen::operand(v, 2, Space::l1, rs, 4, DType::fp32);
        s.emit(v);
        src = y;
      }
      if (scale) {
        Instr v = Codegen::vec(Opcode::vmul_col, rows, bc.width);
        Codegen::operand(v, 0, Space::l1, y.addr + b * y.block_stride, y.row_stride, DType::fp32);
        Codegen::operand(v, 1, src.space, src.addr + b * src.block_stride, src.row_stride, src.type, src.engine);
        Codegen::operand(v, 2, Space::l1, sc + b * p.n_t * 4, 0, DType::fp32);
        s.emit(v);
        src = y;
      }
      if (bias) {
        Instr v = Codegen::vec(Opcode::vadd_col, rows, bc.width);
        Codegen::operand(v, 0, Space::l1, y.addr + b * y.block_stride, y.row_stride, DType::fp32);
        Codegen::operand(v, 1, src.space, src.addr + b * src.block_stride, src.row_stride, src.type, src.engine);
        Codegen::operand(v, 2, Space::l1, bi + b * p.n_t * 4, 0, DType::fp32);
        s.emit(v);
      }
    }
    return y;
  }

  // Stores [rows x cols] FP32 or `type` values from `src` (L1 or acc) to a tensor row-major.
  void store_rows(const Sums& src, uint64_t src_col_bytes, uint64_t rows, uint64_t width_bytes, const Tensor& dst,
                  uint64_t row0, uint64_t col_byte) {
    const uint64_t row_bytes = dst.bytes / std::max<uint64_t>(1, dst.shape[0]);
    s.emit(Codegen::dma({.load = false,
                         .unit = dma(),
                         .dst = {dst.tier, cg.addr(dst) + row0 * row_bytes + col_byte},
                         .src = {src.space, src.addr + src_col_bytes},
                         .len = width_bytes,
                         .n1 = rows,
                         .dst_stride1 = row_bytes,
                         .src_stride1 = src.row_stride,
                         .acc_engine = src.engine}));
  }

  void unary(Opcode o, uint64_t rows, uint64_t cols, Space ds, uint64_t da, uint64_t dstride, DType dt, const Sums& x,
             uint64_t xcol_bytes) {
    Instr v = Codegen::vec(o, rows, cols);
    Codegen::operand(v, 0, ds, da, dstride, dt);
    Codegen::operand(v, 1, x.space, x.addr + xcol_bytes, x.row_stride, DType::fp32, x.engine);
    s.emit(v);
  }

  void run(const Sums& sums, uint64_t row0, uint64_t rows, uint64_t g);
  void x_rows(bool load, uint64_t xb, uint64_t row0, uint64_t rows, uint64_t g);
  void qkv(const Sums& y, uint64_t row0, uint64_t rows, uint64_t g);
  void router(const Sums& y, uint64_t row0, uint64_t rows);
};

// The residual rows [row0, row0 + rows) of column group g between x and L1 at xb.
void Epi::x_rows(bool load, uint64_t xb, uint64_t row0, uint64_t rows, uint64_t g) {
  const uint64_t gw = group_width(p, g);
  const uint64_t first = g * p.group_blocks * p.n_t;
  // The residual rows in and out split by rows over every DMA engine: one engine keeps
  // too few bytes in flight for HBM's latency, and the last pass's epilogues are not
  // hidden behind matmuls (Llama-3-70B prefill o and down: 1,400 cycles per 256 KiB).
  // When the pass has several column groups, each group's items go to one engine instead
  // and consecutive items alternate groups. That was for rows of x a multiple of the DRAM
  // map's period apart, one group's rows in a few pseudo-channels (Llama-3-70B prefill o:
  // about 200 B/cycle per core for one group); with x's rows padded (placement.cpp) it is
  // still the faster of the two (o 52,853 against 55,067 cycles split by rows).
  const uint64_t parts = all_dmas && residual_dma < 0 ? std::min<uint64_t>(cg.hw.dmas, rows) : 1;
  for (uint64_t d = 0, r0 = 0; d < parts; ++d) {
    const uint64_t n = rows * (d + 1) / parts - r0;
    cg.x_slice(s, load, !all_dmas ? dma() : residual_dma >= 0 ? residual_dma : int(d), row0 + r0, n, first * 4, gw * 4,
               xb + r0 * gw * 4, gw * 4);
    r0 += n;
  }
}

void Epi::run(const Sums& sums, uint64_t row0, uint64_t rows, uint64_t g) {
  const uint64_t gw = group_width(p, g);
  const Graph& gr = cg.g;
  switch (op.epilogue) {
    case Epilogue::Partial:
    case Epilogue::Logits: {
      const bool bias = op.epilogue == Epilogue::Partial ? chip == 0 : true;
      const Sums y = finish(sums, rows, row0, g, gw, bias);
      const Tensor& out = cg.t(op.outputs[0]);
      for (uint64_t b = 0; b < p.group_blocks; ++b) {
        const BlockCols bc = block_cols(p, g, b);
        if (bc.width) store_rows(y, b * y.block_stride, rows, bc.width * 4, out, row0, bc.first * 4);
      }
      break;
    }
    case Epilogue::Residual: {
      const Sums y = finish(sums, rows, row0, g, gw, true);
      const uint64_t xb = residual_rows ? residual_rows : l1.take(rows * gw * 4, 64, "residual rows");
      if (!residual_rows) x_rows(true, xb, row0, rows, g);
      for (uint64_t b = 0; b < p.group_blocks; ++b) {
        const BlockCols bc = block_cols(p, g, b);
        if (!bc.width) continue;
        Instr v = Codegen::vec(Opcode::vadd, rows, bc.width);
        Codegen::operand(v, 0, Space::l1, xb + b * p.n_t * 4, gw * 4, DType::fp32);
        Codegen::operand(v, 1, Space::l1, xb + b * p.n_t * 4, gw * 4, DType::fp32);
        Codegen::operand(v, 2, y.space, y.addr + b * y.block_stride, y.row_stride, DType::fp32, y.engine);
        s.emit(v);
      }
      x_rows(false, xb, row0, rows, g);
      break;
    }
    case Epilogue::GeluUp: {
      const Sums y = finish(sums, rows, row0, g, gw, true);
      const Tensor& h = cg.t(op.outputs[0]);
      const DType ht = out_type();
      const uint64_t hb = l1.take(rows * gw * es_of(ht), 64, "activation rows");
      unary(Opcode::vgelu, rows, gw, Space::l1, hb, gw * es_of(ht), ht, y, 0);
      store_rows(Sums{Space::l1, 0, hb, gw * es_of(ht), 0}, 0, rows, gw * es_of(ht), h, row0,
                 g * p.n_t * es_of(ht));
      break;
    }
    case Epilogue::SwiGLU:
    case Epilogue::MoEUp: {
      const Sums y = finish(sums, rows, row0, g, gw, true);
      const uint64_t w = block_cols(p, g, 0).width;
      const uint64_t tb = l1.take(rows * w * 4, 64, "silu(gate)");
      unary(Opcode::vsilu, rows, w, Space::l1, tb, w * 4, DType::fp32, y, 0);
      const Tensor& h = cg.t(op.outputs[0]);
      const DType ht = out_type();
      const uint64_t ea = es_of(ht);
      const uint64_t hb = l1.take(rows * w * ea, 64, "activation rows");
      Instr v = Codegen::vec(Opcode::vmul, rows, w);
      const bool moe = op.epilogue == Epilogue::MoEUp;
      Codegen::operand(v, 0, Space::l1, moe ? tb : hb, moe ? w * 4 : w * ea, moe ? DType::fp32 : ht);
      Codegen::operand(v, 1, Space::l1, tb, w * 4, DType::fp32);
      Codegen::operand(v, 2, y.space, y.addr + y.block_stride, y.row_stride, DType::fp32, y.engine);
      s.emit(v);
      uint64_t col = g * p.n_t;
      if (moe) {
        // Weight of expert e for every row: column e of the routing weights.
        const uint64_t per_expert = gr.inter / p.n_t, e = g / per_expert;
        const Tensor& r = cg.t("routing");
        const uint64_t E = gr.model.num_experts;
        const uint64_t rb = l1.take(rows * 4, 64, "routing weights");
        s.emit(Codegen::dma({.load = true,
                             .unit = dma(),
                             .dst = {Space::l1, rb},
                             .src = {r.tier, cg.addr(r) + (row0 * E + e) * 4},
                             .len = 4,
                             .n1 = rows,
                             .dst_stride1 = 4,
                             .src_stride1 = E * 4}));
        Instr m = Codegen::vec(Opcode::vmul_row, rows, w);
        Codegen::operand(m, 0, Space::l1, hb, w * ea, ht);
        Codegen::operand(m, 1, Space::l1, tb, w * 4, DType::fp32);
        Codegen::operand(m, 2, Space::l1, rb, 4, DType::fp32);
        s.emit(m);
        col = e * gr.inter + (g % per_expert) * p.n_t;
      }
      store_rows(Sums{Space::l1, 0, hb, w * ea, 0}, 0, rows, w * ea, h, row0, col * ea);
      break;
    }
    case Epilogue::QKV:
      qkv(finish(sums, rows, row0, g, gw, true), row0, rows, g);
      break;
    case Epilogue::Router:
      router(finish(sums, rows, row0, g, gw, true), row0, rows);
      break;
    case Epilogue::None:
      throw std::logic_error("matmul without an epilogue");
  }
}


void Epi::qkv(const Sums& y, uint64_t row0, uint64_t rows, uint64_t g) {
  const Graph& gr = cg.g;
  const hf::ModelConfig& m = gr.model;
  const uint64_t hd = m.head_dim, gw = group_width(p, g), first = g * p.group_blocks * p.n_t;
  const uint64_t T = gr.tokens, kvh = gr.kv_heads, qpg = gr.heads / gr.kv_heads, P = gr.page_tokens;
  const bool rope = m.position == hf::PositionKind::Rope;
  const DType kvt = gr.precision.kv;
  const DType qt = cg.t("q").dtype;  // the activations' format, or the KV format (INT8 policy)
  const uint64_t ek = es_of(kvt), ea = es_of(qt);
  if (identity && !p.acc_reserve && y.space == Space::acc)
    throw std::logic_error("QKV epilogue: the K^T transposes would overwrite sums still in the accumulator");
  // The block's rows as runs of one sequence: rows r0.. are tokens t0.. of sequence s.
  struct Seg {
    uint64_t r0, n, s, t0;
    uint64_t table = 0;
  };
  std::vector<Seg> segs;
  if (T == 1) {
    // Decode: one token per sequence, all at the same position: one run of every row
    // (one vrope with one table row, one strided store of the q rows).
    segs.push_back({row0, rows, row0, 0});
  } else {
    for (uint64_t r = row0; r < row0 + rows;) {
      const uint64_t sq = r / T, t0 = r % T, n = std::min(row0 + rows - r, T - t0);
      segs.push_back({r, n, sq, t0});
      r += n;
    }
  }
  // Rope rows of the step's positions were loaded once for the phase (row t: position + t).
  for (Seg& sg : segs) sg.table = rope_rows + (T == 1 ? 0 : sg.t0 * hd * 4);
  // Prefill: every head its own rows, so the next head's rope does not wait for this
  // head's store (Llama-3-70B prefill qkv: the last pass's epilogue, two q heads an item).
  const uint64_t head_rows = T == 1 ? l1.take(rows * hd * std::max(ea, ek), 64, "q/k/v head rows") : 0;
  // Prefill K^T: the transposes of the item's K heads run back to back, each into its own
  // rows of the transpose area, and their conversions and stores follow once the area is
  // full or the item ends. One at a time, the vector engine waited for each transpose's
  // drain before the next head's rope (Llama-3-70B prefill qkv: about 1,100 cycles per K
  // head in the phase's last epilogues).
  struct Transposed {
    uint64_t acc, l1, rows, cols, dst;
  };
  std::vector<Transposed> transposed;
  uint64_t transpose_used = 0;  // rows of the transpose area taken
  auto flush_transposes = [&] {
    for (const Transposed& x : transposed) {
      Instr v = Codegen::vec(Opcode::vcvt, x.rows, x.cols);
      Codegen::operand(v, 0, Space::l1, x.l1, x.cols * ek, kvt);
      Codegen::operand(v, 1, Space::acc, x.acc, cg.hw.C * 4, kvt == DType::int8 ? DType::int32 : DType::fp32,
                       transpose_engine);
      v.imm = 1.0f;
      s.emit(v);
      s.emit(Codegen::dma({.load = false,
                           .unit = dma(),
                           .dst = {Space::hbm, x.dst},
                           .src = {Space::l1, x.l1},
                           .len = x.cols * ek,
                           .n1 = x.rows,
                           .dst_stride1 = P * ek,
                           .src_stride1 = x.cols * ek}));
    }
    transposed.clear();
    transpose_used = 0;
  };
  const uint64_t pool = cg.addr(cg.t("layer.k_cache"));
  // INT8 q/K/V: the head's FP32 rows first, then per-token quantisation (a scale per token
  // and head: q's next to q, K's and V's in the page after V).
  const bool any8 = qt == DType::int8 || kvt == DType::int8;
  const uint64_t f32 = any8 ? l1.take(rows * hd * 4, 64, "q/k/v FP32 head rows") : 0;
  const uint64_t tmp = any8 ? l1.take(rows * hd * 4, 64, "q/k/v absolute values") : 0;
  const uint64_t qm = any8 ? l1.take(rows * 4, 64, "q/k/v row scales") : 0;
  const uint64_t qr = any8 ? l1.take(rows * 4, 64, "q/k/v row multipliers") : 0;
  for (uint64_t c = 0; c < gw; c += hd) {
    const uint64_t head = (first + c) / hd;  // packed = logical for QKV
    const bool is_q = head < gr.heads, is_k = !is_q && head < gr.heads + kvh;
    // A K head's rows stay in L1 until its transposes have read them (their own rows).
    const uint64_t out = T > 1 ? l1.take(rows * hd * std::max(ea, ek), 64, "q/k/v head rows") : head_rows;
    const DType dt = is_q ? qt : kvt;
    const uint64_t e = es_of(dt);
    const bool q8 = dt == DType::int8;
    // Where rope / conversion write: the stored rows, or FP32 rows to quantise.
    const uint64_t wr = q8 ? f32 : out, we = q8 ? 4 : e;
    const DType wt = q8 ? DType::fp32 : dt;
    // The head's hd columns are contiguous in the sums (one block, or blocks of n_t = C).
    const uint64_t col_bytes = (c / p.n_t) * y.block_stride + (c % p.n_t) * 4;
    if (rope && (is_q || is_k)) {
      for (const Seg& sg : segs) {
        Instr v = Codegen::vec(Opcode::vrope, sg.n, hd);
        Codegen::operand(v, 0, Space::l1, wr + (sg.r0 - row0) * hd * we, hd * we, wt);
        Codegen::operand(v, 1, y.space, y.addr + (sg.r0 - row0) * y.row_stride + col_bytes, y.row_stride,
                         DType::fp32, y.engine);
        Codegen::operand(v, 2, Space::l1, sg.table, hd * 4, DType::fp32);
        v.iarg = T == 1 ? sg.n : 1;
        s.emit(v);
      }
    } else {
      Instr v = Codegen::vec(Opcode::vcvt, rows, hd);
      Codegen::operand(v, 0, Space::l1, wr, hd * we, wt);
      Codegen::operand(v, 1, y.space, y.addr + col_bytes, y.row_stride, DType::fp32, y.engine);
      v.imm = 1.0f;
      s.emit(v);
    }
    if (q8) quantise_rows(s, rows, hd, f32, hd * 4, tmp, out, hd, qm, qr);
    if (is_q) {
      // Attention layout: [sequence][KV head][token][query head of the group][head_dim].
      const Tensor& qt = cg.t("q");
      const uint64_t j = head / qpg, hg = head % qpg;
      for (const Seg& sg : segs) {
        const uint64_t dst = cg.addr(qt) + (((sg.s * kvh + j) * T + sg.t0) * qpg + hg) * hd * e;
        // Consecutive rows: the next token of the sequence, or (decode) the next sequence.
        const uint64_t row_stride = (T == 1 ? kvh * qpg : qpg) * hd * e;
        s.emit(Codegen::dma({.load = false,
                             .unit = dma(),
                             .dst = {qt.tier, dst},
                             .src = {Space::l1, out + (sg.r0 - row0) * hd * e},
                             .len = hd * e,
                             .n1 = sg.n,
                             .dst_stride1 = row_stride,
                             .src_stride1 = hd * e}));
        if (q8) {  // the scales in the same order: row ((s kvh + j) T + t) qpg + hg of q.row_scale
          const Tensor& qs = cg.t("q.row_scale");
          s.emit(Codegen::dma({.load = false,
                               .unit = dma(),
                               .dst = {qs.tier, cg.addr(qs) + (((sg.s * kvh + j) * T + sg.t0) * qpg + hg) * 4},
                               .src = {Space::l1, qm + (sg.r0 - row0) * 4},
                               .len = 4,
                               .n1 = sg.n,
                               .dst_stride1 = row_stride / (hd * e) * 4,
                               .src_stride1 = 4}));
        }
      }
      continue;
    }
    const uint64_t j = is_k ? head - gr.heads : head - gr.heads - kvh;
    if (T == 1) {
      // Decode: row r is sequence row0 + r at `position`: one DMA for every row.
      const uint64_t pos = gr.position, pg = pos / P, col = pos % P;
      const uint64_t page0 = pool + kv_page(gr, row0, j, pg) * gr.page_bytes;
      const uint64_t seq_stride = kvh * gr.page_bytes;  // kv_page(s + 1) - kv_page(s)
      if (is_k) {  // a column of K^T: hd elements P apart
        // One beat per element, so with several sequences the rows split over every DMA
        // engine (Llama-3-70B decode at batch 218: 27,909 cycles on one engine).
        const uint64_t parts = std::min<uint64_t>(cg.hw.dmas, rows);
        for (uint64_t d = 0, r = 0; d < parts; ++d) {
          const uint64_t n = rows * (d + 1) / parts - r;
          s.emit(Codegen::dma({.load = false,
                               .unit = parts > 1 ? int(d) : dma(),
                               .dst = {Space::hbm, page0 + r * seq_stride + col * ek},
                               .src = {Space::l1, out + r * hd * ek},
                               .len = ek,
                               .n1 = hd,
                               .dst_stride1 = P * ek,
                               .src_stride1 = ek,
                               .n2 = n,
                               .dst_stride2 = seq_stride,
                               .src_stride2 = hd * ek}));
          r += n;
        }
      } else {
        s.emit(Codegen::dma({.load = false,
                             .unit = dma(),
                             .dst = {Space::hbm, page0 + hd * P * ek + col * hd * ek},
                             .src = {Space::l1, out},
                             .len = hd * ek,
                             .n1 = rows,
                             .dst_stride1 = seq_stride,
                             .src_stride1 = hd * ek}));
      }
      if (q8)
        s.emit(Codegen::dma({.load = false,
                             .unit = dma(),
                             .dst = {Space::hbm, page0 + 2 * hd * P * ek + (is_k ? 0 : P * 4) + col * 4},
                             .src = {Space::l1, qm},
                             .len = 4,
                             .n1 = rows,
                             .dst_stride1 = seq_stride,
                             .src_stride1 = 4}));
      continue;
    }
    // Prefill: the segment's tokens, page by page.
    for (const Seg& sg : segs) {
      for (uint64_t t = sg.t0; t < sg.t0 + sg.n;) {
        const uint64_t pos = gr.position + t, pg = pos / P, col = pos % P, cnt = std::min(P - col, sg.t0 + sg.n - t);
        const uint64_t page = pool + kv_page(gr, sg.s, j, pg) * gr.page_bytes;
        const uint64_t src = out + (sg.r0 - row0 + (t - sg.t0)) * hd * ek;
        if (q8)
          s.emit(Codegen::dma({.load = false,
                               .unit = dma(),
                               .dst = {Space::hbm, page + 2 * hd * P * ek + (is_k ? 0 : P * 4) + col * 4},
                               .src = {Space::l1, qm + (sg.r0 - row0 + (t - sg.t0)) * 4},
                               .len = cnt * 4}));
        if (!is_k) {
          s.emit(Codegen::dma({.load = false,
                               .unit = dma(),
                               .dst = {Space::hbm, page + hd * P * ek + col * hd * ek},
                               .src = {Space::l1, src},
                               .len = cnt * hd * ek}));
        } else if (identity) {
          // K^T = (K rows)^T x I, an output-stationary matmul whose A^T operand is the K rows
          // themselves; transpose_rows rows of K^T at a time.
          const uint64_t tr = std::min(hd, transpose_rows);
          for (uint64_t m0 = 0; m0 < hd; m0 += tr) {
            const uint64_t mr = std::min(tr, hd - m0);
            if (transpose_used + mr > transpose_rows) flush_transposes();
            const uint64_t at = transpose_acc + transpose_used * cg.hw.C * 4;
            transpose_used += mr;
            Instr mm;
            mm.op = Opcode::matmul;
            mm.unit = uint8_t(uint8_t(isa::Unit::mx0) + transpose_engine);
            mm.a_type = mm.b_type = uint64_t(kvt);
            mm.dataflow = uint64_t(isa::Dataflow::os);
            mm.a_addr = src + m0 * ek;
            mm.a_stride = hd * ek;
            mm.b_addr = identity;
            mm.b_stride = cg.hw.C * ek;
            mm.c_addr = at;
            mm.c_stride = cg.hw.C * 4;
            mm.m = mr;
            mm.k = cnt;
            mm.n = cnt;
            s.emit(mm);
            transposed.push_back(
                {at, l1.take(mr * cnt * ek, 64, "K^T rows"), mr, cnt, page + m0 * P * ek + col * ek});
          }
        } else {
          // No output-stationary dataflow: one K^T column per token.
          for (uint64_t i = 0; i < cnt; ++i)
            s.emit(Codegen::dma({.load = false,
                                 .unit = dma(),
                                 .dst = {Space::hbm, page + (col + i) * ek},
                                 .src = {Space::l1, src + i * hd * ek},
                                 .len = ek,
                                 .n1 = hd,
                                 .dst_stride1 = P * ek,
                                 .src_stride1 = ek}));
        }
        t += cnt;
      }
    }
  }
  flush_transposes();
}

// softmax over the experts, the top-k threshold, the renormalised routing weights.
void Epi::router(const Sums& y, uint64_t row0, uint64_t rows) {
  const hf::ModelConfig& m = cg.g.model;
  const uint64_t E = m.num_experts, k = m.experts_per_token;
  auto buf = [&](uint64_t cols, const char* what) { return l1.take(rows * cols * 4, 64, what); };
  const uint64_t pb = buf(E, "router probabilities"), mx = buf(1, "router max"), sm = buf(1, "router sum");
  const uint64_t tk = buf(2 * k, "router top-k"), mk = buf(E, "router mask");
  const uint64_t zero = l1.take(E * 4, 64, "zeros"), neg = l1.take(E * 4, 64, "minus ones");
  auto v3 = [&](Opcode o, uint64_t cols, uint64_t d, uint64_t dstride, Sums a, uint64_t b, uint64_t bstride) {
    Instr v = Codegen::vec(o, rows, cols);
    Codegen::operand(v, 0, Space::l1, d, dstride, DType::fp32);
    Codegen::operand(v, 1, a.space, a.addr, a.row_stride, DType::fp32, a.engine);
    Codegen::operand(v, 2, Space::l1, b, bstride, DType::fp32);
    s.emit(v);
  };
  auto v1 = [&](Opcode o, uint64_t cols, uint64_t d, uint64_t dstride, Sums a, float imm = 0, float imm2 = 0) {
    Instr v = Codegen::vec(o, rows, cols);
    Codegen::operand(v, 0, Space::l1, d, dstride, DType::fp32);
    Codegen::operand(v, 1, a.space, a.addr, a.row_stride, DType::fp32, a.engine);
    v.imm = imm;
    v.imm2 = imm2;
    s.emit(v);
  };
  auto L = [&](uint64_t a, uint64_t stride) { return Sums{Space::l1, 0, a, stride, 0}; };
  for (auto [addr, value] : {std::pair{zero, 0.0f}, std::pair{neg, -1.0f}}) {
    Instr f = Codegen::vec(Opcode::vfill, 1, E);
    Codegen::operand(f, 0, Space::l1, addr, 0, DType::fp32);
    f.imm = value;
    s.emit(f);
  }
  // p = softmax(y)
  v1(Opcode::vrmax, E, mx, 4, y);
  v3(Opcode::vsub_row, E, pb, E * 4, y, mx, 4);
  v1(Opcode::vexp, E, pb, E * 4, L(pb, E * 4));
  v1(Opcode::vrsum, E, sm, 4, L(pb, E * 4));
  v1(Opcode::vrecip, 1, sm, 4, L(sm, 4));
  v3(Opcode::vmul_row, E, pb, E * 4, L(pb, E * 4), sm, 4);
  // k largest, and a 0/1 mask of p >= the k-th: (p - kth) * 2^100 + 1 clamped to [0, 1].
  {
    Instr v = Codegen::vec(Opcode::vtopk, rows, E);
    Codegen::operand(v, 0, Space::l1, tk, 2 * k * 4, DType::fp32);
    Codegen::operand(v, 1, Space::l1, pb, E * 4, DType::fp32);
    v.iarg = k;
    s.emit(v);
  }
  v3(Opcode::vsub_row, E, mk, E * 4, L(pb, E * 4), tk + (k - 1) * 4, 2 * k * 4);
  v1(Opcode::vscale, E, mk, E * 4, L(mk, E * 4), std::ldexp(1.0f, 100), 1.0f);
  v3(Opcode::vmax, E, mk, E * 4, L(mk, E * 4), zero, 0);
  v1(Opcode::vscale, E, mk, E * 4, L(mk, E * 4), -1.0f, 0.0f);
  v3(Opcode::vmax, E, mk, E * 4, L(mk, E * 4), neg, 0);
  v1(Opcode::vscale, E, mk, E * 4, L(mk, E * 4), -1.0f, 0.0f);
  // w = p * mask / sum(p * mask)
  v3(Opcode::vmul, E, pb, E * 4, L(pb, E * 4), mk, E * 4);
  v1(Opcode::vrsum, E, sm, 4, L(pb, E * 4));
  v1(Opcode::vrecip, 1, sm, 4, L(sm, 4));
  v3(Opcode::vmul_row, E, pb, E * 4, L(pb, E * 4), sm, 4);
  const Tensor& r = cg.t("routing");
  s.emit(Codegen::dma({.load = false,
                       .unit = dma(),
                       .dst = {r.tier, cg.addr(r) + row0 * E * 4},
                       .src = {Space::l1, pb},
                       .len = rows * E * 4}));
}

}  // namespace

void Codegen::emit_linear(const Op& op) {
  const MatmulPlan& p = op.plan;
  const uint32_t E = hw.engines;
  const Tensor& a = t(op.inputs[0]);
  const Tensor& w = t(op.weight);
  const DType at = a.dtype, wt = w.dtype;
  const uint64_t ea = es(at), ew = es(wt), Q = k_tiles(p);
  const uint64_t half = acc_half(hw, p);
  const uint64_t ring = acc_ring_slots(hw, p);
  // Output-stationary (GEMM graphs): A is stored transposed, K rows of M, in HBM and in L1,
  // so a block's rows are columns of its L1 image.
  const bool os = p.dataflow == isa::Dataflow::os;
  const uint64_t M = a.shape[0];
  const uint64_t region = p.m_t * p.group_blocks * hw.C * 4;
  const uint64_t c_stride = p.group_blocks * hw.C * 4;
  phase_macs += op.macs;
  if (op.epilogue == Epilogue::MoEUp) emit_routed_experts(*this);
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      const CoreMatmulWork work = core_work(p, core, E);
      if (!work.active) continue;
      CoreStream& s = cs(chip, core);
      Arena& l1a = l1_of(chip, core);
      WeightStream& wsm = ws_of(chip, core);
      const uint64_t a_row = a.bytes / a.shape[0];  // bytes of one input row (= K x ea)
      // The whole A of this core once, when one row chunk covers it and it fits.
      const bool one_row_chunk = work.passes.front().rows == work.rows;
      const uint64_t a_all = work.rows * p.K * ea;
      const bool resident = one_row_chunk && a_all <= (l1a.limit - l1a.top) / 3;
      const uint64_t kcols_max = std::min(p.K, p.k_block * p.k_t);
      uint64_t a_res = 0;
      std::vector<uint64_t> a_slot;
      if (folded_norm && !resident)
        throw std::logic_error("codegen: " + op.name + " has a folded norm but no resident input rows");
      if (resident) {
        a_res = l1a.take(a_all, 64, op.name + " input rows");
        record_l1(chip, core, a_res, a_all, op.name + ": input rows " + a.name);
        if (folded_norm)
          emit_folded_norm(*folded_norm, chip, core, work.row0, work.rows, a_res);
        else if (os)
          s.emit(dma({.load = true,
                      .unit = dma_act(),
                      .dst = {Space::l1, a_res},
                      .src = {a.tier, addr(a) + work.row0 * ea},
                      .len = work.rows * ea,
                      .n1 = p.K,
                      .dst_stride1 = work.rows * ea,
                      .src_stride1 = M * ea}));
        else
          s.emit(dma({.load = true,
                      .unit = dma_act(),
                      .dst = {Space::l1, a_res},
                      .src = {a.tier, addr(a) + work.row0 * a_row},
                      .len = a_all}));
      } else {
        // A third slot when L1 has room for it next to what this op takes below (epilogue
        // scratch, hoisted scales and biases, QKV's identity and rope rows): the input then
        // runs two blocks ahead of the matmuls, so a late block does not stall the engines.
        const uint64_t bytes = pass_rows(p, E) * kcols_max * ea;
        const uint64_t gc = p.group_blocks * p.n_t * 4 * work.groups.size();
        uint64_t later = plan_epilogue_bytes(hw, p) + 2 * gc + 16 * 64;
        if (op.epilogue == Epilogue::QKV) {
          later += g.tokens * g.model.head_dim * 4;
          if (g.tokens > 1 && hw.os) later += t("identity").bytes;
        }
        const uint64_t slots = l1a.limit - l1a.top >= 3 * (bytes + 64) + later ? 3 : 2;
        for (uint64_t i = 0; i < slots; ++i) a_slot.push_back(l1a.take(bytes, 64, op.name + " input tiles"));
        record_l1(chip, core, a_slot[0], slots * (bytes + 63) / 64 * 64,
                  op.name + ": input tiles of " + a.name + (slots == 3 ? " (triple-buffered)" : " (double-buffered)"));
      }
      // Behind the input rows the arrays wait for, ahead of the constants the epilogue
      // reads a chunk later (decode: every slot its barrier left free).
      if (deferred()) wsm.resume(s, hw);
      uint64_t identity = 0;
      if (op.epilogue == Epilogue::QKV && g.tokens > 1 && hw.os) {
        const Tensor& id = t("identity");
        identity = l1a.take(id.bytes, 64, "identity");
        record_l1(chip, core, identity, id.bytes, "identity (K^T transposes)");
        s.emit(dma({.load = true,
                    .unit = dma_act(),
                    .dst = {Space::l1, identity},
                    .src = {id.tier, addr(id)},
                    .len = id.bytes}));
      }
      // Per-phase constants of this core: packed scales and biases of its columns, the rope
      // rows of the step's positions. One DMA each, ahead of the matmuls.
      // Scales and biases of the core's groups (packed column order, whatever order the
      // passes take them in: Epi::finish): the full-width groups in one strided DMA, a
      // narrower last group in another. A DMA per group costs its HBM latency each, in one
      // in-order queue that the sequencer stops dispatching into when it is full: 32 of
      // them held the matmuls of Llama-3-8B's lm_head (decode) back by ~3,500 cycles.
      const uint64_t gcols = p.group_blocks * p.n_t;
      auto hoist_groups = [&](int tensor, const std::string& what) -> uint64_t {
        if (tensor < 0) return 0;
        const Tensor& x = t(tensor);
        const uint64_t at = l1a.take(work.groups.size() * gcols * 4, 64, what);
        std::vector<uint64_t> gs = work.groups;
        std::sort(gs.begin(), gs.end());
        const auto dst = [&](uint64_t grp) { return at + (grp - work.n_group) / p.n_groups * gcols * 4; };
        const auto full = [&](uint64_t grp) { return (grp + 1) * gcols <= p.N; };
        for (size_t i = 0; i < gs.size();) {
          size_t j = i + 1;  // [i, j): full groups p.n_groups apart
          while (full(gs[i]) && j < gs.size() && full(gs[j]) && gs[j] - gs[j - 1] == p.n_groups) ++j;
          const uint64_t c0 = gs[i] * gcols, n = std::min(p.N, c0 + gcols) - c0;
          s.emit(dma({.load = true,
                      .unit = dma_act(),
                      .dst = {Space::l1, dst(gs[i])},
                      .src = {x.tier, addr(x) + c0 * 4},
                      .len = n * 4,
                      .n1 = j - i,
                      .dst_stride1 = gcols * 4,
                      .src_stride1 = p.n_groups * gcols * 4}));
          i = j;
        }
        return at;
      };
      // Nothing reads these rows before the first epilogue, a pass later: with A reloaded per
      // pass they go behind the first A blocks, which the arrays wait for (Llama-3-70B
      // prefill qkv: 1 MiB of rope rows ahead of them on one DMA engine).
      std::vector<Instr> after_first_a;
      auto hoist = [&](int tensor, uint64_t first, uint64_t bytes, const std::string& what) -> uint64_t {
        if (tensor < 0) return 0;
        const Tensor& x = t(tensor);
        const uint64_t at = l1a.take(bytes, 64, what);
        const Instr in = dma(
            {.load = true, .unit = dma_act(), .dst = {Space::l1, at}, .src = {x.tier, addr(x) + first}, .len = bytes});
        if (resident)
          s.emit(in);
        else
          after_first_a.push_back(in);
        return at;
      };
      const uint64_t scales = hoist_groups(op.scale, op.name + " scales");
      const uint64_t biases = hoist_groups(op.bias, op.name + " biases");
      // Behind the constants: at the end of the phase its HBM reads met the next phase's
      // weight stream in the burst DRAM model (Llama-3-8B down +249 cycles).
      if (staging) stage_norm(op, chip, core, l1a);
      uint64_t rope_rows = 0;
      if (op.epilogue == Epilogue::QKV && g.model.position == hf::PositionKind::Rope)
        rope_rows = hoist(g.find_tensor("rope.table"), g.position * g.model.head_dim * 4,
                          g.tokens * g.model.head_dim * 4, "rope rows");
      // Epilogue scratch: two areas used by alternate epilogue items, so one item's stores
      // overlap the next item's vector work.
      const uint64_t scratch_bytes = plan_epilogue_bytes(hw, p) / 2;
      const uint64_t scratch[2] = {l1a.take(scratch_bytes, 64, op.name + " epilogue scratch"),
                                   l1a.take(scratch_bytes, 64, op.name + " epilogue scratch")};
      record_l1(chip, core, scratch[0], 2 * scratch_bytes, op.name + ": epilogue scratch (double-buffered)");
      // Up to four smaller areas when an item fits one, with A reloaded per pass, for the QKV
      // epilogue (FP32 sums, the heads' rows, K^T rows) and FP32 sums stored (prefill o): an
      // item's stores wait in DMA queues behind loads that wait for the matmuls, and with two
      // areas the item after next waited for them (Llama-3-70B qkv: holding the accumulator
      // regions the next pass reuses, 54,763 -> 54,416 cycles; o: 40,306 -> 37,138; Llama-3-8B
      // at 2,048 rows, qkv: 22,624 -> 21,600).
      const uint64_t split_sum = p.split == EngineSplit::K ? p.m_t * p.group_blocks * hw.C * 4 : 0;
      const uint64_t gw_max = p.group_blocks * p.n_t;
      uint64_t need = 0;  // bytes of one item, 0: two areas
      if (!resident && op.epilogue == Epilogue::QKV && op.row_scale < 0 && at != DType::int8 &&
          t("q").dtype != DType::int8 && g.precision.kv != DType::int8)
        need = split_sum + p.m_t * gw_max * (4 + 2 * std::max(es(t("q").dtype), es(g.precision.kv)));
      else if (!resident && op.epilogue == Epilogue::Partial && op.row_scale < 0)
        need = split_sum + p.m_t * gw_max * 4;
      const uint64_t areas = need ? std::clamp<uint64_t>(2 * scratch_bytes / 64 * 64 / (need + 64 * 64), 2, 4) : 2;
      const uint64_t area_bytes = areas == 2 ? scratch_bytes : (scratch[1] + scratch_bytes - scratch[0]) / areas / 64 * 64;
      uint64_t items = 0;
      // Residual epilogues of passes with several column groups: one DMA engine per group,
      // items alternating groups (Epi::residual_dma).
      const bool by_group = !resident && op.epilogue == Epilogue::Residual && hw.dmas > 1 &&
                            std::all_of(work.passes.begin(), work.passes.end(),
                                        [&](const MatmulPass& ps) { return ps.groups.size() >= hw.dmas; });
      // The last pass's residual epilogues follow its last matmul with nothing to hide them
      // behind (HBM-bound: Llama-3-70B prefill down, 12,500 cycles after its last matmul).
      // The residual rows of its first items are loaded seven eighths through that pass
      // instead, into what L1 has left; item k of the pass (in `epilogue`'s order) uses
      // ahead[k]. With the previous pass's epilogue spread over the whole pass, halfway met
      // its residual rows in the DMA queues (down 135,418 cycles; 3/4: 134,993; 13/16:
      // 135,268; 7/8: 134,820; 15/16: 134,961).
      std::vector<uint64_t> ahead;
      const size_t last_pass = work.passes.size() - 1;
      auto item_of = [&](size_t pi, size_t k) {  // (column group index, row block) of item k
        const size_t nb = row_blocks(p, work.passes[pi], E).size(), ng = work.passes[pi].groups.size();
        return by_group ? std::pair{k % ng, k / ng} : std::pair{k / nb, k % nb};
      };
      if (op.epilogue == Epilogue::Residual && !resident && last_pass > 0) {
        const MatmulPass& lp = work.passes[last_pass];
        const uint64_t bytes = p.m_t * p.group_blocks * p.n_t * 4;
        const uint64_t n = std::min<uint64_t>(lp.groups.size() * row_blocks(p, lp, E).size(),
                                              (l1a.limit - l1a.top) / (bytes + 64));
        for (uint64_t k = 0; k < n; ++k) ahead.push_back(l1a.take(bytes, 64, op.name + " residual rows ahead"));
        if (n) record_l1(chip, core, ahead[0], l1a.top - ahead[0], op.name + ": last pass's first residual rows");
      }
      const uint64_t end_mark = l1a.top;
      // Ring: a pass's epilogue items run its light groups first (no K^T transposes, which
      // hold the region and the engine), and the next pass takes the regions no group of
      // this pass holds, then this pass's in the order its epilogue frees them, so its
      // matmuls wait as little as they can for the vector engine (Llama-3-70B prefill qkv:
      // a K group's region reused first held one engine about 4,000 cycles).
      const auto heavy = [&](uint64_t g) {
        if (op.epilogue != Epilogue::QKV || !identity) return false;
        const uint64_t hd = this->g.model.head_dim, gw = p.group_blocks * p.n_t;
        const uint64_t k0 = this->g.heads * hd, k1 = k0 + this->g.kv_heads * hd;
        return g * gw < k1 && (g + 1) * gw > k0;
      };
      std::vector<std::vector<size_t>> order(work.passes.size());
      std::vector<std::vector<uint64_t>> slot_of(work.passes.size());
      for (size_t pi = 0; pi < work.passes.size(); ++pi) {
        const std::vector<uint64_t>& gs = work.passes[pi].groups;
        for (int pass_heavy = 0; pass_heavy < (ring ? 2 : 1); ++pass_heavy)
          for (size_t gi = 0; gi < gs.size(); ++gi)
            if (!ring || heavy(gs[gi]) == bool(pass_heavy)) order[pi].push_back(gi);
        if (!ring) continue;
        std::vector<uint64_t> free_first;
        std::vector<char> held(ring, 0);
        if (pi) {
          for (size_t gi : order[pi - 1]) held[slot_of[pi - 1][gi]] = 1;
          for (uint64_t r = 0; r < ring; ++r)
            if (!held[r]) free_first.push_back(r);
          for (size_t gi : order[pi - 1]) free_first.push_back(slot_of[pi - 1][gi]);
        } else {
          for (uint64_t r = 0; r < ring; ++r) free_first.push_back(r);
        }
        slot_of[pi].assign(free_first.begin(), free_first.begin() + gs.size());
      }
      auto region_addr = [&](size_t pi, size_t gi) {
        if (ring) return slot_of[pi][gi] * region;
        return (pi % 2) * half + region_index(p, E, gi) * region;
      };
      uint64_t a_tiles = 0;  // A blocks consumed (non-resident A), over all passes
      // The A blocks in the order the matmuls consume them, each in a slot: loaded there, or
      // still there from the pass before (a reversed pass starts with the block its
      // predecessor ended with: Llama-3-70B prefill gate_up, 12 of its 224 A blocks a core).
      // A load goes into the slot used longest ago, issued slots - 1 blocks ahead of its use
      // but not before that slot's last reader.
      struct ABlock {
        size_t pass = 0;
        uint64_t q0 = 0, slot = 0, issue = 0;
        bool load = true, issued = false;
      };
      std::vector<ABlock> a_seq;
      if (!resident) {
        const size_t D = a_slot.size();
        std::vector<int64_t> last_use(D, -1);
        std::vector<std::array<uint64_t, 3>> held(D, {UINT64_MAX, 0, 0});
        for (size_t pi = 0; pi < work.passes.size(); ++pi)
          for (uint64_t q0 : k_block_starts(p, work.passes[pi])) {
            const int64_t j = int64_t(a_seq.size());
            const std::array<uint64_t, 3> key{work.passes[pi].row0, work.passes[pi].rows, q0};
            ABlock b{pi, q0};
            const auto hit = std::find(held.begin(), held.end(), key);
            // Only a pass's first block: reusing the two or three its predecessor ended with
            // measured slower (Llama-3-70B prefill gate_up 239,697 cycles without reuse,
            // 235,758 with one block, 246,677 and 245,547 with two and three).
            const bool first_of_pass = j == 0 || a_seq.back().pass != pi;
            if (hit != held.end() && first_of_pass) {
              b.slot = uint64_t(hit - held.begin());
              b.load = false;
            } else {
              b.slot = uint64_t(std::min_element(last_use.begin(), last_use.end()) - last_use.begin());
              b.issue = uint64_t(std::max<int64_t>({0, last_use[b.slot] + 1, j - int64_t(D) + 1}));
              held[b.slot] = key;
            }
            last_use[b.slot] = j;
            a_seq.push_back(b);
          }
      }
      size_t a_issued = 0;  // every load before this entry is issued
      // The epilogue of pass i is emitted after the first k-block of pass i + 1: its stores
      // then sit in the DMA queues behind the loads the next pass needs, not in front of them
      // (a queue runs in order, and the stores wait for the vector engine).
      // One epilogue item: (pass, column group, row block).
      auto epilogue_item = [&](size_t pi, size_t gi, size_t sub) {
        const MatmulPass& pass = work.passes[pi];
        const auto blocks = row_blocks(p, pass, E);
        {
          const uint64_t g = pass.groups[gi];
          {
            Arena area = l1a;
            area.base = area.top = areas == 2 ? scratch[items % 2] : scratch[0] + items % areas * area_bytes;
            ++items;
            area.limit = area.base + area_bytes;
            Epi epi{*this, op, chip, core, s, area, p};
            epi.identity = identity;
            epi.scales = scales;
            epi.biases = biases;
            epi.n_group = work.n_group;
            epi.n_groups = p.n_groups;
            epi.rope_rows = rope_rows;
            epi.all_dmas = !resident;
            if (by_group) epi.residual_dma = int(gi % hw.dmas);
            if (pi == last_pass)
              for (size_t k = 0; k < ahead.size(); ++k)
                if (item_of(pi, k) == std::pair{gi, sub}) epi.residual_rows = ahead[k];
            if ((op.epilogue == Epilogue::QKV || op.epilogue == Epilogue::Partial) && !resident)
              epi.store_dma = int(items % hw.dmas);
            const uint64_t rows = blocks[sub].second;
            Sums sums{Space::acc, engine_for(p, E, gi, 0, sub), region_addr(pi, gi), c_stride, hw.C * 4,
                      at == DType::int8 ? DType::int32 : DType::fp32};
            if (p.acc_reserve) {
              epi.transpose_acc = hw.acc_bytes - p.acc_reserve;
              epi.transpose_rows = p.acc_reserve / (hw.C * 4);
            } else {
              // Tiling reserved nothing because the epilogue moves the sums to L1 first
              // (Epi::finish): the item's region, on its engine, is then free.
              epi.transpose_acc = sums.addr;
              epi.transpose_engine = sums.engine;
              epi.transpose_rows = std::min<uint64_t>(hw.R, region / (hw.C * 4));
            }
            if (p.split == EngineSplit::K && std::min<uint64_t>(E, Q) > 1) {
              // Sum the engines' partial sums into L1 on the vector engine: engine 0's copied
              // out, then ((p0 + p1) + p2) + ... (a vector operand names one accumulator).
              const uint32_t parts = uint32_t(std::min<uint64_t>(E, Q));
              const uint64_t sum = area.take(rows * c_stride, 64, op.name + " split-K sum");
              for (uint32_t e = 0; e < parts; ++e) {
                for (uint64_t b = 0; b < p.group_blocks; ++b) {
                  const BlockCols bc = block_cols(p, g, b);
                  if (!bc.width) continue;
                  const uint64_t blk = region_addr(pi, gi) + b * hw.C * 4;
                  Instr v = vec(e ? Opcode::vadd : Opcode::vcvt, rows, bc.width);
                  operand(v, 0, Space::l1, sum + b * hw.C * 4, c_stride, DType::fp32);
                  if (e) {
                    operand(v, 1, Space::l1, sum + b * hw.C * 4, c_stride, DType::fp32);
                    operand(v, 2, Space::acc, blk, c_stride, sums.type, e);
                  } else {
                    operand(v, 1, Space::acc, blk, c_stride, sums.type, 0);
                    v.imm = 1.0f;
                  }
                  s.emit(v);
                }
              }
              sums = Sums{Space::l1, 0, sum, c_stride, hw.C * 4};
            }
            epi.run(sums, blocks[sub].first, rows, g);
          }
        }
      };
      // The items of a finished pass, emitted a few per k-block of the next pass: their
      // loads and stores then sit in the DMA queues between that pass's A blocks instead of
      // holding all of them back at once (a queue runs in order, and a store waits for the
      // vector engine; Llama-3-70B prefill o: 24,000 cycles without a matmul).
      std::vector<std::array<size_t, 3>> todo;
      size_t todo_next = 0;
      auto epilogue = [&](size_t pi) {
        const MatmulPass& pass = work.passes[pi];
        const size_t nb = row_blocks(p, pass, E).size();
        if (by_group) {
          for (size_t sub = 0; sub < nb; ++sub)
            for (size_t gi = 0; gi < pass.groups.size(); ++gi) todo.push_back({pi, gi, sub});
          return;
        }
        for (size_t gi : order[pi])
          for (size_t sub = 0; sub < nb; ++sub) todo.push_back({pi, gi, sub});
      };
      auto emit_items = [&](size_t n) {
        for (; n && todo_next < todo.size(); --n, ++todo_next)
          epilogue_item(todo[todo_next][0], todo[todo_next][1], todo[todo_next][2]);
      };
      size_t pending = SIZE_MAX;
      size_t spread_from = 0;  // the first item of the previous pass not yet emitted
      // Ring: the epilogue items of the previous pass that read a region go ahead of the
      // first matmul that overwrites it (the dependency tokens follow program order).
      auto drain = [&](uint64_t slot) {
        if (pending != SIZE_MAX) {
          epilogue(pending);
          pending = SIZE_MAX;
        }
        size_t last = 0;
        for (size_t j = todo_next; j < todo.size(); ++j)
          if (slot_of[todo[j][0]][todo[j][1]] == slot) last = j + 1;
        if (last > todo_next) emit_items(last - todo_next);
      };
      for (size_t pi = 0; pi < work.passes.size(); ++pi) {
        const MatmulPass& pass = work.passes[pi];
        const auto blocks = row_blocks(p, pass, E);
        // Per engine and (region, block): has a tile written it in this pass? The first
        // overwrites, later tiles add.
        std::vector<std::vector<char>> started(E, std::vector<char>(pass.groups.size() * p.group_blocks, 0));
        const std::vector<uint64_t> starts = k_block_starts(p, pass);
        for (size_t step = 0; step < starts.size(); ++step) {
          const uint64_t q0 = starts[step];
          if (step == 1 && pending != SIZE_MAX) {
            epilogue(pending);
            pending = SIZE_MAX;
          }
          if (step == 1) spread_from = todo_next;
          if (step >= 1 && resident) {
            // Resident A (decode) has no A blocks to make room for: all items at once.
            emit_items(todo.size() - todo_next);
          } else if (step >= 1) {
            // Evenly over the pass's k-blocks: one item a k-block from its start put the
            // residual rows' HBM traffic of o and down, or the stores of gate_up, beside the
            // A blocks in its first k-blocks (Llama-3-70B prefill gate_up 235,758 -> 234,357
            // cycles, down 136,489 -> 135,418).
            const size_t n = todo.size() - spread_from, last = starts.size() - 1;
            const size_t due = spread_from + (n * step + last - 1) / last;
            if (due > todo_next) emit_items(due - todo_next);
          }
          const uint64_t q1 = std::min(Q, q0 + p.k_block);
          // L1 offset of (row r of the block, reduction column c): ws row-major, os transposed.
          uint64_t a_base, a_stride;
          auto a_off = [&](uint64_t r, uint64_t c) { return os ? c * a_stride + r * ea : r * a_stride + c * ea; };
          if (resident) {
            a_stride = os ? work.rows * ea : p.K * ea;
            a_base = a_res + a_off(pass.row0 - work.row0, q0 * p.k_t);
          } else {
            a_stride = (os ? pass_rows(p, E) : kcols_max) * ea;
            // The A block of k-tiles [qs, qs + k_block) into a slot, split by rows over the DMA
            // engines: one engine's bytes per cycle (dma.bytes_per_cycle) is below what the
            // engines consume when A is reloaded for every weight chunk (prefill).
            auto load_a = [&](const MatmulPass& ps, uint64_t qs, uint64_t slot) {
              const uint64_t qe = std::min(Q, qs + p.k_block);
              const uint64_t kcs = (qe == Q ? p.K : qe * p.k_t) - qs * p.k_t;
              if (os) {  // kcs rows of A^T, split the same way
                const uint64_t parts = std::min<uint64_t>(hw.dmas, kcs);
                for (uint64_t d = 0, k0 = 0; d < parts; ++d) {
                  const uint64_t n = kcs * (d + 1) / parts - k0;
                  s.emit(dma({.load = true,
                              .unit = int(d),
                              .dst = {Space::l1, slot + k0 * a_stride},
                              .src = {a.tier, addr(a) + ((qs * p.k_t + k0) * M + ps.row0) * ea},
                              .len = ps.rows * ea,
                              .n1 = n,
                              .dst_stride1 = a_stride,
                              .src_stride1 = M * ea}));
                  k0 += n;
                }
                return;
              }
              const uint64_t parts = std::min<uint64_t>(hw.dmas, ps.rows);
              for (uint64_t d = 0, r0 = 0; d < parts; ++d) {
                const uint64_t n = ps.rows * (d + 1) / parts - r0;
                s.emit(dma({.load = true,
                            .unit = int(d),
                            .dst = {Space::l1, slot + r0 * a_stride},
                            .src = {a.tier, addr(a) + (ps.row0 + r0) * a_row + qs * p.k_t * ea},
                            .len = kcs * ea,
                            .n1 = n,
                            .dst_stride1 = a_stride,
                            .src_stride1 = a_row}));
                r0 += n;
              }
            };
            // Software pipelining: the loads of the next slots - 1 blocks (across pass
            // boundaries, so a pass does not start by waiting for its input) go ahead of this
            // block's matmuls, each once its slot's last reader is behind it (a_seq).
            const size_t D = a_slot.size();
            for (size_t j = a_issued; j < a_seq.size() && j < a_tiles + D; ++j) {
              ABlock& b = a_seq[j];
              if (b.load && !b.issued && b.issue <= a_tiles) {
                load_a(work.passes[b.pass], b.q0, a_slot[b.slot]);
                b.issued = true;
              }
            }
            while (a_issued < a_seq.size() && (!a_seq[a_issued].load || a_seq[a_issued].issued)) ++a_issued;
            for (const Instr& in : after_first_a) s.emit(in);
            after_first_a.clear();
            a_base = a_slot[a_seq[a_tiles++].slot];
          }
          auto load_ahead = [&](size_t k) {  // item k's residual rows into ahead[k]
            const auto [gi, sub] = item_of(pi, k);
            Epi epi{*this, op, chip, core, s, l1a, p};
            epi.all_dmas = true;
            if (by_group) epi.residual_dma = int(gi % hw.dmas);
            epi.x_rows(true, ahead[k], blocks[sub].first, blocks[sub].second, pass.groups[gi]);
          };
          if (pi == last_pass && step == starts.size() * 7 / 8)
            for (size_t k = 0; k < ahead.size(); ++k) load_ahead(k);
          // The residual rows of the last pass's remaining items go into the A slots its last
          // k-block does not read, each load behind the last matmul that reads its slot (the
          // emitter's tokens): with only the first items' rows ahead, Llama-3-70B prefill down
          // ended on rounds of load, add and store after its last matmul (125,970 -> 123,785
          // cycles; filling each slot as soon as no remaining k-block reads it: 123,806).
          if (pi == last_pass && step + 1 == starts.size() && last_pass > 0 && !resident &&
              op.epilogue == Epilogue::Residual) {
            const uint64_t cur = a_seq[a_tiles - 1].slot;
            const uint64_t item = (p.m_t * p.group_blocks * p.n_t * 4 + 63) / 64 * 64;
            const uint64_t slot_bytes = pass_rows(p, E) * kcols_max * ea;
            const size_t total = pass.groups.size() * blocks.size();
            for (size_t sl = 0; sl < a_slot.size(); ++sl) {
              for (uint64_t off = 0; sl != cur && off + item <= slot_bytes && ahead.size() < total; off += item) {
                ahead.push_back(a_slot[sl] + off);
                load_ahead(ahead.size() - 1);
              }
            }
          }
          for (size_t gi = 0; gi < pass.groups.size(); ++gi) {
            const uint64_t g = pass.groups[gi];
            const uint64_t chunk = wsm.next(s, hw);
            if (ring && step == 0) drain(slot_of[pi][gi]);
            const uint64_t chunk_first = packed_tile_offset(p, g, q0, 0, ew);
            for (uint64_t q = q0; q < q1; ++q) {
              for (uint64_t b = 0; b < p.group_blocks; ++b) {
                const BlockCols bc = block_cols(p, g, b);
                if (!bc.width) continue;
                const uint64_t tile = chunk + packed_tile_offset(p, g, q, b, ew) - chunk_first;
                for (size_t sub = 0; sub < blocks.size(); ++sub) {
                  const uint32_t e = engine_for(p, E, gi, q, sub);
                  const uint64_t ri = region_index(p, E, gi);
                  Instr mm;
                  mm.op = Opcode::matmul;
                  mm.unit = uint8_t(uint8_t(isa::Unit::mx0) + e);
                  mm.a_type = uint64_t(at);
                  mm.b_type = uint64_t(wt);
                  mm.dataflow = uint64_t(p.dataflow);
                  const size_t key = ri * p.group_blocks + b;
                  mm.accumulate = started[e][key] ? 1 : 0;
                  started[e][key] = 1;
                  mm.a_addr = a_base + a_off(blocks[sub].first - pass.row0, (q - q0) * p.k_t);
                  mm.a_stride = a_stride;
                  mm.b_addr = tile;
                  mm.b_stride = bc.width * ew;
                  mm.c_addr = region_addr(pi, gi) + b * hw.C * 4;
                  mm.c_stride = c_stride;
                  mm.m = blocks[sub].second;
                  mm.k = k_rows(p, q);
                  mm.n = bc.width;
                  expert_tile_predicate(*this, op, g, q, mm);
                  s.emit(mm);
                }
              }
            }
          }
        }
        if (pending != SIZE_MAX) epilogue(pending);
        emit_items(todo.size());
        pending = pi;
      }
      if (pending != SIZE_MAX) epilogue(pending);
      emit_items(todo.size());
      l1a.top = end_mark;
    }
  }
  end_phase(op.name);
}

}  // namespace tessera::compiler
