#include "compiler/layout.h"

#include <algorithm>

#include "compiler/schedule.h"

namespace tessera::compiler {

uint64_t chunks_per_group(const MatmulPlan& p) { return (k_tiles(p) + p.k_block - 1) / p.k_block; }

std::vector<uint64_t> stream_layout(const MatmulPlan& p, uint64_t es, uint64_t window, uint32_t cores) {
  const uint64_t KB = chunks_per_group(p), Q = k_tiles(p);
  std::vector<uint64_t> off(p.groups * KB + 1, 0);
  auto bytes = [&](uint64_t g, uint64_t kb) {
    return packed_run_bytes(p, g, kb * p.k_block, std::min(Q, (kb + 1) * p.k_block), es);
  };
  if (!window) {
    uint64_t at = 0;
    for (uint64_t g = 0; g < p.groups; ++g)
      for (uint64_t kb = 0; kb < KB; ++kb) {
        off[g * KB + kb] = at;
        at += bytes(g, kb);
      }
    off.back() = at;
    return off;
  }
  // Stream c is column group c of the core grid; its chunks in the order the first core of
  // that column consumes them (the passes of its first row chunk).
  const uint64_t n = p.n_groups;
  const uint64_t slot = bytes(0, 0);  // the largest chunk; slots tile the address space
  uint64_t end = 0;
  std::vector<bool> placed(p.groups * KB, false);
  for (uint64_t c = 0; c < n; ++c) {
    const CoreMatmulWork w = core_work(p, uint32_t(c), cores);
    uint64_t j = 0;
    for (const MatmulPass& pass : w.passes) {
      for (uint64_t q0 : k_block_starts(p, pass))
        for (uint64_t g : pass.groups) {
          const uint64_t kb = q0 / p.k_block;
          if (placed[g * KB + kb]) continue;
          placed[g * KB + kb] = true;
          off[g * KB + kb] = (j++ * n + c) * slot;
          end = std::max(end, off[g * KB + kb] + bytes(g, kb));
        }
    }
  }
  off.back() = end;
  return off;
}

uint64_t packed_tile_offset(const MatmulPlan& p, uint64_t g, uint64_t q, uint64_t b, uint64_t es) {
  const uint64_t kb = q / p.k_block, q0 = kb * p.k_block;
  return p.chunk_offset[g * chunks_per_group(p) + kb] +
         ((q - q0) * p.k_t * group_width(p, g) + k_rows(p, q) * b * p.n_t) * es;
}

uint64_t packed_run_bytes(const MatmulPlan& p, uint64_t g, uint64_t q0, uint64_t q1, uint64_t es) {
  const uint64_t rows = (q1 == k_tiles(p) ? p.K : q1 * p.k_t) - q0 * p.k_t;
  return rows * group_width(p, g) * es;
}

uint64_t logical_column(const Graph& gr, const Op& op, uint64_t g, uint64_t b, uint64_t j) {
  const MatmulPlan& p = op.plan;
  switch (op.epilogue) {
    case Epilogue::SwiGLU:
      return b * gr.inter + g * p.n_t + j;
    case Epilogue::MoEUp: {
      const uint64_t per_expert = gr.inter / p.n_t;
      const uint64_t e = g / per_expert, j0 = (g % per_expert) * p.n_t;
      const uint64_t E = gr.model.num_experts;
      return b * E * gr.inter + e * gr.inter + j0 + j;
    }
    default:
      return g * p.group_blocks * p.n_t + b * p.n_t + j;
  }
}

}  // namespace tessera::compiler
