#pragma once
// The chart kinds of the report pages, as plain data, and the functions that draw each as one
// HTML <figure> holding a caption, an inline SVG and an HTML legend. The caller fills a struct
// and hands it to a Section (page.h); nothing is kept between calls, every text is escaped, and
// numbers are formatted without the locale, so identical data gives byte-identical HTML. A chart
// with nothing to draw renders a "No data" note in place of the SVG. Data that cannot be drawn
// (lengths that do not match, negative or non-finite values, bad colours) throws
// std::invalid_argument naming the chart; values a log axis cannot show (<= 0) are left out and
// listed in a note under the chart.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace tessera::html {

// ---- stacked bars: energy by component and phase, area by component ----

enum class Orientation { horizontal, vertical };

struct BarSeries {
  std::string name;            // one segment kind, e.g. "matrix engine"
  std::vector<double> values;  // one value >= 0 per category
  std::string colour;          // "#rrggbb"; empty: the palette's colour for this series
};

struct StackedBars {
  std::string title;
  std::string value_label;  // the value axis, e.g. "energy"
  std::string unit;         // e.g. "mJ"
  Orientation orientation = Orientation::horizontal;
  std::vector<std::string> categories;  // one bar each, e.g. phases, or one bar for a chip
  std::vector<BarSeries> series;        // stacked in this order from the axis outwards
};

// ---- roofline: log-log, compute roofs (horizontal) and bandwidth roofs (slanted) ----

struct Roof {
  std::string name;  // e.g. "FP8 peak", "HBM"
  double value = 0;  // compute: performance units; bandwidth: performance per intensity unit
};

struct RooflinePoint {
  std::string label;       // e.g. "decode"
  double intensity = 0;    // x, in intensity_unit
  double performance = 0;  // y, in performance_unit
  std::string detail;      // extra text for the hover tooltip
};

struct Roofline {
  std::string title;
  std::string intensity_unit = "FLOP/B";
  std::string performance_unit = "TFLOP/s";
  std::string bandwidth_unit = "TB/s";  // performance_unit / intensity_unit, for roof labels
  std::vector<Roof> compute;    // the highest is the peak; the others are drawn dashed
  std::vector<Roof> bandwidth;  // the highest meets the peak at the ridge point
  std::vector<RooflinePoint> points;
};

// ---- utilisation timeline: one lane per unit ----

struct Interval {
  double begin = 0;
  double end = 0;
};

struct TimelineLane {
  std::string name;
  // Either busy intervals (in time_unit; may overlap or be unsorted) or busy fractions in [0, 1]
  // of equal bins spanning [start, end]; not both.
  std::vector<Interval> busy;
  std::vector<double> fractions;
};

struct Timeline {
  std::string title;
  std::string time_unit = "us";
  double start = 0;  // end <= start: the range of the lanes' intervals
  double end = 0;
  std::vector<TimelineLane> lanes;
};

// ---- scatter plot with a Pareto front ----

enum class Goal { none, minimise, maximise };

struct ScatterAxis {
  std::string label;  // e.g. "area"
  std::string unit;   // e.g. "mm²"
  bool log = false;
  Goal goal = Goal::none;  // the front is drawn when both axes have a goal
};

struct ScatterPoint {
  double x = 0;
  double y = 0;
  std::string label;                                        // first line of the tooltip
  std::vector<std::pair<std::string, std::string>> details;  // further "key: value" lines
  std::string href;                                         // optional link, e.g. the point's report
  bool feasible = true;  // false: drawn hollow and grey, never on the front (fails a constraint)
};

struct Scatter {
  std::string title;
  ScatterAxis x;
  ScatterAxis y;
  std::vector<ScatterPoint> points;
};

// Indices of the feasible points no other feasible point dominates (at least as good on both
// goals and better on one), ordered by x then y. Points with equal coordinates share a fate.
// Empty when either goal is Goal::none.
std::vector<size_t> pareto_front(const std::vector<ScatterPoint>& points, Goal x, Goal y);

// ---- tables ----

enum class Align { left, right };

struct Column {
  std::string name;
  Align align = Align::left;  // right for numbers
};

struct Cell {
  std::string text;
  std::string href;  // optional link
  Cell(std::string t) : text(std::move(t)) {}  // NOLINT: plain strings are cells
  Cell(const char* t) : text(t) {}             // NOLINT
  Cell(std::string t, std::string link) : text(std::move(t)), href(std::move(link)) {}
};

struct Table {
  std::string caption;
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;  // each exactly columns.size() cells
};

// ---- rendering: each returns one <figure> (or <table>) element ----

std::string render(const StackedBars& chart);
std::string render(const Roofline& chart);
std::string render(const Timeline& chart);
std::string render(const Scatter& chart);
std::string render(const Table& table);

// The fixed colour cycle charts take series colours from.
const std::string& palette_colour(size_t index);

}  // namespace tessera::html
