// The core top level (tiny preset, parameters from tessera_cfg_pkg) against the SystemC model
// in functional mode (tessera::model::Simulation) on the same program: loads of operands from
// L2 into L1 on both DMA engines, matmul tiles (ws and os, every input format), a vector
// instruction and stores back to L2, ordered by tokens. The bench's outside memory is the L2
// with the model's fixed L2 latency (l2.latency), so the model's L2 and the RTL see the same
// memory timing. Checked: every byte of L2 and of the accumulator after the run, the start
// and completion cycle of every instruction (from the core's timeline probes, matched to
// instructions in per-unit order) and the halt cycle H, all equal to the model's. Seeds are
// printed; TESSERA_WAVES=1 writes core_<test>.fst.
#include <gtest/gtest.h>
#include <verilated.h>
#include <verilated_fst_c.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "model/core/model.h"
#include "tests/rtl/core_harness.h"

namespace {

namespace isa = tessera::isa;
namespace model = tessera::model;
namespace config = tessera::config;
using namespace tessera::rtl_core;

// Returns the number of cycles in which a matrix completion was counted late.
uint64_t check_case(const Case& c, const std::string& name, uint64_t seed) {
  const config::Arch cfg = config::load_arch("tiny");
  isa::Program p;
  p.arch_name = cfg->name;
  p.arch_fingerprint = config::fingerprint(*cfg);
  p.text.push_back(isa::TextSection{0, 0, c.prog});
  p.data = c.data;
  model::RunOptions opt;
  opt.functional = true;
  model::Simulation sim(*cfg, p, opt);
  sim.run();
  const auto& recs = sim.records(0, 0);

  std::vector<uint8_t> l2(uint64_t(cfg->l2.bytes), 0);
  for (const auto& d : c.data) std::copy(d.bytes.begin(), d.bytes.end(), l2.begin() + int64_t(d.addr));
  CoreBench b(name);
  const Timeline tl = b.run(c.prog, l2, uint32_t(cfg->l2.latency), uint32_t(cfg->dma.bytes_per_cycle));
  EXPECT_FALSE(tl.err) << "core error: sequencer " << tl.seq_err << ", core " << tl.core_err << "; seed " << seed;
  EXPECT_NE(tl.halt, UINT64_MAX) << "no halt; seed " << seed;
  if (tl.err || tl.halt == UINT64_MAX) return 0;
  for (const std::string& s : tl.problems) ADD_FAILURE() << s << "; seed " << seed;

  for (size_t i = 0; i + 1 < c.prog.size(); ++i) {
    EXPECT_EQ(tl.start[i], recs[i].start) << "instruction " << i << " (" << isa::format_instr(c.prog[i])
                                          << ") start; seed " << seed;
    EXPECT_EQ(tl.end[i], recs[i].E) << "instruction " << i << " (" << isa::format_instr(c.prog[i])
                                    << ") completion E; seed " << seed;
  }
  EXPECT_EQ(tl.halt, sim.cycles()) << "halt cycle H; seed " << seed;
  const std::vector<uint8_t> want_l2 = sim.read_memory(0, 0, isa::Space::l2, 0, 0, l2.size());
  size_t bad = 0;
  for (size_t i = 0; i < l2.size() && bad < 5; ++i)
    if (l2[i] != want_l2[i]) {
      ADD_FAILURE() << "L2 byte " << i << ": RTL " << int(l2[i]) << " model " << int(want_l2[i]) << "; seed " << seed;
      ++bad;
    }
  EXPECT_FALSE(std::equal(c.data[0].bytes.begin(), c.data[0].bytes.end(), want_l2.begin()))
      << "the program stored nothing to L2; seed " << seed;
  const uint32_t row_bytes = 4 * uint32_t(cfg->matrix.cols);
  uint64_t nonzero = 0;
  const uint32_t acc_rows = uint32_t(cfg->accumulator.bytes) / row_bytes;
  bad = 0;
  for (uint32_t r = 0; r < acc_rows && bad < 5; ++r) {
    const auto got = b.acc_row(r, row_bytes);
    const auto want = sim.read_memory(0, 0, isa::Space::acc, 0, uint64_t(r) * row_bytes, row_bytes);
    nonzero += uint64_t(std::count_if(want.begin(), want.end(), [](uint8_t x) { return x != 0; }));
    if (got != want) {
      ADD_FAILURE() << "accumulator row " << r << " differs; seed " << seed;
      ++bad;
    }
  }
  EXPECT_GT(nonzero, 0u) << "the accumulators are all zero; seed " << seed;
  std::printf("%s: seed %llu, %zu instructions, H = %llu, %llu late matrix completion reports\n", name.c_str(),
              static_cast<unsigned long long>(seed), c.prog.size(), static_cast<unsigned long long>(tl.halt),
              static_cast<unsigned long long>(tl.late_reports));
  return tl.late_reports;
}

// Back-to-back tiles on loaded operands: overlapping tiles, tiles completing in one cycle.
TEST(Core, BackToBackTilesMatchModel) {
  uint64_t late = 0;
  for (uint64_t seed = 101; seed <= 110; ++seed) {
    std::mt19937_64 rng(seed);
    const Case c = random_case(rng, 1, 12);
    late += check_case(c, "burst_" + std::to_string(seed), seed);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(late, 0u) << "no two tiles completed in one cycle";
}

TEST(Core, RandomProgramsMatchModel) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(seed);
    const Case c = random_case(rng, int(1 + seed % 4));
    check_case(c, "random_" + std::to_string(seed), seed);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
