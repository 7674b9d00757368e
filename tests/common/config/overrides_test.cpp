// --set overrides (docs/config.md, "Overrides"): applied after the file, converted and checked by
// the same code as the file's own values, diagnostics at --set:N. Expected values are the
// schema's words and the preset's own figures, never a copied report.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/config/config.h"
#include "common/config/derived.h"

namespace cfg = tessera::config;

namespace {

cfg::ConfigError set_error(const std::vector<std::string>& sets, const std::string& arch = "tiny") {
  try {
    cfg::load_arch(arch, sets);
  } catch (const cfg::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ConfigError for --set " << (sets.empty() ? "" : sets.back());
  return cfg::ConfigError({});
}

std::string first_message(const cfg::ConfigError& e) {
  return e.diagnostics().empty() ? "" : e.diagnostics().front().message();
}

}  // namespace

TEST(ConfigOverrides, ChangeTheKeysAndAreRemembered) {
  const cfg::Arch base = cfg::load_arch("sohu-like");
  const cfg::Arch a = cfg::load_arch("sohu-like", {"dram.stacks=8", "l2.bytes=64MiB"});
  EXPECT_EQ(a->dram.stacks, 8);
  EXPECT_EQ(a->l2.bytes, int64_t(64) << 20);
  EXPECT_NE(base->dram.stacks, 8);
  EXPECT_EQ(a->overrides, (std::vector<std::string>{"dram.stacks=8", "l2.bytes=64MiB"}));
  EXPECT_EQ(cfg::overrides_text(*a), "dram.stacks=8, l2.bytes=64MiB");
  EXPECT_EQ(cfg::overrides_text(*base), "");
  EXPECT_NE(cfg::fingerprint(*a), cfg::fingerprint(*base));
  // Everything else, and the derived figures, follow from the new values.
  EXPECT_EQ(a->dram.channels, base->dram.channels);
  EXPECT_EQ(cfg::dram_capacity_bytes(*a), cfg::dram_capacity_bytes(*base) / uint64_t(base->dram.stacks) * 8);
}

TEST(ConfigOverrides, GiveTheSameMachineAsTheSameKeysInAFile) {
  const cfg::Arch by_set = cfg::load_arch("tiny", {"l2.bytes=128 KiB", "matrix.precisions=[bf16, int8]",
                                                   "dram.controller.refresh=per_bank", "link.latency_ns=5"});
  const cfg::Arch by_file = cfg::load_arch_text(
      "base: tiny\nname: tiny\nl2: {bytes: 128 KiB}\nmatrix: {precisions: [bf16, int8]}\n"
      "dram: {controller: {refresh: per_bank}}\nlink: {latency_ns: 5}\n",
      "same.yaml");
  // Only `base`, which names how the file was written, differs; the fingerprint leaves it out.
  EXPECT_EQ(cfg::fingerprint(*by_set), cfg::fingerprint(*by_file));
  EXPECT_NE(cfg::fingerprint(*by_set), cfg::fingerprint(*cfg::load_arch("tiny")));
}

TEST(ConfigOverrides, ApplyInOrderAfterTheFile) {
  EXPECT_EQ(cfg::load_arch("tiny", {"dram.stacks=2", "dram.stacks=3"})->dram.stacks, 3);
  // A section preset restarts the section, as `preset:` does in a file: tiny's own two
  // channels give way to the preset's sixteen.
  const cfg::Arch a = cfg::load_arch("tiny", {"dram.preset=hbm3e", "dram.stack_bytes=0"});
  const cfg::Arch hbm3e = cfg::load_arch_text("base: tiny\nname: tiny\ndram: {preset: hbm3e, stack_bytes: 0}\n", "x.yaml");
  EXPECT_EQ(a->dram.standard, "hbm3e");
  EXPECT_EQ(a->dram.channels, hbm3e->dram.channels);
  EXPECT_EQ(cfg::fingerprint(*a), cfg::fingerprint(*hbm3e));
}

TEST(ConfigOverrides, AnUnknownKeyIsNamedAtItsOption) {
  const cfg::ConfigError e = set_error({"dram.stacks=2", "no.such.key=1"});
  ASSERT_EQ(e.diagnostics().size(), 1u);
  EXPECT_EQ(e.diagnostics()[0].file, "--set");
  EXPECT_EQ(e.diagnostics()[0].line, 2);
  EXPECT_EQ(e.diagnostics()[0].path, "no.such.key");
  EXPECT_EQ(first_message(e).rfind("--set:2: no.such.key: expected a key of spec/arch.schema.yaml", 0), 0u)
      << first_message(e);
  // A near miss is suggested.
  EXPECT_NE(first_message(set_error({"dram.stack=2"})).find("did you mean 'dram.stacks'?"), std::string::npos);
  // A section is not a key.
  EXPECT_NE(first_message(set_error({"dram=2"})).find("the section 'dram'"), std::string::npos);
}

TEST(ConfigOverrides, ABadValueGetsTheFilesMessageAtItsOption) {
  EXPECT_EQ(first_message(set_error({"matrix.rows=0"})), "--set:1: matrix.rows: expected an integer in [1, 1024], got 0");
  EXPECT_EQ(first_message(set_error({"matrix.rows=eight"})),
            "--set:1: matrix.rows: expected an integer in [1, 1024], got 'eight'");
  EXPECT_EQ(first_message(set_error({"l2.bytes=1 MiB", "dram.controller.page_policy=ajar"})),
            "--set:2: dram.controller.page_policy: expected one of open, closed, got 'ajar'");
  EXPECT_EQ(first_message(set_error({"matrix.precisions=[bf16, fp4]"})),
            "--set:1: matrix.precisions: expected list items from int8, fp8_e4m3, fp8_e5m2, bf16, got 'fp4'");
  EXPECT_EQ(first_message(set_error({"matrix.double_buffer_weights="})),
            "--set:1: matrix.double_buffer_weights: expected true or false, got nothing (null)");
}

TEST(ConfigOverrides, ConsistencyChecksRunAfterTheOverrides) {
  // tiny's tras + trp = 55 + 23: a trc below it breaks check 15.
  const std::string msg = first_message(set_error({"dram.timing.trc=10"}));
  EXPECT_EQ(msg.rfind("--set:1: dram.timing.trc: expected at least tras + trp", 0), 0u) << msg;
  // A check that involves a key the override did not touch names that key's file.
  const cfg::ConfigError e = set_error({"dma.burst_bytes=16"});
  ASSERT_FALSE(e.diagnostics().empty());
  EXPECT_EQ(e.diagnostics()[0].path, "dma.burst_bytes");
  EXPECT_EQ(e.diagnostics()[0].file, "--set");
  // Per-bank refresh on a standard without it.
  EXPECT_EQ(first_message(set_error({"dram.controller.refresh=per_bank"}, "tpu-v1")).rfind("--set:1: dram.controller.refresh", 0),
            0u);
}

TEST(ConfigOverrides, MalformedOptionsAndBase) {
  EXPECT_EQ(first_message(set_error({"dram.stacks"})).rfind("--set:1: (option): expected KEY.PATH=VALUE", 0), 0u);
  EXPECT_EQ(first_message(set_error({"=4"})).rfind("--set:1: (option)", 0), 0u);
  EXPECT_EQ(first_message(set_error({"base=sohu-like"})).rfind("--set:1: base: expected a key --set can change", 0), 0u);
  EXPECT_EQ(first_message(set_error({"matrix.rows=[1"})).rfind("--set:1: (document): expected well-formed YAML", 0), 0u);
}

// The embedded presets are parsed once per thread and shared by later loads (parse_yaml). An
// override replaces a leaf parsed from a preset; replacing it must not write into the shared
// tree (yaml-cpp's Node assignment rebinds the old node), or every later load of the preset
// would see the override. Found by fuzz_arch_set as memory the shared trees kept growing.
// Each thread resolves presets once: a new thread's first load is the uncached resolution, its
// second the cached copy, and both equal another thread's.
TEST(ConfigOverrides, CachedPresetsResolveAsTheFirstTime) {
  for (const std::string& dram : cfg::section_preset_names("dram")) {
    std::vector<std::string> sets = {"dram.preset=" + dram, "matrix.rows=8"};
    std::string first, second, other;
    std::thread([&] {
      first = cfg::to_yaml(*cfg::load_arch("sohu-like", sets));
      second = cfg::to_yaml(*cfg::load_arch("sohu-like", sets));
    }).join();
    std::thread([&] {
      (void)cfg::load_arch("tiny", {"dram.preset=" + dram});
      other = cfg::to_yaml(*cfg::load_arch("sohu-like", sets));
    }).join();
    EXPECT_EQ(second, first) << dram;
    EXPECT_EQ(other, first) << dram;
    EXPECT_TRUE(first.find("preset: " + dram + "\n") != std::string::npos ||
                first.find("preset: \"" + dram + "\"\n") != std::string::npos) << dram;
  }
}

TEST(ConfigOverrides, LeaveThePresetUnchangedForLaterLoads) {
  for (const std::string& preset : cfg::preset_names()) {
    const std::string before = cfg::to_yaml(*cfg::load_arch(preset));
    const cfg::Arch changed = cfg::load_arch(
        preset, {"matrix.rows=8", "l2.bytes=96 KiB", "dram.controller.read_queue=50", "name=changed"});
    EXPECT_EQ(changed->matrix.rows, 8) << preset;
    EXPECT_EQ(cfg::to_yaml(*cfg::load_arch(preset)), before) << preset;
    // The same through a file whose base is the preset.
    cfg::load_arch_text("base: " + preset + "\nmatrix: {rows: 4}\nname: x\n", "child.yaml");
    EXPECT_EQ(cfg::to_yaml(*cfg::load_arch(preset)), before) << preset;
    // A section preset drops the section's resolved keys: from this load's copy, not from the
    // resolved preset that later loads start from.
    const std::string other = before.find("ddr3-2133") == std::string::npos ? "ddr3-2133" : "hbm3";
    const cfg::Arch changed_dram = cfg::load_arch(preset, {"dram.preset=" + other});
    EXPECT_NE(cfg::to_yaml(*changed_dram), before) << preset;
    EXPECT_EQ(cfg::to_yaml(*cfg::load_arch(preset)), before) << preset;
    // A refused load leaves nothing behind either.
    EXPECT_THROW(cfg::load_arch(preset, {"dram.preset=" + other, "matrix.rows=0"}), cfg::ConfigError);
    EXPECT_EQ(cfg::to_yaml(*cfg::load_arch(preset)), before) << preset;
  }
}
