// The sweep library (driver/sweep.h): spec checks name the file, line and field; points expand
// axes, ranges and zipped axes in a fixed order; a point's metrics are its run's and its area's;
// failing points are recorded, not thrown; result rows read back to the same bytes; the Pareto
// front equals a brute-force count.
#include "driver/sweep.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/tech/area.h"
#include "common/tech/tech.h"
#include "driver/html/charts.h"
#include "driver/timing.h"
#include "ref/tiny_model.h"
#include "tests/common/hf/test_util.h"

namespace tessera::sweep {
namespace {

const std::string kSpec = R"(name: t
base: tiny
workloads:
  - {name: w, model: llama3-8b, batch: 2, prompt: 16, gen: 4}
axes:
  - key: clock.core_mhz
    values: [250, 500]
  - zip:
      matrix.rows: [4, 8, 16]
      matrix.cols: [4, 8, 16]
  - key: l1.bytes
    range: {from: 32, to: 128, times: 2, unit: KiB}
constraints:
  - ttft_ms <= 0.1
objectives:
  - maximise tokens_per_s
  - minimise area_mm2
)";

std::string with(const std::string& from, const std::string& to) {
  std::string s = kSpec;
  const size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

TEST(SweepSpec, ExpandsAxesZipsAndRangesInOrder) {
  const Spec s = parse_spec(kSpec, "t.yaml");
  EXPECT_EQ(s.points(), 2u * 3u * 3u);
  EXPECT_EQ(s.axis_keys(), (std::vector<std::string>{"clock.core_mhz", "matrix.rows", "matrix.cols", "l1.bytes"}));
  const Point p0 = point(s, 0), last = point(s, s.points() - 1), p4 = point(s, 4);
  using KV = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(p0.settings, (KV{{"clock.core_mhz", "250"}, {"matrix.rows", "4"}, {"matrix.cols", "4"}, {"l1.bytes", "32KiB"}}));
  // The last axis varies fastest; zipped keys move together.
  EXPECT_EQ(p4.settings, (KV{{"clock.core_mhz", "250"}, {"matrix.rows", "8"}, {"matrix.cols", "8"}, {"l1.bytes", "64KiB"}}));
  EXPECT_EQ(last.settings,
            (KV{{"clock.core_mhz", "500"}, {"matrix.rows", "16"}, {"matrix.cols", "16"}, {"l1.bytes", "128KiB"}}));
}

TEST(SweepSpec, ArithmeticRangesCountStepsAndKeepTheEnd) {
  const Spec s = parse_spec(with("values: [250, 500]", "range: {from: 100, to: 100.3, step: 0.1}"), "t.yaml");
  EXPECT_EQ(s.axes[0].values, (std::vector<std::vector<std::string>>{{"100"}, {"100.1"}, {"100.2"}, {"100.3"}}));
}

TEST(SweepSpec, WorkloadsMultiplyThePoints) {
  const Spec s = parse_spec(with("workloads:\n", "workloads:\n  - {name: v, model: llama3-8b, batch: max}\n"), "t.yaml");
  EXPECT_EQ(s.points(), 36u);
  EXPECT_TRUE(s.workloads[0].batch_max);
  EXPECT_EQ(point(s, 7).workload, 1u);
  EXPECT_EQ(point(s, 7).variant, 3u);
}

TEST(SweepSpec, AWorkloadMayHaveItsOwnObjectives) {
  const Spec s = parse_spec(with("workloads:\n", "workloads:\n  - {name: v, model: llama3-8b, objectives: [minimise ttft_ms]}\n"),
                            "t.yaml");
  ASSERT_EQ(s.objectives_of(0).size(), 1u);
  EXPECT_EQ(s.objectives_of(0)[0].metric, "ttft_ms");
  EXPECT_FALSE(s.objectives_of(0)[0].maximise);
  EXPECT_EQ(s.objectives_of(1).size(), 2u);  // the spec's
}

TEST(SweepSpec, ErrorsNameTheFileLineAndField) {
  struct Case {
    std::string yaml;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {with("key: l1.bytes", "key: l1.bites"), {"t.yaml:11:", "axes[2].key", "unknown key 'l1.bites'", "l1.bytes"}},
      {with("matrix.cols: [4, 8, 16]", "matrix.cols: [4, 8]"), {"t.yaml:10:", "axes[1].zip.matrix.cols", "3 values"}},
      {with("ttft_ms <= 0.1", "power_mw <= 1"), {"t.yaml:14:", "constraints[0]", "unknown metric 'power_mw'"}},
      {with("ttft_ms <= 0.1", "ttft_ms about 1"), {"constraints[0]", "OP one of"}},
      {with("ttft_ms <= 0.1", "ttft_ms <= fast"), {"constraints[0]", "a number after <=", "'fast'"}},
      {with("maximise tokens_per_s", "maximise speed"), {"t.yaml:16:", "objectives[0]", "unknown metric 'speed'"}},
      {with("maximise tokens_per_s", "raise tokens_per_s"), {"objectives[0]", "maximise METRIC"}},
      {with("minimise area_mm2", "minimise tokens_per_s"), {"objectives[1]", "'tokens_per_s' again"}},
      {with("base: tiny", "base: nosuch"), {"t.yaml:2:", "base", "nosuch"}},
      {with("base: tiny\n", ""), {"base", "expected an architecture preset or file"}},
      {with("batch: 2", "batch: 0"), {"workloads[0].batch", "an integer >= 1", "'0'"}},
      {with("model: llama3-8b", "model: nosuch-model"), {"workloads[0].model", "nosuch-model"}},
      {with("gen: 4", "gen: 4, beams: 2"), {"workloads[0].beams", "unknown key 'beams'"}},
      {with("times: 2", "times: 1"), {"axes[2].range.times", "a factor > 1"}},
      {with("from: 32, to: 128", "from: 128, to: 32"), {"axes[2].range.to", ">= from"}},
      // A range that is not a mapping crashed the parser (fuzz_sweep_spec).
      {with("range: {from: 32, to: 128, times: 2, unit: KiB}", "range: [32, 128]"), {"axes[2].range", "a range {from, to"}},
      {with("range: {from: 32, to: 128, times: 2, unit: KiB}", "range: 32"), {"axes[2].range", "a range {from, to"}},
      {with("values: [250, 500]", "values: []"), {"axes[0].values", "at least one value"}},
      // A key containing the words of the suggestion once ended in std::out_of_range (fuzz_sweep_spec).
      {with("key: l1.bytes", "key: x did you mean"), {"axes[2].key", "unknown key 'x did you mean'"}},
      {with("matrix.cols: [4, 8, 16]", "mdid you meandram.x: [4, 8, 16]"),
       {"axes[1].zip.mdid you meandram.x", "unknown key 'mdid you meandram.x'"}},
      {with("  - key: clock.core_mhz", "  - key: l1.bytes"), {"axes[2].key", "'l1.bytes' again"}},
      {with("name: t\n", "name: t\nspeed: 3\n"), {"t.yaml:2:", "speed", "unknown key"}},
      {"[1, 2]", {"t.yaml:1:", "(document)", "a mapping"}},
      {with("gen: 4}", "gen: 4, objectives: [maximise joy]}"), {"t.yaml:4:", "workloads[0].objectives[0]", "'joy'"}},
      {"a: [1,", {"t.yaml:", "expected a YAML sweep spec"}},
      // 2^32 + 1 chips once wrapped to 1 chip.
      {with("batch: 2", "batch: 2, chips: 4294967297"), {"workloads[0].chips", "[0, 4294967295]", "'4294967297'"}},
      {with("gen: 4}", "gen: 4, decode_points: 4294967296}"), {"workloads[0].decode_points", "[1, 4294967295]"}},
      // Four axes of 65,536 values: 2^64 points once wrapped to 0 and the spec was accepted.
      {with("  - key: l1.bytes\n    range: {from: 32, to: 128, times: 2, unit: KiB}",
            "  - key: l1.bytes\n    range: {from: 1, to: 65536, step: 1}\n"
            "  - key: l2.bytes\n    range: {from: 1, to: 65536, step: 1}\n"
            "  - key: accumulator.banks\n    range: {from: 1, to: 65536, step: 1}\n"
            "  - key: core.token_depth\n    range: {from: 1, to: 65536, step: 1}"),
       {"axes", "at most 10,000,000 points"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    test::expect_input_error([&] { parse_spec(c.yaml, "t.yaml"); }, c.words);
  }
}

// Brute force: i is on the front unless some j is at least as good everywhere and better once.
std::vector<size_t> brute_front(const std::vector<std::vector<double>>& v, const std::vector<bool>& maxi) {
  std::vector<size_t> out;
  for (size_t i = 0; i < v.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < v.size(); ++j) {
      bool ge = true, gt = false;
      for (size_t k = 0; k < maxi.size(); ++k) {
        const double a = maxi[k] ? v[j][k] : -v[j][k], b = maxi[k] ? v[i][k] : -v[i][k];
        ge = ge && a >= b;
        gt = gt || a > b;
      }
      dominated = dominated || (ge && gt);
    }
    if (!dominated) out.push_back(i);
  }
  return out;
}

TEST(SweepPareto, MatchesBruteForceAndTheChartsFront) {
  std::mt19937 rng(16);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng() % 40, dims = 1 + rng() % 3;
    std::vector<std::vector<double>> v(n, std::vector<double>(dims));
    for (auto& row : v)
      for (double& x : row) x = double(rng() % 8);  // few distinct values: ties and duplicates
    std::vector<bool> maxi(dims);
    for (size_t k = 0; k < dims; ++k) maxi[k] = rng() % 2;
    const std::vector<size_t> front = pareto(v, maxi);
    ASSERT_EQ(front, brute_front(v, maxi)) << "trial " << trial;
    if (dims == 2) {
      // The page draws the 2-D front with html::pareto_front: the same set.
      std::vector<html::ScatterPoint> pts;
      for (const auto& row : v) pts.push_back({row[0], row[1], "", {}, "", true});
      std::vector<size_t> chart = html::pareto_front(pts, maxi[0] ? html::Goal::maximise : html::Goal::minimise,
                                                     maxi[1] ? html::Goal::maximise : html::Goal::minimise);
      std::sort(chart.begin(), chart.end());
      EXPECT_EQ(front, chart) << "trial " << trial;
    }
  }
}

class SweepEvaluate : public ::testing::Test {
 protected:
  void SetUp() override {
    ref::TinyModelOptions o;
    o.layers = 2;
    ref::write_tiny_model(dir.path(), o);
  }
  Spec spec(const std::string& constraints = "  - ttft_ms <= 1000\n") const {
    const std::string yaml = "base: tiny\nworkloads:\n  - {model: " + dir.path() +
                             ", batch: 2, prompt: 16, gen: 4, decode_points: 1}\naxes:\n  - key: clock.core_mhz\n"
                             "    values: [0, 500, 1000]\nconstraints:\n" +
                             constraints + "objectives: [maximise tokens_per_s, minimise area_mm2]\n";
    return parse_spec(yaml, dir.path() + "/spec.yaml");
  }
  test::TempDir dir;
};

TEST_F(SweepEvaluate, MetricsAreTheRunsAndTheAreas) {
  const Spec s = spec();
  const Outcome o = evaluate(s, 2);
  ASSERT_EQ(o.result.status, "ok") << o.result.reason;
  EXPECT_TRUE(o.result.feasible);
  const config::Arch a = config::load_arch("tiny", {"clock.core_mhz=1000"});
  driver::TimingOptions t;
  t.batch = 2;
  t.prompt = 16;
  t.gen = 4;
  t.decode_points = 1;
  const driver::TimingReport r = driver::run_timing(compiler::load_model(dir.path()), *a, t);
  const tech::AreaReport area = tech::area(*a, *tech::tech_for(*a));
  EXPECT_EQ(o.result.metrics, metrics_of(r, area));
  EXPECT_DOUBLE_EQ(o.result.metrics.at("tokens_per_s"), r.tokens_out_per_s);
  EXPECT_DOUBLE_EQ(o.result.metrics.at("ttft_ms"), r.ttft * 1e3);
  EXPECT_DOUBLE_EQ(o.result.metrics.at("area_mm2"), area.die_mm2);
  EXPECT_EQ(o.report_text, driver::report_text(r));
  for (const auto& [name, value] : o.result.metrics) EXPECT_TRUE(is_metric(name)) << name;
  // A row reads back to the same bytes (what --resume relies on).
  const std::string line = result_json(s, o.result);
  const std::optional<Result> back = parse_result(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(result_json(s, *back), line);
  EXPECT_EQ(csv_row(s, *back), csv_row(s, o.result));
  EXPECT_FALSE(parse_result(line.substr(0, line.size() / 2)));
}

TEST_F(SweepEvaluate, FailingPointsAreRecordedNotThrown) {
  const Spec s = spec("  - ttft_ms <= 0.000001\n  - area_mm2 >= 0\n");
  const Outcome bad = evaluate(s, 0);  // clock.core_mhz=0
  EXPECT_EQ(bad.result.status, "invalid");
  EXPECT_NE(bad.result.reason.find("clock.core_mhz"), std::string::npos) << bad.result.reason;
  EXPECT_FALSE(bad.result.feasible);
  const Outcome slow = evaluate(s, 1);
  EXPECT_EQ(slow.result.status, "ok");
  EXPECT_FALSE(slow.result.feasible);
  ASSERT_EQ(slow.result.violations.size(), 1u);
  EXPECT_NE(slow.result.violations[0].find("ttft_ms"), std::string::npos);
  // An area constraint that fails skips the simulation.
  const Outcome pruned = evaluate(spec("  - area_mm2 <= 1\n"), 1);
  EXPECT_EQ(pruned.result.status, "pruned");
  EXPECT_NE(pruned.result.reason.find("area_mm2"), std::string::npos);
  EXPECT_TRUE(pruned.report_text.empty());
  // A header and each row have the same number of columns.
  auto columns = [](const std::string& line) {  // commas outside quoted fields
    size_t n = 0;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      n += c == ',' && !quoted;
    }
    return n;
  };
  EXPECT_EQ(columns(csv_header(s)), columns(csv_row(s, bad.result)));
}

}  // namespace
}  // namespace tessera::sweep
