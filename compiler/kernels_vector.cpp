// Row-wise kernels on the vector engine: the embedding gather, the norms (with the
// residual add of an all-reduced partial sum folded in), per-token INT8 quantisation, and
// the top-1 of the logits.
// Rows are dealt in contiguous runs to the cores and processed in chunks that fit L1:
// load, compute, store, with the next chunk's load queued behind the current compute.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/numerics/fp.h"
#include "compiler/codegen.h"
#include "compiler/schedule.h"

namespace tessera::compiler {

using isa::DType;
using isa::Instr;
using isa::Opcode;
using isa::Space;

namespace {

// Rows [first, first + count) of `total` for core c of `cores`.
void core_rows(uint64_t total, uint32_t cores, uint32_t c, uint64_t& first, uint64_t& count) {
  const uint64_t base = total / cores, extra = total % cores;
  first = c * base + std::min<uint64_t>(c, extra);
  count = base + (c < extra ? 1 : 0);
}

// The rows of a norm in L1: x (FP32, rows H x 4 bytes apart) normalised into out (rows H x
// es(type) apart) and, when out2 is set, into out2 in type2; tmp holds rows x H FP32 (it may
// be out when type is FP32), st and st2 one FP32 per row.
struct NormRows {
  uint64_t x = 0, tmp = 0, st = 0, st2 = 0, gain = 0, bias = 0;
  uint64_t out = 0;
  DType type = DType::fp32;
  uint64_t out2 = 0;
  DType type2 = DType::fp32;
};

void normalise_rows(CoreStream& s, const hf::ModelConfig& m, uint64_t rows, const NormRows& r) {
  const uint64_t H = m.hidden_size;
  const float eps = float(m.norm_eps), inv_h = 1.0f / float(H);
  // Whole rows: d[i, j] = o(s1[i, j], s2), s2 one value per row (stride 4) or per column (0).
  auto rows_op = [&](Opcode o, uint64_t d, DType dt, uint64_t s1, uint64_t s2, uint64_t s2s) {
    Instr in = Codegen::vec(o, rows, H);
    Codegen::operand(in, 0, Space::l1, d, H * num::dtype_bytes(num::DType(dt)), dt);
    Codegen::operand(in, 1, Space::l1, s1, H * 4, DType::fp32);
    Codegen::operand(in, 2, Space::l1, s2, s2s, DType::fp32);
    s.emit(in);
  };
  // One FP32 per row: a row reduction of s1 (cols H), or in place (cols 1).
  auto per_row = [&](Opcode o, uint64_t cols, uint64_t d, uint64_t s1, float imm = 0, float imm2 = 0) {
    Instr in = Codegen::vec(o, rows, cols);
    Codegen::operand(in, 0, Space::l1, d, 4, DType::fp32);
    Codegen::operand(in, 1, Space::l1, s1, cols == 1 ? 4 : H * 4, DType::fp32);
    in.imm = imm;
    in.imm2 = imm2;
    s.emit(in);
  };
  const DType f32 = DType::fp32;
  if (m.norm == hf::NormKind::LayerNorm) {
    // ((x - mean) * 1/sqrt(var + eps)) * w + b
    per_row(Opcode::vrsum, H, r.st, r.x);
    per_row(Opcode::vscale, 1, r.st, r.st, inv_h, 0.0f);
    rows_op(Opcode::vsub_row, r.tmp, f32, r.x, r.st, 4);
    per_row(Opcode::vrsumsq, H, r.st2, r.tmp);
    per_row(Opcode::vscale, 1, r.st2, r.st2, inv_h, eps);
    per_row(Opcode::vrsqrt, 1, r.st2, r.st2);
    rows_op(Opcode::vmul_row, r.tmp, f32, r.tmp, r.st2, 4);
    rows_op(Opcode::vmul_col, r.tmp, f32, r.tmp, r.gain, 0);
    // INT8: the FP32 rows first (type FP32, out = tmp), then per-token quantisation.
    rows_op(Opcode::vadd_col, r.out, r.type, r.tmp, r.bias, 0);
    if (r.out2) rows_op(Opcode::vadd_col, r.out2, r.type2, r.tmp, r.bias, 0);
  } else {
    // (x * 1/sqrt(mean(x^2) + eps)) * w
    per_row(Opcode::vrsumsq, H, r.st, r.x);
    per_row(Opcode::vscale, 1, r.st, r.st, inv_h, eps);
    per_row(Opcode::vrsqrt, 1, r.st, r.st);
    rows_op(Opcode::vmul_row, r.tmp, f32, r.x, r.st, 4);
    rows_op(Opcode::vmul_col, r.out, r.type, r.tmp, r.gain, 0);
    if (r.out2) rows_op(Opcode::vmul_col, r.out2, r.type2, r.tmp, r.gain, 0);
  }
}

// A norm's gain (and LayerNorm's bias) in L1.
struct NormConstants {
  uint64_t gain = 0, bias = 0;
};

// From the tensors, or (a folded norm) from their copy in L2 at `staged`, the bias H x 4
// bytes after the gain.
NormConstants norm_constants(Codegen& cg, const Op& op, CoreStream& s, Arena& a, uint64_t staged = 0) {
  const uint64_t H = cg.g.model.hidden_size;
  NormConstants k;
  auto load = [&](int part, const char* what) {
    const Tensor& w = cg.t(op.inputs[size_t(1 + part)]);
    const Dma::End src = staged ? Dma::End{Space::l2, staged + uint64_t(part) * H * 4} : Dma::End{w.tier, cg.addr(w)};
    const uint64_t at = a.take(H * 4, 64, what);
    s.emit(Codegen::dma({.load = true, .unit = cg.dma_act(), .dst = {Space::l1, at}, .src = src, .len = H * 4}));
    return at;
  };
  k.gain = load(0, "norm gain");
  if (cg.g.model.norm == hf::NormKind::LayerNorm) k.bias = load(1, "norm bias");
  return k;
}

}  // namespace

// Per-token INT8 quantisation of `rows` FP32 rows of `cols` values at `src` (docs/numerics.md,
// section 10), from existing vector operations:
//   a = max(x, -x)                    vscale by -1, vmax          (exact)
//   m = max over the row of a + 2^-100 vrmax, vscale              (an all-zero row gets a
//                                                                  finite scale, not 1/0)
//   r = 127 * (1 / m)                 vrecip, vscale
//   q = int8(x * r)                   vmul_row, stored RNE and saturating (section 4)
//   s = m * (1/127)                   vscale: the dequantisation scale, one FP32 per row
// tmp holds rows x cols FP32; m and r are one FP32 per row. s overwrites m.
void quantise_rows(CoreStream& s, uint64_t rows, uint64_t cols, uint64_t src, uint64_t src_stride, uint64_t tmp,
                   uint64_t dst, uint64_t dst_stride, uint64_t m, uint64_t r) {
  auto v = [&](Opcode o, uint64_t c, uint64_t d, uint64_t ds, DType dt, uint64_t s1, uint64_t s1s, float imm = 0,
               float imm2 = 0, uint64_t s2 = 0, uint64_t s2s = ~uint64_t(0)) {
    Instr in = Codegen::vec(o, rows, c);
    Codegen::operand(in, 0, Space::l1, d, ds, dt);
    Codegen::operand(in, 1, Space::l1, s1, s1s, DType::fp32);
    if (s2s != ~uint64_t(0)) Codegen::operand(in, 2, Space::l1, s2, s2s, DType::fp32);
    in.imm = imm;
    in.imm2 = imm2;
    s.emit(in);
  };
  v(Opcode::vscale, cols, tmp, cols * 4, DType::fp32, src, src_stride, -1.0f, 0.0f);
  v(Opcode::vmax, cols, tmp, cols * 4, DType::fp32, src, src_stride, 0, 0, tmp, cols * 4);
  v(Opcode::vrmax, cols, m, 4, DType::fp32, tmp, cols * 4);
  v(Opcode::vscale, 1, m, 4, DType::fp32, m, 4, 1.0f, 0x1p-100f);
  v(Opcode::vrecip, 1, r, 4, DType::fp32, m, 4);
  v(Opcode::vscale, 1, r, 4, DType::fp32, r, 4, 127.0f, 0.0f);
  v(Opcode::vmul_row, cols, dst, dst_stride, DType::int8, src, src_stride, 0, 0, r, 4);
  v(Opcode::vscale, 1, m, 4, DType::fp32, m, 4, 1.0f / 127.0f, 0.0f);
}


void Codegen::emit_quantize(const Op& op) {
  const Tensor& in = t(op.inputs[0]);
  const Tensor& out = t(op.outputs[0]);
  const Tensor& sc = t(op.row_scale);
  const uint64_t M = in.shape[0], K = in.shape[1];
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      uint64_t r0, n;
      core_rows(M, hw.cores, core, r0, n);
      if (!n) continue;
      CoreStream& s = cs(chip, core);
      Arena& a = l1_of(chip, core);
      const uint64_t per_row = K * (4 + 4 + 1) + 8 + 64;
      const uint64_t chunk = std::max<uint64_t>(1, std::min(n, (a.limit - a.top) / 2 / per_row));
      uint64_t bufs[2][5];
      for (auto& b : bufs) {
        b[0] = a.take(chunk * K * 4, 64, "FP32 rows");
        b[1] = a.take(chunk * K * 4, 64, "absolute values");
        b[2] = a.take(chunk * K, 64, "INT8 rows");
        b[3] = a.take(chunk * 4, 64, "row scales");
        b[4] = a.take(chunk * 4, 64, "row multipliers");
      }
      record_l1(chip, core, bufs[0][0], a.top - bufs[0][0], "per-token quantisation rows (double-buffered)");
      for (uint64_t c0 = 0, ci = 0; c0 < n; c0 += chunk, ++ci) {
        const uint64_t rows = std::min(chunk, n - c0), first = r0 + c0;
        const uint64_t* b = bufs[ci % 2];
        s.emit(dma({.load = true,
                    .unit = dma_act(),
                    .dst = {Space::l1, b[0]},
                    .src = {in.tier, addr(in) + first * K * 4},
                    .len = rows * K * 4}));
        quantise_rows(s, rows, K, b[0], K * 4, b[1], b[2], K, b[3], b[4]);
        s.emit(dma({.load = false,
                    .unit = dma_act(),
                    .dst = {out.tier, addr(out) + first * K},
                    .src = {Space::l1, b[2]},
                    .len = rows * K}));
        s.emit(dma({.load = false,
                    .unit = dma_act(),
                    .dst = {sc.tier, addr(sc) + first * 4},
                    .src = {Space::l1, b[3]},
                    .len = rows * 4}));
      }
    }
  }
  end_phase(op.name);
}

void Codegen::x_rows(CoreStream& s, bool load, int unit, uint64_t first, uint64_t rows, uint64_t l1) const {
  const Tensor& x = t("x");
  const uint64_t row = x.bytes / x.shape[0];
  x_slice(s, load, unit, first, rows, 0, row, l1, row, true);
}

void Codegen::x_slice(CoreStream& s, bool load, int unit, uint64_t first, uint64_t rows, uint64_t col, uint64_t width,
                      uint64_t l1, uint64_t l1_stride, bool runs) const {
  const Tensor& x = t("x");
  const uint64_t row = x.bytes / x.shape[0], home = home_rows(x);
  auto part = [&](Dma::End mem, uint64_t pitch, uint64_t n, uint64_t at) {
    const Dma::End l1_end{Space::l1, at};
    Dma d{.load = load, .unit = unit, .dst = load ? l1_end : mem, .src = load ? mem : l1_end, .len = n * width};
    if (!runs || pitch != width || l1_stride != width) {
      d.len = width;
      d.n1 = n;
      d.dst_stride1 = load ? l1_stride : pitch;
      d.src_stride1 = load ? pitch : l1_stride;
    }
    s.emit(dma(d));
  };
  const uint64_t in_home = first < home ? std::min(rows, home - first) : 0;
  if (in_home) part({x.tier, addr(x) + first * row_pitch(x) + col}, row_pitch(x), in_home, l1);
  if (rows > in_home)
    part({Space::l2, x.l2_addr + (first + in_home - home) * row + col}, row, rows - in_home, l1 + in_home * l1_stride);
}

void Codegen::emit_embed(const Op& op) {
  const hf::ModelConfig& m = g.model;
  const uint64_t H = m.hidden_size, M = g.rows(), T = g.tokens;
  const Tensor& emb = t(op.inputs[0]);
  const bool learned = op.inputs.size() > 1;
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      uint64_t r0, n;
      core_rows(M, hw.cores, core, r0, n);
      if (!n) continue;
      CoreStream& s = cs(chip, core);
      Arena& a = l1_of(chip, core);
      const uint64_t per_row = H * (2 + 2 + 4);
      const uint64_t chunk = std::max<uint64_t>(1, std::min(n, (a.limit - a.top) / 2 / per_row));
      uint64_t bufs[2][3];
      for (auto& b : bufs) {
        b[0] = a.take(chunk * H * 2, 64, "embedding rows");
        b[1] = a.take(chunk * H * 2, 64, "position rows");
        b[2] = a.take(chunk * H * 4, 64, "residual rows");
      }
      record_l1(chip, core, bufs[0][0], a.top - bufs[0][0], "embedding rows (double-buffered)");
      for (uint64_t c0 = 0, ci = 0; c0 < n; c0 += chunk, ++ci) {
        const uint64_t rows = std::min(chunk, n - c0);
        const uint64_t* b = bufs[ci % 2];
        for (uint64_t i = 0; i < rows; ++i) {
          const uint64_t r = r0 + c0 + i, sq = r / T, tk = r % T;
          int64_t id = 0;
          if (!opt.tokens.empty()) id = opt.tokens.at(sq).at(tk);
          s.emit(dma({.load = true,
                      .unit = dma_act(),
                      .dst = {Space::l1, b[0] + i * H * 2},
                      .src = {emb.tier, addr(emb) + uint64_t(id) * H * 2},
                      .len = H * 2}));
        }
        Instr v = vec(learned ? Opcode::vadd : Opcode::vcvt, rows, H);
        operand(v, 0, Space::l1, b[2], H * 4, DType::fp32);
        operand(v, 1, Space::l1, b[0], H * 2, DType::bf16);
        if (learned) {
          const Tensor& pe = t(op.inputs[1]);
          // Positions of the chunk's rows, one contiguous run per sequence.
          for (uint64_t i = 0; i < rows;) {
            const uint64_t r = r0 + c0 + i, tk = r % T, cnt = std::min(rows - i, T - tk);
            s.emit(dma({.load = true,
                        .unit = dma_act(),
                        .dst = {Space::l1, b[1] + i * H * 2},
                        .src = {pe.tier, addr(pe) + (g.position + tk) * H * 2},
                        .len = cnt * H * 2}));
            i += cnt;
          }
          operand(v, 2, Space::l1, b[1], H * 2, DType::bf16);
        } else {
          v.imm = 1.0f;
        }
        s.emit(v);
        x_rows(s, false, dma_act(), r0 + c0, rows, b[2]);
      }
    }
  }
  end_phase(op.name);
}

void Codegen::emit_norm(const Op& op, int add_input, bool norm) {
  const hf::ModelConfig& m = g.model;
  const uint64_t H = m.hidden_size, T = g.tokens;
  const bool head = op.name == "final_norm";  // the last row of each sequence only
  const uint64_t M = head ? g.batch : g.rows();
  const Tensor& x = t("x");
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      uint64_t r0, n;
      core_rows(M, hw.cores, core, r0, n);
      if (!n) continue;
      CoreStream& s = cs(chip, core);
      Arena& a = l1_of(chip, core);
      const NormConstants k = norm ? norm_constants(*this, op, s, a) : NormConstants{};
      const Tensor* outp = norm ? &t(op.outputs[0]) : nullptr;
      const DType ot = outp ? outp->dtype : DType::fp32;
      const uint64_t eo = es(ot);
      const bool int8 = ot == DType::int8;
      if (int8 && op.row_scale < 0) throw std::logic_error("norm " + op.name + ": INT8 output without row scales");
      // A second output (the MoE router's BF16 input, precision.cpp): the same normalised
      // rows in another format.
      const Tensor* out2 = norm && op.outputs.size() > 1 ? &t(op.outputs[1]) : nullptr;
      const DType ot2 = out2 ? out2->dtype : DType::fp32;
      const uint64_t eo2 = out2 ? es(ot2) : 0;
      const uint64_t per_row = H * (4 + 4 + 4 + eo + eo2) + 64;
      const uint64_t chunk = std::max<uint64_t>(1, std::min(n, (a.limit - a.top) / 2 / per_row));
      uint64_t bufs[2][7];
      for (auto& b : bufs) {
        b[0] = a.take(chunk * H * 4, 64, "residual rows");
        b[1] = a.take(chunk * H * 4, 64, "partial-sum rows");
        b[2] = a.take(chunk * H * 4, 64, "normalised rows");
        b[3] = a.take(chunk * H * eo, 64, "norm output rows");
        b[4] = a.take(chunk * 4, 64, "row statistic");
        b[5] = a.take(chunk * 4, 64, "row statistic");
        b[6] = out2 ? a.take(chunk * H * eo2, 64, "second norm output rows") : 0;
      }
      record_l1(chip, core, bufs[0][0], a.top - bufs[0][0], std::string(norm ? "norm" : "residual") + " rows (double-buffered)");
      // With several chunks a chunk's rows come in one chunk ahead of its vector work, split
      // over every DMA engine, and the results leave on the last engine. One engine keeps too
      // few bytes in flight for HBM's latency (Llama-3-70B prefill norms: x at 80 % of the
      // HBM peak), and a load queued behind the previous chunk's store waits for the vector
      // engine (18,377 cycles when rows and results shared one queue).
      const bool ahead = n > chunk && hw.dmas > 1;
      // f(engine, first row, rows) for each engine's share of `rows` (all on one engine
      // without `ahead`).
      auto per_engine = [&](uint64_t rows, auto&& f) {
        const uint64_t parts = ahead ? std::min<uint64_t>(hw.dmas, rows) : 1;
        for (uint64_t d = 0, i = 0; d < parts; ++d) {
          const uint64_t cnt = rows * (d + 1) / parts - i;
          f(ahead ? int(d) : dma_act(), i, cnt);
          i += cnt;
        }
      };
      auto load_chunk = [&](uint64_t c0, uint64_t ci) {
        const uint64_t rows = std::min(chunk, n - c0);
        const uint64_t* b = bufs[ci % 2];
        const uint64_t first = r0 + c0;
        if (head && x.l2_rows) {  // one row a transfer: the rows may lie in both parts of x
          for (uint64_t i = 0; i < rows; ++i) x_rows(s, true, dma_act(), (first + i + 1) * T - 1, 1, b[0] + i * H * 4);
        } else if (head) {  // row s of the chunk is the last token of sequence s
          s.emit(dma({.load = true,
                      .unit = dma_act(),
                      .dst = {Space::l1, b[0]},
                      .src = {x.tier, addr(x) + ((first + 1) * T - 1) * row_pitch(x)},
                      .len = H * 4,
                      .n1 = rows,
                      .dst_stride1 = H * 4,
                      .src_stride1 = T * row_pitch(x)}));
        } else {
          per_engine(rows, [&](int e, uint64_t i, uint64_t cnt) {
            x_rows(s, true, e, first + i, cnt, b[0] + i * H * 4);
          });
        }
        if (add_input >= 0) {
          const Tensor& y = t(add_input);
          per_engine(rows, [&](int e, uint64_t i, uint64_t cnt) {
            s.emit(dma({.load = true,
                        .unit = e,
                        .dst = {Space::l1, b[1] + i * H * 4},
                        .src = {y.tier, addr(y) + (first + i) * H * 4},
                        .len = cnt * H * 4}));
          });
        }
      };
      load_chunk(0, 0);
      for (uint64_t c0 = 0, ci = 0; c0 < n; c0 += chunk, ++ci) {
        const uint64_t rows = std::min(chunk, n - c0);
        const uint64_t* b = bufs[ci % 2];
        const uint64_t first = r0 + c0;
        if (c0 + chunk < n) load_chunk(c0 + chunk, ci + 1);
        if (add_input >= 0) {
          Instr v = vec(Opcode::vadd, rows, H);
          operand(v, 0, Space::l1, b[0], H * 4, DType::fp32);
          operand(v, 1, Space::l1, b[0], H * 4, DType::fp32);
          operand(v, 2, Space::l1, b[1], H * 4, DType::fp32);
          s.emit(v);
          per_engine(rows, [&](int e, uint64_t i, uint64_t cnt) {
            x_rows(s, false, e, first + i, cnt, b[0] + i * H * 4);
          });
        }
        if (!norm) continue;
        normalise_rows(s, m, rows,
                       {.x = b[0],
                        .tmp = b[2],
                        .st = b[4],
                        .st2 = b[5],
                        .gain = k.gain,
                        .bias = k.bias,
                        .out = int8 ? b[2] : b[3],
                        .type = int8 ? DType::fp32 : ot,
                        .out2 = out2 ? b[6] : 0,
                        .type2 = ot2});
        if (int8) {
          // b[1] (the partial sums, added above) is free; b[4], b[5] hold the row scales.
          quantise_rows(s, rows, H, b[2], H * 4, b[1], b[3], H, b[4], b[5]);
          const Tensor& sc = t(op.row_scale);
          s.emit(dma({.load = false,
                      .unit = dma_act(),
                      .dst = {sc.tier, addr(sc) + first * 4},
                      .src = {Space::l1, b[4]},
                      .len = rows * 4}));
        }
        // Split like the loads: on one engine the store held that engine's next load back.
        per_engine(rows, [&](int e, uint64_t i, uint64_t cnt) {
          s.emit(dma({.load = false,
                      .unit = e,
                      .dst = {outp->tier, addr(*outp) + (first + i) * H * eo},
                      .src = {Space::l1, b[3] + i * H * eo},
                      .len = cnt * H * eo}));
        });
        if (out2)
          s.emit(dma({.load = false,
                      .unit = dma_act(),
                      .dst = {out2->tier, addr(*out2) + first * H * eo2},
                      .src = {Space::l1, b[6]},
                      .len = rows * H * eo2}));
      }
    }
  }
  end_phase(op.name);
}

void Codegen::emit_folded_norm(const Op& op, uint32_t chip, uint32_t core, uint64_t first, uint64_t rows,
                               uint64_t dst) {
  const uint64_t H = g.model.hidden_size;
  CoreStream& s = cs(chip, core);
  Arena& a = l1_of(chip, core);
  const NormConstants k = norm_constants(*this, op, s, a, norm_l2.at(&op));
  const uint64_t xr = a.take(rows * H * 4, 64, op.name + " residual rows");
  const uint64_t tmp = a.take(rows * H * 4, 64, op.name + " normalised rows");
  const uint64_t st = a.take(rows * 8, 64, op.name + " row statistics");
  record_l1(chip, core, k.gain, a.top - k.gain, op.name + " (folded): gain, residual and normalised rows");
  // On the other engine than the gain's, so the two latencies overlap (L2 and HBM).
  x_rows(s, true, hw.dmas > 1 ? 0 : dma_act(), first, rows, xr);
  normalise_rows(s, g.model, rows,
                 {.x = xr, .tmp = tmp, .st = st, .st2 = st + rows * 4, .gain = k.gain, .bias = k.bias, .out = dst,
                  .type = t(op.outputs[0]).dtype});
}

void Codegen::stage_norm(const Op& op, uint32_t chip, uint32_t core, Arena& l1a) {
  std::vector<uint32_t> busy;
  for (uint32_t c = 0; c < hw.cores; ++c)
    if (core_work(op.plan, c, hw.engines).active) busy.push_back(c);
  const uint64_t rank = uint64_t(std::find(busy.begin(), busy.end(), core) - busy.begin());
  const uint64_t bytes = g.model.hidden_size * 4, slice = (bytes + busy.size() * 64 - 1) / (busy.size() * 64) * 64;
  const uint64_t lo = std::min(bytes, rank * slice), n = std::min(bytes, lo + slice) - lo;
  if (!n) return;
  const uint64_t here = layer;
  layer = staging_layer;
  // Not on the engine of the epilogue's loads and stores.
  const int unit = hw.dmas > 1 ? 0 : dma_act();
  // Through the core's L1 (a load, then a store on the same in-order engine) rather than one
  // HBM-to-L2 copy: the RTL core's DMA engine moves between L1 and L2/HBM only (docs/rtl.md),
  // and compiled tiny programs must co-simulate.
  const size_t parts = g.model.norm == hf::NormKind::LayerNorm ? 2u : 1u;
  const uint64_t bounce = l1a.take(parts * n, 64, staging->name + " gain slice (to L2)");
  for (size_t part = 0; part < parts; ++part) {
    const Tensor& w = t(staging->inputs[1 + part]);
    cs(chip, core).emit(dma({.load = true,
                             .unit = unit,
                             .dst = {Space::l1, bounce + part * n},
                             .src = {w.tier, addr(w) + lo},
                             .len = n}));
    cs(chip, core).emit(dma({.load = false,
                             .unit = unit,
                             .dst = {Space::l2, norm_l2.at(staging) + part * bytes + lo},
                             .src = {Space::l1, bounce + part * n},
                             .len = n}));
  }
  layer = here;
}

void Codegen::emit_top1(const Op& op) {
  const Tensor& lg = t(op.inputs[0]);
  const Tensor& top = t(op.outputs[0]);
  const uint64_t V = lg.shape[1], B = lg.shape[0];
  // vtopk reads at most 65535 columns: the vocabulary slice in runs, one (value, index) per
  // run; the runner merges the runs and the chips (largest value, lowest index on ties).
  const uint64_t run = std::min<uint64_t>(V, 32768);
  const uint64_t runs = (V + run - 1) / run;
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      uint64_t r0, n;
      core_rows(B, hw.cores, core, r0, n);
      if (!n) continue;
      CoreStream& s = cs(chip, core);
      Arena& a = l1_of(chip, core);
      // Rows per chunk: every run of a chunk's rows has its own buffer (the loads run ahead).
      const uint64_t chunk =
          std::max<uint64_t>(1, std::min(n, (a.limit - a.top) / 2 / (runs * (run * 4 + 64) + 8 * runs + 64)));
      for (uint64_t c0 = 0; c0 < n; c0 += chunk) {
        const uint64_t rows = std::min(chunk, n - c0);
        const uint64_t res = a.take(rows * runs * 8, 64, "top-1 results");
        for (uint64_t k = 0; k < runs; ++k) {
          const uint64_t cols = std::min(run, V - k * run);
          const uint64_t buf = a.take(rows * cols * 4, 64, "logit rows");
          // A run's columns split over the DMA engines: on one, the four 128-KiB runs of a
          // 128,256-word vocabulary came in one after the other at one engine's rate
          // (Llama-3-8B decode top1: 1,211 cycles, HBM idle).
          const uint64_t parts = std::min<uint64_t>(hw.dmas, cols);
          for (uint64_t d = 0, j0 = 0; d < parts; ++d) {
            const uint64_t j1 = cols * (d + 1) / parts;
            s.emit(dma({.load = true,
                        .unit = int(d),
                        .dst = {Space::l1, buf + j0 * 4},
                        .src = {lg.tier, addr(lg) + ((r0 + c0) * V + k * run + j0) * 4},
                        .len = (j1 - j0) * 4,
                        .n1 = rows,
                        .dst_stride1 = cols * 4,
                        .src_stride1 = V * 4}));
            j0 = j1;
          }
          Instr v = vec(Opcode::vtopk, rows, cols);
          operand(v, 0, Space::l1, res + k * 8, runs * 8, DType::fp32);
          operand(v, 1, Space::l1, buf, cols * 4, DType::fp32);
          v.iarg = 1;
          s.emit(v);
        }
        s.emit(dma({.load = false,
                    .unit = dma_act(),
                    .dst = {top.tier, addr(top) + (r0 + c0) * runs * 8},
                    .src = {Space::l1, res},
                    .len = rows * runs * 8}));
        a.reset();
      }
    }
  }
  end_phase(op.name);
}

}  // namespace tessera::compiler
