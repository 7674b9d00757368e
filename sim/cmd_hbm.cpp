// `tessera hbm`: runs a synthetic traffic pattern on an architecture's DRAM model and
// reports bandwidth against the theoretical peak, read latency, row-buffer outcomes and
// where the lost bandwidth went (docs/dram.md, "tessera hbm").
#include <CLI/CLI.hpp>
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

#include "common/config/config.h"
#include "common/util/error.h"
#include "model/dram/dram_system.h"
#include "model/dram/traffic.h"
#include "sim/command.h"

namespace {

using namespace tessera::model::dram;
using tessera::InputError;

// Host CPU seconds of this process: steadier than wall time on a shared machine.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double ns_of(double tck, const DramParams& p) { return tck * double(p.tck_fs) * 1e-6; }

void print_latency(const char* what, double tck, const DramParams& p) {
  std::printf("  %-9s %9.1f tCK  %9.2f ns\n", what, tck, ns_of(tck, p));
}

// The read latency of one request to an idle DRAM, measured on a fresh model.
uint64_t measured_unloaded_latency(const DramParams& p) {
  DramSystem m(p);
  Pattern3D pat;
  pat.len = 1;
  m.submit(pat, false, 1, 0);
  m.run_until_idle();
  return m.stats().read_latency.max;
}

void print_report(const DramSystem& m, const std::string& pattern, uint64_t requests) {
  const DramParams& p = m.params();
  const Stats& s = m.stats();
  std::printf("traffic: %s, %llu requests, %llu bytes read, %llu bytes written, %llu tCK (%.3f us)\n", pattern.c_str(),
              (unsigned long long)requests, (unsigned long long)s.bytes_read, (unsigned long long)s.bytes_written,
              (unsigned long long)s.cycles, s.seconds() * 1e6);
  std::printf("bandwidth: %.2f GB/s = %.2f %% of the peak %.2f GB/s\n", s.bytes_per_s() / 1e9, 100.0 * s.peak_share(),
              s.peak_bytes_per_s / 1e9);
  const uint64_t unloaded = measured_unloaded_latency(p);
  std::printf("read latency (from entering the controller queue to the last data beat):\n");
  std::printf("  unloaded  %9llu tCK  %9.2f ns   = tRCD %u + CL %u + tBURST %u%s\n", (unsigned long long)unloaded,
              ns_of(double(unloaded), p), p.trcd, p.cl, p.tburst,
              unloaded == p.unloaded_read_tck() ? "" : "   (MISMATCH with the timing arithmetic)");
  if (s.read_latency.count) {
    print_latency("mean", s.read_latency.mean(), p);
    print_latency("p50", double(s.read_latency.percentile(0.50)), p);
    print_latency("p99", double(s.read_latency.percentile(0.99)), p);
    print_latency("max", double(s.read_latency.max), p);
  }
  std::printf("rows: hit rate %.2f %% (%llu hits, %llu misses, %llu conflicts)\n", 100.0 * s.row_hit_rate(),
              (unsigned long long)s.row_hits, (unsigned long long)s.row_misses, (unsigned long long)s.row_conflicts);
  std::printf("commands:");
  for (size_t c = 0; c < kCmdCount; ++c) std::printf(" %s %llu", cmd_name(Cmd(c)), (unsigned long long)s.commands[c]);
  std::printf("\n");
  // Data-bus cycles of all pseudo-channels: busy, or lost to one cause (docs/dram.md).
  std::printf("data-bus cycles (share of peak):\n  %-24s %7.2f %%\n", "busy", 100.0 * s.utilisation());
  static const char* const kGroups[] = {"row", "activation_rate", "bank_group_spacing", "turnaround",
                                        "refresh", "command_bus", "no_request"};
  for (const char* g : kGroups) {
    double share = 0;
    std::string detail;
    for (size_t c = 0; c < kCauseCount; ++c) {
      if (cause_group(Cause(c)) != g || s.idle_cycles[c] == 0) continue;
      share += s.share(Cause(c));
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%s %.2f %%", detail.empty() ? "" : ", ", std::string(cause_name(Cause(c))).c_str(),
                    100.0 * s.share(Cause(c)));
      detail += buf;
    }
    std::printf("  %-24s %7.2f %%%s%s%s\n", (std::string("lost: ") + g).c_str(), 100.0 * share,
                detail.empty() ? "" : "   (", detail.c_str(), detail.empty() ? "" : ")");
  }
}

int hbm_main(int argc, char** argv) {
  CLI::App app{"Run a traffic pattern on the DRAM model and report bandwidth, latency and losses (docs/dram.md)",
               argv[0]};
  std::string pattern, trace_path, stats_path, page, refresh, scheduler, map;
  uint64_t bytes = 0, request_bytes = 64, outstanding = 0, seed = 1;
  bool bench = false;
  unsigned runs = 5;
  tessera::cli::ArchOption arch(app);
  app.add_option("--pattern", pattern, "stream (sequential reads), random (reads) or mix (2 reads : 1 write)")
      ->required()
      ->check(CLI::IsMember({"stream", "random", "mix"}));
  app.add_option("--bytes", bytes, "bytes to move (default 64 MiB for stream, 16 MiB for random and mix)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 50));
  app.add_option("--request-bytes", request_bytes, "size of one random or mix request (default 64)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 30));
  app.add_option("--outstanding", outstanding,
                 "bursts in flight (stream) or requests in flight (random, mix); default: enough to fill every read queue")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 32));
  app.add_option("--seed", seed, "random and mix address seed (default 1)");
  app.add_option("--hbm-trace", trace_path, "write the DRAM command trace (docs/dram.md, \"Trace format\")");
  app.add_option("--stats", stats_path, "write the statistics (JSON)");
  // Shorthands for the --set of a controller key, applied after the --set options.
  app.add_option("--page", page, "= --set dram.controller.page_policy=PAGE (open or closed)");
  app.add_option("--refresh", refresh, "= --set dram.controller.refresh=REFRESH (all_bank or per_bank)");
  app.add_option("--scheduler", scheduler, "= --set dram.controller.scheduler=SCHEDULER (frfcfs or fcfs)");
  app.add_option("--address-map", map, "= --set dram.controller.address_map=MAP");
  app.add_flag("--bench", bench, "also time the run in host CPU seconds: median of --runs runs (host-dependent output)");
  app.add_option("--runs", runs, "runs for --bench (default 5)")->check(CLI::Range(1u, 1000u));
  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;

  for (const auto& [key, value] : {std::pair{"page_policy", page}, std::pair{"refresh", refresh},
                                    std::pair{"scheduler", scheduler}, std::pair{"address_map", map}}) {
    if (!value.empty()) arch.sets.push_back(std::string("dram.controller.") + key + "=" + value);
  }
  const tessera::config::Arch cfg = arch.load();
  const DramParams p = params_from_config(*cfg);

  TrafficSpec spec;
  spec.kind = pattern == "stream" ? TrafficSpec::Kind::Stream
              : pattern == "random" ? TrafficSpec::Kind::Random
                                    : TrafficSpec::Kind::Mix;
  spec.bytes = bytes ? bytes : (spec.kind == TrafficSpec::Kind::Stream ? 64ull << 20 : 16ull << 20);
  spec.request_bytes = request_bytes;
  spec.outstanding = outstanding;
  spec.seed = seed;
  // The same conditions run_traffic() enforces, checked here so the message names the flags
  // (the default of --bytes counts as given: it is printed in the help).
  const std::string bytes_flag = bytes ? "--bytes " + std::to_string(bytes)
                                       : "--bytes (default " + std::to_string(spec.bytes) + ")";
  if (spec.bytes > p.capacity_bytes()) {
    throw InputError(bytes_flag + ": exceeds the DRAM capacity of " + cfg->name + ", " +
                     std::to_string(p.capacity_bytes()) + " bytes");
  }
  if (spec.kind != TrafficSpec::Kind::Stream) {
    if (request_bytes > spec.bytes) {
      throw InputError(bytes_flag + " is smaller than --request-bytes " + std::to_string(request_bytes) + ": a " +
                       pattern + " run moves whole requests, so --bytes must be at least --request-bytes");
    }
    if (p.capacity_bytes() % request_bytes != 0) {
      throw InputError("--request-bytes " + std::to_string(request_bytes) + ": must divide the DRAM capacity of " +
                       cfg->name + ", " + std::to_string(p.capacity_bytes()) + " bytes (requests are aligned to their size)");
    }
  }

  std::ofstream trace_file;
  Options opt;
  if (!trace_path.empty()) {
    trace_file.open(trace_path, std::ios::binary);
    if (!trace_file) throw InputError(trace_path + ": cannot write the trace");
    opt.trace = &trace_file;
  }
  std::printf("arch: %s, %s, %u stacks x %u channels x %u pseudo-channels, %u bank groups x %u banks, %u B bursts, "
              "tCK %.3f ps\n",
              p.arch_name.c_str(), p.standard.c_str(), p.stacks, p.channels, p.pcs, p.bank_groups,
              p.banks_per_group, p.burst_bytes, double(p.tck_fs) / 1000.0);
  std::printf("controller: page %s, scheduler %s, refresh %s, address map %s\n",
              p.page == Page::Open ? "open" : "closed", p.sched == Sched::FrFcfs ? "frfcfs" : "fcfs",
              p.refresh == Refresh::AllBank ? "all_bank" : "per_bank", p.address_map.c_str());

  auto model = std::make_unique<DramSystem>(p, opt);
  const double t0 = cpu_seconds();
  const uint64_t requests = run_traffic(*model, spec);
  const double first = cpu_seconds() - t0;
  print_report(*model, pattern, requests);
  if (!trace_path.empty()) {
    // The trace streams while the model runs; a write that failed (a full disk, /dev/full) shows
    // only in the stream's state, so check it before reporting success.
    trace_file.close();
    if (!trace_file) throw InputError("--hbm-trace " + trace_path + ": writing failed (disk full or not writable)");
  }
  if (!stats_path.empty()) {
    tessera::cli::write_file("--stats", stats_path, [&](std::ostream& os) { model->stats().write_json(os); });
  }
  if (bench) {
    const Stats& s = model->stats();
    const uint64_t bursts = (s.bytes_read + s.bytes_written) / s.burst_bytes;
    std::vector<double> secs{first};
    for (unsigned r = 1; r < runs; ++r) {
      DramSystem m(p);
      const double a = cpu_seconds();
      run_traffic(m, spec);
      secs.push_back(cpu_seconds() - a);
    }
    std::sort(secs.begin(), secs.end());
    const double med = secs.size() % 2 ? secs[secs.size() / 2] : (secs[secs.size() / 2 - 1] + secs[secs.size() / 2]) / 2;
    std::printf("host: median of %zu runs %.3f CPU s (min %.3f, max %.3f): %.3g bursts/s, %.3g requests/s, %.3g tCK/s%s\n",
                secs.size(), med, secs.front(), secs.back(), double(bursts) / med, double(requests) / med,
                double(s.cycles) / med, trace_path.empty() ? "" : " (first run wrote the trace)");
  }
  return 0;
}

}  // namespace

TESSERA_COMMAND("hbm", "run a traffic pattern on the HBM/DRAM model: bandwidth, latency, losses", hbm_main);
