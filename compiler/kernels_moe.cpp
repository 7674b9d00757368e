// Sparse mixture-of-experts (docs/compiler.md, "Sparse mixture-of-experts"): a step loads
// the weights of the experts its rows chose and no others.
//
// The experts stay side by side in one gate/up and one down matmul (fusion.cpp), so tiling,
// the weight ring and the epilogues are those of a dense MLP of E x intermediate columns.
// What changes is the weight stream: every chunk of an expert's weights is a load predicated
// on the expert's used word in L1 (spec/isa.yaml load, pred_words), which is non-zero when a
// row of the step routed to the expert. The words are the column maxima of the routing
// weights (zero for every expert a row did not choose), computed on every core when the
// gate/up phase starts; until then the stream holds the layer's expert chunks back
// (WeightStream gates). The matmul tiles of those weights carry the same predicate: a tile of
// an expert nobody chose leaves the array idle and clears its accumulator rows when it would
// have overwritten them, so an unrouted expert's h columns are exactly 0 (and the epilogue's
// routing weight 0 keeps them so), as in the dense program.
#include <algorithm>

#include "compiler/codegen.h"

namespace tessera::compiler {

using isa::DType;
using isa::Opcode;
using isa::Space;

namespace {

// The experts [e0, e1] whose weights rows [k0, k1) of column group g of `op` hold; false for an
// op that is not an expert matmul.
bool experts_of(const Codegen& cg, const Op& op, uint64_t g, uint64_t k0, uint64_t k1, uint64_t& e0, uint64_t& e1) {
  if (!cg.g.model.is_moe()) return false;
  const uint64_t inter = cg.g.inter;
  if (op.epilogue == Epilogue::MoEUp) {
    // A column group is n_t gate columns and the matching up columns of one expert (tiling
    // picks n_t dividing the intermediate size).
    e0 = e1 = g / (inter / op.plan.n_t);
    return true;
  }
  if (op.name == "experts.down") {
    // Reduction rows of the down matmul are the experts' intermediate columns, expert-major.
    e0 = k0 / inter;
    e1 = (k1 - 1) / inter;
    return true;
  }
  return false;
}

}  // namespace

void expert_predicate(const Codegen& cg, const Op& op, uint64_t g, uint64_t k0, uint64_t k1, WeightChunk& c) {
  uint64_t e0 = 0, e1 = 0;
  if (!experts_of(cg, op, g, k0, k1, e0, e1)) return;
  c.pred_addr = cg.moe_used + 4 * e0;
  c.pred_words = uint32_t(e1 - e0 + 1);
  c.gate = uint32_t(cg.layer + 1);
}

void expert_tile_predicate(const Codegen& cg, const Op& op, uint64_t g, uint64_t q, isa::Instr& mm) {
  uint64_t e0 = 0, e1 = 0;
  const uint64_t k0 = q * op.plan.k_t, k1 = std::min(op.plan.K, k0 + op.plan.k_t);
  if (!experts_of(cg, op, g, k0, k1, e0, e1)) return;
  mm.pred_addr = cg.moe_used + 4 * e0;
  mm.pred_words = e1 - e0 + 1;
}

void emit_routed_experts(Codegen& cg) {
  const Tensor& r = cg.t("routing");
  const uint64_t E = cg.g.model.num_experts, M = r.shape[0], rb = r.bytes / M;
  for (uint32_t chip = 0; chip < cg.group_chips; ++chip) {
    for (uint32_t core = 0; core < cg.hw.cores; ++core) {
      CoreStream& s = cg.cs(chip, core);
      Arena& l1 = cg.l1_of(chip, core);
      const uint64_t top = l1.top;
      // Routing rows in blocks of at most a quarter of the free L1 (and 16 KiB): a prefill
      // has thousands of rows.
      const uint64_t room = std::min<uint64_t>((l1.limit - l1.top) / 4, 16 * 1024);
      const uint64_t blk = std::clamp<uint64_t>(room / rb, 1, M);
      const uint64_t buf = l1.take(blk * rb, 64, "routing rows");
      auto vmax = [&](uint64_t rows, uint64_t dst, uint64_t a, uint64_t b) {
        isa::Instr v = Codegen::vec(Opcode::vmax, rows, E);
        Codegen::operand(v, 0, Space::l1, dst, rb, DType::fp32);
        Codegen::operand(v, 1, Space::l1, a, rb, DType::fp32);
        Codegen::operand(v, 2, Space::l1, b, rb, DType::fp32);
        s.emit(v);
      };
      for (uint64_t r0 = 0; r0 < M; r0 += blk) {
        const uint64_t n = std::min(blk, M - r0);
        s.emit(Codegen::dma({.load = true,
                             .unit = cg.dma_act(),
                             .dst = {Space::l1, buf},
                             .src = {r.tier, cg.addr(r) + r0 * rb},
                             .len = n * rb}));
        // Halving: rows [0, h) take the maximum with the last h rows (an odd middle row stays).
        for (uint64_t m = n; m > 1;) {
          const uint64_t h = m / 2;
          vmax(h, buf, buf, buf + (m - h) * rb);
          m -= h;
        }
        vmax(1, cg.moe_used, r0 ? cg.moe_used : buf, buf);
      }
      l1.top = top;
      cg.record_l1(chip, core, cg.moe_used, E * 4, "used word of each expert (predicates of its weight loads)");
      cg.ws_of(chip, core).release(uint32_t(cg.layer + 1));
    }
  }
}

}  // namespace tessera::compiler
