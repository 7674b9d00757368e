// Causal (GQA) attention over the paged KV cache.
//
// Work units are (sequence, KV head, block of query positions); a unit's rows are the
// query heads that share the KV head, position-major, so one K^T page is the stationary
// operand for all of them. Units go to the least loaded core (by keys x rows), and a core
// runs its units on its engines in turn.
//
// Prefill (emit_attention_prefill, below): flash-style. The unit's query block stays in
// L1 while its key pages stream through two sweeps, so no score row is ever held whole:
//   sweep 1: S = Q K^T page by page into accumulator regions (a ring per engine),
//            causal mask on the block's own keys, and a running elementwise max over the
//            pages (vmax), reduced to the row max m once (vrmax, written straight into
//            Q''s extra column);
//   sweep 2: S' = [Q | m] [K^T ; -1] (the max subtracted by the array through one more
//            reduction row), P = exp(scale S') (one vector pass reading the accumulator
//            when Q was widened already scaled, FP8 activations), and O = P [V | 1]
//            accumulated over the pages: the extra ones column of V makes the array sum
//            each row of P beside O, so the running sum costs no vector pass either;
//   O / sum -> the attention output rows of its heads.
// The max is final before any exp, so nothing is rescaled; the arrays compute Q K^T twice
// (they are idle otherwise: the vector engine bounds attention on every preset). Units are
// software-pipelined: the next unit's loads and first sweep are emitted before this unit's
// second sweep (with four engines: scores on two, P V on the other two, and a unit's first
// two score pages a unit ahead on the idle P V engine). Fully masked key pages are never
// loaded or computed.
//
// Decode (and prefill that does not fit the flash buffers) keeps the page-stationary
// kernel: per unit,
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
#include <functional>
#include <utility>
#include <vector>

#include "common/numerics/fp.h"
#include "compiler/codegen.h"
#include "compiler/layout.h"

namespace tessera::compiler {

using isa::DType;
using isa::Instr;
using isa::Opcode;
using isa::Space;

namespace {

uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

uint64_t es_of(DType t) { return num::dtype_bytes(num::DType(t)); }

// One instruction of a softmax chain in L1 (max, subtract, exp, sum, reciprocal, scale): FP32
// sources, the destination in `dt`; src2 only when s2s is not kNoSrc2.
constexpr uint64_t kNoSrc2 = ~uint64_t(0);
void emit_softmax_step(CoreStream& s, Opcode o, uint64_t rows, uint64_t cols, uint64_t d, uint64_t ds, DType dt,
                       uint64_t s1, uint64_t s1s, uint64_t s2, uint64_t s2s) {
  Instr v = Codegen::vec(o, rows, cols);
  Codegen::operand(v, 0, Space::l1, d, ds, dt);
  Codegen::operand(v, 1, Space::l1, s1, s1s, DType::fp32);
  if (s2s != kNoSrc2) Codegen::operand(v, 2, Space::l1, s2, s2s, DType::fp32);
  s.emit(v);
}

// The work units (sequence, KV head, block of tq query positions), each with cost(t0, n),
// and per core the units it runs: longest first to the least loaded core (ties: lowest
// core), a deterministic LPT; each core's units in index order.
struct AttnUnit {
  uint64_t s, j, t0, n, cost;
};
std::pair<std::vector<AttnUnit>, std::vector<std::vector<size_t>>> attention_units(
    const Graph& g, uint64_t tq, uint32_t cores, const std::function<uint64_t(uint64_t, uint64_t)>& cost) {
  std::vector<AttnUnit> units;
  for (uint64_t s = 0; s < g.batch; ++s)
    for (uint64_t j = 0; j < g.kv_heads; ++j)
      for (uint64_t t0 = 0; t0 < g.tokens; t0 += tq) {
        const uint64_t n = std::min(tq, g.tokens - t0);
        units.push_back({s, j, t0, n, cost(t0, n)});
      }
  std::vector<size_t> order(units.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return units[a].cost > units[b].cost; });
  std::vector<std::vector<size_t>> per_core(cores);
  std::vector<uint64_t> load(cores, 0);
  for (size_t i : order) {
    const uint32_t c = uint32_t(std::min_element(load.begin(), load.end()) - load.begin());
    per_core[c].push_back(i);
    load[c] += units[i].cost;
  }
  for (auto& v : per_core) std::sort(v.begin(), v.end());
  return {std::move(units), std::move(per_core)};
}

// The flash-style prefill kernel of the file comment; false (nothing emitted) when the
// formats or the SRAM of the architecture do not allow it.
bool emit_attention_prefill(Codegen& cg, const Op& op) {
  const Graph& g = cg.g;
  const Hw& hw = cg.hw;
  const hf::ModelConfig& m = g.model;
  const uint64_t T = g.tokens, KV = g.kv_heads, G = g.heads / g.kv_heads, hd = m.head_dim;
  const uint64_t P = g.page_tokens, pos0 = g.position;
  const DType at = g.precision.activations, kt = g.precision.kv;
  auto floating = [](DType d) { return d == DType::fp8_e4m3 || d == DType::fp8_e5m2 || d == DType::bf16; };
  // Q and P are BF16 on the arrays (Q widened exactly from FP8; m needs more than FP8's
  // three mantissa bits to be a useful constant).
  if (T < 2 || !hw.supports(DType::bf16) || !floating(at) || !floating(kt)) return false;
  const DType qt = DType::bf16, pt = DType::bf16;
  const bool split = at == DType::bf16;  // P as BF16 hi + lo (sweep 2)
  const uint64_t ea = cg.es(at), ek = cg.es(kt), eq = cg.es(qt), ep = cg.es(pt);
  const uint32_t E = hw.engines;
  const bool gpt2 = m.architecture == hf::Architecture::GPT2;
  const float scale = gpt2 ? 1.0f / float(std::sqrt(double(hd))) : float(std::pow(double(hd), -0.5));
  const uint64_t keys_max = pos0 + T;
  const uint64_t max_pages = (keys_max + P - 1) / P;
  // Row strides: Q' = [Q | m] (hd + 1 BF16), a K^T slot [hd + 1 x P] (last row -1), a
  // V slot [P x hd + 1] (last column ones).
  const uint64_t qs = round_up((hd + 1) * eq, 64), vs = round_up((hd + 1) * ek, 16);
  const uint64_t kslot = round_up((hd + 1) * P * ek, 64), vslot = round_up(P * vs, 64);
  const uint64_t ob = (hd + 1 + hw.C - 1) / hw.C;  // accumulator blocks of O (and the sums)
  const uint64_t scratch = hw.l1_bytes - g.ring_slot * g.ring_slots;

  // Positions per unit: a power of two dividing the page (so a block's own keys lie in one
  // page and the mask is one instruction) that the accumulators and L1 hold, the largest.
  struct Fit {
    uint64_t tq = 0, sets = 0, sregs = 0, ring = 0;
  };
  // Exactly what the per-core allocation below takes (each buffer 64-byte aligned).
  auto l1_need = [&](uint64_t tq, uint64_t sets, uint64_t ring) {
    const uint64_t mq = tq * G;
    auto r = [](uint64_t x) { return round_up(x, 64); };
    const uint64_t per_set = r(mq * P * 4) + 2 * r(mq * 4) + r(mq * round_up((hd + 1) * 4, 64)) + r(mq * hd * ea);
    return 4 * (r(mq * hd * ea) + r(mq * qs)) + sets * per_set + (split ? 2 * r(mq * P * 4) + 6 * r(mq * P * ep) : 3 * r(mq * P * ep)) +
           r(mq * tq * 2) + r(tq * 2 * P * 2) + ring * (kslot + vslot) + 64;
  };
  Fit fit;
  for (uint64_t tq = 1; tq <= T && P % tq == 0 && pos0 % tq == 0; tq *= 2) {
    const uint64_t mq = tq * G;
    if (mq > hw.max_stream) break;
    Fit f{tq, 0, 0, 0};
    for (uint64_t sregs : {3, 2})
      if (mq * (sregs + ob) * hw.C * 4 <= hw.acc_bytes) {
        f.sregs = sregs;
        break;
      }
    if (!f.sregs) break;
    // Two buffer sets and rings for two units' pages (the software pipeline), else one.
    if (l1_need(tq, 2, 2 * max_pages) <= scratch) {
      f.sets = 2;
      f.ring = 2 * max_pages;
    } else if (l1_need(tq, 1, max_pages) <= scratch) {
      f.sets = 1;
      f.ring = max_pages;
    } else {
      break;
    }
    // More rows per unit only while the pipeline keeps two units in flight.
    if (fit.tq && f.sets < fit.sets) break;
    fit = f;
  }
  if (!fit.tq) return false;
  const uint64_t tq = fit.tq, mq_max = tq * G, kSets = fit.sets;
  // Four engines or more: scores on engines 0 and 1, P V on 2 and 3 (sc_of, pv_of below),
  // so a score engine's accumulator holds no [O | sum] region and takes up to four score
  // regions (the scores three pages ahead: a page's Q K^T takes about 3.5 vector passes'
  // time from its start to its last row).
  const bool split_engines = E >= 4;
  const uint64_t nS = split_engines ? std::min<uint64_t>(4, hw.acc_bytes / (mq_max * hw.C * 4)) : fit.sregs;
  // Early first pages: a unit's page loads and its first two score pages are issued one
  // iteration ahead, the scores on the P V engine that is idle in that iteration (two regions
  // beside its [O | sum]). Its sweep 1 then starts on finished scores instead of waiting for
  // its loads and a Q K^T at the start of its iteration. Needs a third unit's pages in the
  // ring.
  const bool early = split_engines && kSets >= 2 && mq_max * (ob + 2) * hw.C * 4 <= hw.acc_bytes &&
                     l1_need(tq, kSets, 3 * max_pages) <= scratch;
  const uint64_t ring = early ? 3 * max_pages : fit.ring;
  using Unit = AttnUnit;
  // Cost: the unit's key pages (each swept twice) x rows, and the columns of its last page:
  // units that differ only there cost the same vector passes but not the same cycles (a full
  // last page contends more for the SRAM ports), and with pages alone every core got units of
  // one column offset (Llama-3-70B: the core with only full last pages ended 4,600 cycles,
  // 4.4 %, after the one with only 32-column ones).
  // Named members, not a structured binding: clang 14 (the fuzzing and sanitizer toolchain) cannot
  // capture structured bindings in lambdas.
  const auto work = attention_units(
      g, tq, hw.cores, [&](uint64_t t0, uint64_t n) {
        const uint64_t pages = (pos0 + t0 + n - 1) / P + 1, last = pos0 + t0 + n - (pages - 1) * P;
        return 8 * n * G * pages + n * G * last / P;
      });
  const auto& units = work.first;
  const auto& per_core = work.second;

  const Tensor& q = cg.t("q");
  const Tensor& att = cg.t(op.outputs[0]);
  const uint64_t pool = cg.addr(cg.t("layer.k_cache"));
  const uint64_t ofs = round_up((hd + 1) * 4, 64);  // L1 row stride of [O | sum] in FP32
  const float big = std::ldexp(1.0f, 100);
  for (uint32_t chip = 0; chip < cg.group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      if (per_core[core].empty()) continue;
      CoreStream& s = cg.cs(chip, core);
      Arena& a = cg.l1_of(chip, core);
      auto vec = [&](Opcode o, uint64_t rows, uint64_t cols) { return Codegen::vec(o, rows, cols); };
      auto fill = [&](uint64_t addr, uint64_t rows, uint64_t cols, uint64_t stride, DType t, float value) {
        Instr f = vec(Opcode::vfill, rows, cols);
        Codegen::operand(f, 0, Space::l1, addr, stride, t);
        f.imm = value;
        s.emit(f);
      };
      const uint64_t first = a.top;
      // Per unit in flight: Q' (four: widened two units ahead, loaded three), the running
      // max and the finished rows (two: the software pipeline's depth).
      uint64_t qf[4], q2[4];
      for (uint64_t& x : qf) x = a.take(mq_max * hd * ea, 64, "attention Q rows");
      for (uint64_t& x : q2) x = a.take(mq_max * qs, 64, "attention [Q | -max] rows");
      struct Bufs {
        uint64_t mxe, mx, rl, of, o;
      } bufs[2];
      for (uint64_t bi = 0; bi < kSets; ++bi) {
        Bufs& b = bufs[bi];
        b.mxe = a.take(mq_max * P * 4, 64, "attention running max");
        b.mx = a.take(mq_max * 4, 64, "row max");
        b.rl = a.take(mq_max * 4, 64, "row 1 / sum");
        b.of = a.take(mq_max * ofs, 64, "attention [O | sum] rows");
        b.o = a.take(mq_max * hd * ea, 64, "attention output rows");
      }
      uint64_t xr[2] = {0, 0}, pr[3];
      if (split)
        for (uint64_t& x : xr) x = a.take(mq_max * P * 4, 64, "attention scaled scores");
      uint64_t prl[3] = {0, 0, 0};
      for (uint64_t& x : pr) x = a.take(mq_max * P * ep, 64, "attention probabilities");
      if (split)
        for (uint64_t& x : prl) x = a.take(mq_max * P * ep, 64, "attention probabilities (low part)");
      const uint64_t sel = a.take(mq_max * tq * 2, 64, "causal mask selector");
      const uint64_t bw = a.take(tq * 2 * P * 2, 64, "causal mask rows");
      const uint64_t kring = a.take(ring * kslot, 64, "[K^T ; 1] page ring");
      const uint64_t vring = a.take(ring * vslot, 64, "[V | 1] page ring");
      cg.record_l1(chip, core, first, a.top - first,
                   "attention Q (x4), running max and output (x" + std::to_string(kSets) +
                       "), scores, probabilities, causal mask, [K^T ; 1] / [V | 1] page rings of " +
                       std::to_string(ring));
      // The -1 row of every K^T slot (Q''s extra column holds the row max m) and the ones
      // column of every V slot, once: the page loads never write them.
      for (uint64_t i = 0; i < ring; ++i) {
        fill(kring + i * kslot + hd * P * ek, 1, P, P * ek, kt, -1.0f);
        fill(vring + i * vslot + hd * ek, P, 1, vs, kt, 1.0f);
      }
      // The causal mask as one accumulating matmul on the arrays (a vector pass over
      // accumulator rows costs a cycle per row): sel [rows x tq] is 1 where the row's
      // position t >= t' (exp of 0 or of vmask's -inf), and bw [tq x 2P] holds, from column
      // P on, -2^100 in row 0 beyond the diagonal and +2^100 on it, so row t of sel x bw is
      // 0 for keys <= t and -2^100 after (exact in FP32). A block whose keys start at
      // column kc of its page reads bw from column P - kc.
      fill(sel, mq_max, tq, tq * 2, DType::bf16, 0.0f);
      {
        Instr v = vec(Opcode::vmask, mq_max, tq);
        Codegen::operand(v, 0, Space::l1, sel, tq * 2, DType::bf16);
        Codegen::operand(v, 1, Space::l1, sel, tq * 2, DType::bf16);
        v.iarg = G;
        s.emit(v);
        Instr x = vec(Opcode::vexp, mq_max, tq);
        Codegen::operand(x, 0, Space::l1, sel, tq * 2, DType::bf16);
        Codegen::operand(x, 1, Space::l1, sel, tq * 2, DType::bf16);
        s.emit(x);
      }
      fill(bw, tq, 2 * P, 2 * P * 2, DType::bf16, 0.0f);
      if (tq > 1) {
        fill(bw + (P + 1) * 2, 1, tq - 1, 2 * P * 2, DType::bf16, -big);
        fill(bw + (2 * P + P + 1) * 2, tq - 1, 1, (2 * P + 1) * 2, DType::bf16, big);
      }
      // Accumulators: per engine, a ring of score regions and one [O | sum] region; with
      // split engines (below) score rings on the sweep engines, [O | sum] on the P V engines.
      std::vector<std::vector<uint64_t>> sreg(E);
      std::vector<uint64_t> oreg(E), snext(E, 0);
      for (uint32_t e = 0; e < E; ++e) {
        Arena& ac = cg.acc_of(chip, core, e);
        if (!split_engines || e < 2)
          for (uint64_t r = 0; r < nS; ++r) sreg[e].push_back(ac.take(mq_max * hw.C * 4, hw.C * 4, "attention scores"));
        if (!split_engines || e >= 2) oreg[e] = ac.take(mq_max * ob * hw.C * 4, hw.C * 4, "attention output and row sums");
        if (early && e >= 2)
          for (int r = 0; r < 2; ++r) sreg[e].push_back(ac.take(mq_max * hw.C * 4, hw.C * 4, "attention first scores"));
      }
      uint64_t page_i = 0, xi = 0, pi = 0;
      const size_t nu = per_core[core].size();
      std::vector<uint64_t> first_pages(nu, 0);
      struct Geo {
        uint64_t mq, k_hi, pg_hi;
      };
      auto unit = [&](size_t ui) -> const Unit& { return units[per_core[core][ui]]; };
      auto geo = [&](const Unit& u) { return Geo{u.n * G, pos0 + u.t0 + u.n, (pos0 + u.t0 + u.n - 1) / P}; };
      // A unit's scores run on engine sc_of(ui) and its P V on pv_of(ui). With four engines
      // or more the scores of both sweeps alternate between engines 0 and 1 and the P V
      // between 2 and 3: the accumulator the vector engine reads is then never the one a
      // P V accumulates into or the output copy reads (one read port: both slowed the
      // vector passes), and a sweep engine's accumulator holds four score regions. With
      // three, the P V two engines on, one that no unit in flight computes scores on:
      // sweep 2's score chain then does not wait behind the P V of the page before.
      auto sc_of = [&](size_t ui) { return uint32_t(split_engines ? ui % 2 : ui % E); };
      auto pv_of = [&](size_t ui) {
        return uint32_t(split_engines ? 2 + ui % 2 : (ui + (E >= 3 ? 2 : 0)) % E);
      };
      auto matmul = [&](uint32_t engine, DType ta, DType tb, bool acc, uint64_t a_addr, uint64_t a_stride, uint64_t b_addr,
                        uint64_t b_stride, uint64_t c_addr, uint64_t c_stride, uint64_t mm_m, uint64_t mm_k,
                        uint64_t mm_n) {
        Instr mm;
        mm.op = Opcode::matmul;
        mm.unit = uint8_t(uint8_t(isa::Unit::mx0) + engine);
        mm.a_type = uint64_t(ta);
        mm.b_type = uint64_t(tb);
        mm.dataflow = uint64_t(isa::Dataflow::ws);
        mm.accumulate = acc ? 1 : 0;
        mm.a_addr = a_addr;
        mm.a_stride = a_stride;
        mm.b_addr = b_addr;
        mm.b_stride = b_stride;
        mm.c_addr = c_addr;
        mm.c_stride = c_stride;
        mm.m = mm_m;
        mm.k = mm_k;
        mm.n = mm_n;
        s.emit(mm);
      };
      // Q K^T of page pg with the first `k` rows of [Q | m] and [K^T ; -1] into the next
      // score region of the unit's engine; the causal mask added on the block's own page.
      struct Sc {
        uint64_t sr = 0, n = 0;
        uint32_t e = 0;
      };
      auto scores = [&](size_t ui, uint64_t pg, uint64_t k, uint32_t e) {
        const Unit& u = unit(ui);
        const auto [mq, k_hi, pg_hi] = geo(u);
        const uint64_t n = std::min(P, k_hi - pg * P);
        const uint64_t sr = sreg[e][snext[e]++ % sreg[e].size()];
        const uint64_t kt_addr = kring + ((first_pages[ui] + pg) % ring) * kslot;
        for (uint64_t k0 = 0; k0 < k; k0 += hw.R)
          matmul(e, qt, kt, k0 > 0, q2[ui % 4] + k0 * eq, qs, kt_addr + k0 * P * ek, P * ek, sr, hw.C * 4, mq,
                 std::min(hw.R, k - k0), n);
        if (pg == pg_hi) {
          const uint64_t kc = pos0 + u.t0 - pg * P;
          for (uint64_t k0 = 0; k0 < u.n; k0 += hw.R)
            matmul(e, DType::bf16, DType::bf16, true, sel + k0 * 2, tq * 2, bw + ((P - kc) + k0 * 2 * P) * 2,
                   2 * P * 2, sr, hw.C * 4, mq, std::min(hw.R, u.n - k0), n);
        }
        return Sc{sr, n, e};
      };
      // Q rows: [token][query head][head_dim] of this (sequence, KV head), widened to BF16.
      // The Q load one unit before its widening: the DMA queues also carry page loads, and
      // the vector engine would wait for the load (about 1,000 cycles per unit).
      std::vector<char> q_loaded(nu, 0);
      auto load_q = [&](size_t ui) {
        if (ui >= nu || q_loaded[ui]) return;
        q_loaded[ui] = 1;
        const Unit& u = unit(ui);
        s.emit(Codegen::dma({.load = true,
                             .unit = cg.dma_act(),
                             .dst = {Space::l1, qf[ui % 4]},
                             .src = {q.tier, cg.addr(q) + ((u.s * KV + u.j) * T + u.t0) * G * hd * ea},
                             .len = u.n * G * hd * ea}));
      };
      auto prep = [&](size_t ui) {
        const Unit& u = unit(ui);
        const uint64_t mq = u.n * G;
        load_q(ui);
        load_q(ui + 1);
        Instr v = vec(Opcode::vcvt, mq, hd);
        Codegen::operand(v, 0, Space::l1, q2[ui % 4], qs, qt);
        Codegen::operand(v, 1, Space::l1, qf[ui % 4], hd * ea, at);
        v.imm = split ? 1.0f : scale;
        s.emit(v);
      };
      // Both sweeps run as steps of one page each, interleaved between the unit in sweep 1
      // and the unit in sweep 2 (different engines), so the vector engine alternates between
      // two chains of score regions. A score region is rewritten only after the vector
      // instruction of the page before it (three regions: two pages ahead; sweep 1 reads
      // page 0's region again at page 1, where the first vmax pairs pages 0 and 1). Issuing
      // sweep 2's scores a third page ahead, before the P V that waits for the vector
      // engine, measured no better.
      const uint64_t ahead1 = nS - 1, ahead2 = nS - 1;
      std::vector<std::vector<Sc>> sc(nu);
      std::vector<bool> pv_started(nu, false);
      // Sweep 1: the unit's pages into the rings (one DMA engine each, so a slot is
      // rewritten by the engine that wrote it) and its first scores.
      std::vector<char> loaded(nu, 0), copied0(nu, 0);
      // The unit's pages into the rings, and with `early` its first two score pages on the
      // P V engine idle in the iteration before its own (that of the unit before it).
      auto sweep1_load = [&](size_t ui) {
        if (ui >= nu || loaded[ui]) return;
        loaded[ui] = 1;
        const Unit& u = unit(ui);
        const auto [mq, k_hi, pg_hi] = geo(u);
        first_pages[ui] = page_i;
        for (uint64_t pg = 0, i = page_i; pg <= pg_hi; ++pg, ++i) {
          const uint64_t n = std::min(P, k_hi - pg * P);
          const uint64_t page = pool + kv_page(g, u.s, u.j, pg) * g.page_bytes;
          s.emit(Codegen::dma({.load = true,
                               .unit = 0,
                               .dst = {Space::l1, kring + (i % ring) * kslot},
                               .src = {Space::hbm, page},
                               .len = n == P ? hd * P * ek : n * ek,
                               .n1 = n == P ? 1 : hd,
                               .dst_stride1 = n == P ? 0 : P * ek,
                               .src_stride1 = n == P ? 0 : P * ek}));
          s.emit(Codegen::dma({.load = true,
                               .unit = int(hw.dmas - 1),
                               .dst = {Space::l1, vring + (i % ring) * vslot},
                               .src = {Space::hbm, page + hd * P * ek},
                               .len = hd * ek,
                               .n1 = n,
                               .dst_stride1 = vs,
                               .src_stride1 = hd * ek}));
        }
        page_i += pg_hi + 1;
        sc[ui].assign(pg_hi + 1, Sc{});
        if (!early) return;
        for (uint64_t pg = 0; pg <= pg_hi && pg < 2; ++pg) sc[ui][pg] = scores(ui, pg, hd, pv_of(ui + 1));
        if (pg_hi == 0) return;
        copied0[ui] = 1;
        // Page 0 (whole: there is a page 1) into the running max by a DMA engine, an iteration
        // before the vector engine needs it: the vmax of pages 0 and 1 then reads one page from
        // the accumulator instead of two (two cycles a row).
        s.emit(Codegen::dma({.load = false,
                             .unit = 0,
                             .dst = {Space::l1, bufs[ui % kSets].mxe},
                             .src = {Space::acc, sc[ui][0].sr},
                             .len = P * 4,
                             .n1 = mq,
                             .dst_stride1 = P * 4,
                             .src_stride1 = hw.C * 4,
                             .acc_engine = sc[ui][0].e}));
      };
      auto sweep1_begin = [&](size_t ui) {
        sweep1_load(ui);
        const uint64_t pg_hi = geo(unit(ui)).pg_hi;
        for (uint64_t pg = early ? 2 : 0; pg <= pg_hi && pg < ahead1; ++pg) sc[ui][pg] = scores(ui, pg, hd, sc_of(ui));
      };
      // Page pg: the running elementwise max of S, and the next scores.
      auto sweep1_step = [&](size_t ui, uint64_t pg) {
        const Unit& u = unit(ui);
        const Bufs& b = bufs[ui % kSets];
        const auto [mq, k_hi, pg_hi] = geo(u);
        const auto [sr, n, e] = sc[ui][pg];
        if (pg >= 1) {
          // Page 0 is whole when there is a page 1; a partial page 1 leaves page 0's last
          // columns as they are, so they are copied first.
          // Pages 0 and 1 share an engine (the vector instruction reads one accumulator).
          const uint64_t prev = sc[ui][pg - 1].sr, prev_n = sc[ui][pg - 1].n;
          const bool copied = pg == 1 && copied0[ui];  // by sweep1_load
          const bool copy = pg == 1 && n < prev_n && !copied;
          if (copy) {
            Instr c = vec(Opcode::vcvt, mq, prev_n);
            Codegen::operand(c, 0, Space::l1, b.mxe, P * 4, DType::fp32);
            Codegen::operand(c, 1, Space::acc, prev, hw.C * 4, DType::fp32, e);
            c.imm = 1.0f;
            s.emit(c);
          }
          Instr v = vec(Opcode::vmax, mq, n);
          Codegen::operand(v, 0, Space::l1, b.mxe, P * 4, DType::fp32);
          if (pg == 1 && !copy && !copied)
            Codegen::operand(v, 1, Space::acc, prev, hw.C * 4, DType::fp32, e);
          else
            Codegen::operand(v, 1, Space::l1, b.mxe, P * 4, DType::fp32);
          Codegen::operand(v, 2, Space::acc, sr, hw.C * 4, DType::fp32, e);
          s.emit(v);
        }
        if (pg + ahead1 <= pg_hi) sc[ui][pg + ahead1] = scores(ui, pg + ahead1, hd, sc_of(ui));
        if (pg < pg_hi) return;
        // The row max m, straight into Q''s extra column: the K^T slots' extra row holds -1,
        // so the array subtracts it (a separate vector instruction negating m cost the
        // vector engine, which bounds this kernel, about 160 cycles per unit). The rounding
        // is the same: BF16 rounds to nearest, symmetric in sign.
        Instr r = vec(Opcode::vrmax, mq, pg_hi ? P : n);
        Codegen::operand(r, 0, Space::l1, q2[ui % 4] + hd * eq, qs, qt);
        if (pg_hi)
          Codegen::operand(r, 1, Space::l1, b.mxe, P * 4, DType::fp32);
        else
          Codegen::operand(r, 1, Space::acc, sr, hw.C * 4, DType::fp32, e);
        s.emit(r);
      };
      // Sweep 2: S' = S - m, P = exp(scale S') and [O | sum] += P [V | 1].
      auto sweep2_begin = [&](size_t ui) {
        const auto [mq, k_hi, pg_hi] = geo(unit(ui));
        for (uint64_t pg = 0; pg <= pg_hi && pg < ahead2; ++pg) sc[ui][pg] = scores(ui, pg, hd + 1, sc_of(ui));
      };
      auto sweep2_step = [&](size_t ui, uint64_t pg) {
        const auto [mq, k_hi, pg_hi] = geo(unit(ui));
        const auto [sr, n, e] = sc[ui][pg];
        const uint64_t x = xr[xi++ % 2], p = pr[pi++ % 3];
        // P = exp(scale S') in BF16. With FP8 activations Q' already holds scale x Q (one
        // BF16 rounding, 32 times finer than Q's own FP8 rounding), so exp reads the
        // accumulator directly. With BF16 activations the scale is applied in FP32 and P
        // goes through the array as BF16 hi + lo: P then carries about 16 bits into P V
        // and the sums (one BF16 rounding of the unnormalised probabilities moved a tiny
        // Mixtral's expert routing in a later layer, cosine 0.9975 at one step).
        if (split) {
          Instr v = vec(Opcode::vscale, mq, n);
          Codegen::operand(v, 0, Space::l1, x, P * 4, DType::fp32);
          Codegen::operand(v, 1, Space::acc, sr, hw.C * 4, DType::fp32, e);
          v.imm = scale;
          s.emit(v);
        }
        const uint64_t plo = prl[(pi - 1) % 3];
        Instr x2 = vec(Opcode::vexp, mq, n);
        Codegen::operand(x2, 0, Space::l1, split ? x : p, P * (split ? 4 : ep), split ? DType::fp32 : pt);
        if (split)
          Codegen::operand(x2, 1, Space::l1, x, P * 4, DType::fp32);
        else
          Codegen::operand(x2, 1, Space::acc, sr, hw.C * 4, DType::fp32, e);
        s.emit(x2);
        if (split) {
          Instr hi = vec(Opcode::vcvt, mq, n);
          Codegen::operand(hi, 0, Space::l1, p, P * ep, pt);
          Codegen::operand(hi, 1, Space::l1, x, P * 4, DType::fp32);
          hi.imm = 1.0f;
          s.emit(hi);
          Instr lo = vec(Opcode::vsub, mq, n);
          Codegen::operand(lo, 0, Space::l1, plo, P * ep, pt);
          Codegen::operand(lo, 1, Space::l1, x, P * 4, DType::fp32);
          Codegen::operand(lo, 2, Space::l1, p, P * ep, pt);
          s.emit(lo);
        }
        if (pg + ahead2 <= pg_hi) sc[ui][pg + ahead2] = scores(ui, pg + ahead2, hd + 1, sc_of(ui));
        const uint64_t vt = vring + ((first_pages[ui] + pg) % ring) * vslot;
        for (uint64_t part : split ? std::vector<uint64_t>{p, plo} : std::vector<uint64_t>{p}) {
          for (uint64_t k0 = 0; k0 < n; k0 += hw.R) {
            for (uint64_t n0 = 0; n0 < hd + 1; n0 += hw.C)
              matmul(pv_of(ui), pt, kt, pv_started[ui], part + k0 * ep, P * ep, vt + k0 * vs + n0 * ek, vs,
                     oreg[pv_of(ui)] + (n0 / hw.C) * hw.C * 4, ob * hw.C * 4, mq, std::min(hw.R, n - k0),
                     std::min(hw.C, hd + 1 - n0));
            pv_started[ui] = true;
          }
        }
        cg.phase_macs += 2 * mq * hd * n;
      };
      // [O | sum] out of the accumulator, O / sum -> the attention output rows: (token t,
      // head h) -> row t0 + t, column (j G + h) hd.
      auto finish_copy = [&](size_t ui) {
        const Bufs& b = bufs[ui % kSets];
        const uint32_t e = pv_of(ui);
        const uint64_t mq = unit(ui).n * G;
        s.emit(Codegen::dma({.load = false,
                             .unit = 0,
                             .dst = {Space::l1, b.of},
                             .src = {Space::acc, oreg[e]},
                             .len = (hd + 1) * 4,
                             .n1 = mq,
                             .dst_stride1 = ofs,
                             .src_stride1 = ob * hw.C * 4,
                             .acc_engine = e}));
      };
      auto finish_out = [&](size_t ui) {
        const Unit& u = unit(ui);
        const Bufs& b = bufs[ui % kSets];
        const uint64_t mq = u.n * G;
        Instr r = vec(Opcode::vrecip, mq, 1);
        Codegen::operand(r, 0, Space::l1, b.rl, 4, DType::fp32);
        Codegen::operand(r, 1, Space::l1, b.of + hd * 4, ofs, DType::fp32);
        s.emit(r);
        Instr v = vec(Opcode::vmul_row, mq, hd);
        Codegen::operand(v, 0, Space::l1, b.o, hd * ea, at);
        Codegen::operand(v, 1, Space::l1, b.of, ofs, DType::fp32);
        Codegen::operand(v, 2, Space::l1, b.rl, 4, DType::fp32);
        s.emit(v);
        const uint64_t row_bytes = g.heads * hd * ea;
        s.emit(Codegen::dma({.load = false,
                             .unit = cg.dma_act(),
                             .dst = {att.tier, cg.addr(att) + (u.s * T + u.t0) * row_bytes + u.j * G * hd * ea},
                             .src = {Space::l1, b.o},
                             .len = G * hd * ea,
                             .n1 = u.n,
                             .dst_stride1 = row_bytes,
                             .src_stride1 = G * hd * ea}));
      };
      // The pipeline: Q' two units ahead; sweep 1 of unit i + 1 interleaved page by page
      // with sweep 2 of unit i; each unit's output one unit later (its last P V is then
      // done). Without a second buffer set or a second engine (the two units' score
      // regions would interleave in one ring), one unit at a time.
      const size_t lag = kSets >= 2 && E >= 2 ? 1 : 0;
      auto pages = [&](size_t ui) { return geo(unit(ui)).pg_hi + 1; };
      std::vector<char> begun1(nu, 0), begun2(nu, 0);
      auto begin1 = [&](size_t ui) {
        if (!begun1[ui]) sweep1_begin(ui);
        begun1[ui] = 1;
      };
      auto begin2 = [&](size_t ui) {
        if (!begun2[ui]) sweep2_begin(ui);
        begun2[ui] = 1;
      };
      for (size_t ui = 0; ui < std::min<size_t>(nu, 1 + lag); ++ui) prep(ui);
      for (size_t it = 0; it < nu + 2 * lag; ++it) {
        if (lag && it + 2 < nu) prep(it + 2);
        if (!lag && it + 1 < nu) prep(it + 1);
        const bool one = it < nu, two = it >= lag && it - lag < nu;
        const size_t u1 = it, u2 = it - lag;
        if (!lag) {
          if (one) {
            sweep1_begin(u1);
            for (uint64_t pg = 0; pg < pages(u1); ++pg) sweep1_step(u1, pg);
            sweep2_begin(u1);
            for (uint64_t pg = 0; pg < pages(u1); ++pg) sweep2_step(u1, pg);
            finish_copy(u1);
            finish_out(u1);
          }
          continue;
        }
        // A sweep's first scores are issued as soon as what they need is in program
        // order: sweep 2 right after the unit's m, the next sweep 1 once the page slots
        // it reuses (two units back) have been read.
        // The output copy of the unit two back as soon as its last P V is in program
        // order, its vector part at the end of the iteration: in the DMA queue behind the
        // next unit's page loads, the copy would hold the vector engine (about 200 cycles
        // per unit).
        const bool done = it >= 2 && it - 2 < nu;
        if (done) finish_copy(it - 2);
        if (early && one) sweep1_load(u1 + 1);
        if (one) begin1(u1);
        if (two) begin2(u2);
        const uint64_t n1 = one ? pages(u1) : 0, n2 = two ? pages(u2) : 0;
        // Sweep 2 runs kLag2 pages behind sweep 1 in the interleave, so the unit in sweep 1
        // has its m (and the first scores of its sweep 2, which wait for it and take about
        // 3.5 vector passes from start to last row) that many passes before the other chain
        // ends: the next iteration's sweep 2 then starts on finished scores. Llama-3-70B
        // prefill layer on sohu-like: 0 pages 650,444 cycles, 1: 642,102, 2: 640,619,
        // 3: 642,806 (sweep 1 of the next unit then starts later).
        constexpr int64_t kLag2 = 2;
        for (int64_t k = 0; k < std::max<int64_t>(int64_t(n1), int64_t(n2) + kLag2); ++k) {
          if (k < int64_t(n1)) {
            sweep1_step(u1, uint64_t(k));
            if (uint64_t(k) + 1 == n1) begin2(u1);
          }
          const int64_t pg = k - kLag2;
          if (pg >= 0 && pg < int64_t(n2)) {
            sweep2_step(u2, uint64_t(pg));
            if (uint64_t(pg) + 1 == n2 && u1 + 1 < nu) begin1(u1 + 1);
          }
        }
        if (done) finish_out(it - 2);
      }
    }
  }
  cg.end_phase(op.name);
  return true;
}

}  // namespace

void Codegen::emit_attention(const Op& op) {
  // Decode: the split-K kernel below, unless INT8 attention (q, output or KV scales in other
  // formats than the activations'), which the page-stationary kernel of this function handles.
  if (g.tokens == 1 && t("q").dtype == g.precision.activations && t(op.outputs[0]).dtype == g.precision.activations &&
      g.precision.activations != DType::int8) {
    emit_attention_decode(op);
    return;
  }
  if (emit_attention_prefill(*this, op)) return;
  const hf::ModelConfig& m = g.model;
  const uint64_t T = g.tokens, KV = g.kv_heads, G = g.heads / g.kv_heads, hd = m.head_dim;
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
  using Unit = AttnUnit;
  const auto work = attention_units(  // not a structured binding: clang 14 cannot capture one
      g, tq, hw.cores, [&](uint64_t t0, uint64_t n) { return (pos0 + t0 + n) * n * G + 1000; });
  const auto& units = work.first;
  const auto& per_core = work.second;
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
        auto v2 = [&s](Opcode o, uint64_t rows, uint64_t cols, uint64_t d, uint64_t ds, DType dt, uint64_t s1,
                       uint64_t s1s, uint64_t s2, uint64_t s2s) { emit_softmax_step(s, o, rows, cols, d, ds, dt, s1, s1s, s2, s2s); };
        const uint64_t none = kNoSrc2;
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
          auto sc1 = [&, mq = mq](uint64_t d, uint64_t src, float imm, float imm2) {
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

// ---- decode -------------------------------------------------------------------------------
//
// One query position per sequence. Work units are (sequence, KV head, run of KV pages); a
// unit's rows are the G query heads of the KV head. When there are fewer (sequence, KV
// head) pairs than cores, each pair's pages split into `decode_attention_splits` runs on
// different cores (split-K, flash-decoding style): every unit writes its softmax-normalised
// partial output with its row max and row sum, and a second phase combines the partials.
// Inside a unit the pages are dealt in contiguous runs to the core's engines, so S and
// P V of one unit run on all engines at once:
//   S_e = Q K^T over engine e's pages into its own accumulator rows (page i of the run at
//         columns i C..), one vscale per engine into the unit's FP32 score rows in L1;
//   P   = softmax(S) (six vector instructions);
//   O_e = P V over engine e's pages, O = sum_e O_e on the vector engine.
// Units rotate over `sets` accumulator and L1 buffer sets, and the fronts (page loads, S,
// softmax) run `lag` units ahead of the backs (P V, O): engines compute the next units'
// scores while the vector engine normalises this one, and units on one engine no longer
// wait for each other's accumulator region. Q rows are loaded and the results stored for all
// of a core's units at once (one L1 slot each), so no store waits in a DMA queue in front
// of the next unit's page loads.

uint64_t decode_attention_splits(const Graph& g, const Hw& hw) {
  if (g.tokens != 1) return 1;
  const uint64_t pairs = g.batch * g.kv_heads;
  const uint64_t P = hw.C, k_hi = g.position + 1;
  const uint64_t win = g.model.sliding_window ? *g.model.sliding_window : 0;
  const uint64_t k_lo = win && k_hi > win ? k_hi - win : 0;
  const uint64_t pages = (k_hi - 1) / P - k_lo / P + 1;
  // One unit per core: the phase is one unit's chain, at most a core's share of the pages.
  const uint64_t want = pairs >= hw.cores ? 1 : (hw.cores + pairs - 1) / pairs;
  // And no more pages per unit than a quarter of the L1 beside the weight ring holds (the
  // unit's K^T and V pages and its score and probability rows), so long contexts split too.
  const uint64_t G = g.heads / g.kv_heads, ek = es_of(g.precision.kv);
  const uint64_t per_page = 2 * g.model.head_dim * P * ek + G * P * 6;
  const uint64_t avail = hw.l1_bytes - g.ring_slot * g.ring_slots;
  const uint64_t cap = std::max<uint64_t>(1, avail / 4 / per_page);
  return std::max<uint64_t>(1, std::min(pages, std::max(want, (pages + cap - 1) / cap)));
}

void Codegen::emit_attention_decode(const Op& op) {
  const hf::ModelConfig& m = g.model;
  const uint64_t B = g.batch, KV = g.kv_heads, G = g.heads / g.kv_heads, hd = m.head_dim;
  const uint64_t P = g.page_tokens, C = hw.C;
  const DType at = g.precision.activations, kt = g.precision.kv;
  const DType pt = es(at) == 1 && hw.supports(DType::bf16) ? DType::bf16 : at;
  const uint64_t ea = es(at), ek = es(kt), ep = es(pt);
  const uint32_t E = hw.engines;
  const bool gpt2 = m.architecture == hf::Architecture::GPT2;
  const float scale = gpt2 ? 1.0f / float(std::sqrt(double(hd))) : float(std::pow(double(hd), -0.5));
  const Tensor& q = t("q");
  const Tensor& att = t(op.outputs[0]);
  const uint64_t pool = addr(t("layer.k_cache"));
  const uint64_t mq = G, hd_blocks = (hd + C - 1) / C;
  const uint64_t k_hi = g.position + 1;
  const uint64_t k_lo = m.sliding_window && k_hi > *m.sliding_window ? k_hi - *m.sliding_window : 0;
  const uint64_t pg_lo = k_lo / P, pg_hi = (k_hi - 1) / P, npg = pg_hi - pg_lo + 1;
  const uint64_t split = decode_attention_splits(g, hw);
  // A partial: O [mq x hd], row max [mq], row sum [mq], FP32.
  const uint64_t part_bytes = (mq * hd + 2 * mq) * 4;
  const uint64_t row_bytes = g.heads * hd * ea;

  struct Unit {
    uint64_t s, j, c, pa, pb;  // pages [pa, pb)
  };
  std::vector<Unit> units;
  for (uint64_t s = 0; s < B; ++s)
    for (uint64_t j = 0; j < KV; ++j)
      for (uint64_t c = 0; c < split; ++c)
        units.push_back({s, j, c, pg_lo + npg * c / split, pg_lo + npg * (c + 1) / split});
  const uint64_t max_pages = (npg + split - 1) / split;
  const uint64_t lk_max = max_pages * P;
  const uint32_t runs_max = uint32_t(std::min<uint64_t>(E, max_pages));
  const uint64_t run_pages_max = (max_pages + runs_max - 1) / runs_max;
  const uint64_t s_acc_bytes = mq * run_pages_max * C * 4, o_acc_bytes = mq * hd_blocks * C * 4;
  const uint64_t page_half = hd * P * ek;  // K^T or V of one page

  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      std::vector<size_t> mine;
      for (size_t i = core; i < units.size(); i += hw.cores) mine.push_back(i);
      if (mine.empty()) continue;
      const size_t nu = mine.size();
      CoreStream& s = cs(chip, core);
      Arena& a = l1_of(chip, core);
      const uint64_t res_bytes = split > 1 ? part_bytes : mq * hd * ea;
      const uint64_t q_all = a.take(nu * mq * hd * ea, 64, "attention Q rows");
      const uint64_t res_all = a.take(nu * res_bytes, 64, split > 1 ? "attention partials" : "attention output rows");
      // Buffer sets: as many as L1 (with page rings for `sets` units) and the accumulators hold.
      const uint64_t set_l1 = mq * lk_max * (4 + ep) + 2 * mq * 4 + mq * hd * 4 + 5 * 64;
      uint64_t sets = 4;
      while (sets > 1 && (sets * (s_acc_bytes + o_acc_bytes) > hw.acc_bytes ||
                          a.top + sets * set_l1 + 2 * sets * max_pages * page_half > a.limit))
        --sets;
      if (s_acc_bytes + o_acc_bytes > hw.acc_bytes || a.top + set_l1 + 2 * max_pages * page_half > a.limit)
        throw InputError("attention: " + std::to_string(mq) + " query heads over " + std::to_string(max_pages) +
                         " KV pages do not fit the L1 (" + std::to_string(a.limit - a.top) +
                         " bytes beside the weight ring) and accumulators of " + hw.name);
      struct Bufs {
        uint64_t sc, pr, mx, rs, ot;
      } bufs[4];
      for (uint64_t b = 0; b < sets; ++b) {
        bufs[b].sc = a.take(mq * lk_max * 4, 64, "attention scores");
        bufs[b].pr = a.take(mq * lk_max * ep, 64, "attention probabilities");
        bufs[b].mx = a.take(mq * 4, 64, "row max");
        bufs[b].rs = a.take(mq * 4, 64, "row sum reciprocal");
        bufs[b].ot = a.take(mq * hd * 4, 64, "attention output sum");
      }
      // Page rings (an even slot count, so slot i is always written by DMA engine i mod 2).
      uint64_t ring = std::max(max_pages, std::min<uint64_t>((a.limit - a.top) / 2 / (2 * page_half), 64));
      ring -= ring % 2 && ring > max_pages ? 1 : 0;
      const uint64_t kring = a.take(ring * page_half, 64, "K^T page ring");
      const uint64_t vring = a.take(ring * page_half, 64, "V page ring");
      const uint64_t lag = std::min<uint64_t>(sets - 1, ring / max_pages - 1);
      record_l1(chip, core, q_all, a.top - q_all,
                "attention Q rows and results of " + std::to_string(nu) + " units, " + std::to_string(sets) +
                    " buffer sets, K^T/V page rings of " + std::to_string(ring));
      std::vector<std::vector<uint64_t>> s_acc(sets), o_acc(sets);
      for (uint32_t e = 0; e < E; ++e) {
        Arena& ac = acc_of(chip, core, e);
        for (uint64_t b = 0; b < sets; ++b) {
          s_acc[b].push_back(ac.take(s_acc_bytes, C * 4, "attention scores"));
          o_acc[b].push_back(ac.take(o_acc_bytes, C * 4, "attention output"));
        }
      }
      const int d0 = 0, d1 = int(hw.dmas - 1);
      for (size_t i = 0; i < nu; ++i) {
        const Unit& u = units[mine[i]];
        s.emit(dma({.load = true,
                    .unit = dma_act(),
                    .dst = {Space::l1, q_all + i * mq * hd * ea},
                    .src = {q.tier, addr(q) + (u.s * KV + u.j) * G * hd * ea},
                    .len = mq * hd * ea}));
      }
      // Engine runs of a unit: run r covers pages [first, last) and keys [k0, k1).
      struct Run {
        uint64_t first, last, k0, k1;
      };
      auto runs_of = [&](const Unit& u) {
        std::vector<Run> v;
        const uint64_t n = u.pb - u.pa, r = std::min<uint64_t>(E, n);
        for (uint64_t i = 0; i < r; ++i) {
          Run x;
          x.first = u.pa + n * i / r;
          x.last = u.pa + n * (i + 1) / r;
          x.k0 = x.first * P;
          x.k1 = std::min(k_hi, x.last * P);
          v.push_back(x);
        }
        return v;
      };
      uint64_t page_i = 0;
      std::vector<uint64_t> first_slot(nu, 0);
      auto res_at = [&](size_t i) { return res_all + i * res_bytes; };
      auto front = [&](size_t i) {
        const Unit& u = units[mine[i]];
        const Bufs& b = bufs[i % sets];
        const uint64_t u0 = u.pa * P, lk = std::min(k_hi, u.pb * P) - u0;
        first_slot[i] = page_i;
        // Every K^T page first (S needs them), then the V pages (P V, later).
        for (int half = 0; half < 2; ++half) {
          for (uint64_t pg = u.pa, k = page_i; pg < u.pb; ++pg, ++k) {
            const uint64_t n = std::min(P, k_hi - pg * P);
            const uint64_t page = pool + kv_page(g, u.s, u.j, pg) * g.page_bytes;
            const uint64_t slot = k % ring;
            if (half == 0)
              s.emit(dma({.load = true,
                          .unit = slot % 2 ? d1 : d0,
                          .dst = {Space::l1, kring + slot * page_half},
                          .src = {Space::hbm, page},
                          .len = n * ek,
                          .n1 = hd,
                          .dst_stride1 = n * ek,
                          .src_stride1 = P * ek}));
            else
              s.emit(dma({.load = true,
                          .unit = slot % 2 ? d0 : d1,
                          .dst = {Space::l1, vring + slot * page_half},
                          .src = {Space::hbm, page + page_half},
                          .len = n * hd * ek}));
          }
        }
        const uint64_t qa = q_all + i * mq * hd * ea;
        const std::vector<Run> runs = runs_of(u);
        for (size_t r = 0; r < runs.size(); ++r) {
          const Run& x = runs[r];
          const uint64_t sa = s_acc[i % sets][r];
          for (uint64_t pg = x.first; pg < x.last; ++pg) {
            const uint64_t n = std::min(P, k_hi - pg * P);
            const uint64_t ktile = kring + ((page_i + pg - u.pa) % ring) * page_half;
            for (uint64_t k0 = 0; k0 < hd; k0 += hw.R) {
              Instr mm;
              mm.op = Opcode::matmul;
              mm.unit = uint8_t(uint8_t(isa::Unit::mx0) + r);
              mm.a_type = uint64_t(at);
              mm.b_type = uint64_t(kt);
              mm.dataflow = uint64_t(isa::Dataflow::ws);
              mm.accumulate = k0 ? 1 : 0;
              mm.a_addr = qa + k0 * ea;
              mm.a_stride = hd * ea;
              mm.b_addr = ktile + k0 * n * ek;
              mm.b_stride = n * ek;
              mm.c_addr = sa + (pg - x.first) * C * 4;
              mm.c_stride = run_pages_max * C * 4;
              mm.m = mq;
              mm.k = std::min(hw.R, hd - k0);
              mm.n = n;
              s.emit(mm);
            }
            phase_macs += mq * hd * n;
          }
          Instr v = vec(Opcode::vscale, mq, x.k1 - x.k0);
          operand(v, 0, Space::l1, b.sc + (x.k0 - u0) * 4, lk * 4, DType::fp32);
          operand(v, 1, Space::acc, sa, run_pages_max * C * 4, DType::fp32, uint32_t(r));
          v.imm = scale;
          s.emit(v);
        }
        page_i += u.pb - u.pa;
        if (k_lo > u0) {
          Instr v = vec(Opcode::vfill, mq, k_lo - u0);
          operand(v, 0, Space::l1, b.sc, lk * 4, DType::fp32);
          v.imm = -INFINITY;
          s.emit(v);
        }
        // P = softmax(S); a partial keeps its row max and row sum for the combine.
        const uint64_t mx = split > 1 ? res_at(i) + mq * hd * 4 : b.mx;
        const uint64_t sm = split > 1 ? mx + mq * 4 : b.rs;
        auto v2 = [&s](Opcode o, uint64_t rows, uint64_t cols, uint64_t d, uint64_t ds, DType dt, uint64_t s1,
                       uint64_t s1s, uint64_t s2, uint64_t s2s) { emit_softmax_step(s, o, rows, cols, d, ds, dt, s1, s1s, s2, s2s); };
        const uint64_t none = kNoSrc2;
        v2(Opcode::vrmax, mq, lk, mx, 4, DType::fp32, b.sc, lk * 4, 0, none);
        v2(Opcode::vsub_row, mq, lk, b.sc, lk * 4, DType::fp32, b.sc, lk * 4, mx, 4);
        v2(Opcode::vexp, mq, lk, b.sc, lk * 4, DType::fp32, b.sc, lk * 4, 0, none);
        v2(Opcode::vrsum, mq, lk, sm, 4, DType::fp32, b.sc, lk * 4, 0, none);
        v2(Opcode::vrecip, mq, 1, b.rs, 4, DType::fp32, sm, 4, 0, none);
        v2(Opcode::vmul_row, mq, lk, b.pr, lk * ep, pt, b.sc, lk * 4, b.rs, 4);
      };
      // P V on every engine of the unit.
      auto back_mm = [&](size_t i) {
        const Unit& u = units[mine[i]];
        const Bufs& b = bufs[i % sets];
        const uint64_t u0 = u.pa * P, lk = std::min(k_hi, u.pb * P) - u0;
        const std::vector<Run> runs = runs_of(u);
        for (size_t r = 0; r < runs.size(); ++r) {
          const Run& x = runs[r];
          bool first = true;
          for (uint64_t pg = x.first; pg < x.last; ++pg) {
            const uint64_t n = std::min(P, k_hi - pg * P);
            const uint64_t vt = vring + ((first_slot[i] + pg - u.pa) % ring) * page_half;
            for (uint64_t k0 = 0; k0 < n; k0 += hw.R) {
              for (uint64_t n0 = 0; n0 < hd; n0 += C) {
                Instr mm;
                mm.op = Opcode::matmul;
                mm.unit = uint8_t(uint8_t(isa::Unit::mx0) + r);
                mm.a_type = uint64_t(pt);
                mm.b_type = uint64_t(kt);
                mm.dataflow = uint64_t(isa::Dataflow::ws);
                mm.accumulate = first ? 0 : 1;
                mm.a_addr = b.pr + (pg * P - u0 + k0) * ep;
                mm.a_stride = lk * ep;
                mm.b_addr = vt + (k0 * hd + n0) * ek;
                mm.b_stride = hd * ek;
                mm.c_addr = o_acc[i % sets][r] + (n0 / C) * C * 4;
                mm.c_stride = hd_blocks * C * 4;
                mm.m = mq;
                mm.k = std::min(hw.R, n - k0);
                mm.n = std::min(C, hd - n0);
                s.emit(mm);
              }
              first = false;
            }
            phase_macs += mq * hd * n;
          }
        }
      };
      // O = sum of the engines' O_e, into the unit's result slot (activation format, or FP32
      // for a partial).
      auto back_vec = [&](size_t i) {
        const Unit& u = units[mine[i]];
        const Bufs& b = bufs[i % sets];
        const size_t nr = runs_of(u).size();
        const DType dt = split > 1 ? DType::fp32 : at;
        const uint64_t de = split > 1 ? 4 : ea;
        for (uint64_t n0 = 0; n0 < hd; n0 += C) {
          const uint64_t w = std::min(C, hd - n0), blk = (n0 / C) * C * 4, ostr = hd_blocks * C * 4;
          Instr v = vec(Opcode::vcvt, mq, w);
          if (nr == 1) {
            operand(v, 0, Space::l1, res_at(i) + n0 * de, hd * de, dt);
          } else {
            operand(v, 0, Space::l1, b.ot + n0 * 4, hd * 4, DType::fp32);
          }
          operand(v, 1, Space::acc, o_acc[i % sets][0] + blk, ostr, DType::fp32, 0);
          v.imm = 1.0f;
          s.emit(v);
          for (size_t r = 1; r < nr; ++r) {
            Instr add = vec(Opcode::vadd, mq, w);
            if (r + 1 == nr)
              operand(add, 0, Space::l1, res_at(i) + n0 * de, hd * de, dt);
            else
              operand(add, 0, Space::l1, b.ot + n0 * 4, hd * 4, DType::fp32);
            operand(add, 1, Space::l1, b.ot + n0 * 4, hd * 4, DType::fp32);
            operand(add, 2, Space::acc, o_acc[i % sets][r] + blk, ostr, DType::fp32, uint32_t(r));
            s.emit(add);
          }
        }
      };
      // Program order per step: the finishing unit's sum (its P V was emitted a step earlier),
      // the front `lag` units ahead, then this unit's P V.
      for (size_t step = 0; step < nu + lag + 1; ++step) {
        if (step >= lag + 1 && step - lag - 1 < nu) back_vec(step - lag - 1);
        if (step < nu) front(step);
        // The next phases' weights into the ring slots the matmul before left free, behind
        // the last unit's pages in the DMA queues.
        if (step + 1 == nu) ws_of(chip, core).prefetch(s, hw);
        if (step >= lag && step - lag < nu) back_mm(step - lag);
      }
      for (size_t i = 0; i < nu; ++i) {
        const Unit& u = units[mine[i]];
        if (split > 1) {
          const Tensor& part = t("attn.partial");
          s.emit(dma({.load = false,
                      .unit = dma_act(),
                      .dst = {part.tier, addr(part) + ((u.s * KV + u.j) * split + u.c) * part_bytes},
                      .src = {Space::l1, res_at(i)},
                      .len = part_bytes}));
        } else {
          s.emit(dma({.load = false,
                      .unit = dma_act(),
                      .dst = {att.tier, addr(att) + u.s * row_bytes + u.j * G * hd * ea},
                      .src = {Space::l1, res_at(i)},
                      .len = G * hd * ea}));
        }
      }
    }
  }
  end_phase(op.name);
  if (split == 1) return;
  // The combine: per (sequence, KV head), weights w_c = l_c exp(m_c - max_c m_c) / sum, then
  // O = sum_c w_c O_c, on the vector engine of one core per pair.
  phase_name = op.name + "_combine";
  const Tensor& part = t("attn.partial");
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      CoreStream& s = cs(chip, core);
      Arena& a = l1_of(chip, core);
      for (uint64_t p = core; p < B * KV; p += hw.cores) {
        const uint64_t sq = p / KV, j = p % KV;
        const uint64_t in = a.take(split * part_bytes, 64, "attention partials");
        const uint64_t w = a.take(split * mq * 4, 64, "partial weights");
        const uint64_t mx = a.take(mq * 4, 64, "partial max");
        const uint64_t den = a.take(mq * 4, 64, "partial weight sum");
        const uint64_t sum = a.take(mq * hd * 4, 64, "combined output");
        const uint64_t tmp = a.take(mq * hd * 4, 64, "weighted partial");
        const uint64_t out = a.take(mq * hd * ea, 64, "attention output rows");
        s.emit(dma({.load = true,
                    .unit = dma_act(),
                    .dst = {Space::l1, in},
                    .src = {part.tier, addr(part) + p * split * part_bytes},
                    .len = split * part_bytes}));
        const uint64_t m0 = in + mq * hd * 4, l0 = m0 + mq * 4;  // row max and sum of partial 0
        auto v3 = [&](Opcode o, uint64_t rows, uint64_t cols, uint64_t d, uint64_t ds, DType dt, uint64_t s1,
                      uint64_t s1s, uint64_t s2, uint64_t s2s) {
          Instr v = vec(o, rows, cols);
          operand(v, 0, Space::l1, d, ds, dt);
          operand(v, 1, Space::l1, s1, s1s, DType::fp32);
          if (s2s != ~uint64_t(0)) operand(v, 2, Space::l1, s2, s2s, DType::fp32);
          s.emit(v);
        };
        const uint64_t none = ~uint64_t(0);
        v3(Opcode::vmax, 1, mq, mx, mq * 4, DType::fp32, m0, mq * 4, m0 + part_bytes, mq * 4);
        for (uint64_t c = 2; c < split; ++c)
          v3(Opcode::vmax, 1, mq, mx, mq * 4, DType::fp32, mx, mq * 4, m0 + c * part_bytes, mq * 4);
        v3(Opcode::vsub, split, mq, w, mq * 4, DType::fp32, m0, part_bytes, mx, 0);
        v3(Opcode::vexp, split, mq, w, mq * 4, DType::fp32, w, mq * 4, 0, none);
        v3(Opcode::vmul, split, mq, w, mq * 4, DType::fp32, w, mq * 4, l0, part_bytes);
        v3(Opcode::vadd, 1, mq, den, mq * 4, DType::fp32, w, mq * 4, w + mq * 4, mq * 4);
        for (uint64_t c = 2; c < split; ++c)
          v3(Opcode::vadd, 1, mq, den, mq * 4, DType::fp32, den, mq * 4, w + c * mq * 4, mq * 4);
        v3(Opcode::vrecip, 1, mq, den, mq * 4, DType::fp32, den, mq * 4, 0, none);
        v3(Opcode::vmul, split, mq, w, mq * 4, DType::fp32, w, mq * 4, den, 0);
        v3(Opcode::vmul_row, mq, hd, sum, hd * 4, DType::fp32, in, hd * 4, w, 4);
        for (uint64_t c = 1; c < split; ++c) {
          v3(Opcode::vmul_row, mq, hd, tmp, hd * 4, DType::fp32, in + c * part_bytes, hd * 4, w + c * mq * 4, 4);
          if (c + 1 == split)
            v3(Opcode::vadd, mq, hd, out, hd * ea, at, sum, hd * 4, tmp, hd * 4);
          else
            v3(Opcode::vadd, mq, hd, sum, hd * 4, DType::fp32, sum, hd * 4, tmp, hd * 4);
        }
        s.emit(dma({.load = false,
                    .unit = dma_act(),
                    .dst = {att.tier, addr(att) + sq * row_bytes + j * G * hd * ea},
                    .src = {Space::l1, out},
                    .len = G * hd * ea}));
        a.top = in;  // the pair's buffers are free once its store is emitted (tokens order them)
      }
    }
  }
  end_phase(phase_name);
}

}  // namespace tessera::compiler
