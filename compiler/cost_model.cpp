#include "compiler/cost_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "common/util/error.h"
#include "compiler/schedule.h"
#include "common/timing/timing.h"

namespace tessera::compiler {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// Accumulator groups one engine holds in one pass.
uint64_t acc_groups(const MatmulPlan& p, uint32_t engines) {
  return p.split == EngineSplit::N ? ceil_div(p.groups_per_pass, engines) : p.groups_per_pass;
}

struct Cost {
  uint64_t compute = 0, hbm = 0, l2 = 0, vec = 0, dma = 0, total = 0;
  uint64_t hbm_bytes = 0, l2_bytes = 0, instructions = 0;
};

Cost cost_of(const Hw& hw, const MatmulSpec& s, const MatmulPlan& p) {
  Cost c;
  const uint32_t E = hw.engines;
  const uint64_t Q = k_tiles(p);
  double hbm_bytes = 0, l2_bytes = 0, core_max = 0, core_l2_max = 0;
  uint32_t active = 0;
  for (uint32_t core = 0; core < p.m_groups * p.n_groups; ++core) {
    const CoreMatmulWork w = core_work(p, core, E);
    if (!w.active) continue;
    ++active;
    const double before = hbm_bytes, l2_before = l2_bytes;
    double core_weights = 0;
    std::vector<timing::MatmulTimer> timers(E, timing::MatmulTimer(hw.R, hw.double_buffer));
    uint64_t vec = 0, instr = 0;
    for (const MatmulPass& pass : w.passes) {
      const auto blocks = row_blocks(p, pass, E);
      for (size_t gi = 0; gi < pass.groups.size(); ++gi) {
        const uint64_t g = pass.groups[gi];
        for (uint64_t q = 0; q < Q; ++q) {
          for (uint64_t b = 0; b < p.group_blocks; ++b) {
            const BlockCols bc = block_cols(p, g, b);
            if (!bc.width) continue;
            hbm_bytes += double(k_rows(p, q) * bc.width * s.w_bytes);
            core_weights += double(k_rows(p, q) * bc.width * s.w_bytes);
            for (size_t sub = 0; sub < blocks.size(); ++sub) {
              timing::MatmulTimer& t = timers[engine_for(p, E, gi, q, sub)];
              t.tile(t.earliest_q(), timing::MatmulTile{p.dataflow == isa::Dataflow::os, blocks[sub].second,
                                                        k_rows(p, q), bc.width});
              ++instr;
            }
          }
        }
        const uint64_t elems = pass.rows * group_width(p, g);
        const double ops = s.epilogue_ops + (p.split == EngineSplit::K ? double(E - 1) : 0.0);
        vec += uint64_t(double(elems) * ops / double(hw.lanes)) + uint64_t(ops + 1) * (hw.vec_latency + 8);
      }
      const double a = double(pass.rows * p.K * s.a_bytes);
      (s.a_in_hbm ? hbm_bytes : l2_bytes) += a;
    }
    core_max = std::max(core_max, hbm_bytes - before);
    core_l2_max = std::max(core_l2_max, l2_bytes - l2_before);
    // When the kernel cannot keep this core's A rows resident (one row chunk covering them,
    // within a third of L1), it reloads them for every pass through the same DMA engines
    // as the weights: their bytes per cycle then bound the core (prefill).
    const bool resident = w.passes.front().rows == w.rows && w.rows * p.K * s.a_bytes <= s.l1_budget / 3;
    if (!resident) {
      const double a_bytes = double(w.passes.size() * w.passes.front().rows) * double(p.K * s.a_bytes);
      c.dma = std::max(c.dma, uint64_t((core_weights + a_bytes) /
                                       (double(hw.dmas * hw.dma_bytes_per_cycle) * kDmaEfficiency)));
    }
    uint64_t busy = 0;
    for (const timing::MatmulTimer& t : timers) busy = std::max(busy, t.last_e());
    c.compute = std::max(c.compute, busy);
    c.vec = std::max(c.vec, vec);
    c.instructions = std::max(c.instructions, instr);
  }
  c.hbm_bytes = uint64_t(hbm_bytes);
  c.l2_bytes = uint64_t(l2_bytes);
  // HBM time: the chip's bytes at the streaming rate, but no less than the busiest core's
  // bytes at its share of that rate (cores with less work finish early and their share
  // idles) or at what its DMA engines can keep in flight.
  const double rate = hw.hbm_bytes_per_cycle * kHbmEfficiency;
  const double core_cap = double(hw.dmas) * std::min(double(hw.dma_bytes_per_cycle),
                                                     double(hw.dma_max_outstanding * hw.dma_burst) / kDramRoundTrip);
  c.hbm = uint64_t(std::max({hbm_bytes / rate, core_max * active / rate, core_max / core_cap}));
  // L2 time: the chip's bytes through the L2's ports and the network's L2 side, and the busiest
  // core's through its own network port (docs/timing.md, "On-chip network").
  c.l2 = hw.l2_bytes ? uint64_t(std::max(l2_bytes / hw.l2_bytes_per_cycle, core_l2_max / hw.l2_core_bytes_per_cycle) /
                                kL2Efficiency)
                     : 0;
  // The first weights arrive a DRAM round trip after the phase starts; the last results
  // leave one array drain after the last tile.
  const uint64_t fill = 300 + hw.R + hw.C;
  // Units overlap but feed each other with jitter: a smooth maximum (4-norm) charges a
  // resource that is nearly as busy as the bottleneck, so plans keep some slack.
  double sum = 0;
  for (uint64_t x : {c.compute, c.hbm, c.l2, c.vec, c.dma}) sum += std::pow(double(x), 4.0);
  c.total = uint64_t(std::pow(sum, 0.25)) + fill;
  return c;
}

}  // namespace

uint64_t max_k_tile(const Hw& hw, isa::Dataflow dataflow) {
  return dataflow == isa::Dataflow::os ? hw.max_stream : hw.R;
}

uint64_t acc_half(const Hw& hw, const MatmulPlan& p) {
  return (hw.acc_bytes - p.acc_reserve) / 2 / (4 * hw.C) * (4 * hw.C);
}

uint64_t acc_ring_slots(const Hw& hw, const MatmulPlan& p) {
  if (p.split == EngineSplit::N) return 0;
  const uint64_t region = p.m_t * p.group_blocks * hw.C * 4;
  if (!region || p.groups_per_pass * region <= acc_half(hw, p)) return 0;
  return (hw.acc_bytes - p.acc_reserve) / region;
}

uint64_t plan_acc_bytes(const Hw& hw, const MatmulPlan& p) {
  return acc_groups(p, hw.engines) * p.m_t * p.group_blocks * hw.C * 4;
}

uint64_t plan_a_tile_bytes(const Hw& hw, const MatmulPlan& p, uint64_t a_bytes) {
  return 2 * pass_rows(p, hw.engines) * std::min(p.K, p.k_block * p.k_t) * a_bytes;
}

uint64_t plan_epilogue_bytes(const Hw& hw, const MatmulPlan& p) {
  // Two areas, each: the split-K sum (a row of the accumulator layout; split K only), three
  // FP32 temps of the group's width and the K^T rows of the prefill QKV epilogue (the plans
  // that reserve accumulator for its transposes); plus alignment slack. Counting what a
  // plan does not use would refuse wide passes for want of L1.
  const uint64_t rows = std::min(p.m_t, p.M), gw = p.group_blocks * p.n_t;
  const uint64_t area = (p.split == EngineSplit::K ? rows * p.group_blocks * hw.C * 4 : 0) + 3 * rows * gw * 4 +
                        (p.transposes ? hw.R * hw.C * 2 : 0) + 1024;
  return 2 * area;
}

MatmulPlan plan_matmul(const Hw& hw, const MatmulSpec& s) {
  const uint32_t E = hw.engines;
  MatmulPlan base;
  base.M = s.M;
  base.K = s.K;
  base.N = s.N;
  base.n_t = s.n_t;
  base.dataflow = s.dataflow;
  base.k_t = std::min(s.K, max_k_tile(hw, s.dataflow));
  // The streamed extent of a tile: rows of A (ws) or the reduction (os, rows then <= R).
  const uint64_t max_m_t = s.dataflow == isa::Dataflow::os ? hw.R : hw.max_stream;
  base.group_blocks = s.group_blocks;
  base.acc_reserve = s.acc_reserve;
  base.transposes = s.transposes;
  base.groups = ceil_div(s.N, s.n_t * s.group_blocks);
  base.k_block = std::max<uint64_t>(1, std::min(k_tiles(base), s.k_block));

  MatmulPlan best;
  Cost best_cost;
  best_cost.total = std::numeric_limits<uint64_t>::max();
  std::vector<std::pair<uint64_t, std::string>> tried;
  uint64_t smallest_need = std::numeric_limits<uint64_t>::max();
  std::string smallest_what;

  std::vector<uint32_t> mgs;
  for (uint32_t mg = 1; mg <= hw.cores; mg *= 2) mgs.push_back(mg);
  for (uint32_t mg : mgs) {
    const uint32_t ng = uint32_t(std::min<uint64_t>(base.groups, hw.cores / mg));
    if (ng == 0) continue;
    const uint64_t rows_core = ceil_div(s.M, mg);
    if (mg > 1 && rows_core < hw.R) continue;  // row groups only pay when each keeps an array busy
    for (EngineSplit split : {EngineSplit::N, EngineSplit::K, EngineSplit::M}) {
      if (split == EngineSplit::M && (E == 1 || rows_core < 2 * hw.R)) continue;
      if (split == EngineSplit::K && E == 1) continue;
      const uint64_t gcore = ceil_div(base.groups, ng);
      std::vector<uint64_t> gpps;
      for (uint64_t gpp = 1; gpp < gcore; gpp *= 2) gpps.push_back(gpp);
      gpps.push_back(gcore);
      if (split == EngineSplit::N && gcore > E && gcore % E) gpps.push_back(E);
      // The core's groups in two or three even passes: with a ring of accumulator regions
      // (below) a pass may hold more groups than half the accumulator.
      if (split != EngineSplit::N)
        for (uint64_t n : {2, 3})
          if (ceil_div(gcore, n) > 1 && std::find(gpps.begin(), gpps.end(), ceil_div(gcore, n)) == gpps.end())
            gpps.push_back(ceil_div(gcore, n));
      // Each gpp with its passes in alternate halves of the accumulator and, when every
      // engine holds every group of a pass (splits M and K), with them in a ring of regions
      // over the whole accumulator (acc_ring_slots): the pass that follows reuses the regions
      // whose epilogues read first, and A is reloaded for fewer, wider passes (Llama-3-70B
      // prefill qkv: 5 groups a core in 2 passes instead of 3).
      std::vector<std::pair<uint64_t, bool>> variants;
      for (uint64_t gpp : gpps) {
        variants.emplace_back(gpp, false);
        // Only for two passes or more: the cost does not see the last pass's epilogue, which no
        // matmul hides, and one pass of every group leaves all of it there (Llama-3-8B
        // prefill at 256 rows, qkv: 9,728 -> 10,598 cycles).
        if (split != EngineSplit::N && gpp > 1 && gpp < gcore) variants.emplace_back(gpp, true);
      }
      for (const auto& [gpp, ring] : variants) {
        MatmulPlan p = base;
        p.m_groups = mg;
        p.n_groups = ng;
        p.split = split;
        p.groups_per_pass = gpp;
        const uint64_t per_engine_rows = split == EngineSplit::M ? ceil_div(rows_core, E) : rows_core;
        const uint64_t region_row = acc_groups(p, E) * p.group_blocks * hw.C * 4;
        // A ring keeps one region more than a pass holds, so a pass's first group never
        // waits for the previous pass's epilogue.
        const uint64_t acc_cap_rows = ring ? (hw.acc_bytes - p.acc_reserve) / ((gpp + 1) * p.group_blocks * hw.C * 4)
                                           : acc_half(hw, p) / std::max<uint64_t>(1, region_row);
        p.m_t = std::min({per_engine_rows, max_m_t, acc_cap_rows});
        if (ring && !acc_ring_slots(hw, p)) continue;  // fits a half: the same plan as without
        const uint64_t need_l1 = plan_a_tile_bytes(hw, p, s.a_bytes) + plan_epilogue_bytes(hw, p);
        if (p.m_t == 0 || need_l1 > s.l1_budget) {
          const uint64_t need = p.m_t == 0 ? acc_groups(p, E) * p.group_blocks * hw.C * 4 * 2 : need_l1;
          if (need < smallest_need) {
            smallest_need = need;
            smallest_what = p.m_t == 0 ? "accumulator.bytes " + std::to_string(hw.acc_bytes) + " (needs " +
                                             std::to_string(need) + " for one row of a column group, double-buffered)"
                                       : "L1 (needs " + std::to_string(need_l1) + " bytes for A tiles and epilogue "
                                             "scratch, " + std::to_string(s.l1_budget) + " available next to the "
                                             "weight ring)";
          }
          continue;
        }
        const Cost c = cost_of(hw, s, p);
        char buf[160];
        std::snprintf(buf, sizeof buf, "%ux%u/%s/gpp%llu%s/m%llu=%llu", mg, ng,
                      std::string(split_name(split)).c_str(), (unsigned long long)gpp, ring ? "ring" : "",
                      (unsigned long long)p.m_t, (unsigned long long)c.total);
        tried.emplace_back(c.total, buf);
        // Prefer the faster plan; among equal estimates, fewer instructions.
        if (c.total < best_cost.total || (c.total == best_cost.total && c.instructions < best_cost.instructions)) {
          best = p;
          best_cost = c;
        }
      }
    }
  }
  if (best_cost.total == std::numeric_limits<uint64_t>::max()) {
    throw InputError("tiling: no tile of matmul '" + s.name + "' (M " + std::to_string(s.M) + ", K " +
                     std::to_string(s.K) + ", N " + std::to_string(s.N) + ") fits the SRAM of " + hw.name + ": " +
                     smallest_what);
  }
  best.est_compute = best_cost.compute;
  best.est_hbm = best_cost.hbm;
  best.est_l2 = best_cost.l2;
  best.est_cycles = best_cost.total;
  best.hbm_bytes = best_cost.hbm_bytes;
  best.l2_bytes = best_cost.l2_bytes;
  std::sort(tried.begin(), tried.end());
  std::string why = std::to_string(tried.size()) + " costed; best";
  for (size_t i = 0; i < tried.size() && i < 4; ++i) why += " " + tried[i].second;
  best.why = why;
  return best;
}

}  // namespace tessera::compiler
