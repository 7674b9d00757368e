// `tessera sweep SPEC -o DIR`: architecture exploration (docs/sweeps.md). Options in; the sweep
// library (driver/sweep*.h) expands the spec, runs the points on worker processes or MPI ranks
// and writes the results; this file only draws the progress.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "common/util/error.h"
#include "driver/html/text.h"
#include "driver/sweep.h"
#include "driver/sweep_pool.h"
#include "sim/command.h"

namespace {

using namespace tessera;

std::string clock_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

// Progress on stderr: a bar redrawn in place on a terminal, one line per finished point otherwise
// (logs and CI keep every line).
class ProgressView {
 public:
  ProgressView(const sweep::Spec& spec, bool quiet) : spec_(spec), quiet_(quiet), tty_(::isatty(2)) {}

  void operator()(const sweep::Progress& p) {
    if (quiet_) return;
    const size_t ran = p.done - p.resumed, left = p.total - p.done;
    const double rate = p.elapsed > 0 && ran ? double(ran) / p.elapsed : 0;
    const std::string eta = rate > 0 ? clock_text(double(left) / rate) : "?";
    std::string best = "-";
    if (p.best) {
      const sweep::Objective& o = spec_.objectives[0];
      best = o.metric + " " + html::number(*p.best, 4) + " (point " + std::to_string(p.best_index) + ")";
    }
    char head[160];
    std::snprintf(head, sizeof head, "%zu/%zu  %.2f points/s  ETA %s  best %s", p.done, p.total, rate, eta.c_str(),
                  best.c_str());
    if (!p.last) {
      if (p.resumed) std::fprintf(stderr, "sweep: resuming, %zu of %zu points already finished\n", p.resumed, p.total);
      std::fprintf(stderr, "sweep: %zu points on %zu workers\n", p.total - p.done, p.workers);
      if (!tty_) return;
    }
    if (tty_) {
      const int width = 30;
      const int fill = p.total ? int(double(width) * double(p.done) / double(p.total)) : width;
      std::string bar(size_t(fill), '#');
      bar += std::string(size_t(width - fill), '.');
      std::fprintf(stderr, "\r\033[K[%s] %s", bar.c_str(), head);
      if (p.done == p.total) std::fprintf(stderr, "\n");
    } else {
      const sweep::Result& r = *p.last;
      std::fprintf(stderr, "sweep: point %zu %s%s  [%s]\n", r.index, r.status.c_str(),
                   r.status == "ok" ? (r.feasible ? "" : " (infeasible)") : (": " + r.reason).c_str(), head);
    }
    std::fflush(stderr);
  }

 private:
  const sweep::Spec& spec_;
  bool quiet_, tty_;
};

int sweep_main(int argc, char** argv) {
  CLI::App app{std::string("Explore architectures: run a workload on every point of a sweep spec (axes over any "
                           "configuration key), in parallel, and write results.jsonl, results.csv, pareto.csv, "
                           "pareto.html and a report per point into DIR (docs/sweeps.md).\nMPI: ") +
                   (sweep::have_mpi() ? "built in; `mpirun -np N tessera sweep ...` spreads points over N - 1 worker ranks."
                                      : "not built in (Open MPI was not found at configure time); one machine only."),
               argv[0]};
  std::string spec_path, dir;
  unsigned jobs = 0;
  bool resume = false, quiet = false, list = false;
  app.add_option("spec", spec_path, "the sweep spec (YAML, docs/sweeps.md)")->required();
  app.add_option("-o,--out", dir, "output directory (created if absent)")->required();
  app.add_option("-j,--jobs", jobs, "worker processes on this machine (default: one per hardware thread)");
  app.add_flag("--resume", resume, "continue the sweep in DIR, skipping the points it already finished");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  app.add_flag("--list", list, "check the spec and print its points (index, workload, settings) without running them");
  // -o is not needed to list the points.
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--list") app.get_option("--out")->required(false);
  if (auto status = cli::parse_args(app, argc, argv)) return *status;
  if (list) {
    const sweep::Spec spec = sweep::load_spec(spec_path);
    std::printf("# %s: %zu points (%zu variants x %zu workloads)\n", spec.name.c_str(), spec.points(), spec.variants(),
                spec.workloads.size());
    for (size_t i = 0; i < spec.points(); ++i) {
      const sweep::Point p = sweep::point(spec, i);
      std::string line = std::to_string(i) + " " + spec.workloads[p.workload].name;
      for (const auto& [k, v] : p.settings) line += " " + k + "=" + v;
      std::printf("%s\n", line.c_str());
    }
    return 0;
  }

  sweep::RunOptions opt;
  opt.dir = dir;
  opt.jobs = jobs;
  opt.resume = resume;
  if (sweep::launched_by_mpi()) {
    // Every rank runs this; the spec is read by rank 0 and broadcast (the progress view needs
    // the objectives, so rank 0 parses it here as well).
    std::optional<sweep::Spec> spec;
    std::optional<ProgressView> view;
    if (!sweep::have_mpi()) return sweep::run_mpi(spec_path, opt);  // throws: built without MPI
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
    if (!rank) rank = std::getenv("PMI_RANK");
    if (!rank || std::string(rank) == "0") {
      try {
        spec = sweep::load_spec(spec_path);
        view.emplace(*spec, quiet);
        opt.progress = [&](const sweep::Progress& p) { (*view)(p); };
      } catch (const InputError&) {
        // run_mpi reports it after telling the workers to stop.
      }
    }
    const int status = sweep::run_mpi(spec_path, opt);
    if (spec && !quiet && status == 0) std::fprintf(stderr, "sweep: results in %s\n", dir.c_str());
    return status;
  }
  const sweep::Spec spec = sweep::load_spec(spec_path);
  ProgressView view(spec, quiet);
  opt.progress = [&](const sweep::Progress& p) { view(p); };
  const sweep::Summary s = sweep::run_local(spec, opt);
  if (!quiet)
    std::fprintf(stderr, "sweep: %zu points (%zu run now, %zu resumed), %zu ran, %zu feasible, %.1f s; results in %s\n",
                 s.total, s.ran, s.resumed, s.ok, s.feasible, s.elapsed, dir.c_str());
  return 0;
}

}  // namespace

TESSERA_COMMAND("sweep", "explore architectures: a sweep spec's points in parallel (or over MPI), Pareto fronts",
                sweep_main);
