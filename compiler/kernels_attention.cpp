// Causal (GQA) attention over the paged KV cache.
//
// Work units are (sequence, KV head, block of query positions); a unit's rows are the
// query heads that share the KV head, position-major, so one K^T page is the stationary
// operand for all of them. Units go to the least loaded core (by keys x rows), and a core
// runs its units on its engines in turn. Per unit:
//   S  = Q K^T page by page (weight-stationary: K^T page [head_dim x P] stationary, the
//        unit's rows streamed), scaled into an FP32 row block in L1;
//   causal mask (vmask; prefill only) or the sliding window (vfill -inf; decode);
//   P  = softmax(S) in six vector instructions, written in the activation format;
//   O  = P V page by page, accumulated in one accumulator region;
//   O  -> the attention output rows of its heads.
// A unit's K^T and V pages stream through two rings of L1 slots (one DMA engine each),
// issued ahead of its matmuls. Decode keeps three units' buffers in flight; prefill takes
// fewer sets when that gives a unit more query rows (a loaded page streamed by more rows).
#include <algorithm>
#include <cmath>

#include "common/numerics/fp.h"
#include "compiler/codegen.h"
#include "compiler/layout.h"

namespace tessera::compiler {

using isa::DType;
using isa::Instr;
using isa::Opcode;
using isa::Space;

void Codegen::emit_attention(const Op& op) {
  const hf::ModelConfig& m = g.model;
  const uint64_t T = g.tokens, B = g.batch, KV = g.kv_heads, G = g.heads / g.kv_heads, hd = m.head_dim;
  const uint64_t P = g.page_tokens, pos0 = g.position;
  const DType at = t("q").dtype, kt = g.precision.kv;  // q: the activations' format (KV format under INT8)
  // The probabilities P stay BF16 when activations are FP8: they span [0, 1] where E4M3
  // keeps only 3 mantissa bits and flushes below 2^-9 (docs/compiler.md, "Precision policy").
  const DType pt = at != DType::int8 && es(at) == 1 && hw.supports(DType::bf16) ? DType::bf16 : at;
  const uint64_t ea = es(at), ek = es(kt), ep = es(pt);
  // The output rows: the activations' format, or FP32 for a per-token INT8 quantize op.
  const DType ot = t(op.outputs[0]).dtype;
  const uint64_t eo = es(ot);
  // INT8 attention (INT8 KV cache): S = (q8 K8^T) * s_q[row] * s_k[key]; P' = P * s_v[key] is
  // quantised per row (s_p = max P' / 127, P' >= 0); O = (P'8 V8) * s_p[row]
  // (docs/numerics.md, section 10).
  const bool i8 = at == DType::int8;
  const uint32_t E = hw.engines;
  const bool gpt2 = m.architecture == hf::Architecture::GPT2;
  const float scale = gpt2 ? 1.0f / float(std::sqrt(double(hd))) : float(std::pow(double(hd), -0.5));
  const Tensor& q = t("q");
  const Tensor& att = t(op.outputs[0]);
  const uint64_t pool = addr(t("layer.k_cache"));
  const uint64_t keys_max = pos0 + T;
  const uint64_t hd_blocks = (hd + hw.C - 1) / hw.C;
  const uint64_t scratch = hw.l1_bytes - g.ring_slot * g.ring_slots;
  // Units in flight per core: each has its own Q, score and probability buffers, so the
  // vector engine's softmax of one overlaps the matmuls of the others.
  // Prefill takes one set when that is what lets a unit have more rows: a K^T or V page
  // loaded into an engine is then streamed by up to matrix.rows query rows, which matters
  // more than overlapping units (Llama-3-70B, 2048 tokens: the attention phase 578k cycles
  // with 3 sets of 64 rows, 281k with 1 set of 256).
  uint64_t kSets = 3;

  // Positions per query block: rows G x tq within the streamed extent and one accumulator
  // third, and the block's FP32 scores and probabilities within a third of the scratch.
  uint64_t tq = T;
  auto fits = [&](uint64_t n) {
    const uint64_t rows = n * G;
    const uint64_t lk = keys_max + P;
    const uint64_t l1 = rows * lk * (4 + ep) + rows * hd * (ea + eo) + 4 * hd * P * ek + rows * 16 +
                        (i8 ? rows * 12 + lk * 8 + 256 : 0);
    const uint64_t accb = rows * hw.C * 4 * 2 + rows * hd_blocks * hw.C * 4;
    // Every engine holds two score regions and one output region (accb) whatever the sets.
    return rows <= hw.max_stream && accb <= hw.acc_bytes && accb * kSets <= hw.acc_bytes * E &&
           l1 * kSets <= scratch * 3 / 4;
  };
  while (tq > 1 && !fits(tq)) tq = (tq + 1) / 2;
  if (T > 1 && tq < T) {
    kSets = 1;
    const uint64_t three = tq;
    while (tq < T && fits(std::min(T, tq * 2))) tq = std::min(T, tq * 2);
    if (tq == three) kSets = 3;
  }
  if (!fits(tq))
    throw InputError("attention: one query position (" + std::to_string(G) + " heads) over " +
                     std::to_string(keys_max) + " keys does not fit the L1 (" + std::to_string(scratch) +
                     " bytes beside the weight ring) and accumulators of " + hw.name);
  const uint64_t mq_max = tq * G;
  const uint64_t blocks = (T + tq - 1) / tq;

  struct Unit {
    uint64_t s, j, t0, n, cost;
  };
  std::vector<Unit> units;
  for (uint64_t s = 0; s < B; ++s)
    for (uint64_t j = 0; j < KV; ++j)
      for (uint64_t qb = 0; qb < blocks; ++qb) {
        const uint64_t t0 = qb * tq, n = std::min(tq, T - t0);
        units.push_back({s, j, t0, n, (pos0 + t0 + n) * n * G + 1000});
      }
  // Longest first to the least loaded core (ties: lowest core), a deterministic LPT.
  std::vector<size_t> order(units.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return units[a].cost > units[b].cost; });
  std::vector<std::vector<size_t>> per_core(hw.cores);
  std::vector<uint64_t> load(hw.cores, 0);
  for (size_t i : order) {
    const uint32_t c = uint32_t(std::min_element(load.begin(), load.end()) - load.begin());
    per_core[c].push_back(i);
    load[c] += units[i].cost;
  }
  for (auto& v : per_core) std::sort(v.begin(), v.end());
  phase_macs += 0;
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      if (per_core[core].empty()) continue;
      CoreStream& s = cs(chip, core);
      Arena& a = l1_of(chip, core);
      const uint64_t lk_max = keys_max + P;
      // kSets sets of unit buffers (at most 3), used by consecutive units in turn.
      struct Bufs {
        uint64_t qb, sc, pr, mx, sm, o;
        uint64_t qs = 0, ks = 0, vs = 0, ps = 0, pm = 0;  // INT8: q, key, value, P row scales
      } bufs[3];
      for (uint64_t bi = 0; bi < kSets; ++bi) {
        Bufs& b = bufs[bi];
        b.qb = a.take(mq_max * hd * ea, 64, "attention Q rows");
        b.sc = a.take(mq_max * lk_max * 4, 64, "attention scores");
        b.pr = a.take(mq_max * lk_max * ep, 64, "attention probabilities");
        b.mx = a.take(mq_max * 4, 64, "row max");
        b.sm = a.take(mq_max * 4, 64, "row sum");
        b.o = a.take(mq_max * hd * eo, 64, "attention output rows");
        if (i8) {
          b.qs = a.take(mq_max * 4, 64, "q scales");
          b.ks = a.take(lk_max * 4, 64, "key scales");
          b.vs = a.take(lk_max * 4, 64, "value scales");
          b.ps = a.take(mq_max * 4, 64, "P row scales");
          b.pm = a.take(mq_max * 4, 64, "P row multipliers");
        }
      }
      // K^T and V pages stream through a ring of slots: a unit's page loads are issued
      // together, ahead of its matmuls, and the next unit's while this one computes.
      const uint64_t ring = std::clamp<uint64_t>((a.limit - a.top) / 2 / (2 * hd * P * ek), 2, 32);
      const uint64_t kring = a.take(ring * hd * P * ek, 64, "K^T page ring");
      const uint64_t vring = a.take(ring * hd * P * ek, 64, "V page ring");
      record_l1(chip, core, bufs[0].qb, a.top - bufs[0].qb,
                "attention Q, scores, probabilities (x" + std::to_string(kSets) + "), K^T/V page rings of " +
                    std::to_string(ring));
      // Accumulators: per engine, two score regions and one output region.
      std::vector<uint64_t> s_acc[2], o_acc;
      for (uint32_t e = 0; e < E; ++e) {
        Arena& ac = acc_of(chip, core, e);
        for (auto& v : s_acc) v.push_back(ac.take(mq_max * hw.C * 4, hw.C * 4, "attention scores"));
        o_acc.push_back(ac.take(mq_max * hd_blocks * hw.C * 4, hw.C * 4, "attention output"));
      }
      uint64_t page_i = 0;
      const size_t nu = per_core[core].size();
      std::vector<uint64_t> first_pages(nu, 0);
      // Software pipelining over units: the next unit's front (loads, S, softmax) is emitted
      // before this unit's back (P V, output), so an engine computes the next S while the
      // vector engine works on this softmax. That needs two buffer sets and rings that hold
      // two units' pages (program order is the semantics: nothing may be overwritten early).
      const uint64_t max_pages = (keys_max + P - 1) / P + 1;
      const size_t lag = kSets >= 2 && ring >= 2 * max_pages ? 1 : 0;
      struct Geo {
        uint64_t mq, k_hi, k_lo, pg_lo, pg_hi, c0, lk;
      };
      auto geo = [&](const Unit& u) {
        Geo x;
        x.mq = u.n * G;
        x.k_hi = pos0 + u.t0 + u.n;
        x.k_lo = 0;
        if (T == 1 && m.sliding_window && x.k_hi > *m.sliding_window) x.k_lo = x.k_hi - *m.sliding_window;
        x.pg_lo = x.k_lo / P;
        x.pg_hi = (x.k_hi - 1) / P;
        x.c0 = x.pg_lo * P;
        x.lk = x.k_hi - x.c0;
        return x;
      };
      auto front = [&](size_t ui) {
        const Unit& u = units[per_core[core][ui]];
        const Bufs& b = bufs[ui % kSets];
        const uint32_t e = uint32_t(ui % E);
        const uint8_t mx = uint8_t(uint8_t(isa::Unit::mx0) + e);
        const auto [mq, k_hi, k_lo, pg_lo, pg_hi, c0, lk] = geo(u);
        // Q rows: [token][query head][head_dim] of this (sequence, KV head).
        s.emit(dma({.load = true,
                    .unit = dma_act(),
                    .dst = {Space::l1, b.qb},
                    .src = {q.tier, addr(q) + ((u.s * KV + u.j) * T + u.t0) * G * hd * ea},
                    .len = mq * hd * ea}));
        if (i8) {
          const Tensor& qs = t("q.row_scale");
          s.emit(dma({.load = true,
                      .unit = dma_act(),
                      .dst = {Space::l1, b.qs},
                      .src = {qs.tier, addr(qs) + ((u.s * KV + u.j) * T + u.t0) * G * 4},
                      .len = mq * 4}));
        }
        // The unit's K^T and V pages into the rings: each ring has its own DMA engine, so a
        // slot is rewritten by the engine that wrote it (no DMA-to-DMA tokens).
        first_pages[ui] = page_i;
        for (uint64_t pg = pg_lo, i = page_i; pg <= pg_hi; ++pg, ++i) {
          const uint64_t n = std::min(P, k_hi - pg * P);
          const uint64_t page = pool + kv_page(g, u.s, u.j, pg) * g.page_bytes;
          s.emit(dma({.load = true,
                      .unit = 0,
                      .dst = {Space::l1, kring + (i % ring) * hd * P * ek},
                      .src = {Space::hbm, page},
                      .len = n * ek,
                      .n1 = hd,
                      .dst_stride1 = n * ek,
                      .src_stride1 = P * ek}));
          s.emit(dma({.load = true,
                      .unit = int(hw.dmas - 1),
                      .dst = {Space::l1, vring + (i % ring) * hd * P * ek},
                      .src = {Space::hbm, page + hd * P * ek},
                      .len = n * hd * ek}));
          if (i8) {
            for (const auto& [buf, off] : {std::pair{b.ks, uint64_t(0)}, std::pair{b.vs, P * 4}})
              s.emit(dma({.load = true,
                          .unit = dma_act(),
                          .dst = {Space::l1, buf + (pg * P - c0) * 4},
                          .src = {Space::hbm, page + 2 * hd * P * ek + off},
                          .len = n * 4}));
          }
        }
        // S = Q K^T, page by page, scaled into the score rows.
        for (uint64_t pg = pg_lo; pg <= pg_hi; ++pg, ++page_i) {
          const uint64_t n = std::min(P, k_hi - pg * P);
          const uint64_t ktile = kring + (page_i % ring) * hd * P * ek;
          const uint64_t sa = s_acc[page_i % 2][e];
          for (uint64_t k0 = 0; k0 < hd; k0 += hw.R) {
            Instr mm;
            mm.op = Opcode::matmul;
            mm.unit = mx;
            mm.a_type = uint64_t(at);
            mm.b_type = uint64_t(kt);
            mm.dataflow = uint64_t(isa::Dataflow::ws);
            mm.accumulate = k0 ? 1 : 0;
            mm.a_addr = b.qb + k0 * ea;
            mm.a_stride = hd * ea;
            mm.b_addr = ktile + k0 * n * ek;
            mm.b_stride = n * ek;
            mm.c_addr = sa;
            mm.c_stride = hw.C * 4;
            mm.m = mq;
            mm.k = std::min(hw.R, hd - k0);
            mm.n = n;
            s.emit(mm);
          }
          if (i8) {  // INT32 sums times the q scales; key scales and 1/sqrt(hd) below
            Instr v = vec(Opcode::vmul_row, mq, n);
            operand(v, 0, Space::l1, b.sc + (pg * P - c0) * 4, lk * 4, DType::fp32);
            operand(v, 1, Space::acc, sa, hw.C * 4, DType::int32, e);
            operand(v, 2, Space::l1, b.qs, 4, DType::fp32);
            s.emit(v);
          } else {
            Instr v = vec(Opcode::vscale, mq, n);
            operand(v, 0, Space::l1, b.sc + (pg * P - c0) * 4, lk * 4, DType::fp32);
            operand(v, 1, Space::acc, sa, hw.C * 4, DType::fp32, e);
            v.imm = scale;
            s.emit(v);
          }
          phase_macs += mq * hd * n;
        }
        if (i8) {
          Instr v = vec(Opcode::vmul_col, mq, lk);
          operand(v, 0, Space::l1, b.sc, lk * 4, DType::fp32);
          operand(v, 1, Space::l1, b.sc, lk * 4, DType::fp32);
          operand(v, 2, Space::l1, b.ks, 0, DType::fp32);
          s.emit(v);
          Instr w = vec(Opcode::vscale, mq, lk);
          operand(w, 0, Space::l1, b.sc, lk * 4, DType::fp32);
          operand(w, 1, Space::l1, b.sc, lk * 4, DType::fp32);
          w.imm = scale;
          s.emit(w);
        }
        if (u.n > 1) {
          // Row (t, h) sees keys up to position pos0 + t0 + t: only columns after pos0 + t0
          // can be masked, so the mask covers the block's last pages only.
          const uint64_t cm = (pos0 + u.t0 + 1 - c0) / P * P;
          Instr v = vec(Opcode::vmask, mq, lk - cm);
          operand(v, 0, Space::l1, b.sc + cm * 4, lk * 4, DType::fp32);
          operand(v, 1, Space::l1, b.sc + cm * 4, lk * 4, DType::fp32);
          v.iarg = ((pos0 + u.t0 - c0 - cm) << 16) | G;
          s.emit(v);
        }
        if (k_lo > c0) {
          Instr v = vec(Opcode::vfill, mq, k_lo - c0);
          operand(v, 0, Space::l1, b.sc, lk * 4, DType::fp32);
          v.imm = -INFINITY;
          s.emit(v);
        }
        // P = softmax(S): max, subtract, exp, sum, reciprocal, scale.
        auto v2 = [&](Opcode o, uint64_t rows, uint64_t cols, uint64_t d, uint64_t ds, DType dt, uint64_t s1,
                      uint64_t s1s, uint64_t s2, uint64_t s2s) {
          Instr v = vec(o, rows, cols);
          operand(v, 0, Space::l1, d, ds, dt);
          operand(v, 1, Space::l1, s1, s1s, DType::fp32);
          if (s2s != ~uint64_t(0)) operand(v, 2, Space::l1, s2, s2s, DType::fp32);
          s.emit(v);
        };
        const uint64_t none = ~uint64_t(0);
        v2(Opcode::vrmax, mq, lk, b.mx, 4, DType::fp32, b.sc, lk * 4, 0, none);
        v2(Opcode::vsub_row, mq, lk, b.sc, lk * 4, DType::fp32, b.sc, lk * 4, b.mx, 4);
        v2(Opcode::vexp, mq, lk, b.sc, lk * 4, DType::fp32, b.sc, lk * 4, 0, none);
        v2(Opcode::vrsum, mq, lk, b.sm, 4, DType::fp32, b.sc, lk * 4, 0, none);
        v2(Opcode::vrecip, mq, 1, b.sm, 4, DType::fp32, b.sm, 4, 0, none);
        if (!i8) {
          v2(Opcode::vmul_row, mq, lk, b.pr, lk * ep, pt, b.sc, lk * 4, b.sm, 4);
        } else {
          v2(Opcode::vmul_row, mq, lk, b.sc, lk * 4, DType::fp32, b.sc, lk * 4, b.sm, 4);
          v2(Opcode::vmul_col, mq, lk, b.sc, lk * 4, DType::fp32, b.sc, lk * 4, b.vs, 0);
          v2(Opcode::vrmax, mq, lk, b.ps, 4, DType::fp32, b.sc, lk * 4, 0, none);
          auto sc1 = [&](uint64_t d, uint64_t src, float imm, float imm2) {
            Instr v = vec(Opcode::vscale, mq, 1);
            operand(v, 0, Space::l1, d, 4, DType::fp32);
            operand(v, 1, Space::l1, src, 4, DType::fp32);
            v.imm = imm;
            v.imm2 = imm2;
            s.emit(v);
          };
          sc1(b.ps, b.ps, 1.0f, 0x1p-100f);
          v2(Opcode::vrecip, mq, 1, b.pm, 4, DType::fp32, b.ps, 4, 0, none);
          sc1(b.pm, b.pm, 127.0f, 0.0f);
          v2(Opcode::vmul_row, mq, lk, b.pr, lk * ep, pt, b.sc, lk * 4, b.pm, 4);
          sc1(b.ps, b.ps, 1.0f / 127.0f, 0.0f);
        }
      };
      auto back = [&](size_t ui) {
        const Unit& u = units[per_core[core][ui]];
        const Bufs& b = bufs[ui % kSets];
        const uint32_t e = uint32_t(ui % E);
        const uint8_t mx = uint8_t(uint8_t(isa::Unit::mx0) + e);
        const auto [mq, k_hi, k_lo, pg_lo, pg_hi, c0, lk] = geo(u);
        (void)k_lo;
        // O = P V, page by page.
        const uint64_t oa = o_acc[e];
        bool first = true;
        uint64_t vpage = first_pages[ui];
        for (uint64_t pg = pg_lo; pg <= pg_hi; ++pg, ++vpage) {
          const uint64_t n = std::min(P, k_hi - pg * P);
          const uint64_t vt = vring + (vpage % ring) * hd * P * ek;
          for (uint64_t k0 = 0; k0 < n; k0 += hw.R) {
            for (uint64_t n0 = 0; n0 < hd; n0 += hw.C) {
              Instr mm;
              mm.op = Opcode::matmul;
              mm.unit = mx;
              mm.a_type = uint64_t(pt);
              mm.b_type = uint64_t(kt);
              mm.dataflow = uint64_t(isa::Dataflow::ws);
              mm.accumulate = first ? 0 : 1;
              mm.a_addr = b.pr + (pg * P - c0 + k0) * ep;
              mm.a_stride = lk * ep;
              mm.b_addr = vt + (k0 * hd + n0) * ek;
              mm.b_stride = hd * ek;
              mm.c_addr = oa + (n0 / hw.C) * hw.C * 4;
              mm.c_stride = hd_blocks * hw.C * 4;
              mm.m = mq;
              mm.k = std::min(hw.R, n - k0);
              mm.n = std::min(hw.C, hd - n0);
              s.emit(mm);
            }
            first = false;
          }
          phase_macs += mq * hd * n;
        }
        // O -> the attention output rows: (token t, head h) -> row t0 + t, column (j G + h) hd.
        for (uint64_t n0 = 0; n0 < hd; n0 += hw.C) {
          Instr v = vec(i8 ? Opcode::vmul_row : Opcode::vcvt, mq, std::min(hw.C, hd - n0));
          operand(v, 0, Space::l1, b.o + n0 * eo, hd * eo, ot);
          operand(v, 1, Space::acc, oa + (n0 / hw.C) * hw.C * 4, hd_blocks * hw.C * 4, i8 ? DType::int32 : DType::fp32,
                  e);
          if (i8)
            operand(v, 2, Space::l1, b.ps, 4, DType::fp32);
          else
            v.imm = 1.0f;
          s.emit(v);
        }
        const uint64_t row_bytes = g.heads * hd * eo;
        s.emit(dma({.load = false,
                    .unit = dma_act(),
                    .dst = {att.tier, addr(att) + (u.s * T + u.t0) * row_bytes + u.j * G * hd * eo},
                    .src = {Space::l1, b.o},
                    .len = G * hd * eo,
                    .n1 = u.n,
                    .dst_stride1 = row_bytes,
                    .src_stride1 = G * hd * eo}));
      };
      for (size_t ui = 0; ui < nu + lag; ++ui) {
        if (ui < nu) front(ui);
        if (ui >= lag) back(ui - lag);
      }
    }
  }
  end_phase(op.name);
}

}  // namespace tessera::compiler
