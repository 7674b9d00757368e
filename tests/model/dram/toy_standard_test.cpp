// The "Add a DRAM standard" and "Add a preset" recipes of docs/extending.md, followed on a toy:
// a standard defined exactly as a file of common/config/dram_standards/ would define it, a preset
// in a data directory, an architecture that uses both, and a stream through the DRAM model whose
// command trace the independent checker replays. If the recipe stops being enough to add a
// standard, this test stops building or passing.
#include <gtest/gtest.h>

#include <bit>
#include <sstream>

#include "common/config/config.h"
#include "common/config/dram_standard.h"
#include "model/dram/dram_system.h"
#include "model/dram/traffic.h"
#include "model/dram_checker/checker.h"

// Step 1 of the recipe: the descriptor. In the tree this is common/config/dram_standards/toy_ddr.cpp.
TESSERA_DRAM_STANDARD(toy_ddr){
    .name = "toy_ddr",
    .document = "tests/model/dram/toy_standard_test.cpp (a toy, not a product)",
    .pseudo_channels = false,
    .bank_groups = false,
    .transfers_per_tck = 2,
    .single_command_bus = true,
    .per_bank_refresh = false,
    // A rule of this standard only: its row decoder takes a power-of-two row count.
    .check =
        [](const tessera::config::DramConfig& d, const tessera::config::DramFail& fail) {
          if (!std::has_single_bit(uint64_t(d.rows))) {
            fail("dram.rows", "a power of two for toy_ddr (binary row decoder)", std::to_string(d.rows));
          }
        },
};

namespace tessera::model::dram {
namespace {

const std::string kData = std::string(TESSERA_SOURCE_DIR) + "/tests/model/dram/data";

// A file in common/config/dram_standards/ is registered by the build's generated list; a test's
// standard is not in that folder, so it registers the same descriptor by hand, once.
void register_toy() {
  static const bool done = [] {
    config::register_dram_standard(tessera_dram_standard_toy_ddr);
    return true;
  }();
  (void)done;
}

// Step 2 of the recipe: a preset naming the standard; an architecture starts its dram section from it.
config::Arch toy_arch(const std::vector<std::string>& sets = {}) {
  register_toy();
  return config::load_arch_text("base: tiny\nname: toy\ndram:\n  preset: toy_ddr.yaml\n", kData + "/toy_arch.yaml", sets);
}

TEST(ToyStandard, TheRecipesStandardAndPresetLoad) {
  const config::Arch a = toy_arch();
  EXPECT_EQ(a->dram.standard, "toy_ddr");
  EXPECT_EQ(&config::dram_standard(*a), &tessera_dram_standard_toy_ddr);
  EXPECT_NE(std::find(config::dram_standard_names().begin(), config::dram_standard_names().end(), "toy_ddr"),
            config::dram_standard_names().end());
  const DramParams p = params_from_config(*a);
  EXPECT_TRUE(p.single_command_bus());
  EXPECT_EQ(p.tburst, 4u);  // BL8 at 2 transfers per tCK
  EXPECT_EQ(p.burst_bytes, 64u);
}

TEST(ToyStandard, ItsRulesAreChecked) {
  // The standard's own check.
  try {
    toy_arch({"dram.rows=3000", "dram.stack_bytes=0"});
    ADD_FAILURE() << "3000 rows accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "--set:1: dram.rows: expected a power of two for toy_ddr (binary row decoder), got 3000");
  }
  // The common rules, driven by the descriptor: no bank groups, no per-bank refresh, 2 transfers per tCK.
  for (const auto& [set, key] : std::vector<std::pair<std::string, std::string>>{
           {"dram.bank_groups=2", "dram.bank_groups"},
           {"dram.controller.refresh=per_bank", "dram.controller.refresh"},
           {"dram.timing.tck_ps=2500", "dram.timing.tck_ps"}}) {
    try {
      toy_arch({set, "dram.stack_bytes=0"});
      ADD_FAILURE() << set << " accepted";
    } catch (const config::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--set:1: " + key + ": expected"), std::string::npos) << e.what();
    }
  }
}

TEST(ToyStandard, AStreamRunsAndTheCheckerFindsNoViolation) {
  const config::Arch a = toy_arch();
  std::ostringstream trace;
  DramSystem m(params_from_config(*a), Options{&trace});
  TrafficSpec spec;
  spec.kind = TrafficSpec::Kind::Stream;
  spec.bytes = 1 << 20;
  run_traffic(m, spec);
  EXPECT_EQ(m.stats().bytes_read, uint64_t(1) << 20);
  EXPECT_GT(m.stats().utilisation(), 0.5);  // a sequential stream keeps the data buses mostly busy
  m.advance(m.now_tck());                    // flushes the trace
  std::istringstream in(trace.str());
  const dram_checker::CheckReport r = dram_checker::check_trace(in, dram_checker::check_params_from_arch(*a));
  EXPECT_GT(r.commands, 0u);
  EXPECT_EQ(r.total(), 0u);
}

}  // namespace
}  // namespace tessera::model::dram
