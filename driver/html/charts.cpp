#include "driver/html/charts.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <stdexcept>

#include "driver/html/axis.h"
#include "driver/html/svg.h"
#include "driver/html/text.h"

namespace tessera::html {

using detail::Anchor;
using detail::LegendItem;
using detail::Plot;
using detail::Svg;

namespace {

constexpr double kWidth = 880;
constexpr double kFont = 12;

void fail(const std::string& chart, const std::string& what) {
  throw std::invalid_argument("html: chart '" + chart + "': " + what);
}

std::string colour_of(const std::string& given, size_t index) {
  if (given.empty()) return palette_colour(index);
  check_colour(given);
  return given;
}

std::string with_unit(double v, const std::string& unit) { return unit.empty() ? number(v) : number(v) + " " + unit; }

std::string percent(double fraction) { return fixed(100 * fraction, 1) + " %"; }

// Labels longer than `max_px` are cut with an ellipsis (the full text stays in the tooltip).
std::string fit(const std::string& s, double max_px, double font) {
  if (text_width(s, font) <= max_px) return s;
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && text_width(out + "..", font) > max_px) break;
    out += s[i];
  }
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty()) out.pop_back();
  return out + "\xE2\x80\xA6";
}

}  // namespace

const std::string& palette_colour(size_t index) {
  static const std::vector<std::string> kPalette = {"#1f6fb4", "#e8901a", "#2a9d6f", "#c4497f", "#6cb4e4", "#c45a1c",
                                                    "#7a5cb0", "#8c9a2b", "#3d4f73", "#d9b92b", "#4fa3a0", "#9e4b3c"};
  return kPalette[index % kPalette.size()];
}

// ---------------------------------------------------------------------------------------------
// Stacked bars

std::string render(const StackedBars& chart) {
  const size_t n = chart.categories.size();
  std::vector<double> totals(n, 0.0);
  std::vector<std::string> colours;
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const BarSeries& series = chart.series[s];
    if (series.values.size() != n) {
      fail(chart.title, "series '" + series.name + "' has " + std::to_string(series.values.size()) +
                            " values for " + std::to_string(n) + " categories");
    }
    for (size_t i = 0; i < n; ++i) {
      const double v = series.values[i];
      if (!std::isfinite(v) || v < 0) fail(chart.title, "series '" + series.name + "' has a negative or non-finite value");
      totals[i] += v;
    }
    colours.push_back(colour_of(series.colour, s));
  }
  const double top = n ? *std::max_element(totals.begin(), totals.end()) : 0;
  if (n == 0 || chart.series.empty()) return detail::no_data("stacked-bars", chart.title, "no categories or series");
  if (top <= 0) return detail::no_data("stacked-bars", chart.title, "every value is zero");

  const Ticks ticks = nice_ticks(0, top);
  const std::string title = detail::axis_title(chart.value_label, chart.unit);
  double label_w = 0;
  for (const std::string& c : chart.categories) label_w = std::max(label_w, text_width(c, kFont));
  const bool horizontal = chart.orientation == Orientation::horizontal;

  auto tip = [&](size_t s, size_t i) {
    const double v = chart.series[s].values[i];
    return chart.categories[i] + " / " + chart.series[s].name + ": " + with_unit(v, chart.unit) + " (" +
           percent(v / totals[i]) + " of " + with_unit(totals[i], chart.unit) + ")";
  };

  std::string svg_text;
  if (horizontal) {
    const double band = 30;
    const double left = std::min(220.0, label_w + 16) + 8;
    const Plot plot{left, 10, kWidth - 90, 10 + band * static_cast<double>(n)};
    Svg svg(kWidth, plot.y1 + 46, chart.title);
    const Scale x{ticks.lo, ticks.hi, false, plot.x0, plot.x1};
    detail::x_axis(svg, plot, ticks, x, title);
    for (size_t i = 0; i < n; ++i) {
      const double y = plot.y0 + band * static_cast<double>(i) + 5;
      const double h = band - 10;
      svg.text(plot.x0 - 8, y + h / 2 + 4, fit(chart.categories[i], left - 16, kFont), Anchor::end, "cat");
      double acc = 0;
      for (size_t s = 0; s < chart.series.size(); ++s) {
        const double v = chart.series[s].values[i];
        if (v <= 0) continue;
        const double a = x(acc), b = x(acc + v);
        svg.rect(a, y, b - a, h, "seg", colours[s], tip(s, i));
        const std::string pct = fixed(100 * v / totals[i], 0) + "%";
        if (b - a > text_width(pct, 11) + 6) svg.text((a + b) / 2, y + h / 2 + 4, pct, Anchor::middle, "in-bar");
        acc += v;
      }
      svg.text(x(totals[i]) + 6, y + h / 2 + 4, with_unit(totals[i], chart.unit), Anchor::start, "total");
    }
    svg_text = svg.finish();
  } else {
    const double plot_w = kWidth - 90;
    const double band = plot_w / static_cast<double>(n);
    const bool rotate = label_w > band - 6;
    const double bottom = rotate ? std::min(150.0, label_w) * 0.5 + 34 : 56;  // sin(35 deg) of the label, and room
    const Plot plot{80, 24, kWidth - 10, 24 + 300};
    Svg svg(kWidth, plot.y1 + bottom, chart.title);
    const Scale y{ticks.lo, ticks.hi, false, plot.y1, plot.y0};
    detail::y_axis(svg, plot, ticks, y, title);
    svg.line(plot.x0, plot.y1, plot.x1, plot.y1, "axis");
    for (size_t i = 0; i < n; ++i) {
      const double w = std::min(64.0, band * 0.6);
      const double cx = plot.x0 + band * (static_cast<double>(i) + 0.5);
      double acc = 0;
      for (size_t s = 0; s < chart.series.size(); ++s) {
        const double v = chart.series[s].values[i];
        if (v <= 0) continue;
        const double a = y(acc), b = y(acc + v);
        svg.rect(cx - w / 2, b, w, a - b, "seg", colours[s], tip(s, i));
        acc += v;
      }
      svg.text(cx, y(totals[i]) - 5, with_unit(totals[i], chart.unit), Anchor::middle, "total");
      if (rotate) {
        svg.text(cx + 4, plot.y1 + 14, fit(chart.categories[i], 150, kFont), Anchor::end, "cat", -35);
      } else {
        svg.text(cx, plot.y1 + 18, chart.categories[i], Anchor::middle, "cat");
      }
    }
    svg_text = svg.finish();
  }
  std::vector<LegendItem> legend;
  for (size_t s = 0; s < chart.series.size(); ++s) legend.push_back({chart.series[s].name, colours[s]});
  return detail::figure("stacked-bars", chart.title, svg_text, legend, {});
}

// ---------------------------------------------------------------------------------------------
// Roofline

std::string render(const Roofline& chart) {
  if (chart.compute.empty() || chart.bandwidth.empty()) {
    return detail::no_data("roofline", chart.title, "a roofline needs a compute roof and a bandwidth roof");
  }
  for (const std::vector<Roof>* roofs : {&chart.compute, &chart.bandwidth}) {
    for (const Roof& r : *roofs) {
      if (!(r.value > 0) || !std::isfinite(r.value)) fail(chart.title, "roof '" + r.name + "' is not positive");
    }
  }
  // The first roof of each kind is the primary one: the ridge point is where they meet.
  const Roof& peak = chart.compute.front();
  const Roof& bw = chart.bandwidth.front();
  const double ridge = peak.value / bw.value;
  double top = 0;  // slanted roofs run up to the highest compute roof
  for (const Roof& r : chart.compute) top = std::max(top, r.value);

  std::vector<const RooflinePoint*> shown;
  std::vector<std::string> left_out;
  double xmin = ridge / 10, xmax = ridge * 10, ymin = peak.value / 100, ymax = top;
  for (const RooflinePoint& p : chart.points) {
    if (!(p.intensity > 0) || !(p.performance > 0) || !std::isfinite(p.intensity) || !std::isfinite(p.performance)) {
      left_out.push_back(p.label);
      continue;
    }
    shown.push_back(&p);
    xmin = std::min(xmin, p.intensity);
    xmax = std::max(xmax, p.intensity);
    ymin = std::min(ymin, p.performance);
    ymax = std::max(ymax, p.performance);
  }
  const Ticks xt = log_ticks(xmin, xmax);
  const Ticks yt = log_ticks(ymin, ymax * 1.5);
  const Plot plot{84, 14, kWidth - 20, 14 + 380};
  const Scale x{xt.lo, xt.hi, true, plot.x0, plot.x1};
  const Scale y{yt.lo, yt.hi, true, plot.y1, plot.y0};
  Svg svg(kWidth, plot.y1 + 48, chart.title);
  detail::x_axis(svg, plot, xt, x, "arithmetic intensity (" + chart.intensity_unit + ")");
  detail::y_axis(svg, plot, yt, y, "performance (" + chart.performance_unit + ")");

  // A slanted roof of bandwidth b, from the left edge (or the bottom) to where it meets the peak.
  auto slanted = [&](double b, std::string_view cls, const std::string& colour) {
    double xa = xt.lo;
    if (b * xa < yt.lo) xa = yt.lo / b;
    const double xb = std::min(top / b, xt.hi);
    if (xa < xb) svg.line(x(xa), y(b * xa), x(xb), y(b * xb), cls, colour);
  };
  const double angle = std::atan2(y(10 * bw.value) - y(bw.value), x(10.0) - x(1.0)) * 180 / std::numbers::pi;
  std::vector<LegendItem> legend;
  for (size_t i = 0; i < chart.bandwidth.size(); ++i) {
    const Roof& r = chart.bandwidth[i];
    const bool main = i == 0;
    const std::string colour = main ? "#333333" : "#8a8a8a";
    slanted(r.value, main ? "roof" : "roof dashed", colour);
    legend.push_back({r.name + " " + with_unit(r.value, chart.bandwidth_unit), colour,
                      main ? LegendItem::Mark::line : LegendItem::Mark::dashed});
    // The roof's name sits on the line, a fifth of the way along its visible part.
    double xa = std::max(xt.lo, yt.lo / r.value);
    const double xb = std::min(top / r.value, xt.hi);
    if (xa < xb) {
      xa = std::pow(10.0, std::log10(xa) + 0.2 * (std::log10(xb) - std::log10(xa)));
      svg.text(x(xa), y(r.value * xa) - 6, r.name, Anchor::start, "roof-label", angle);
    }
  }
  detail::LabelPlacer labels(plot);
  for (size_t i = 0; i < chart.compute.size(); ++i) {
    const Roof& r = chart.compute[i];
    const bool main = i == 0;
    const std::string colour = main ? "#333333" : "#8a8a8a";
    const double xa = std::max(xt.lo, r.value / bw.value);
    svg.line(x(xa), y(r.value), plot.x1, y(r.value), main ? "roof" : "roof dashed", colour);
    labels.block(x(xa), y(r.value) - 3, plot.x1 - x(xa), 6);
    const std::string text = r.name + " " + with_unit(r.value, chart.performance_unit);
    svg.text(plot.x1 - 4, y(r.value) - 6, text, Anchor::end, "roof-label");
    labels.block(plot.x1 - 4 - text_width(text, 11), y(r.value) - 17, text_width(text, 11), 14);
    legend.push_back({r.name + " " + with_unit(r.value, chart.performance_unit), colour,
                      main ? LegendItem::Mark::line : LegendItem::Mark::dashed});
  }
  svg.circle(x(ridge), y(peak.value), 4, "ridge", {},
             "ridge point: " + with_unit(ridge, chart.intensity_unit) + " at " + with_unit(peak.value, chart.performance_unit));
  labels.block(x(ridge) - 5, y(peak.value) - 5, 10, 10);
  // Above and left of the ridge is free: the bandwidth roof arrives from below left.
  const std::string ridge_text = "ridge " + with_unit(ridge, chart.intensity_unit);
  svg.text(x(ridge) - 8, y(peak.value) - 8, ridge_text, Anchor::end, "ridge-label");
  labels.block(x(ridge) - 8 - text_width(ridge_text, 11), y(peak.value) - 19, text_width(ridge_text, 11), 14);
  for (size_t i = 0; i < shown.size(); ++i) {
    const double px = x(shown[i]->intensity), py = y(shown[i]->performance);
    labels.block(px - 5, py - 5, 10, 10);
  }
  for (size_t i = 0; i < shown.size(); ++i) {
    const RooflinePoint& p = *shown[i];
    const double attainable = std::min(peak.value, bw.value * p.intensity);
    std::vector<std::string> tip = {p.label, with_unit(p.intensity, chart.intensity_unit) + ", " +
                                                 with_unit(p.performance, chart.performance_unit) + " (" +
                                                 percent(p.performance / attainable) + " of the roof)"};
    if (!p.detail.empty()) tip.push_back(p.detail);
    const std::string& colour = palette_colour(i);
    svg.circle(x(p.intensity), y(p.performance), 5, "pt", colour, detail::join_lines(tip));
    labels.place(svg, x(p.intensity), y(p.performance), p.label, "pt-label");
    legend.push_back({p.label, colour, LegendItem::Mark::dot});
  }
  std::vector<std::string> notes;
  if (!left_out.empty()) {
    std::string names;
    for (const std::string& s : left_out) names += (names.empty() ? "" : ", ") + s;
    notes.push_back(std::to_string(left_out.size()) + " point(s) not shown (a log axis cannot show values <= 0): " + names);
  }
  return detail::figure("roofline", chart.title, svg.finish(), legend, notes);
}

// ---------------------------------------------------------------------------------------------
// Utilisation timeline

namespace {

// The union of `busy`, sorted.
std::vector<Interval> merged(std::vector<Interval> busy, const std::string& chart, const std::string& lane) {
  for (const Interval& iv : busy) {
    if (!std::isfinite(iv.begin) || !std::isfinite(iv.end) || iv.end < iv.begin) {
      fail(chart, "lane '" + lane + "' has an interval that ends before it begins or is not finite");
    }
  }
  std::sort(busy.begin(), busy.end(), [](const Interval& a, const Interval& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  std::vector<Interval> out;
  for (const Interval& iv : busy) {
    if (!out.empty() && iv.begin <= out.back().end) {
      out.back().end = std::max(out.back().end, iv.end);
    } else {
      out.push_back(iv);
    }
  }
  return out;
}

}  // namespace

std::string render(const Timeline& chart) {
  if (chart.lanes.empty()) return detail::no_data("timeline", chart.title, "no units");
  std::vector<std::vector<Interval>> lanes;
  double t0 = chart.start, t1 = chart.end;
  const bool auto_range = !(t1 > t0);
  if (auto_range) {
    t0 = INFINITY;
    t1 = -INFINITY;
  }
  for (const TimelineLane& lane : chart.lanes) {
    if (!lane.busy.empty() && !lane.fractions.empty()) {
      fail(chart.title, "lane '" + lane.name + "' has both busy intervals and busy fractions");
    }
    for (double f : lane.fractions) {
      if (!(f >= 0 && f <= 1)) fail(chart.title, "lane '" + lane.name + "' has a busy fraction outside [0, 1]");
    }
    lanes.push_back(merged(lane.busy, chart.title, lane.name));
    if (auto_range && !lanes.back().empty()) {
      t0 = std::min(t0, lanes.back().front().begin);
      t1 = std::max(t1, lanes.back().back().end);
    }
  }
  if (!(t1 > t0)) return detail::no_data("timeline", chart.title, "the time range is empty");

  double label_w = 0;
  for (const TimelineLane& lane : chart.lanes) label_w = std::max(label_w, text_width(lane.name, kFont));
  const double lane_h = 22, gap = 6;
  const double left = std::min(200.0, label_w + 16) + 8;
  const Plot plot{left, 22, kWidth - 70, 22 + (lane_h + gap) * static_cast<double>(chart.lanes.size())};
  Svg svg(kWidth, plot.y1 + 46, chart.title);
  const Ticks ticks = nice_ticks(t0, t1);
  // The axis is the requested range exactly: ticks outside it are dropped, not widened to.
  Ticks inside;
  inside.lo = t0;
  inside.hi = t1;
  for (size_t i = 0; i < ticks.values.size(); ++i) {
    if (ticks.values[i] >= t0 - 1e-9 * (t1 - t0) && ticks.values[i] <= t1 + 1e-9 * (t1 - t0)) {
      inside.values.push_back(ticks.values[i]);
      inside.labels.push_back(ticks.labels[i]);
    }
  }
  const Scale x{t0, t1, false, plot.x0, plot.x1};
  detail::x_axis(svg, plot, inside, x, detail::axis_title("time", chart.time_unit));
  svg.text(plot.x1 + 8, plot.y0 - 6, "busy", Anchor::start, "tick");
  for (size_t l = 0; l < chart.lanes.size(); ++l) {
    const TimelineLane& lane = chart.lanes[l];
    const std::string& colour = palette_colour(l);
    const double y = plot.y0 + (lane_h + gap) * static_cast<double>(l) + gap / 2;
    double busy = 0;
    if (!lane.fractions.empty()) {
      const double bins = static_cast<double>(lane.fractions.size());
      busy = std::accumulate(lane.fractions.begin(), lane.fractions.end(), 0.0) / bins;
      svg.rect(plot.x0, y, plot.x1 - plot.x0, lane_h, "lane", {}, lane.name + ": " + percent(busy) + " busy");
      for (size_t b = 0; b < lane.fractions.size(); ++b) {
        const double f = lane.fractions[b];
        if (f <= 0) continue;
        const double a = x(t0 + (t1 - t0) * static_cast<double>(b) / bins);
        const double e = x(t0 + (t1 - t0) * static_cast<double>(b + 1) / bins);
        svg.rect(a, y + lane_h * (1 - f), e - a, lane_h * f, "busy", colour,
                 lane.name + ": " + percent(f) + " busy in " + number(t0 + (t1 - t0) * static_cast<double>(b) / bins) +
                     "-" + number(t0 + (t1 - t0) * static_cast<double>(b + 1) / bins) + " " + chart.time_unit);
      }
    } else {
      double total = 0;
      for (const Interval& iv : lanes[l]) {
        total += std::max(0.0, std::min(iv.end, t1) - std::max(iv.begin, t0));
      }
      busy = total / (t1 - t0);
      svg.rect(plot.x0, y, plot.x1 - plot.x0, lane_h, "lane", {}, lane.name + ": " + percent(busy) + " busy");
      // Intervals closer than half a pixel are drawn as one block, so long runs stay small.
      double open_a = -1, open_b = -1;
      auto flush = [&] {
        if (open_b >= open_a && open_a >= 0) svg.rect(open_a, y, std::max(0.5, open_b - open_a), lane_h, "busy", colour);
      };
      for (const Interval& iv : lanes[l]) {
        if (iv.end <= t0 || iv.begin >= t1) continue;
        const double a = x(std::max(iv.begin, t0)), b = x(std::min(iv.end, t1));
        if (open_a >= 0 && a - open_b < 0.5) {
          open_b = std::max(open_b, b);
          continue;
        }
        flush();
        open_a = a;
        open_b = b;
      }
      flush();
    }
    svg.text(plot.x0 - 8, y + lane_h / 2 + 4, fit(lane.name, left - 16, kFont), Anchor::end, "cat");
    svg.text(plot.x1 + 8, y + lane_h / 2 + 4, fixed(100 * busy, 0) + " %", Anchor::start, "total");
  }
  return detail::figure("timeline", chart.title, svg.finish(), {}, {});
}

// ---------------------------------------------------------------------------------------------
// Scatter with a Pareto front

std::vector<size_t> pareto_front(const std::vector<ScatterPoint>& points, Goal gx, Goal gy) {
  if (gx == Goal::none || gy == Goal::none) return {};
  // Both objectives become "smaller is better" keys.
  auto key = [](double v, Goal g) { return g == Goal::minimise ? v : -v; };
  std::vector<size_t> order;
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].feasible && std::isfinite(points[i].x) && std::isfinite(points[i].y)) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double ka = key(points[a].x, gx), kb = key(points[b].x, gx);
    if (ka != kb) return ka < kb;
    const double la = key(points[a].y, gy), lb = key(points[b].y, gy);
    if (la != lb) return la < lb;
    return a < b;
  });
  std::vector<size_t> front;
  double best = INFINITY;  // best y key among points with a strictly better x key
  for (size_t i = 0; i < order.size();) {
    // A group of equal x keys: only its best y key can be on the front.
    size_t j = i;
    const double kx = key(points[order[i]].x, gx);
    while (j < order.size() && key(points[order[j]].x, gx) == kx) ++j;
    const double ky = key(points[order[i]].y, gy);
    if (ky < best) {
      for (size_t k = i; k < j && key(points[order[k]].y, gy) == ky; ++k) front.push_back(order[k]);
      best = ky;
    }
    i = j;
  }
  std::sort(front.begin(), front.end(), [&](size_t a, size_t b) {
    if (points[a].x != points[b].x) return points[a].x < points[b].x;
    if (points[a].y != points[b].y) return points[a].y < points[b].y;
    return a < b;
  });
  return front;
}

std::string render(const Scatter& chart) {
  std::vector<size_t> shown;
  std::vector<std::string> left_out;
  for (size_t i = 0; i < chart.points.size(); ++i) {
    const ScatterPoint& p = chart.points[i];
    if (!p.href.empty()) check_href(p.href);
    const bool ok = std::isfinite(p.x) && std::isfinite(p.y) && (!chart.x.log || p.x > 0) && (!chart.y.log || p.y > 0);
    if (ok) {
      shown.push_back(i);
    } else {
      left_out.push_back(p.label);
    }
  }
  if (shown.empty()) return detail::no_data("scatter", chart.title, chart.points.empty() ? "no points" : "no point can be placed");

  std::vector<ScatterPoint> placed;
  for (size_t i : shown) placed.push_back(chart.points[i]);
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const ScatterPoint& p : placed) {
    xlo = std::min(xlo, p.x);
    xhi = std::max(xhi, p.x);
    ylo = std::min(ylo, p.y);
    yhi = std::max(yhi, p.y);
  }
  const Ticks xt = chart.x.log ? log_ticks(xlo, xhi) : nice_ticks(xlo, xhi);
  const Ticks yt = chart.y.log ? log_ticks(ylo, yhi) : nice_ticks(ylo, yhi);
  const Plot plot{84, 14, kWidth - 20, 14 + 400};
  const Scale x{xt.lo, xt.hi, chart.x.log, plot.x0, plot.x1};
  const Scale y{yt.lo, yt.hi, chart.y.log, plot.y1, plot.y0};
  Svg svg(kWidth, plot.y1 + 48, chart.title);
  detail::x_axis(svg, plot, xt, x, detail::axis_title(chart.x.label, chart.x.unit));
  detail::y_axis(svg, plot, yt, y, detail::axis_title(chart.y.label, chart.y.unit));

  const std::vector<size_t> front = pareto_front(placed, chart.x.goal, chart.y.goal);
  std::vector<bool> on_front(placed.size(), false);
  for (size_t i : front) on_front[i] = true;
  if (front.size() > 1) {
    std::vector<std::pair<double, double>> steps;
    for (size_t k = 0; k < front.size(); ++k) {
      const ScatterPoint& p = placed[front[k]];
      if (k > 0) {
        const ScatterPoint& q = placed[front[k - 1]];
        steps.emplace_back(chart.x.goal == Goal::minimise ? x(p.x) : x(q.x), chart.x.goal == Goal::minimise ? y(q.y) : y(p.y));
      }
      steps.emplace_back(x(p.x), y(p.y));
    }
    svg.polyline(steps, "front-line");
  }
  auto tip = [&](const ScatterPoint& p) {
    std::vector<std::string> lines = {p.label};
    lines.push_back(detail::axis_title(chart.x.label, "") + ": " + with_unit(p.x, chart.x.unit));
    lines.push_back(detail::axis_title(chart.y.label, "") + ": " + with_unit(p.y, chart.y.unit));
    for (const auto& [k, v] : p.details) lines.push_back(k + ": " + v);
    if (!p.feasible) lines.push_back("outside the constraints");
    return detail::join_lines(lines);
  };
  const std::string kFront = "#d1495b", kOther = "#4a78a8", kOut = "#9a9a9a";
  size_t n_out = 0, n_other = 0;
  // Dominated and infeasible points first, so the front is drawn on top.
  for (size_t i = 0; i < placed.size(); ++i) {
    const ScatterPoint& p = placed[i];
    if (on_front[i]) continue;
    if (p.feasible) {
      ++n_other;
      svg.circle(x(p.x), y(p.y), 3.5, "pt", kOther, tip(p), p.href);
    } else {
      ++n_out;
      svg.circle(x(p.x), y(p.y), 3.5, "pt ring", kOut, tip(p), p.href);
    }
  }
  detail::LabelPlacer labels(plot);
  for (const ScatterPoint& p : placed) labels.block(x(p.x) - 5, y(p.y) - 5, 10, 10);
  for (size_t i : front) {
    const ScatterPoint& p = placed[i];
    svg.circle(x(p.x), y(p.y), 5.5, "pt front", kFront, tip(p), p.href);
    if (front.size() <= 16) labels.place(svg, x(p.x), y(p.y), p.label, "pt-label");
  }
  std::vector<LegendItem> legend;
  if (!front.empty()) legend.push_back({"Pareto front (" + std::to_string(front.size()) + ")", kFront, LegendItem::Mark::dot});
  if (n_other) {
    legend.push_back({(front.empty() ? "designs (" : "dominated (") + std::to_string(n_other) + ")", kOther,
                      LegendItem::Mark::dot});
  }
  if (n_out) legend.push_back({"outside the constraints (" + std::to_string(n_out) + ")", kOut, LegendItem::Mark::ring});
  std::vector<std::string> notes;
  if (!left_out.empty()) {
    std::string names;
    for (const std::string& s : left_out) names += (names.empty() ? "" : ", ") + s;
    notes.push_back(std::to_string(left_out.size()) + " point(s) not shown (not finite, or <= 0 on a log axis): " + names);
  }
  return detail::figure("scatter", chart.title, svg.finish(), legend, notes);
}

// ---------------------------------------------------------------------------------------------
// Tables

std::string render(const Table& table) {
  std::string out = "<table class=\"data\">\n";
  if (!table.caption.empty()) out += "<caption>" + escape(table.caption) + "</caption>\n";
  auto cls = [&](size_t c) { return table.columns[c].align == Align::right ? " class=\"num\"" : ""; };
  out += "<thead><tr>";
  for (size_t c = 0; c < table.columns.size(); ++c) out += "<th" + std::string(cls(c)) + ">" + escape(table.columns[c].name) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const std::vector<Cell>& row : table.rows) {
    if (row.size() != table.columns.size()) {
      fail(table.caption, "a row has " + std::to_string(row.size()) + " cells for " + std::to_string(table.columns.size()) + " columns");
    }
    out += "<tr>";
    for (size_t c = 0; c < row.size(); ++c) {
      out += "<td" + std::string(cls(c)) + ">";
      if (row[c].href.empty()) {
        out += escape(row[c].text);
      } else {
        check_href(row[c].href);
        out += "<a href=\"" + escape(row[c].href) + "\">" + escape(row[c].text) + "</a>";
      }
      out += "</td>";
    }
    out += "</tr>\n";
  }
  if (table.rows.empty()) {
    out += "<tr><td class=\"no-data\" colspan=\"" + std::to_string(std::max<size_t>(1, table.columns.size())) +
           "\">No data</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
  return out;
}

}  // namespace tessera::html
