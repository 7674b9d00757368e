#include "compiler/schedule.h"

#include <algorithm>

namespace tessera::compiler {

namespace {
uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
}  // namespace

uint64_t k_tiles(const MatmulPlan& p) { return ceil_div(p.K, p.k_t); }

std::vector<uint64_t> k_block_starts(const MatmulPlan& p, const MatmulPass& pass) {
  std::vector<uint64_t> v;
  for (uint64_t q0 = 0; q0 < k_tiles(p); q0 += p.k_block) v.push_back(q0);
  if (pass.reversed) std::reverse(v.begin(), v.end());
  return v;
}

uint64_t k_rows(const MatmulPlan& p, uint64_t q) { return std::min(p.k_t, p.K - q * p.k_t); }

uint64_t group_width(const MatmulPlan& p, uint64_t g) {
  const uint64_t gw = p.group_blocks * p.n_t;
  return std::min(gw, p.N - g * gw);
}

BlockCols block_cols(const MatmulPlan& p, uint64_t g, uint64_t b) {
  const uint64_t first = g * p.group_blocks * p.n_t + b * p.n_t;
  return {first, std::min(p.n_t, p.N - first)};
}

uint64_t pass_rows(const MatmulPlan& p, uint32_t engines) {
  return p.split == EngineSplit::M ? p.m_t * engines : p.m_t;
}

CoreMatmulWork core_work(const MatmulPlan& p, uint32_t core, uint32_t engines) {
  CoreMatmulWork w;
  const uint32_t cores_used = p.m_groups * p.n_groups;
  if (core >= cores_used) return w;
  w.m_group = core / p.n_groups;
  w.n_group = core % p.n_groups;
  // Contiguous, balanced runs: the first (total % parts) runs get one more.
  auto run = [](uint64_t total, uint64_t parts, uint64_t i, uint64_t& first, uint64_t& count) {
    const uint64_t base = total / parts, extra = total % parts;
    first = i * base + std::min(i, extra);
    count = base + (i < extra ? 1 : 0);
  };
  for (uint64_t g = w.n_group; g < p.groups; g += p.n_groups) w.groups.push_back(g);
  // The prefill QKV epilogue of a K group (its transposes) is the heaviest, and K and V come
  // last in the columns: last groups first, so the epilogue no matmul hides is a light one.
  if (p.transposes) std::reverse(w.groups.begin(), w.groups.end());
  run(p.M, p.m_groups, w.m_group, w.row0, w.rows);
  if (w.groups.empty() || w.rows == 0) return w;
  w.active = true;
  const uint64_t pr = pass_rows(p, engines);
  for (uint64_t r = 0; r < w.rows; r += pr) {
    for (size_t i = 0; i < w.groups.size(); i += p.groups_per_pass) {
      MatmulPass pass;
      pass.row0 = w.row0 + r;
      pass.rows = std::min(pr, w.rows - r);
      for (size_t x = i; x < std::min(w.groups.size(), size_t(i + p.groups_per_pass)); ++x)
        pass.groups.push_back(w.groups[x]);
      w.passes.push_back(std::move(pass));
    }
  }
  if (p.split == EngineSplit::M)
    for (size_t i = 1; i < w.passes.size(); ++i)
      w.passes[i].reversed = w.passes[i].row0 == w.passes[i - 1].row0 && !w.passes[i - 1].reversed;
  return w;
}

uint32_t engine_for(const MatmulPlan& p, uint32_t engines, uint64_t gi, uint64_t q, uint64_t sub) {
  switch (p.split) {
    case EngineSplit::M: return uint32_t(sub % engines);
    case EngineSplit::N: return uint32_t(gi % engines);
    case EngineSplit::K: return uint32_t(q % engines);
  }
  return 0;
}

std::vector<std::pair<uint64_t, uint64_t>> row_blocks(const MatmulPlan& p, const MatmulPass& pass, uint32_t engines) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (p.split != EngineSplit::M) {
    out.emplace_back(pass.row0, pass.rows);
    return out;
  }
  for (uint32_t e = 0; e < engines; ++e) {
    const uint64_t r0 = uint64_t(e) * p.m_t;
    if (r0 >= pass.rows) break;
    out.emplace_back(pass.row0 + r0, std::min(p.m_t, pass.rows - r0));
  }
  return out;
}

}  // namespace tessera::compiler
