// Technology tables: loading and diagnostics, every value cited in the docs, the synthesis
// calibration equal to docs/area.md, and area and energy figures against values derived by
// hand in docs/area.md and docs/energy.md.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/config/config.h"
#include "common/tech/area.h"
#include "common/tech/energy.h"
#include "common/tech/tech.h"

namespace {

namespace cfg = tessera::config;
namespace tech = tessera::tech;

std::string read(const std::string& rel) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/" + rel);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> diagnostics(const std::string& yaml) {
  try {
    tech::load_tech_text(yaml, "t.yaml");
  } catch (const cfg::ConfigError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) out.push_back(d.message());
    return out;
  }
  return {};
}

TEST(TechTables, EveryEmbeddedTableLoadsAndMatchesItsFile) {
  const auto names = tech::tech_names();
  ASSERT_EQ(names, (std::vector<std::string>{"28nm", "4nm", "5nm", "7nm"}));
  for (const auto& n : names) {
    const tech::Tech t = tech::load_tech(n);
    EXPECT_EQ(t->name, n);
    EXPECT_EQ(tech::tech_text(n), read("configs/tech/" + n + ".yaml"));
    EXPECT_EQ(std::to_string(t->node_nm) + "nm", n);
  }
}

TEST(TechTables, ArchitecturePicksItsTableByNode) {
  EXPECT_EQ(tech::tech_for(*cfg::load_arch("tpu-v1"))->name, "28nm");
  EXPECT_EQ(tech::tech_for(*cfg::load_arch("sohu-like"))->name, "4nm");
  EXPECT_EQ(tech::tech_for(*cfg::load_arch("sohu-like"), "7nm")->name, "7nm");
  const cfg::Arch odd = cfg::load_arch_text("base: tiny\nname: odd\nprocess:\n  node_nm: 16\n", "odd.yaml");
  try {
    tech::tech_for(*odd);
    FAIL() << "no table for 16 nm";
  } catch (const tessera::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("process.node_nm = 16 has no technology table"), std::string::npos) << e.what();
  }
}

TEST(TechTables, BadTablesAreRefusedWithFileLineAndKey) {
  std::string good = tech::tech_text("7nm");
  // Unknown key, with its line.
  std::string t = good;
  t.replace(t.find("  int8_int32_pj:"), 0, "  int4_pj: 0.1\n");
  auto d = diagnostics(t);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(std::regex_search(d[0], std::regex(R"(^t\.yaml:7: mac\.int4_pj: expected a key of section mac \(.*\), got an unknown key 'int4_pj')")))
      << d[0];
  // Wrong type.
  t = good;
  t.replace(t.find("0.45"), 4, "fast");
  d = diagnostics(t);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "t.yaml:8: mac.fp8_fp32_pj: expected a number in [0.001, 100.0], got 'fast'");
  // Out of range.
  t = good;
  t.replace(t.find("overhead_fraction: 0.1"), 22, "overhead_fraction: 1.5");
  d = diagnostics(t);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].find("area.overhead_fraction: expected a number in [0.0, 1.0], got 1.5"), std::string::npos) << d[0];
  // Missing key: every value is required.
  t = good;
  t.erase(t.find("  lane_gbps: 112.0\n"), 18);
  d = diagnostics(t);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].find("link.lane_gbps: expected a value (every key of a technology table is required), got nothing"),
            std::string::npos) << d[0];
  // A quoted number is a string; a missing section is reported once.
  d = diagnostics("name: x\nnode_nm: 7\nmac:\n  int8_int32_pj: \"0.1\"\n  fp8_fp32_pj: 0.4\n  bf16_fp32_pj: 0.5\n");
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0], "t.yaml:4: mac.int8_int32_pj: expected a number in [0.001, 100.0], got the string \"0.1\"");
  EXPECT_EQ(d[1], "t.yaml:1: registers: expected a mapping (section registers: pj_per_bit), got nothing");
  EXPECT_EQ(d.size(), 11u);  // the quoted value and the 10 missing sections
  // A section that is not a mapping.
  d = diagnostics("name: x\nnode_nm: 7\nmac: 3\n");
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0], "t.yaml:3: mac: expected a mapping (section mac), got '3'");
  // Unknown preset name.
  try {
    tech::load_tech("3nm");
    FAIL();
  } catch (const cfg::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("expected one of the technology tables 28nm, 4nm, 5nm, 7nm"), std::string::npos);
  }
}

// Every key path of every table has a row in docs/energy.md or docs/area.md that starts with the
// path in backquotes and shows each table's value in the column of its table.
TEST(TechCitations, EveryValueHasARowWithItsValue) {
  const std::string docs = read("docs/energy.md") + read("docs/area.md");
  std::map<std::string, std::vector<std::string>> rows;  // key path -> cells
  std::map<std::string, size_t> column;                  // table name -> cell index, from the header
  std::istringstream in(docs);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| key |", 0) == 0 || line.rfind("| key|", 0) == 0) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      std::string c;
      while (std::getline(ss, c, '|')) cells.push_back(c);
      for (size_t i = 0; i < cells.size(); ++i) {
        const auto b = cells[i].find_first_not_of(' '), e = cells[i].find_last_not_of(' ');
        if (b != std::string::npos) column[cells[i].substr(b, e - b + 1)] = i;
      }
    }
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"(^\| `([a-z0-9_.]+)` \|)"))) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      std::string c;
      while (std::getline(ss, c, '|')) cells.push_back(c);
      rows[m[1]] = cells;
    }
  }
  for (const auto& n : tech::tech_names()) {
    ASSERT_TRUE(column.count(n)) << "no table column named " << n << " in a '| key |' header";
    for (const auto& [path, value] : tech::leaf_values(*tech::load_tech(n))) {
      if (path == "name" || path == "description") continue;
      auto it = rows.find(path);
      ASSERT_NE(it, rows.end()) << path << " has no row in docs/energy.md or docs/area.md";
      ASSERT_GT(it->second.size(), column[n]) << path;
      const std::string cell = it->second[column[n]];
      const double doc = std::strtod(cell.c_str() + cell.find_first_not_of(' '), nullptr);
      EXPECT_NEAR(doc, std::stod(value), 1e-9 * std::fabs(std::stod(value))) << path << " of " << n << ": doc says '"
                                                                              << cell << "', table " << value;
    }
  }
}

// The synthesis calibration of the area model is our own Yosys table.
TEST(TechArea, SynthesisCountsAreThoseOfDocsArea) {
  const std::string doc = read("docs/area.md");
  auto cells = [&](const std::string& unit, const std::string& formats) {
    const std::regex row("\\| " + unit + " \\| " + formats + " \\| [^|]+ \\| [0-9]+ \\| ([0-9]+) \\|");
    std::smatch m;
    EXPECT_TRUE(std::regex_search(doc, m, row)) << unit << " " << formats;
    return m.empty() ? -1.0 : std::stod(m[1]);
  };
  using S = tech::SynthesisCounts;
  EXPECT_EQ(cells("systolic_array 8x8", "int8"), S::kArrayInt8);
  EXPECT_EQ(cells("systolic_array 8x8", "fp8 \\(e4m3 \\+ e5m2\\)"), S::kArrayFp8);
  EXPECT_EQ(cells("systolic_array 8x8", "bf16"), S::kArrayBf16);
  EXPECT_EQ(cells("systolic_array 8x8", "all four"), S::kArrayAll);
  EXPECT_EQ(cells("matrix_engine 8x8", "int8"), S::kEngineInt8);
  EXPECT_EQ(cells("matrix_engine 8x8", "fp8 \\(e4m3 \\+ e5m2\\)"), S::kEngineFp8);
  EXPECT_EQ(cells("matrix_engine 8x8", "bf16"), S::kEngineBf16);
  EXPECT_EQ(cells("matrix_engine 8x8", "all four"), S::kEngineAll);
  EXPECT_EQ(cells("vector_engine \\(tiny\\)", "-"), S::kVectorEngine);
  EXPECT_EQ(cells("sequencer \\(tiny\\)", "-"), S::kSequencer);
  EXPECT_EQ(cells("core \\(tiny\\)", "int8"), S::kCoreInt8);
}

TEST(TechArea, TpuV1At28nmMatchesTheHandDerivation) {
  const cfg::Arch a = cfg::load_arch("tpu-v1");
  const tech::Tech t = tech::load_tech("28nm");
  // The derivation of docs/area.md prices one port per client.
  const tech::AreaReport r = tech::area(*a, *t, tech::PortModel::per_client);
  // docs/area.md: 65,536 MACs x (270,260 / 64) cells x 8.1 transistors / 15.3 M per mm2.
  EXPECT_NEAR(r.mm2("matrix arrays"), 65536.0 * 270260 / 64 * 8.1 / 15.3e6, 1e-9);
  EXPECT_NEAR(r.mm2("matrix arrays"), 146.51, 0.01);
  // Unified buffer: 32 banks of 768 KiB, each built of two 384 KiB macros, whose efficiency lies
  // between the 64 KiB and 512 KiB points in log(size): 24 MiB x 8 x 0.16 um2 / efficiency.
  const double eff = 0.559 + (0.602 - 0.559) * (std::log2(384.0 * 1024) - 16) / 3;
  EXPECT_NEAR(r.mm2("l1 sram"), 24.0 * 1048576 * 8 * 0.16e-6 / eff, 1e-9);
  // Ports: 6 read + 3 write per bank (2 DMA + 2 x 1 engine + 2 vector; 2 DMA + 1 vector).
  EXPECT_NEAR(r.mm2("l1 ports"), r.mm2("l1 sram") * 0.5 * 8, 1e-9);
  double sum = 0;
  for (const auto& i : r.items) sum += i.mm2;
  EXPECT_NEAR(sum, r.die_mm2, 1e-9);
  EXPECT_NEAR(r.mm2("overhead"), 0.1 * r.die_mm2, 1e-9);
  EXPECT_FALSE(tech::reticle_violation(r));
  // Two-port banks only remove port area.
  const tech::AreaReport r2 = tech::area(*a, *t, tech::PortModel::two_port);
  EXPECT_NEAR(r2.mm2("l1 ports"), r.mm2("l1 sram") * 0.5, 1e-9);
  EXPECT_EQ(r2.mm2("matrix arrays"), r.mm2("matrix arrays"));
  // As configured (the schema's defaults: L1 single_port, accumulator two_port): a 1RW unified
  // buffer has no port beyond its first, a 1R1W accumulator bank one.
  ASSERT_EQ(a->l1.ports, cfg::SramPorts::single_port);
  ASSERT_EQ(a->accumulator.ports, cfg::SramPorts::two_port);
  const tech::AreaReport rc = tech::area(*a, *t);
  EXPECT_EQ(rc.mm2("l1 ports"), 0.0);
  EXPECT_NEAR(rc.mm2("accumulator ports"), rc.mm2("accumulator sram") * 0.5, 1e-9);
  EXPECT_NEAR(rc.mm2("accumulator ports"), r.mm2("accumulator ports") / 2, 1e-9);  // per client: 2 read + 1 write
  EXPECT_EQ(rc.mm2("l1 sram"), r.mm2("l1 sram"));
}

// Each tier priced by its own key, so a design's area changes with the ports its timing uses.
TEST(TechArea, PortsFollowEachTiersKey) {
  const tech::Tech t = tech::load_tech("7nm");
  auto with = [&](cfg::SramPorts l1, cfg::SramPorts l2) {
    cfg::ArchConfig a = *cfg::load_arch("sohu-like");
    a.l1.ports = l1;
    a.l2.ports = l2;
    return tech::area(a, *t);
  };
  const tech::AreaReport single = with(cfg::SramPorts::single_port, cfg::SramPorts::single_port);
  const tech::AreaReport dual = with(cfg::SramPorts::dual_port, cfg::SramPorts::two_port);
  const tech::AreaReport client = with(cfg::SramPorts::per_client, cfg::SramPorts::per_client);
  EXPECT_EQ(single.mm2("l1 ports"), 0.0);
  EXPECT_EQ(single.mm2("l2 ports"), 0.0);
  EXPECT_NEAR(dual.mm2("l1 ports"), dual.mm2("l1 sram") * 0.5, 1e-9);  // 2RW: one port beyond the first
  EXPECT_NEAR(dual.mm2("l2 ports"), dual.mm2("l2 sram") * 0.5, 1e-9);  // 1R1W
  // per_client in the keys is the per-client override.
  cfg::ArchConfig a = *cfg::load_arch("sohu-like");
  a.l1.ports = a.l2.ports = cfg::SramPorts::per_client;
  a.accumulator.ports = cfg::SramPorts::per_client;
  const tech::AreaReport over = tech::area(a, *t, tech::PortModel::per_client);
  const tech::AreaReport keyed = tech::area(a, *t);
  EXPECT_EQ(keyed.die_mm2, over.die_mm2);
  EXPECT_GT(client.die_mm2, dual.die_mm2);
  EXPECT_GT(dual.die_mm2, single.die_mm2);
  // The energy of a read follows the same ports: one port is the cheapest.
  cfg::ArchConfig b = *cfg::load_arch("sohu-like");
  const double one = tech::prices(b, *t).l1_read_pj_per_byte;
  b.l1.ports = cfg::SramPorts::dual_port;
  EXPECT_GT(tech::prices(b, *t).l1_read_pj_per_byte, one);
}

TEST(TechArea, SohuLikeIsFlaggedAboveTheReticle) {
  const cfg::Arch a = cfg::load_arch("sohu-like");
  const tech::AreaReport r = tech::area(*a, *tech::tech_for(*a));
  EXPECT_GT(r.die_mm2, a->process.reticle_mm2);
  const auto v = tech::reticle_violation(r);
  ASSERT_TRUE(v);
  EXPECT_NE(v->find("exceeds process.reticle_mm2 = 858 mm2; largest: matrix arrays"), std::string::npos) << *v;
  // No synthesis row for fp8 + bf16 without int8: the all-four row bounds it from above.
  EXPECT_EQ(tech::mac_cost(a->matrix.precisions).row, "all four");
  // Per-client ports: the L2 serves 2 DMA engines and the collective unit of each of 16 cores.
  EXPECT_EQ(tech::l2_ports(*a, tech::PortModel::per_client).read, 48);
  EXPECT_EQ(tech::l1_ports(*a, tech::PortModel::per_client).read, 2 + 2 * 4 + 2 + 1);
  EXPECT_EQ(tech::l1_ports(*a, tech::PortModel::two_port).total(), 2);
  // HBM3E: 6 stacks of 1024 bits at 10.45 mm2 each.
  EXPECT_NEAR(r.mm2("dram phys"), 6 * 10.45, 1e-9);
  // 8 links of 100 GB/s: ceil(800 / 112) = 8 lanes per direction, 128 lanes at 0.22 mm2.
  EXPECT_NEAR(r.mm2("link phys"), 128 * 0.22, 1e-9);
}

TEST(TechEnergy, SramCurvePassesThroughItsPoints) {
  const tech::Tech t = tech::load_tech("7nm");
  EXPECT_NEAR(tech::sram_read_pj_per_bit(*t, 8192, 1), 0.117, 1e-12);
  EXPECT_NEAR(tech::sram_read_pj_per_bit(*t, 32768, 1), 0.133, 1e-12);
  EXPECT_NEAR(tech::sram_read_pj_per_bit(*t, 1 << 20, 1), 0.219, 1e-12);
  EXPECT_NEAR(tech::sram_read_pj_per_bit(*t, 1024, 1), 0.117, 1e-12);  // flat below 8 KiB
  EXPECT_NEAR(tech::sram_read_pj_per_bit(*t, 16384, 1), std::sqrt(0.117 * 0.133), 1e-12);  // geometric midpoint
  EXPECT_NEAR(tech::sram_read_pj_per_bit(*t, 8192, 3), 0.117 * 1.2, 1e-12);  // two extra ports at 0.1 each
}

TEST(TechEnergy, TpuV1PeakMatchesTheHandDerivation) {
  const cfg::Arch a = cfg::load_arch("tpu-v1");
  const tech::Tech t = tech::load_tech("28nm");
  const tech::EnergyPrices p = tech::prices(*a, *t, tech::PortModel::per_client);  // docs/energy.md's derivation
  const tech::EnergyReport e = tech::energy(tech::matrix_peak_counts(*a, cfg::MatrixPrecision::int8, 1.0), p);
  // docs/energy.md: 65,536 x 700 MHz = 4.5875e13 MAC/s x 0.23 pJ = 10.55 W.
  EXPECT_NEAR(e.joules("mac"), 4.58752e13 * 0.23e-12, 1e-6);
  // Registers: 0.0074 pJ/bit x (8 + 32) bits per MAC.
  EXPECT_NEAR(e.joules("array registers"), 4.58752e13 * 0.296e-12, 1e-6);
  // L1: 256 B per cycle from 768 KiB banks with 9 ports.
  const double l1_pj_bit = std::exp(std::log(0.251) + (std::log(0.946) - std::log(0.251)) *
                                                          (std::log2(768.0 * 1024) - 15) / 5) * 1.8;
  EXPECT_NEAR(e.joules("l1"), 7e8 * 256 * 8 * l1_pj_bit * 1e-12, 1e-6);
  EXPECT_EQ(e.joules("dram core"), 0.0);
  double sum = 0;
  for (const auto& i : e.items) sum += i.joules;
  EXPECT_NEAR(sum, e.total_j, 1e-9);
  // Static: leakage of the die plus the baseline, for one second.
  const double die = tech::area(*a, *t, tech::PortModel::per_client).die_mm2;
  EXPECT_NEAR(e.joules("static"), 0.020 * die + 5.0, 1e-9);
}

TEST(TechEnergy, EnergyIsLinearInEveryCount) {
  const cfg::Arch a = cfg::load_arch("sohu-like");
  const tech::EnergyPrices p = tech::prices(*a, *tech::tech_for(*a));
  tech::EnergyCounts c;
  c.macs[1][1] = 1000;
  c.macs[3][1] = 10;
  c.vector_elements[size_t(tech::VectorClass::special)] = 7;
  c.dram_activates = 3;
  c.dram_read_bytes = 64;
  c.link_bytes = 128;
  c.instructions = 5;
  const tech::EnergyReport e = tech::energy(c, p);
  EXPECT_NEAR(e.joules("mac"), (1000 * 0.315 + 10 * 0.413) * 1e-12, 1e-18);
  EXPECT_NEAR(e.joules("vector"), 7 * (11 * 0.917 + 10 * 0.266) * 1e-12, 1e-18);
  // HBM3E row of 1 KiB: 828 pJ per activate; 64 B at 1.57 pJ/bit core and 2.2 pJ/bit I/O.
  EXPECT_NEAR(e.joules("dram core"), (3 * 828 + 64 * 8 * 1.57) * 1e-12, 1e-18);
  EXPECT_NEAR(e.joules("dram io"), 64 * 8 * 2.2e-12, 1e-18);
  EXPECT_NEAR(e.joules("links"), 128 * 8 * 1.3e-12, 1e-18);
  c.macs[1][1] *= 2;
  EXPECT_NEAR(tech::energy(c, p).joules("mac") - e.joules("mac"), 1000 * 0.315e-12, 1e-18);
}

}  // namespace
