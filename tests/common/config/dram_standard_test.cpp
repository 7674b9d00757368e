// DRAM standards (common/config/dram_standard.h): the registry the build fills from
// common/config/dram_standards/, the presets that use them, and the one validator of a `dram`
// section, each rule broken once through --set on a preset that satisfies it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/config/config.h"
#include "common/config/derived.h"
#include "common/config/dram_standard.h"

namespace cfg = tessera::config;

namespace {

std::string error_of(const std::string& arch, const std::vector<std::string>& sets) {
  try {
    cfg::load_arch(arch, sets);
  } catch (const cfg::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(DramStandards, TheBuildRegistersEveryFileOfTheFolder) {
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(std::string(TESSERA_SOURCE_DIR) + "/common/config/dram_standards")) {
    if (f.path().extension() == ".cpp") files.push_back(f.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(cfg::dram_standard_names(), files);
  for (const char* name : {"ddr3", "hbm2e", "hbm3", "hbm3e"}) EXPECT_NE(cfg::find_dram_standard(name), nullptr);
  for (const std::string& name : cfg::dram_standard_names()) {
    const cfg::DramStandard* s = cfg::find_dram_standard(name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->name, name);
    EXPECT_GT(s->transfers_per_tck, 0) << name;
  }
  EXPECT_EQ(cfg::find_dram_standard("hbm4"), nullptr);
  // DDR: one command bus, no pseudo-channels or bank groups, all-bank refresh only.
  const cfg::DramStandard& ddr3 = *cfg::find_dram_standard("ddr3");
  EXPECT_TRUE(ddr3.single_command_bus);
  EXPECT_FALSE(ddr3.pseudo_channels || ddr3.bank_groups || ddr3.per_bank_refresh);
  EXPECT_FALSE(cfg::find_dram_standard("hbm3")->single_command_bus);
}

TEST(DramStandards, EveryStandardHasAPresetAndEveryPresetAValidStandard) {
  std::set<std::string> used;
  for (const std::string& preset : cfg::section_preset_names("dram")) {
    SCOPED_TRACE(preset);
    const cfg::Arch a = cfg::load_arch("tiny", {"dram.preset=" + preset, "dram.channels=2", "dram.stack_bytes=0"});
    used.insert(a->dram.standard);
    // The standard's clock relation holds for the preset's own rate and period.
    EXPECT_NEAR(a->dram.timing.tck_ps * a->dram.data_rate_mtps / 1e6, double(cfg::dram_standard(*a).transfers_per_tck),
                1e-3 * double(cfg::dram_standard(*a).transfers_per_tck));
  }
  const std::vector<std::string> names = cfg::dram_standard_names();
  EXPECT_EQ(used, std::set<std::string>(names.begin(), names.end()));
}

TEST(DramStandards, AnUnknownStandardIsAConfigError) {
  std::string names;
  for (const std::string& s : cfg::dram_standard_names()) names += (names.empty() ? "" : ", ") + s;
  EXPECT_EQ(error_of("tiny", {"dram.standard=hbm4"}),
            "--set:1: dram.standard: expected one of the DRAM standards " + names +
                " (common/config/dram_standards/), got 'hbm4'");
}

TEST(DramStandards, RegisteringANameTwiceIsAnError) {
  static const cfg::DramStandard again{.name = "hbm3"};
  EXPECT_THROW(cfg::register_dram_standard(again), tessera::InputError);
}

// Every rule of the former DramParams::validate and of the consistency checks, through the one
// validator: the message names the key (and where the bad value came from).
TEST(DramStandards, EveryRuleNamesItsKey) {
  const struct {
    const char* arch;
    std::vector<std::string> sets;
    const char* key;
  } cases[] = {
      {"tiny", {"dram.row_bytes=100"}, "dram.row_bytes"},
      {"tiny", {"dram.bus_bits=12"}, "dram.bus_bits"},
      {"tiny", {"dram.timing.tck_ps=900"}, "dram.timing.tck_ps"},
      {"tiny", {"dram.burst_length=6"}, "dram.burst_length"},
      {"tiny", {"dram.timing.trcd=0"}, "dram.timing.trcd"},
      {"tiny", {"dram.bank_groups=0"}, "dram.bank_groups"},
      {"tiny", {"dram.data_rate_mtps=0"}, "dram.data_rate_mtps"},
      {"tiny", {"dram.timing.tccd_l=1"}, "dram.timing.tccd_l"},
      {"tiny", {"dram.timing.tccd_s=1", "dram.timing.tccd_l=1"}, "dram.timing.tccd_s"},
      {"tiny", {"dram.timing.trrd_l=1"}, "dram.timing.trrd_l"},
      {"tiny", {"dram.timing.tfaw=1"}, "dram.timing.tfaw"},
      {"tiny", {"dram.timing.twtr_l=1"}, "dram.timing.twtr_l"},
      {"tiny", {"dram.timing.trfc=7000"}, "dram.timing.trfc"},
      {"tiny", {"dram.timing.trfcsb=500"}, "dram.timing.trfcsb"},
      {"tiny", {"dram.controller.refresh=per_bank", "dram.timing.trefi=8", "dram.timing.trfc=4", "dram.timing.trfcsb=4"},
       "dram.timing.trefi"},
      {"tiny", {"dram.controller.write_low=48"}, "dram.controller.write_low"},
      {"tiny", {"dram.controller.write_high=65"}, "dram.controller.write_high"},
      {"tiny", {"dram.controller.read_queue=0"}, "dram.controller.read_queue"},
      {"tiny", {"dram.controller.address_map=ro-ba-bg-ch-pc-st"}, "dram.controller.address_map"},
      // Pieces whose sizes multiply beyond 64 bits (once a division by zero in the loader).
      {"tiny", {"dram.controller.address_map=ro-ro:31-ro:31-ro:31-ba-bg-ch-pc-st-co"}, "dram.controller.address_map"},
      {"tiny", {"dram.stack_bytes=2 GiB"}, "dram.stack_bytes"},
      {"tiny", {"dram.rows=4194304", "dram.stacks=16", "dram.channels=64"}, "dram.rows"},
      {"tpu-v1", {"dram.pseudo_channels=2"}, "dram.pseudo_channels"},
      {"tpu-v1", {"dram.bank_groups=2"}, "dram.bank_groups"},
      {"tpu-v1", {"dram.controller.refresh=per_bank"}, "dram.controller.refresh"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    const std::string msg = error_of(c.arch, c.sets);
    EXPECT_NE(msg.find(std::string(": ") + c.key + ": expected"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--set:"), std::string::npos) << msg;
  }
}

// tREFI just above tRFC passed `config check` and then livelocked every simulation in refresh
// (issue 17): the interval must hold a precharge, the refresh and one row cycle.
TEST(DramStandards, RefreshMustLeaveRoomForOneRowCycle) {
  const cfg::Arch tiny = cfg::load_arch("tiny");
  const auto& t = tiny->dram.timing;
  const int64_t bound = t.trfc + t.trp + t.trc;
  const std::string msg = error_of("tiny", {"dram.timing.trefi=" + std::to_string(t.trfc + 1)});
  EXPECT_NE(msg.find("dram.timing.trefi: expected at least trfc + trp + trc = " + std::to_string(t.trfc) + " + " +
                     std::to_string(t.trp) + " + " + std::to_string(t.trc) + " = " + std::to_string(bound)),
            std::string::npos)
      << msg;
  EXPECT_NE(error_of("tiny", {"dram.timing.trefi=" + std::to_string(bound - 1)}).find("dram.timing.trefi"),
            std::string::npos);
  EXPECT_NO_THROW(cfg::load_arch("tiny", {"dram.timing.trefi=" + std::to_string(bound)}));
  // Every preset and every DRAM preset clears the bound (they load).
  for (const std::string& name : cfg::preset_names()) EXPECT_NO_THROW(cfg::load_arch(name)) << name;
  for (const std::string& d : cfg::section_preset_names("dram"))
    EXPECT_NO_THROW(cfg::load_arch("tiny", {"dram.preset=" + d})) << d;
}
