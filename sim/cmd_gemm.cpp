// `tessera gemm`: the single-GEMM microbenchmark (docs/model.md, "tessera gemm"): compiles
// C = A x B as a one-node graph (compiler/gemm.h) for the first cores of chip 0, runs it on
// the cycle model and prints the cycle count, MAC utilisation and memory traffic.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/tech/energy.h"
#include "common/tech/tech.h"
#include "compiler/gemm.h"
#include "driver/cost.h"
#include "model/core/model.h"
#include "sim/command.h"

namespace {

using tessera::InputError;

tessera::isa::DType parse_precision(const std::string& s) {
  if (s == "fp8" || s == "fp8_e4m3") return tessera::isa::DType::fp8_e4m3;
  if (s == "fp8_e5m2") return tessera::isa::DType::fp8_e5m2;
  if (s == "int8") return tessera::isa::DType::int8;
  if (s == "bf16") return tessera::isa::DType::bf16;
  throw InputError("--precision: expected fp8, fp8_e4m3, fp8_e5m2, int8 or bf16, got '" + s + "'");
}

int gemm_main(int argc, char** argv) {
  CLI::App app{"Build and run one tiled GEMM on the cycle model (docs/model.md)", argv[0]};
  std::string dataflow = "ws", precision, stats, trace, mode = "timing", dram = "burst";
  uint64_t m = 0, k = 0, n = 0;
  uint32_t cores = 1;
  bool no_db = false;
  tessera::cli::ArchOption arch(app);
  app.add_option("--m", m, "rows of A and C")->required()->check(CLI::Range(uint64_t(1), uint64_t(1) << 32));
  app.add_option("--k", k, "columns of A, rows of B")->required()->check(CLI::Range(uint64_t(1), uint64_t(1) << 32));
  app.add_option("--n", n, "columns of B and C")->required()->check(CLI::Range(uint64_t(1), uint64_t(1) << 32));
  app.add_option("--dataflow", dataflow, "ws (weight-stationary) or os (output-stationary)")
      ->check(CLI::IsMember({"ws", "os"}));
  app.add_option("--cores", cores, "cores of chip 0 to spread the GEMM over (default 1)");
  app.add_option("--precision", precision, "fp8 (= fp8_e4m3), fp8_e5m2, int8 or bf16; default: the first the array supports");
  app.add_flag("--no-double-buffer", no_db, "run with matrix.double_buffer_weights: false");
  app.add_option("--mode", mode, "timing or functional")->check(CLI::IsMember({"timing", "functional"}));
  app.add_option("--dram", dram, "DRAM fidelity: burst (exact controller model) or bandwidth (fast, docs/model.md)");
  app.add_option("--stats", stats, "write the statistics (JSON)");
  app.add_option("--trace", trace, "write a Chrome/Perfetto trace (JSON)");
  uint64_t max_cycles = 0;
  tessera::cli::add_max_cycles_option(app, max_cycles);
  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;
  tessera::config::Arch a = arch.load();
  if (no_db) {
    // A variant of the same architecture, renamed so the report says which.
    arch.sets.push_back("name=" + a->name + "-no-double-buffer");
    arch.sets.push_back("matrix.double_buffer_weights=false");
    a = arch.load();
  }
  tessera::compiler::GemmSpec spec;
  spec.m = m;
  spec.k = k;
  spec.n = n;
  spec.cores = cores;
  spec.dataflow = dataflow == "os" ? tessera::isa::Dataflow::os : tessera::isa::Dataflow::ws;
  if (precision.empty()) {
    if (a->matrix.precisions.empty()) throw InputError(a->name + ": matrix.precisions is empty");
    spec.precision = tessera::isa::DType(uint8_t(a->matrix.precisions.front()));
  } else {
    spec.precision = parse_precision(precision);
  }
  const tessera::compiler::GemmProgram g = tessera::compiler::compile_gemm(*a, spec);
  const tessera::model::RunOptions opt{mode == "functional", tessera::model::parse_dram_model(dram), max_cycles};
  tessera::model::Simulation sim(*a, g.program, opt);
  sim.run();

  const auto& p = sim.params();
  uint64_t first_w = UINT64_MAX, last_e = 0;
  for (const tessera::isa::TextSection& text : g.program.text) {
    for (const auto& r : sim.records(text.chip, text.core)) {
      if (r.opcode != uint8_t(tessera::isa::Opcode::matmul)) continue;
      first_w = std::min(first_w, r.W);
      last_e = std::max(last_e, r.E);
    }
  }
  const uint64_t cycles = sim.cycles();
  const tessera::model::Totals t = sim.totals();
  const double macs = double(m) * double(k) * double(n);
  const double array = double(p.R) * p.C * g.engines * g.cores;
  std::printf("arch: %s, gemm m=%llu k=%llu n=%llu, %s, %s, weights %s\n", a->name.c_str(), (unsigned long long)m,
              (unsigned long long)k, (unsigned long long)n, dataflow.c_str(),
              std::string(tessera::isa::name(spec.precision)).c_str(),
              p.double_buffer ? "double-buffered" : "single-buffered");
  std::printf("tiles: m_t=%llu k_t=%llu n_t=%llu, %llu matmul instructions on %u core(s) x %u engine(s)\n",
              (unsigned long long)g.plan.m_t, (unsigned long long)g.plan.k_t, (unsigned long long)g.plan.n_t,
              (unsigned long long)g.matmuls, g.cores, g.engines);
  std::printf("cycles: %llu\n", (unsigned long long)cycles);
  std::printf("matrix cycles: %llu (first weight load W to last completion E)\n",
              (unsigned long long)(last_e + 1 - first_w));
  std::printf("MAC utilisation: %.2f %% of the run, %.2f %% of the matrix cycles\n",
              100.0 * macs / (double(cycles) * array), 100.0 * macs / (double(last_e + 1 - first_w) * array));
  std::printf("HBM traffic: %llu bytes read, %llu bytes written\n", (unsigned long long)t.hbm_read,
              (unsigned long long)t.hbm_written);
  std::printf("L1 traffic: %llu bytes read, %llu bytes written; accumulator: %llu read, %llu written\n",
              (unsigned long long)t.l1.read_bytes, (unsigned long long)t.l1.write_bytes,
              (unsigned long long)t.acc.read_bytes, (unsigned long long)t.acc.write_bytes);
  // What the run cost, when a technology table exists for the node (docs/energy.md): the busy
  // power of a matrix-bound kernel, which docs/validation.md compares with published chips.
  try {
    const tessera::tech::Tech tt = tessera::tech::tech_for(*a);
    const double seconds = double(cycles) / (a->clock.core_mhz * 1e6);
    const tessera::tech::EnergyCounts counts = tessera::driver::counts_of(t, *a, uint32_t(a->system.chips), seconds);
    tessera::tech::EnergyPrices prices = tessera::tech::prices(*a, *tt);
    const tessera::tech::EnergyReport e = tessera::tech::energy(counts, prices);
    std::printf("energy: %.6g J (%s table); average power %.2f W per chip, static %.2f W; %.3f TOPS/W\n", e.total_j,
                tt->name.c_str(), e.total_j / seconds / prices.chips, prices.static_w_per_chip,
                2.0 * macs / e.total_j / 1e12);
  } catch (const InputError& e) {
    std::printf("energy: - (%s)\n", e.what());
  }
  if (!stats.empty()) tessera::cli::write_file("--stats", stats, [&](std::ostream& os) { sim.write_stats_json(os); });
  if (!trace.empty()) tessera::cli::write_file("--trace", trace, [&](std::ostream& os) { sim.write_trace_json(os); });
  return 0;
}

}  // namespace

TESSERA_COMMAND("gemm", "build and run one tiled GEMM on the cycle model (cycles, utilisation, traffic)", gemm_main);
