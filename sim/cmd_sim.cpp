// `tessera sim`: run a program (.tbin) on the cycle model of an architecture (docs/model.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "model/core/model.h"
#include "sim/command.h"

namespace {

int sim_main(int argc, char** argv) {
  CLI::App app{"Run a program on the cycle-accurate model (docs/model.md)", argv[0]};
  std::string program, mode = "timing", trace, stats, dram = "burst";
  const tessera::cli::ArchOption arch(app);
  app.add_option("--program", program, "program file (.tbin, from tessera asm)")->required();
  app.add_option("--mode", mode, "timing (no data) or functional (memories hold data)")
      ->check(CLI::IsMember({"timing", "functional"}));
  app.add_option("--dram", dram, "DRAM fidelity: burst (exact controller model) or bandwidth (fast, docs/model.md)");
  app.add_option("--trace", trace, "write a Chrome/Perfetto trace of every instruction (JSON)");
  app.add_option("--stats", stats, "write the statistics (JSON)");
  uint64_t max_cycles = 0;
  tessera::cli::add_max_cycles_option(app, max_cycles);
  uint32_t threads = 1;
  tessera::cli::add_threads_option(app, threads);
  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;
  const tessera::config::Arch a = arch.load();
  const tessera::isa::Program prog = tessera::isa::read_tbin(tessera::isa::read_program_file(program, "--program"), program);
  tessera::isa::check_arch(prog, *a, program);
  tessera::model::RunOptions opt{mode == "functional", tessera::model::parse_dram_model(dram), max_cycles};
  opt.threads = threads;
  tessera::model::Simulation sim(*a, prog, opt);
  sim.run();
  const tessera::timing::ArchParams& p = sim.params();
  const tessera::model::Totals t = sim.totals();
  const uint64_t cycles = sim.cycles();
  const double peak = double(cycles) * p.R * p.C * p.engines * p.cores * p.chips;
  std::printf("arch: %s, program: %s, mode: %s, dram: %s\n", a->name.c_str(), program.c_str(), mode.c_str(),
              dram.c_str());
  std::printf("cycles: %llu\n", (unsigned long long)cycles);
  std::printf("time: %.3f us\n", double(cycles) * double(p.period_fs) * 1e-9);
  std::printf("instructions: %llu\n", (unsigned long long)sim.instructions());
  std::printf("MACs: %llu (utilisation %.2f %% of every array of every core)\n", (unsigned long long)t.macs,
              peak > 0 ? 100.0 * double(t.macs) / peak : 0.0);
  std::printf("HBM: %llu bytes read, %llu bytes written\n", (unsigned long long)t.hbm_read,
              (unsigned long long)t.hbm_written);
  std::printf("L1: %llu bytes read, %llu bytes written; L2: %llu read, %llu written; links: %llu bytes\n",
              (unsigned long long)t.l1.read_bytes, (unsigned long long)t.l1.write_bytes,
              (unsigned long long)t.l2.read_bytes, (unsigned long long)t.l2.write_bytes,
              (unsigned long long)t.link_bytes);
  if (mode == "functional") {
    std::printf("numeric events: %llu saturated, %llu overflowed to Inf/NaN, %llu NaN, %llu int32 wraps\n",
                (unsigned long long)t.numeric.saturated, (unsigned long long)t.numeric.overflow_nonfinite,
                (unsigned long long)t.numeric.nan_produced, (unsigned long long)t.numeric.int_overflow);
  }
  if (!stats.empty()) tessera::cli::write_file("--stats", stats, [&](std::ostream& os) { sim.write_stats_json(os); });
  if (!trace.empty()) tessera::cli::write_file("--trace", trace, [&](std::ostream& os) { sim.write_trace_json(os); });
  return 0;
}

}  // namespace

TESSERA_COMMAND("sim", "run a program on the cycle-accurate model (cycles, stats, trace)", sim_main);
