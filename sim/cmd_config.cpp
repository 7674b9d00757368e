// `tessera config`: check architecture files, show a resolved configuration with its derived
// figures, print the key table, and write the SystemVerilog parameter package of a preset.
#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/config/config.h"
#include "common/config/derived.h"
#include "common/config/dram_standard.h"
#include "common/config/sv.h"
#include "common/util/units.h"
#include "compiler/emitter.h"
#include "compiler/hw.h"
#include "sim/command.h"

namespace {

namespace cfg = tessera::config;
using tessera::bytes_text;

std::string hex64(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// 10.07 PFLOPS, 91.75 TOPS, 64 GOPS: three to four significant digits in the largest SI prefix.
std::string si_rate(double v, const std::string& unit) {
  static const std::pair<double, const char*> kPrefixes[] = {{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}};
  for (const auto& [scale, prefix] : kPrefixes) {
    if (v >= scale) return fmt("%.4g ", v / scale) + prefix + unit;
  }
  return fmt("%.4g ", v) + unit;
}

// Loads each file; `as_dram` loads it as a configs/dram/ preset inside the tiny preset.
cfg::Arch load_for_check(const std::string& file, bool as_dram, const std::vector<std::string>& sets) {
  if (!as_dram) return cfg::load_arch(file, sets);
  std::string quoted = "\"";
  for (const char c : file) quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  quoted += "\"";
  return cfg::load_arch_text("base: tiny\nname: \"dram preset check\"\ndram:\n  preset: " + quoted + "\n",
                             "(tessera config check --dram)", sets);
}

int check_main(const std::vector<std::string>& files, bool as_dram, const std::vector<std::string>& sets) {
  int bad = 0;
  for (const auto& file : files) {
    try {
      const cfg::Arch a = load_for_check(file, as_dram, sets);
      // What the compiler needs of an architecture beyond the schema: a file that loads but
      // that no compiled program can run on (core.token_depth below the compiler's token
      // window) is an error here too, by the compiler's own check, so the minimum is stated
      // once. A hand-written program (tessera asm) may still use such a file.
      try {
        tessera::compiler::check_token_depth(tessera::compiler::hw_of(*a));
      } catch (const tessera::InputError& e) {
        // The compiler names the architecture; the file too, when it is not a preset name.
        const std::string msg = e.what();
        throw tessera::InputError((msg.starts_with(file + ": ") ? "" : file + ": ") + msg +
                                  " (tessera compile and run refuse it)");
      }
      std::printf("%s: ok (%s, fingerprint %s)\n", file.c_str(), as_dram ? a->dram.standard.c_str()
                                                                        : a->name.c_str(),
                  hex64(cfg::fingerprint(*a)).c_str());
      std::fflush(stdout);  // keep "ok" lines in order with the errors on stderr
    } catch (const cfg::ConfigError& e) {
      ++bad;
      for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.message().c_str());
    } catch (const tessera::InputError& e) {
      ++bad;
      std::fprintf(stderr, "%s\n", e.what());
    }
  }
  if (bad) {
    std::fprintf(stderr, "tessera config check: %d of %zu file(s) have errors\n", bad, files.size());
    return 2;
  }
  return 0;
}

std::string derived_figures(const cfg::ArchConfig& c) {
  std::string o;
  auto line = [&](const std::string& s) { o += "#   " + s + "\n"; };
  const int64_t macs = cfg::macs_per_cycle_per_chip(c);
  const double mhz = c.clock.core_mhz;
  line("fingerprint: " + hex64(cfg::fingerprint(c)));
  line("core period: " + std::to_string(cfg::core_period_fs(c)) + " fs; DRAM tCK: " +
       std::to_string(cfg::dram_tck_fs(c)) + " fs");
  line("MACs per cycle per chip: " + std::to_string(macs) + " = " + std::to_string(c.chip.cores) + " cores x " +
       std::to_string(c.core.matrix_engines) + " engines x " + std::to_string(c.matrix.rows) + " x " +
       std::to_string(c.matrix.cols));
  for (const auto p : c.matrix.precisions) {
    line("peak " + cfg::to_string(p) + ": " + fmt("%.6g", double(macs) * mhz * 1e6) + " MAC/s = " +
         si_rate(cfg::peak_ops_per_s(c), p == cfg::MatrixPrecision::int8 ? "OPS" : "FLOPS") +
         " per chip (dense, 2 ops per MAC)");
  }
  if (c.system.chips > 1) {
    line("system: " + std::to_string(c.system.chips) + " chips, " +
         si_rate(cfg::peak_ops_per_s(c) * double(c.system.chips), "OPS") + " peak");
  }
  const double bw = cfg::dram_peak_bytes_per_s(c);
  line("DRAM: " + c.dram.standard + ", " + std::to_string(c.dram.stacks) + " x " +
       bytes_text(cfg::dram_stack_bytes(c)) + " = " + bytes_text(cfg::dram_capacity_bytes(c)) + " per chip");
  line("DRAM peak: " + std::to_string(cfg::dram_pseudo_channels_per_chip(c)) + " pseudo-channels x " +
       std::to_string(c.dram.bus_bits / 8) + " B x " + fmt("%.6g", c.dram.data_rate_mtps) + " MT/s = " +
       fmt("%.6g", bw / 1e9) + " GB/s per chip; burst " + std::to_string(cfg::dram_burst_bytes(c)) + " B");
  line("roofline balance: " + fmt("%.5g", cfg::peak_ops_per_s(c) / bw) + " ops per DRAM byte");
  line("L1: " + bytes_text(uint64_t(c.l1.bytes)) + " per core, " + bytes_text(cfg::l1_bytes_per_chip(c)) +
       " per chip; " + std::to_string(cfg::l1_bytes_per_cycle(c)) + " B/cycle per core");
  for (const auto p : c.matrix.precisions) {
    line("L1 read demand of the matrix engines in ws streaming, " + cfg::to_string(p) + ": " +
         std::to_string(cfg::matrix_l1_demand_bytes_per_cycle(c, p)) + " B/cycle");
  }
  line("accumulators: " + bytes_text(uint64_t(c.accumulator.bytes)) + " per engine, " +
       bytes_text(cfg::accumulator_bytes_per_chip(c)) + " per chip; " + std::to_string(c.accumulator.banks) +
       " banks of " + std::to_string(cfg::accumulator_bank_width(c)) + " B, latency " +
       std::to_string(cfg::accumulator_latency(c)) + " cycle");
  line("L2: " + bytes_text(uint64_t(c.l2.bytes)) + "; SRAM per chip (L1 + accumulators + L2): " +
       bytes_text(cfg::sram_bytes_per_chip(c)));
  line("DMA: " + std::to_string(c.core.dma_engines) + " x " + std::to_string(c.dma.bytes_per_cycle) +
       " B/cycle per core = " + fmt("%.6g", double(c.core.dma_engines * c.dma.bytes_per_cycle) * mhz * 1e6 / 1e9) +
       " GB/s per core");
  if (c.link.count > 0) {
    line("links: " + std::to_string(c.link.count) + " x " + fmt("%.6g", c.link.gbytes_per_s) + " GB/s = " +
         fmt("%.6g", cfg::link_bytes_per_s_per_chip(c) / 1e9) + " GB/s per chip per direction, " +
         fmt("%.6g", c.link.latency_ns) + " ns");
  } else {
    line("links: none");
  }
  return o;
}

std::string schema_table() {
  std::string o;
  for (const auto& k : cfg::schema::kKeys) {
    std::string type;
    switch (k.type) {
      case cfg::schema::KeyType::Int: type = "int"; break;
      case cfg::schema::KeyType::Float: type = "float"; break;
      case cfg::schema::KeyType::Bool: type = "bool"; break;
      case cfg::schema::KeyType::String: type = "string"; break;
      case cfg::schema::KeyType::Enum: type = "enum"; break;
      case cfg::schema::KeyType::EnumList: type = "enum list"; break;
    }
    if (k.ctype) {
      type += " {";
      for (size_t i = 0; i < k.n_values; ++i) type += (i ? "," : "") + std::string(k.values[i]);
      type += "}";
    }
    if (std::string_view(k.path) == "dram.standard") {
      // A string checked against the registered standards (common/config/dram_standard.h).
      std::string names;
      for (const std::string& s : cfg::dram_standard_names()) names += (names.empty() ? "" : ",") + s;
      type += " {" + names + "}";
    }
    std::string range;
    if (k.type == cfg::schema::KeyType::Int && (k.has_min || k.has_max)) {
      range = "[" + (k.has_min ? std::to_string(k.imin) : "") + ", " + (k.has_max ? std::to_string(k.imax) : "") + "]";
    } else if (k.type == cfg::schema::KeyType::Float && (k.has_min || k.has_max)) {
      range = "[" + (k.has_min ? fmt("%g", k.fmin) : "") + ", " + (k.has_max ? fmt("%g", k.fmax) : "") + "]";
    }
    char head[512];
    std::snprintf(head, sizeof head, "%-32s %-34s %-14s %-24s %s", k.path, type.c_str(), k.unit,
                  k.required ? "required" : k.default_text, range.c_str());
    std::string h = head;
    while (!h.empty() && h.back() == ' ') h.pop_back();
    o += h + "\n    " + k.desc + "\n";
  }
  return o;
}

int config_main(int argc, char** argv) {
  CLI::App app{"Check, show and export architecture configurations (docs/config.md)", argv[0]};
  app.require_subcommand(1);

  std::vector<std::string> files;
  bool as_dram = false;
  auto* check = app.add_subcommand("check", "validate architecture files; exit 2 if any has an error");
  check->add_option("files", files, "architecture files (or preset names)")->required();
  check->add_flag("--dram", as_dram, "the files are configs/dram/ presets (checked inside the tiny preset)");
  std::vector<std::string> check_sets;
  tessera::cli::ArchOption::add_set_option(*check, check_sets);

  auto* show = app.add_subcommand("show", "print the resolved configuration and its derived figures");
  const tessera::cli::ArchOption arch(*show);

  auto* schema = app.add_subcommand("schema", "print every configuration key: type, unit, default, range");

  std::string sv_out;
  auto* sv = app.add_subcommand("sv", "write the SystemVerilog package tessera_cfg_pkg of a configuration");
  const tessera::cli::ArchOption sv_arch(*sv);
  sv->add_option("-o,--output", sv_out, "output file (default: standard output)");

  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;

  if (check->parsed()) return check_main(files, as_dram, check_sets);
  if (show->parsed()) {
    const cfg::Arch a = arch.load();
    std::string sets;
    for (const std::string& s : arch.sets) sets += " --set " + s;
    std::printf("# tessera config show --arch %s%s: resolved configuration (base, presets and overrides applied)\n%s"
                "# derived figures\n%s",
                arch.arch.c_str(), sets.c_str(), cfg::to_yaml(*a).c_str(), derived_figures(*a).c_str());
    return 0;
  }
  if (schema->parsed()) {
    std::fputs(schema_table().c_str(), stdout);
    return 0;
  }
  if (sv->parsed()) {
    const std::string text = cfg::to_sv_package(*sv_arch.load());
    if (sv_out.empty()) {
      std::fputs(text.c_str(), stdout);
      return 0;
    }
    tessera::cli::write_file("-o", sv_out, [&](std::ostream& os) { os << text; });
    return 0;
  }
  return 2;
}

}  // namespace

TESSERA_COMMAND("config", "check, show and export architecture configurations (check | show | schema | sv)",
                config_main);
