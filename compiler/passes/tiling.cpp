// Tiling: for every fused matmul, the tile widths its epilogue needs (a whole head for
// RoPE, a gate tile beside its up tile for SwiGLU) and then, among the core grids, engine
// splits, rows per matmul and column groups per pass that fit the accumulators and L1,
// the one the cost model (cost_model.h) finds fastest. Also sizes the weight ring: the L1
// slots every core streams weights through, shared by all matmuls of a layer so that the
// weights of the next matmul load while the current one finishes.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "compiler/cost_model.h"
#include "compiler/layout.h"
#include "compiler/passes/passes.h"

namespace tessera::compiler {

namespace {

uint64_t es(isa::DType t) { return num::dtype_bytes(num::DType(t)); }

struct Widths {
  std::vector<uint64_t> n_ts;  // tile widths the epilogue allows, widest first (up to 3, >= C/2)
  uint64_t group_blocks = 1;
  double ops = 2;
};

Widths widths_of(const Graph& g, const Op& op, const Hw& hw) {
  const hf::ModelConfig& m = g.model;
  const uint64_t N = g.tensors[size_t(op.weight)].shape[1];
  Widths w;
  std::vector<uint64_t>& cands = w.n_ts;
  switch (op.epilogue) {
    case Epilogue::QKV: {
      const uint64_t hd = m.head_dim;
      if (hd >= hw.C) {
        if (hd % hw.C)
          throw InputError("tiling: head_dim " + std::to_string(hd) + " of " + m.source +
                           " is not a multiple of matrix.cols " + std::to_string(hw.C) + " of " + hw.name +
                           " (RoPE needs whole heads side by side in the accumulator)");
        cands.push_back(hw.C);
        w.group_blocks = hd / hw.C;
      } else {
        for (uint64_t d = hw.C / hd; d >= 1; --d)
          if ((N / hd) % d == 0) cands.push_back(hd * d);
      }
      w.ops = 6;
      break;
    }
    case Epilogue::SwiGLU:
    case Epilogue::MoEUp:
      for (uint64_t d = std::min(g.inter, hw.C); d >= 1; --d)
        if (g.inter % d == 0) cands.push_back(d);
      w.group_blocks = 2;
      w.ops = op.epilogue == Epilogue::MoEUp ? 6 : 5;
      break;
    default:
      cands.push_back(std::min(hw.C, N));
      w.ops = op.epilogue == Epilogue::GeluUp ? 5 : op.epilogue == Epilogue::Router ? 12 : 3;
      break;
  }
  // The widest widths only: narrower tiles stream fewer weight bytes per array cycle.
  while (cands.size() > 1 && (cands.size() > 3 || 2 * cands.back() < cands.front())) cands.pop_back();
  if (op.scale >= 0) w.ops += 1;
  return w;
}

}  // namespace

void run_tiling(Graph& g, const Hw& hw) {
  // Weight chunks: runs of k-tiles of about six times the bytes a DMA engine keeps in
  // flight, so the latency tail of each DMA instruction is a small part of it, and at most
  // an eighth of L1; the ring slot holds the largest.
  const uint64_t target =
      std::min<uint64_t>(6 * hw.dma_max_outstanding * hw.dma_burst, hw.l1_bytes / 8);
  uint64_t slot = 1024;
  std::vector<Widths> widths(g.ops.size());
  auto k_block = [&](const Op& op, uint64_t n_t, uint64_t gb, uint64_t& chunk) {
    // The divisor of the k-tile count nearest the target (the larger on a tie), so every
    // chunk of a group has the same size and the chunk slots leave no holes (layout.h).
    const Tensor& w = g.tensors[size_t(op.weight)];
    const uint64_t kt = max_k_tile(hw, op.dataflow);
    const uint64_t tgb = std::min(w.shape[0], kt) * n_t * gb * es(w.dtype);
    const uint64_t q = (w.shape[0] + kt - 1) / kt;
    const double want = std::max(1.0, double(target) / double(tgb));
    uint64_t k = 1;
    for (uint64_t d = 1; d <= q; ++d)
      if (q % d == 0 && std::fabs(std::log(double(d) / want)) <= std::fabs(std::log(double(k) / want))) k = d;
    chunk = k * tgb;
    return k;
  };
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (op.kind != OpKind::Linear) continue;
    widths[i] = widths_of(g, op, hw);
    for (uint64_t n_t : widths[i].n_ts) {
      uint64_t chunk = 0;
      k_block(op, n_t, widths[i].group_blocks, chunk);
      slot = std::max(slot, chunk);
    }
  }
  slot = (slot + 63) / 64 * 64;
  // A third of L1, half in a decode step: its other L1 scratch is small, and a deeper ring
  // keeps HBM busy while a phase's last chunks are computed (docs/validation.md, "Decode").
  const uint64_t slots = std::clamp<uint64_t>(hw.l1_bytes / (g.tokens == 1 ? 2 : 3) / slot, 2, 16);
  if (slots * slot > hw.l1_bytes / 2)
    throw InputError("tiling: the weight ring (" + std::to_string(slots) + " slots of " + std::to_string(slot) +
                     " bytes) does not fit half of l1.bytes = " + std::to_string(hw.l1_bytes) + " of " + hw.name);
  g.ring_slot = slot;
  g.ring_slots = uint32_t(slots);
  const uint64_t misc = std::max<uint64_t>(4096, hw.l1_bytes / 32);
  const uint64_t budget = hw.l1_bytes - slots * slot - misc;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    Op& op = g.ops[i];
    if (op.kind != OpKind::Linear) continue;
    const Tensor& w = g.tensors[size_t(op.weight)];
    const Tensor& a = g.tensors[size_t(op.inputs[0])];
    MatmulSpec s;
    s.name = op.name;
    s.M = a.shape[0];
    s.K = w.shape[0];
    s.N = w.shape[1];
    s.dataflow = op.dataflow;
    s.group_blocks = widths[i].group_blocks;
    s.a_bytes = es(a.dtype);
    s.w_bytes = es(w.dtype);
    // Placement puts activations in L2 first fit over their live ranges; an input up to
    // half of L2 has found room there in every model measured (Llama-3-70B prefill's
    // 56 MiB FFN activations in 128 MiB), and guessing HBM for it made the cost model
    // prefer plans that re-read the weights to save activation reads (down: 190k -> 289k
    // cycles).
    s.a_in_hbm = hw.l2_bytes == 0 || a.shape[0] * a.shape[1] * es(a.dtype) > hw.l2_bytes / 2;
    s.epilogue_ops = widths[i].ops;
    s.l1_budget = budget;
    s.ring_slot = slot;
    if (op.epilogue == Epilogue::QKV && g.tokens > 1 && hw.os) {
      s.transposes = true;
      // The K^T transposes need accumulator room of their own only while the epilogue reads
      // q, k and v from the accumulator. A scale, bias or row scale first moves them to L1,
      // which frees the item's own region for its transposes, so the passes keep the whole
      // accumulator (Llama-3-70B prefill qkv: passes of 512 columns instead of 256, A
      // reloaded half as often; docs/validation.md).
      if (op.scale < 0 && op.bias < 0 && op.row_scale < 0)
        s.acc_reserve = std::min(g.model.head_dim, hw.R) * hw.C * 4;
    }
    // Each allowed width with its weight chunks; the fastest plan (ties: the wider tile).
    bool first = true;
    for (uint64_t n_t : widths[i].n_ts) {
      uint64_t chunk = 0;
      s.n_t = n_t;
      s.k_block = k_block(op, n_t, s.group_blocks, chunk);
      if (op.epilogue == Epilogue::Router) {
        // The router's weights are a few columns, so one chunk spans its whole reduction and
        // the A tiles of a row pass would be whole input rows, beyond L1 from a few hundred
        // rows on (Mixtral-8x7B, 256 rows: 4 MiB of 3.9). Runs of k-tiles whose
        // double-buffered A tiles at the longest row pass take at most a quarter of L1.
        const uint64_t kt = max_k_tile(hw, op.dataflow), q = (s.K + kt - 1) / kt;
        const uint64_t rows = std::min<uint64_t>(s.M, hw.max_stream);
        const uint64_t cap = std::max<uint64_t>(1, hw.l1_bytes / 4 / (2 * rows * kt * s.a_bytes));
        while (s.k_block > cap || q % s.k_block) --s.k_block;
      }
      if (op.name == "experts.down" && g.inter % max_k_tile(hw, op.dataflow) == 0) {
        // A weight chunk loads when one of its experts was routed to (kernels_moe.cpp): runs
        // that end on expert boundaries load no rows of an expert nobody chose.
        const uint64_t per_expert = g.inter / max_k_tile(hw, op.dataflow);
        while (per_expert % s.k_block) --s.k_block;
      }
      MatmulPlan p = plan_matmul(hw, s);
      if (first || p.est_cycles < op.plan.est_cycles) op.plan = p;
      first = false;
    }
    op.plan.chunk_offset = stream_layout(op.plan, s.w_bytes, hw.dram_bg_window, hw.engines);
  }
  g.passes_run.push_back("tiling");
}

}  // namespace tessera::compiler
