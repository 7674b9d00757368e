// Speed of the cycle model (docs/validation.md, "Model"): simulated cycles, instructions and
// DRAM transfers per host CPU second, in timing mode, on the compiler's program of one decoder
// layer in the decode phase, tensor-parallel over every chip of the system, median over
// several runs. Not a test: host time varies.
//
//   model_bench [--arch sohu-like] [--model llama3-70b] [--batch 64] [--context 2048] [--runs 5]
//               [--dram burst|bandwidth] [--stats FILE] [--threads 1,2]
//
// With several --threads counts it runs each (RunOptions::threads: host worker processes) and
// reports simulated cycles per wall-clock second for each, their ratio to the first count, and
// whether every count gave byte-identical statistics (exit code 3 if not).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "model/core/model.h"

namespace {

// CPU seconds of this thread: the machine may be shared, and wall time would count the others.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Speed of the cycle model on the compiler's program of one decoder layer"};
  std::string arch = "sohu-like", model = "llama3-70b", dram = "burst", stats;
  uint64_t batch = 64, context = 2048;
  int runs = 5;
  app.add_option("--arch", arch, "preset name or architecture file");
  app.add_option("--model", model, "configs/models name or a directory with config.json");
  app.add_option("--batch", batch, "sequences per decode step");
  app.add_option("--context", context, "KV-cache length per sequence, the new token included");
  app.add_option("--runs", runs, "runs to take the median of")->check(CLI::Range(1, 100));
  app.add_option("--dram", dram, "DRAM fidelity: burst (exact) or bandwidth (fast)");
  app.add_option("--stats", stats, "write the statistics of the last run (JSON)");
  std::vector<uint32_t> threads{1};
  app.add_option("--threads", threads, "host worker counts to run, e.g. 1,2 (the first is the baseline)")
      ->delimiter(',')
      ->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);
  try {
    const tessera::config::Arch a = tessera::config::load_arch(arch);
    tessera::model::RunOptions opt{false, tessera::model::parse_dram_model(dram)};
    opt.time_dram = true;  // for the breakdown below; the runs per --threads count do not time it
    tessera::compiler::CompileOptions co;
    co.phase = tessera::compiler::Phase::Decode;
    co.batch = batch;
    co.context = context;
    co.tp = uint32_t(a->system.chips);  // one tensor-parallel group over the whole system
    co.segment.kind = tessera::compiler::Segment::Layer;
    const auto t0 = std::chrono::steady_clock::now();
    const tessera::isa::Program prog = tessera::compiler::compile(tessera::compiler::load_model(model), *a, co).program;
    const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<double> cps, ips, tps, dram_share, secs, core_cps, bps, non_dram_cps, build_secs;
    uint64_t cycles = 0, instructions = 0, transfers = 0, hbm_bytes = 0;
    for (int r = 0; r < runs; ++r) {
      // Building the system (every core's units, queues and events) is paid once per simulated
      // segment by `tessera run`, so it is reported beside the run.
      const double b0 = cpu_seconds();
      tessera::model::Simulation sim(*a, prog, opt);
      build_secs.push_back(cpu_seconds() - b0);
      const auto w0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      sim.run();
      const double s = cpu_seconds() - c0;
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
      cycles = sim.cycles();
      instructions = sim.instructions();
      transfers = sim.dram_transfers();
      const tessera::model::Totals t = sim.totals();
      hbm_bytes = t.hbm_read + t.hbm_written;
      secs.push_back(s);
      cps.push_back(double(cycles) / s);
      ips.push_back(double(instructions) / s);
      tps.push_back(double(transfers) / s);
      // The DRAM port measures wall time; its share of the run's wall time applies to the CPU time.
      const double share = std::min(1.0, double(sim.dram_host_ns()) * 1e-9 / wall);
      const double dram_s = share * s;
      dram_share.push_back(share);
      // Every core with a program simulates `cycles` cycles.
      core_cps.push_back(double(cycles) * double(prog.text.size()) / s);
      // DRAM bursts (of dram.bus_bits / 8 x dram.burst_length bytes) per second spent in the DRAM model.
      const double burst = double(a->dram.bus_bits) / 8.0 * double(a->dram.burst_length);
      bps.push_back(double(hbm_bytes) / burst / dram_s);
      non_dram_cps.push_back(double(cycles) / (s - dram_s));
      if (!stats.empty() && r + 1 == runs) {
        std::ofstream out(stats, std::ios::binary);
        sim.write_stats_json(out);
        if (!out) throw tessera::InputError(stats + ": cannot write");
      }
    }
    std::printf("arch %s, %s layer, batch %llu, context %llu: %llu chips x %llu cores, dram %s\n", a->name.c_str(),
                model.c_str(), (unsigned long long)batch, (unsigned long long)context,
                (unsigned long long)a->system.chips, (unsigned long long)a->chip.cores, dram.c_str());
    std::printf("program: %llu instructions (compiled in %.3f s)\n", (unsigned long long)instructions, gen_s);
    std::printf("simulated: %llu cycles (%.2f us), %llu DRAM transfers, %.1f MB of HBM traffic\n",
                (unsigned long long)cycles, double(cycles) / a->clock.core_mhz,
                (unsigned long long)transfers, double(hbm_bytes) * 1e-6);
    std::printf("median of %d runs: %.3f s host CPU, %.3g simulated cycles/s, %.3g instructions/s, %.3g DRAM transfers/s\n",
                runs, median(secs), median(cps), median(ips), median(tps));
    std::printf("core-cycles/s (cycles x %zu cores): %.3g\n", prog.text.size(), median(core_cps));
    std::printf("share of host time in the DRAM model: %.1f %% (%.3g bursts per DRAM-model second)\n",
                100.0 * median(dram_share), median(bps));
    std::printf("cycles per host second outside the DRAM model: %.3g\n", median(non_dram_cps));
    std::printf("building the system (not in the figures above): median %.3f s host CPU\n", median(build_secs));
    // Host workers: wall-clock speed per count, and whether the statistics are the same.
    std::string first_stats;
    double base = 0;
    bool identical = true;
    opt.time_dram = false;
    for (size_t i = 0; i < threads.size(); ++i) {
      opt.threads = threads[i];
      std::vector<double> walls;
      std::string text;
      uint32_t workers = 1;
      uint64_t c = 0;
      for (int r = 0; r < runs; ++r) {
        tessera::model::Simulation sim(*a, prog, opt);
        const auto w0 = std::chrono::steady_clock::now();
        sim.run();
        walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count());
        workers = sim.workers();
        c = sim.cycles();
        if (r + 1 == runs) {
          std::ostringstream os;
          sim.write_stats_json(os);
          text = os.str();
        }
      }
      const double speed = double(c) / median(walls);
      if (i == 0) {
        first_stats = text;
        base = speed;
      }
      const bool same = text == first_stats;
      identical = identical && same;
      std::printf("threads %u (%u worker%s): median %.3f s wall, %.3g simulated cycles per wall second (x%.2f), %llu cycles, statistics %s\n",
                  threads[i], workers, workers == 1 ? "" : "s", median(walls), speed, speed / base,
                  (unsigned long long)c, same ? "identical to the first count's" : "DIFFERENT from the first count's");
    }
    if (!identical) return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
