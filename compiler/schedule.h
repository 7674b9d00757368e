#pragma once
// How one fused matmul's work divides over the cores and engines of a chip, given its
// MatmulPlan (docs/compiler.md, "Tiling"). The cost model and the code generator both
// walk this decomposition, so what is estimated is what is emitted.
//
// The N columns form `groups` column groups of `group_blocks` weight tiles of n_t
// columns each (the tiles one epilogue needs side by side: a head, or a gate/up pair).
// Column groups are dealt in contiguous runs to `n_groups` core columns; the M rows in
// contiguous runs to `m_groups` core rows; core c = m_group * n_groups + n_group. A core
// works in passes: each pass accumulates a set of column groups for a set of rows over
// the whole reduction, then the epilogue finishes them while the next pass runs (the
// accumulator regions alternate between two halves). Inside a pass the engines split
// the rows (M: engine e takes rows e*m_t..), the column groups (N: group i of the pass
// goes to engine i mod E) or the reduction (K: k-tile q goes to engine q mod E; the
// epilogue adds the engines' partial sums).
#include <cstdint>
#include <vector>

#include "compiler/ir.h"

namespace tessera::compiler {

struct MatmulPass {
  uint64_t row0 = 0, rows = 0;      // rows of the pass (chip-relative)
  std::vector<uint64_t> groups;     // column groups of the pass
  // The pass takes its k-blocks last first. Of passes over the same rows (split M: a
  // prefill), every second one does, so the A block the previous pass loaded last is
  // still in L1 when this one starts with it (kernels_matmul.cpp).
  bool reversed = false;
};

struct CoreMatmulWork {
  bool active = false;
  uint32_t m_group = 0, n_group = 0;
  uint64_t row0 = 0, rows = 0;      // rows of this core
  // Column groups of this core: n_group, n_group + n_groups, ... (interleaved, so groups
  // with heavier epilogues, such as QKV's K heads, spread over the cores).
  std::vector<uint64_t> groups;
  std::vector<MatmulPass> passes;
};

// Columns of column group g's block b: [first, first + width).
struct BlockCols {
  uint64_t first = 0, width = 0;
};

// First k-tile of every k-block of a pass, in the order the pass takes them.
std::vector<uint64_t> k_block_starts(const MatmulPlan& p, const MatmulPass& pass);
// Number of k-tiles of the reduction.
uint64_t k_tiles(const MatmulPlan& p);
// Rows of reduction tile q (k_t, or less for the last one).
uint64_t k_rows(const MatmulPlan& p, uint64_t q);
// Width of column group g (the last group of a plan with group_blocks 1 may be narrower).
uint64_t group_width(const MatmulPlan& p, uint64_t g);
// Column range of block b of group g in the logical output (for SwiGLU/MoE pairs the
// caller maps blocks to gate/up halves).
BlockCols block_cols(const MatmulPlan& p, uint64_t g, uint64_t b);
// Rows one pass holds: E x m_t (split M) or m_t.
uint64_t pass_rows(const MatmulPlan& p, uint32_t engines);

CoreMatmulWork core_work(const MatmulPlan& p, uint32_t core, uint32_t engines);

// Engine of a (pass-relative group index i, k-tile q, row sub-block r) under the plan's split.
uint32_t engine_for(const MatmulPlan& p, uint32_t engines, uint64_t group_index_in_pass, uint64_t q, uint64_t sub);
// Row sub-blocks of a pass: split M gives E (or fewer) blocks of m_t rows; N and K give
// ceil(rows / m_t) blocks processed by the same engine(s) one after the other.
std::vector<std::pair<uint64_t, uint64_t>> row_blocks(const MatmulPlan& p, const MatmulPass& pass, uint32_t engines);

}  // namespace tessera::compiler
