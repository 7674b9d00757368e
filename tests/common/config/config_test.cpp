// tessera_config: presets, inheritance, diagnostics (one data file per error kind), the
// fingerprint, derived figures and the address map. Golden-free: expected values are either the
// published figures the presets imitate or properties recomputed from the configuration.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "common/config/config.h"
#include "common/config/derived.h"
#include "common/config/dram_standard.h"

namespace cfg = tessera::config;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(TESSERA_SOURCE_DIR) + "/tests/common/config/data";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A diff against tiny with the given extra top-level text.
std::string tiny_with(const std::string& extra) { return "base: tiny\nname: t\n" + extra; }

cfg::ConfigError load_error(const std::string& text) {
  try {
    cfg::load_arch_text(text, "inline.yaml");
  } catch (const cfg::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << text;
  return cfg::ConfigError({});
}

bool has_path(const cfg::ConfigError& e, const std::string& path) {
  for (const auto& d : e.diagnostics()) {
    if (d.path == path) return true;
  }
  return false;
}

}  // namespace

TEST(ConfigPresets, EveryPresetLoadsAndRoundTrips) {
  // Every file of configs/arch/ is embedded (adding a preset is adding its file).
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(std::string(TESSERA_SOURCE_DIR) + "/configs/arch")) {
    if (f.path().extension() == ".yaml") files.push_back(f.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  const auto names = cfg::preset_names();
  ASSERT_EQ(names, files);
  for (const char* name : {"sohu-like", "tiny", "tpu-v1"}) EXPECT_NE(std::find(names.begin(), names.end(), name), names.end());
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const cfg::Arch a = cfg::load_arch(name);
    EXPECT_EQ(a->name, name);
    // The canonical form loads back to the same configuration.
    const cfg::Arch b = cfg::load_arch_text(cfg::to_yaml(*a), "roundtrip.yaml");
    EXPECT_EQ(cfg::to_yaml(*a), cfg::to_yaml(*b));
    EXPECT_EQ(cfg::fingerprint(*a), cfg::fingerprint(*b));
    // The file on disk and the embedded copy are the same configuration.
    const cfg::Arch disk = cfg::load_arch(std::string(TESSERA_SOURCE_DIR) + "/configs/arch/" + name + ".yaml");
    EXPECT_EQ(cfg::fingerprint(*a), cfg::fingerprint(*disk));
  }
}

TEST(ConfigPresets, PublishedFiguresOfTheImitatedChips) {
  const cfg::Arch sohu = cfg::load_arch("sohu-like");
  EXPECT_EQ(cfg::macs_per_cycle_per_chip(*sohu), 16 * 4 * 256 * 256);
  EXPECT_NEAR(cfg::peak_ops_per_s(*sohu), 10.066e15, 0.001e15);  // >= 9.8 PFLOPS implied by Etched's claim
  EXPECT_EQ(cfg::dram_capacity_bytes(*sohu), 144ull << 30);       // 144 GB of HBM3E
  EXPECT_DOUBLE_EQ(cfg::dram_peak_bytes_per_s(*sohu), 6 * 1024 / 8 * 9.6e9);
  EXPECT_EQ(sohu->system.chips, 8);
  EXPECT_EQ(sohu->process.node_nm, 4);
  EXPECT_FALSE(cfg::supports(*sohu, cfg::MatrixPrecision::int8));
  EXPECT_TRUE(cfg::supports(*sohu, cfg::MatrixPrecision::fp8_e4m3));

  const cfg::Arch tpu = cfg::load_arch("tpu-v1");
  EXPECT_NEAR(cfg::peak_ops_per_s(*tpu), 91.75e12, 0.01e12);  // 92 TOPS
  EXPECT_EQ(tpu->l1.bytes, 24ll << 20);
  EXPECT_EQ(tpu->accumulator.bytes, 4ll << 20);
  EXPECT_EQ(tpu->l2.bytes, 0);
  EXPECT_EQ(tpu->l2.banks, 1);  // schema default, not invented by the preset
  EXPECT_EQ(cfg::dram_capacity_bytes(*tpu), 8ull << 30);
  EXPECT_NEAR(cfg::dram_peak_bytes_per_s(*tpu), 34.1e9, 0.1e9);
  EXPECT_TRUE(cfg::supports(*tpu, cfg::Dataflow::ws));
  EXPECT_FALSE(cfg::supports(*tpu, cfg::Dataflow::os));

  const cfg::Arch tiny = cfg::load_arch("tiny");
  EXPECT_EQ(tiny->accumulator.banks, tiny->matrix.cols);  // one accumulator bank per column, as in the RTL
  EXPECT_DOUBLE_EQ(cfg::dram_peak_bytes_per_s(*tiny), 102.4e9);
  for (auto p : {cfg::MatrixPrecision::int8, cfg::MatrixPrecision::fp8_e4m3, cfg::MatrixPrecision::fp8_e5m2,
                 cfg::MatrixPrecision::bf16}) {
    EXPECT_TRUE(cfg::supports(*tiny, p));
  }
}

TEST(ConfigPresets, DramPresetsMatchTheirStatedStacks) {
  // Per-stack peak bandwidth as published: HBM2E 410 GB/s (Samsung), HBM3 819 GB/s (JEDEC),
  // HBM3E 1.2 TB/s class at 9.6 Gb/s and 800 GB/s at the H200's 6.25 Gb/s (4.8 TB/s over six
  // stacks); DDR3-2133 two channels 34.1 GB/s.
  const std::map<std::string, double> peak = {{"hbm2e", 409.6e9},
                                              {"hbm3", 819.2e9},
                                              {"hbm3e", 1228.8e9},
                                              {"hbm3e-6250", 800e9},
                                              {"ddr3-2133", 34.133e9}};
  ASSERT_EQ(cfg::section_preset_names("dram"),
            (std::vector<std::string>{"ddr3-2133", "hbm2e", "hbm3", "hbm3e", "hbm3e-6250"}));
  for (const auto& [name, bw] : peak) {
    SCOPED_TRACE(name);
    const cfg::Arch a = cfg::load_arch_text("base: tiny\nname: d\ndram: {preset: " + name + "}\n", "d.yaml");
    EXPECT_EQ(a->dram.stacks, 1);
    EXPECT_EQ(uint64_t(a->dram.stack_bytes), cfg::dram_stack_bytes(*a));
    EXPECT_NEAR(cfg::dram_peak_bytes_per_s(*a), bw, 0.001 * bw);
    // Timing is in whole command clocks of the standard's rate.
    const double transfers = a->dram.timing.tck_ps * a->dram.data_rate_mtps / 1e6;
    EXPECT_NEAR(transfers, double(cfg::dram_standard(*a).transfers_per_tck), 1e-3);
  }
}

TEST(ConfigPresets, TimeBaseInFemtoseconds) {
  const cfg::Arch sohu = cfg::load_arch("sohu-like");
  EXPECT_EQ(cfg::core_period_fs(*sohu), 833333);  // 1.2 GHz
  EXPECT_EQ(cfg::dram_tck_fs(*sohu), 416667);     // 416.667 ps
  const cfg::Arch tiny = cfg::load_arch("tiny");
  EXPECT_EQ(cfg::core_period_fs(*tiny), 2000000);
  EXPECT_EQ(cfg::dram_tck_fs(*tiny), 625000);
}

TEST(ConfigInheritance, DiffAgainstBaseAndSectionPreset) {
  const cfg::Arch tiny = cfg::load_arch("tiny");
  const cfg::Arch v = cfg::load_arch(kData + "/variant.yaml");
  EXPECT_EQ(v->name, "tiny-16");
  EXPECT_EQ(v->base, "tiny");
  EXPECT_EQ(v->matrix.rows, 16);
  EXPECT_EQ(v->core.matrix_engines, 2);
  EXPECT_EQ(v->matrix.precisions,
            (std::vector<cfg::MatrixPrecision>{cfg::MatrixPrecision::fp8_e4m3, cfg::MatrixPrecision::fp8_e5m2}));
  // Keys the variant does not name come from the base.
  EXPECT_EQ(v->l1.bytes, tiny->l1.bytes);
  EXPECT_EQ(v->vector.lanes, tiny->vector.lanes);
  EXPECT_EQ(v->matrix.dataflows, tiny->matrix.dataflows);
  // Naming a dram preset restarts the section from it: tiny's 2-channel HBM3 slice is gone.
  EXPECT_EQ(v->dram.standard, "hbm3e");
  EXPECT_EQ(v->dram.channels, 1);
  EXPECT_EQ(v->dram.bank_groups, 8);
  EXPECT_EQ(v->dram.timing.trcd, 35);
  // A chain through a relative path.
  const cfg::Arch vv = cfg::load_arch(kData + "/variant_of_variant.yaml");
  EXPECT_EQ(vv->matrix.rows, 16);
  EXPECT_EQ(vv->matrix.dataflows, (std::vector<cfg::Dataflow>{cfg::Dataflow::os}));
  EXPECT_EQ(vv->dram.standard, "hbm3e");
}

TEST(ConfigInheritance, SizeSuffixesAndDefaults) {
  const cfg::Arch a = cfg::load_arch_text(tiny_with("l1: {bytes: 1 MiB}\nl2: {bytes: 3 MiB}\n"), "s.yaml");
  EXPECT_EQ(a->l1.bytes, 1 << 20);
  EXPECT_EQ(a->l2.bytes, 3 << 20);
  EXPECT_EQ(a->core.queue_depth, 16);  // schema default
  // A suffix only applies to byte counts, and only binary ones.
  EXPECT_TRUE(has_path(load_error(tiny_with("l1: {bytes: 1 MB}\n")), "l1.bytes"));
  EXPECT_TRUE(has_path(load_error(tiny_with("vector: {lanes: 1 KiB}\n")), "vector.lanes"));
}

// Every file in tests/common/config/data/ with an `# expect-error: PATH` header fails to load,
// and one diagnostic names PATH at the line marked `# <- error`, in the documented format.
TEST(ConfigDiagnostics, EachErrorFileReportsFileLineAndKeyPath) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kData)) {
    const std::string path = entry.path().string();
    const std::string text = read_text(path);
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("# expect-error: (\\S+)"))) continue;
    ++files;
    SCOPED_TRACE(path);
    const std::string key = m[1];
    int marked = 0, line = 0;
    std::istringstream lines(text);
    for (std::string l; std::getline(lines, l);) {
      ++line;
      if (l.find("# <- error") != std::string::npos) marked = line;
    }
    ASSERT_GT(marked, 0) << "no '# <- error' marker";
    try {
      cfg::load_arch(path);
      ADD_FAILURE() << "loaded without error";
    } catch (const cfg::ConfigError& e) {
      bool found = false;
      for (const auto& d : e.diagnostics()) {
        const std::regex format("^.+:[0-9]+: [^ ]+: expected .+, got .+$");
        EXPECT_TRUE(std::regex_match(d.message(), format)) << d.message();
        if (d.path == key && d.file == path && d.line == marked) found = true;
      }
      EXPECT_TRUE(found) << "wanted " << path << ":" << marked << ": " << key << "; got:\n" << e.what();
    }
  }
  EXPECT_GE(files, 18);
}

TEST(ConfigDiagnostics, MessagesSayWhatWasExpected) {
  auto message = [](const std::string& file) {
    try {
      cfg::load_arch(kData + "/" + file);
    } catch (const cfg::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message("unknown_key.yaml").find("did you mean 'bank_width'?"), std::string::npos);
  EXPECT_NE(message("string_for_number.yaml").find("expected an integer in [1, 1024], got 'eight'"), std::string::npos);
  EXPECT_NE(message("quoted_number.yaml").find("got the string \"8\""), std::string::npos);
  EXPECT_NE(message("small_l1.yaml").find("= 8 KiB, one double-buffered tile set per matrix engine, got 4 KiB"),
            std::string::npos);
  EXPECT_NE(message("bad_enum.yaml").find("int8, fp8_e4m3, fp8_e5m2, bf16"), std::string::npos);
  EXPECT_NE(message("unknown_dram_preset.yaml").find("ddr3-2133, hbm2e, hbm3, hbm3e, hbm3e-6250"), std::string::npos);
  // Problems in a base file are reported in that file: the cycle closes in cycle_b.yaml.
  const std::string cyc = message("cycle_a.yaml");
  EXPECT_NE(cyc.find("cycle_b.yaml:3: base: expected a chain of base files without a cycle"), std::string::npos)
      << cyc;
}

// Regressions (issue 17): a YAML tag made a string pass as an integer, and a second document
// in the file was ignored even when invalid.
TEST(ConfigDiagnostics, TaggedScalarsAreNotNumbers) {
  for (const std::string v : {"!!str 8", "!foo 8"}) {
    const cfg::ConfigError e = load_error(tiny_with("matrix: {rows: " + v + "}\n"));
    ASSERT_TRUE(has_path(e, "matrix.rows")) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected an integer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tagged value"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(cfg::load_arch_text(tiny_with("matrix: {rows: 8}\n"), "plain.yaml"));
}

TEST(ConfigDiagnostics, ASecondDocumentIsRefused) {
  const cfg::ConfigError e = load_error(tiny_with("---\nmatrix: {rows: 0}\n"));
  const std::string msg = e.what();
  EXPECT_NE(msg.find("inline.yaml:4: (document): expected one YAML document per architecture file, got 2 documents"),
            std::string::npos)
      << msg;
}

// A lone "," made yaml-cpp report empty documents for ever, and the loader looped in
// YAML::LoadAll (found by fuzz_arch_yaml, issue 17): now a syntax error at that line.
TEST(ConfigDiagnostics, TextTheParserCannotGetPastIsASyntaxError) {
  for (const std::string& text : {std::string(","), std::string("name: x\n, # comment\n")}) {
    const cfg::ConfigError e = load_error(text);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("(document): expected well-formed YAML, got a syntax error"), std::string::npos) << msg;
  }
}

TEST(ConfigDiagnostics, AllProblemsOfAFileAreReportedTogether) {
  const auto e = load_error(tiny_with("matrix: {rows: 0, cols: x}\nl1: {bnks: 4}\nvector: {lanes: -1}\n"));
  EXPECT_TRUE(has_path(e, "matrix.rows"));
  EXPECT_TRUE(has_path(e, "matrix.cols"));
  EXPECT_TRUE(has_path(e, "l1.bnks"));
  EXPECT_TRUE(has_path(e, "vector.lanes"));
  EXPECT_EQ(e.diagnostics().size(), 4u);
}

TEST(ConfigDiagnostics, MissingFileAndUnknownPreset) {
  EXPECT_THROW(cfg::load_arch("no/such/file.yaml"), cfg::ConfigError);
  try {
    cfg::load_arch("sohu");
    ADD_FAILURE();
  } catch (const cfg::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sohu-like, tiny, tpu-v1"), std::string::npos);
  }
}

// The L1 rule over random array shapes and L1 sizes (seed printed): a configuration loads iff
// engines x 2 x (R x C + R x C) x widest element <= l1.bytes, given the other rules hold.
TEST(ConfigChecks, L1TileRuleOverRandomShapes) {
  const unsigned seed = 20240625;
  std::mt19937 rng(seed);
  std::printf("seed %u\n", seed);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 60; ++i) {
    const int64_t r = 1 << std::uniform_int_distribution<int>(2, 7)(rng);
    const int64_t c = 1 << std::uniform_int_distribution<int>(2, 7)(rng);
    const int64_t e = std::uniform_int_distribution<int>(1, 4)(rng);
    const bool bf16 = rng() % 2;
    const int64_t l1 = int64_t(1024) << std::uniform_int_distribution<int>(0, 9)(rng);
    const std::string text = tiny_with("core: {matrix_engines: " + std::to_string(e) + "}\nmatrix: {rows: " +
                                       std::to_string(r) + ", cols: " + std::to_string(c) + ", precisions: [" +
                                       (bf16 ? "int8, bf16" : "int8") + "]}\naccumulator: {bytes: 1 MiB, banks: " +
                                       std::to_string(c) + "}\nl1: {bytes: " + std::to_string(l1) + "}\n");
    const bool fits = e * 2 * (2 * r * c) * (bf16 ? 2 : 1) <= l1;
    SCOPED_TRACE(text);
    if (fits) {
      EXPECT_NO_THROW(cfg::load_arch_text(text, "r.yaml"));
      ++accepted;
    } else {
      const auto err = load_error(text);
      EXPECT_TRUE(has_path(err, "l1.bytes"));
      EXPECT_EQ(err.diagnostics().size(), 1u);
      ++rejected;
    }
  }
  EXPECT_GT(accepted, 5);
  EXPECT_GT(rejected, 5);
}

TEST(ConfigChecks, AccumulatorAndSramGeometry) {
  EXPECT_TRUE(has_path(load_error(tiny_with("accumulator: {bytes: 128}\n")), "accumulator.bytes"));     // < 4 R C
  EXPECT_TRUE(has_path(load_error(tiny_with("accumulator: {bytes: 272}\n")), "accumulator.bytes"));     // not 4 C rows
  EXPECT_TRUE(has_path(load_error(tiny_with("accumulator: {banks: 5}\n")), "accumulator.banks"));
  EXPECT_TRUE(has_path(load_error(tiny_with("l1: {bytes: 65552}\n")), "l1.bytes"));
  EXPECT_TRUE(has_path(load_error(tiny_with("l2: {bytes: 1040}\n")), "l2.bytes"));
  EXPECT_NO_THROW(cfg::load_arch_text(tiny_with("l2: {bytes: 0, banks: 3, bank_width: 7}\n"), "n.yaml"));
  EXPECT_TRUE(has_path(load_error(tiny_with("dma: {burst_bytes: 48}\n")), "dma.burst_bytes"));
}

TEST(ConfigChecks, PortsAndNetwork) {
  const cfg::ConfigError e = load_error(tiny_with("l2: {ports: 3rw}\n"));
  EXPECT_TRUE(has_path(e, "l2.ports"));
  EXPECT_NE(std::string(e.what()).find("per_client, single_port, two_port, dual_port"), std::string::npos) << e.what();
  EXPECT_TRUE(has_path(load_error(tiny_with("noc: {width_bytes: 0}\n")), "noc.width_bytes"));
  EXPECT_TRUE(has_path(load_error(tiny_with("noc: {topology: mesh}\n")), "noc.topology"));
  const cfg::ConfigError many = load_error(tiny_with("noc: {l2_ports: 5}\n"));  // tiny's L2 has 4 banks
  EXPECT_TRUE(has_path(many, "noc.l2_ports"));
  EXPECT_NE(std::string(many.what()).find("at most l2.banks = 4"), std::string::npos) << many.what();
  const cfg::Arch sohu = cfg::load_arch("sohu-like");
  EXPECT_EQ(sohu->l2.ports, cfg::SramPorts::single_port);
  EXPECT_EQ(sohu->accumulator.ports, cfg::SramPorts::two_port);
  EXPECT_EQ(sohu->noc.topology, cfg::NocTopology::crossbar);
  EXPECT_EQ(sohu->noc.latency_cycles, 0);
}

TEST(ConfigChecks, DramRules) {
  auto err = [](const std::string& dram) { return load_error(tiny_with("dram:\n" + dram)); };
  EXPECT_TRUE(has_path(err("  timing: {tfaw: 1, trrd_s: 2}\n"), "dram.timing.tfaw"));
  EXPECT_TRUE(has_path(err("  timing: {trrd_l: 1}\n"), "dram.timing.trrd_l"));
  EXPECT_TRUE(has_path(err("  timing: {tccd_l: 1, tccd_s: 2}\n"), "dram.timing.tccd_l"));
  EXPECT_TRUE(has_path(err("  timing: {tccd_s: 1, tccd_l: 4}\n"), "dram.timing.tccd_s"));  // < burst
  EXPECT_TRUE(has_path(err("  timing: {twtr_l: 5}\n"), "dram.timing.twtr_l"));
  EXPECT_TRUE(has_path(err("  timing: {trfc: 7000}\n"), "dram.timing.trfc"));
  EXPECT_TRUE(has_path(err("  timing: {trfcsb: 500}\n"), "dram.timing.trfcsb"));
  EXPECT_TRUE(has_path(err("  timing: {tck_ps: 700.0}\n"), "dram.timing.tck_ps"));
  EXPECT_TRUE(has_path(err("  burst_length: 6\n"), "dram.burst_length"));
  EXPECT_TRUE(has_path(err("  bus_bits: 12\n"), "dram.bus_bits"));
  EXPECT_TRUE(has_path(err("  controller: {write_high: 70}\n"), "dram.controller.write_high"));
  EXPECT_TRUE(has_path(err("  preset: ddr3-2133\n  pseudo_channels: 2\n"), "dram.pseudo_channels"));
  EXPECT_TRUE(has_path(err("  preset: ddr3-2133\n  controller: {refresh: per_bank}\n"), "dram.controller.refresh"));
  EXPECT_TRUE(has_path(load_error(tiny_with("link: {count: 2}\n")), "link.gbytes_per_s"));
  EXPECT_TRUE(has_path(load_error(tiny_with("link: {packet_bytes: 256, rx_buffer_bytes: 128}\n")),
                       "link.rx_buffer_bytes"));
  // Per-bank refresh is allowed on HBM.
  EXPECT_NO_THROW(cfg::load_arch_text(tiny_with("dram: {controller: {refresh: per_bank}}\n"), "p.yaml"));
}

TEST(ConfigAddressMap, MixedRadixPiecesCoverTheCapacity) {
  for (const auto& name : cfg::preset_names()) {
    SCOPED_TRACE(name);
    const cfg::Arch a = cfg::load_arch(name);
    std::vector<cfg::AddressPiece> pieces;
    std::string why;
    ASSERT_TRUE(cfg::parse_address_map(*a, pieces, why)) << why;
    uint64_t product = 1;
    for (const auto& p : pieces) product *= p.size;
    EXPECT_EQ(product * uint64_t(cfg::dram_burst_bytes(*a)), cfg::dram_capacity_bytes(*a));
    EXPECT_EQ(pieces.front().field, "co");  // the default map puts the column lowest
    EXPECT_EQ(pieces.back().field, "ro");
  }
  // Six stacks: not a power of two, still a digit of the map.
  const cfg::Arch sohu = cfg::load_arch("sohu-like");
  std::vector<cfg::AddressPiece> pieces;
  std::string why;
  ASSERT_TRUE(cfg::parse_address_map(*sohu, pieces, why));
  EXPECT_EQ(pieces[1].field, "st");
  EXPECT_EQ(pieces[1].size, 6u);
  // A field split into pieces: two low column bits below the channel, the rest on top.
  const cfg::Arch split = cfg::load_arch_text(
      tiny_with("dram: {controller: {address_map: ro-ba-bg-co-ch-pc-st-co:2}}\n"), "m.yaml");
  ASSERT_TRUE(cfg::parse_address_map(*split, pieces, why)) << why;
  EXPECT_EQ(pieces[0].field, "co");
  EXPECT_EQ(pieces[0].size, 4u);
  EXPECT_EQ(pieces[4].field, "co");
  EXPECT_EQ(pieces[4].size, 8u);  // 32 bursts per row / 4
  EXPECT_EQ(pieces[4].weight, 4u);
  EXPECT_TRUE(has_path(load_error(tiny_with("dram: {controller: {address_map: ro-ba-bg-ch-pc-st-co-co}}\n")),
                       "dram.controller.address_map"));
  EXPECT_TRUE(has_path(load_error(tiny_with("dram: {controller: {address_map: ro-ba-bg-ch-pc-st-xx}}\n")),
                       "dram.controller.address_map"));
}

TEST(ConfigFingerprint, StableAcrossLoadsAndSpellings) {
  const uint64_t a = cfg::fingerprint(*cfg::load_arch("tiny"));
  EXPECT_EQ(a, cfg::fingerprint(*cfg::load_arch("tiny")));
  // Name, description and how the file was written do not change the machine.
  EXPECT_EQ(a, cfg::fingerprint(*cfg::load_arch_text("base: tiny\nname: other\ndescription: \"x\"\n", "o.yaml")));
  EXPECT_EQ(a, cfg::fingerprint(*cfg::load_arch_text("base: tiny\nname: t\nl1: {bytes: 65536}\n", "o.yaml")));
  EXPECT_NE(a, cfg::fingerprint(*cfg::load_arch("sohu-like")));
}

// Changing any one fingerprinted value changes the fingerprint; changing a non-fingerprinted one
// (name, description, base, dram.preset) does not.
TEST(ConfigFingerprint, ChangesWithEveryValue) {
  const cfg::Arch tiny = cfg::load_arch("tiny");
  const uint64_t base = cfg::fingerprint(*tiny);
  for (size_t i = 0; i < cfg::schema::kNumKeys; ++i) {
    const auto& key = cfg::schema::kKeys[i];
    SCOPED_TRACE(key.path);
    cfg::ArchConfig c = *tiny;
    cfg::schema::visit(c, [&](size_t j, auto& m) {
      if (j != i) return;
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<T, int64_t>) {
        m = m + 1;
      } else if constexpr (std::is_same_v<T, double>) {
        m = m + 0.5;
      } else if constexpr (std::is_same_v<T, bool>) {
        m = !m;
      } else if constexpr (std::is_same_v<T, std::string>) {
        m = m + "x";
      } else if constexpr (std::is_enum_v<T>) {
        m = static_cast<T>((int(m) + 1) % int(key.n_values));
      } else {
        if (m.size() > 1) {
          m.pop_back();
        } else {
          m.clear();
        }
      }
    });
    if (key.fingerprint) {
      EXPECT_NE(cfg::fingerprint(c), base);
    } else {
      EXPECT_EQ(cfg::fingerprint(c), base);
    }
  }
}

TEST(ConfigDocs, CheckedInKeyTableMatchesTheGenerator) {
  const std::string generated = read_text(std::string(TESSERA_BINARY_DIR) + "/gen/tessera/config/config_keys.md");
  const std::string doc = read_text(std::string(TESSERA_SOURCE_DIR) + "/docs/config.md");
  ASSERT_FALSE(generated.empty());
  const size_t begin = doc.find(generated.substr(0, generated.find('\n')));
  ASSERT_NE(begin, std::string::npos) << "docs/config.md lacks the generated section";
  EXPECT_EQ(doc.substr(begin, generated.size()), generated)
      << "docs/config.md is stale: run scripts/gen_config.py update-doc --schema spec/arch.schema.yaml "
         "--doc docs/config.md";
}

// The "Add a preset" recipe (docs/extending.md): every preset has its section of values and
// sources in docs/presets.md, a heading naming it (`NAME` or `NAME.yaml`).
TEST(ConfigPresets, EveryPresetHasASectionInDocsPresets) {
  std::vector<std::string> headings;
  std::istringstream doc(read_text(std::string(TESSERA_SOURCE_DIR) + "/docs/presets.md"));
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("##", 0) == 0) headings.push_back(line);
  }
  auto has_heading = [&](const std::string& quoted) {
    return std::any_of(headings.begin(), headings.end(),
                       [&](const std::string& h) { return h.find(quoted) != std::string::npos; });
  };
  for (const auto& name : cfg::preset_names()) EXPECT_TRUE(has_heading("`" + name + "`")) << name;
  for (const auto& name : cfg::section_preset_names("dram")) EXPECT_TRUE(has_heading("`" + name + ".yaml`")) << name;
}
