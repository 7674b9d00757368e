#pragma once
// Architecture sweeps (`tessera sweep`, docs/sweeps.md): a spec file names a base architecture,
// workloads, axes over any schema key (applied as --set overrides), constraints and objectives.
// This header is the pure part: the spec and its checks, the points it expands to, costing one
// point (never throwing for a point's own failure: the reason is recorded), the metrics taken
// from a run, the result rows and their files, and the Pareto front. Running points in parallel
// (worker processes, MPI ranks) is driver/sweep_pool.h.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "driver/report.h"

namespace tessera::tech {
struct AreaReport;
}

namespace tessera::sweep {

// One axis: one key (a list or range of values) or several keys zipped (their i-th values go
// together). values[i][k] is the value of keys[k] at step i, as text for --set.
struct Axis {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> values;
};

struct Objective {
  std::string metric;
  bool maximise = false;
};

struct Workload {
  std::string name;   // unique in the spec; default: the model name
  std::string model;  // configs/models name or a directory with config.json
  uint32_t chips = 0, tp = 0;
  uint64_t batch = 1;
  bool batch_max = false;      // batch: max -> the largest batch (<= batch_cap) that fits
  uint64_t batch_cap = 1024;
  uint64_t prompt = 2048, gen = 128;
  std::string precision;       // empty: the compiler's default
  uint32_t decode_points = 3;
  std::vector<Objective> objectives;  // this workload's front; empty: the spec's
};

enum class Cmp { le, lt, ge, gt, eq };

struct Constraint {
  std::string metric;
  Cmp op = Cmp::le;
  double value = 0;
  std::string text;  // as written, e.g. "area_mm2 <= 800"
};

struct Spec {
  std::string file;                // the spec's path, for messages
  std::string text;                // its bytes (the sweep directory records a hash of them)
  std::string name;
  std::string base;                // architecture preset or file (relative paths resolved)
  std::vector<std::string> sets;   // fixed overrides, applied before the axes
  std::vector<Workload> workloads;
  std::vector<Axis> axes;
  std::vector<Constraint> constraints;
  std::vector<Objective> objectives;
  // The objectives of workload w's front: its own, else the spec's.
  const std::vector<Objective>& objectives_of(size_t w) const {
    return workloads[w].objectives.empty() ? objectives : workloads[w].objectives;
  }
  size_t variants() const;         // product of the axes' lengths
  size_t points() const { return variants() * workloads.size(); }
  std::vector<std::string> axis_keys() const;  // every axis key, in axis order
};

// Parses and checks a spec. Every problem is an InputError "FILE:LINE: field: expected ..., got
// ...", including an axis key that is not a schema key and a constraint or objective naming an
// unknown metric.
Spec load_spec(const std::string& path);
Spec parse_spec(const std::string& yaml, const std::string& filename);

// Point `index`: variant index / workloads, workload index % workloads; the first axis varies
// slowest.
struct Point {
  size_t index = 0, variant = 0, workload = 0;
  std::vector<std::pair<std::string, std::string>> settings;  // (key, value) of every axis key
};
Point point(const Spec& spec, size_t index);

// ---- metrics ----

struct MetricInfo {
  std::string name, unit, what;
};
// Every metric a point can have, in column order.
const std::vector<MetricInfo>& metric_table();
bool is_metric(const std::string& name);

using Metrics = std::map<std::string, double>;
// THE place metrics come from: one run's report and the chip's area. Energy (j_per_token,
// power_w) is filled here once TimingReport carries it (see docs/sweeps.md, "Metrics").
Metrics metrics_of(const driver::TimingReport& r, const tech::AreaReport& area);

// ---- results ----

struct Result {
  size_t index = 0;
  std::string status;  // "ok", "invalid" (configuration refused), "failed" (request refused, e.g.
                       // does not fit), "pruned" (an area constraint failed before simulating)
  std::string reason;  // why, for every status but ok
  Metrics metrics;
  bool feasible = false;                 // ok and every constraint holds
  std::vector<std::string> violations;   // "ttft_ms 612 > 500"
};

// What evaluating a point produces: the result row and the point's own reports (empty unless ok).
struct Outcome {
  Result result;
  std::string report_text, report_json, report_html;  // the point's run report (points/pNNNNN.*)
};

// Costs one point. Never throws for the point's own problems (they become the status and reason).
Outcome evaluate(const Spec& spec, size_t index);

// One line of results.jsonl (no newline); the same result gives the same bytes.
std::string result_json(const Spec& spec, const Result& r);
// Parses a line written by result_json; std::nullopt for a truncated or foreign line.
std::optional<Result> parse_result(const std::string& line);
// Worker messages: an outcome as one JSON text, and back.
std::string outcome_message(const Spec& spec, const Outcome& o);
Outcome parse_outcome(const std::string& text);
// What a worker sends for point `index`: outcome_message(evaluate(...)), or a failed outcome
// naming the bug if evaluation threw anyway.
std::string evaluate_message(const Spec& spec, size_t index);

std::string csv_header(const Spec& spec);
std::string csv_row(const Spec& spec, const Result& r);

// Where a point's report lives inside the sweep directory, relative to it; the one place to
// switch the per-point report to HTML when the run report gets an HTML renderer.
std::string point_report_path(size_t index);
// Writes the point's report files under `dir` (the text report at point_report_path, the JSON
// next to it).
void write_point_report(const std::string& dir, const Outcome& o);

// ---- Pareto ----

// Indices (ascending) of the rows no other row dominates: at least as good on every objective and
// better on one. values[i][k] is row i's value of objective k; maximise[k] its direction.
std::vector<size_t> pareto(const std::vector<std::vector<double>>& values, const std::vector<bool>& maximise);

// Writes pareto.csv (the front of every workload over all objectives) and pareto.html (a scatter
// per pair of objectives with the front marked, each point linking to its report; tables of the
// front and of failed points) from the results, which must be sorted by index.
void write_fronts(const std::string& dir, const Spec& spec, const std::vector<Result>& results);

}  // namespace tessera::sweep
