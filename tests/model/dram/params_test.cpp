// DramParams: derived values, the standard's rules, the presets read through the
// configuration library (cross-checked against the library's own derived figures), and
// exact clock crossing.
#include <gtest/gtest.h>

#include "common/config/config.h"
#include "common/config/derived.h"
#include "common/config/dram_standard.h"
#include "common/util/error.h"
#include "tests/model/dram/dram_test_util.h"

namespace tessera::model::dram::test {
namespace {

TEST(DramParams, DerivedValues) {
  DramParams p = test_device();
  p.derive();
  EXPECT_EQ(p.burst_bytes, 32u);
  EXPECT_EQ(p.tburst, 2u);
  EXPECT_EQ(p.cols(), 8u);
  EXPECT_EQ(p.pcs_total(), 4u);
  EXPECT_EQ(p.capacity_bytes(), 4u * 8 * 64 * 256);
  EXPECT_EQ(p.unloaded_read_tck(), 20u);
  EXPECT_DOUBLE_EQ(p.peak_bytes_per_s(), 4 * 4 * 4000e6);
  EXPECT_EQ(p.refresh_interval(), 2000u);
  p.refresh = Refresh::PerBank;
  EXPECT_EQ(p.refresh_interval(), 250u);
}

// The values are checked once, by the configuration loader (tests/common/config/
// dram_standard_test.cpp breaks every rule); derive() only needs a registered standard.
TEST(DramParams, DeriveTakesTheCommandBusFromTheStandard) {
  DramParams p = test_device();
  p.derive();
  EXPECT_FALSE(p.single_command_bus());
  p.standard = "ddr3";
  p.derive();
  EXPECT_TRUE(p.single_command_bus());
  p.standard = "hbm9";
  try {
    p.derive();
    ADD_FAILURE() << "an unknown standard was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("arch 'test': dram.standard 'hbm9'"), std::string::npos) << e.what();
  }
}

TEST(DramParams, CrossClockRoundsUpExactly) {
  // 1.2 GHz core (833,333 fs) and a 625 ps tCK.
  EXPECT_EQ(cross_clock_ceil(0, 625000, 833333), 0u);
  EXPECT_EQ(cross_clock_ceil(4, 625000, 833333), 4u);  // 2,500,000 fs is just after core cycle 3 (2,499,999 fs)
  EXPECT_EQ(cross_clock_ceil(3, 833333, 625000), 4u);  // 2,499,999 fs / 625,000 = 3.9999984 -> 4
  EXPECT_EQ(cross_clock_ceil(5, 1000, 1000), 5u);
  // No overflow for large cycle counts: 10^15 cycles of 10^6 fs.
  EXPECT_EQ(cross_clock_ceil(1000000000000000ull, 1000000, 1000000), 1000000000000000ull);
  EXPECT_THROW(cross_clock_ceil(1, 0, 1), InputError);
}

TEST(DramParams, EveryArchPresetReadsAndAgreesWithTheConfigLibrary) {
  for (const std::string& name : config::preset_names()) {
    SCOPED_TRACE(name);
    const config::Arch cfg = config::load_arch(name);
    const DramParams p = params_from_config(*cfg);
    EXPECT_EQ(p.arch_name, name);
    EXPECT_EQ(p.tburst, uint32_t(cfg->dram.burst_length / config::dram_standard(*cfg).transfers_per_tck));
    EXPECT_EQ(int64_t(p.burst_bytes), config::dram_burst_bytes(*cfg));
    EXPECT_EQ(int64_t(p.pcs_total()), config::dram_pseudo_channels_per_chip(*cfg));
    EXPECT_EQ(p.capacity_bytes(), config::dram_capacity_bytes(*cfg));
    EXPECT_DOUBLE_EQ(p.peak_bytes_per_s(), config::dram_peak_bytes_per_s(*cfg));
    EXPECT_EQ(p.tck_fs, config::dram_tck_fs(*cfg));
    const dram_checker::CheckParams c = dram_checker::check_params_from_arch(*cfg);
    EXPECT_EQ(c.tburst, p.tburst);
    EXPECT_EQ(c.columns, p.cols());
    DramSystem m(p);  // builds: the address map fits the organisation
  }
}

TEST(DramParams, EveryDramPresetReads) {
  for (const std::string& preset : config::section_preset_names("dram")) {
    SCOPED_TRACE(preset);
    const std::string yaml = "name: t\nbase: tiny\ndram:\n  preset: " + preset + "\n";
    const config::Arch cfg = config::load_arch_text(yaml, "dram_preset_" + preset + ".yaml");
    const DramParams p = params_from_config(*cfg);
    EXPECT_EQ(p.tburst, uint32_t(cfg->dram.burst_length / config::dram_standard(*cfg).transfers_per_tck));
    DramSystem m(p);
  }
}

}  // namespace
}  // namespace tessera::model::dram::test
