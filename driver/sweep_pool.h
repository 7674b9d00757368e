#pragma once
// Running a sweep's points in parallel (docs/sweeps.md). The cycle model keeps one SystemC
// context per process (model/core/model.h), so points run in worker processes, never threads:
// forked children on one machine, or MPI ranks across machines. In both, one coordinator hands
// out the next unfinished point to whichever worker is free (dynamic load balancing), records
// each result the moment it arrives (results.jsonl and results.csv, appended and flushed, and
// the point's report), and at the end rewrites both files sorted by point index and writes the
// Pareto fronts, so the files are the same bytes whatever the worker count or finishing order.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "driver/sweep.h"

namespace tessera::sweep {

// What the coordinator reports after every finished point.
struct Progress {
  size_t total = 0;      // points of the spec
  size_t done = 0;       // finished, including those found at --resume
  size_t resumed = 0;    // finished before this run started
  size_t workers = 0;
  double elapsed = 0;    // seconds since this run started
  const Result* last = nullptr;  // the point that just finished (nullptr for the first call)
  // Best feasible value of the first objective so far, and its point.
  std::optional<double> best;
  size_t best_index = 0;
};

struct RunOptions {
  std::string dir;       // the output directory
  unsigned jobs = 0;     // worker processes on this machine (0: one per hardware thread)
  bool resume = false;   // continue the sweep in `dir`, skipping finished points
  std::function<void(const Progress&)> progress;
};

struct Summary {
  size_t total = 0, ran = 0, resumed = 0, ok = 0, feasible = 0;
  double elapsed = 0;
};

// Runs the sweep on this machine with forked worker processes. InputError when `dir` holds
// another sweep (a different spec) or results without --resume.
Summary run_local(const Spec& spec, const RunOptions& opt);

// ---- the coordinator's side, shared by the local pool and MPI (sweep_pool.cpp) ----

// Where results go: the directory, resume, appending, progress, the final sorted files.
class Recorder {
 public:
  Recorder(const Spec& spec, const RunOptions& opt, size_t workers);
  // Points still to run, ascending.
  const std::vector<size_t>& todo() const { return todo_; }
  void record(const Outcome& o);
  Summary finish();

 private:
  void append(const std::string& file, const std::string& line);
  void report(const Result* last);
  const Spec& spec_;
  RunOptions opt_;
  size_t workers_;
  std::vector<size_t> todo_;
  std::vector<Result> results_;
  size_t resumed_ = 0, ran_ = 0;
  std::optional<double> best_;
  size_t best_index_ = 0;
  double t0_ = 0;
};

// Workers the coordinator talks to: forked processes or MPI ranks.
class Workers {
 public:
  virtual ~Workers() = default;
  virtual size_t count() const = 0;
  virtual void assign(size_t worker, size_t index) = 0;
  // Blocks until a worker finishes a point: (worker, its outcome).
  virtual std::pair<size_t, Outcome> next() = 0;
  virtual void stop() = 0;  // no more points: workers exit
};

// Hands out points until every point of recorder.todo() is recorded.
void coordinate(Recorder& recorder, Workers& workers);

// Seconds since an arbitrary fixed point (steady clock).
double now_seconds();

// Whether this process was started by an MPI launcher with more than one rank
// (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_SIZE).
bool launched_by_mpi();
// Built with MPI (cmake found it and TESSERA_MPI is on).
bool have_mpi();
// Runs the sweep across MPI ranks: rank 0 reads the spec, broadcasts it, coordinates and writes
// the files; every other rank runs one point at a time. Returns the rank's exit status (the
// spec's errors are thrown on rank 0). InputError when built without MPI.
int run_mpi(const std::string& spec_path, const RunOptions& opt);

}  // namespace tessera::sweep
