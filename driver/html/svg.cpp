#include "driver/html/svg.h"

#include <algorithm>

#include "driver/html/text.h"

namespace tessera::html::detail {

namespace {

constexpr double kFont = 12;

std::string c(double v) { return fixed(v, 1); }

void attr(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out += ' ';
  out += name;
  out += "=\"";
  out += escape(value);
  out += '"';
}

// Closes an element: with a <title> child (the hover tooltip) when `tip` is given.
void close(std::string& out, std::string_view tag, std::string_view tip) {
  if (tip.empty()) {
    out += "/>\n";
    return;
  }
  out += "><title>" + escape(tip) + "</title></" + std::string(tag) + ">\n";
}

}  // namespace

Svg::Svg(double width, double height, std::string_view label) {
  out_ = "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + c(width) + "\" height=\"" +
         c(height) + "\" viewBox=\"0 0 " + c(width) + " " + c(height) + "\" role=\"img\"";
  attr(out_, "aria-label", label);
  out_ += ">\n";
}

void Svg::rect(double x, double y, double w, double h, std::string_view cls, std::string_view fill,
               std::string_view tip) {
  out_ += "<rect x=\"" + c(x) + "\" y=\"" + c(y) + "\" width=\"" + c(w) + "\" height=\"" + c(h) + "\"";
  attr(out_, "class", cls);
  attr(out_, "fill", fill);
  close(out_, "rect", tip);
}

void Svg::line(double x1, double y1, double x2, double y2, std::string_view cls, std::string_view stroke) {
  out_ += "<line x1=\"" + c(x1) + "\" y1=\"" + c(y1) + "\" x2=\"" + c(x2) + "\" y2=\"" + c(y2) + "\"";
  attr(out_, "class", cls);
  attr(out_, "stroke", stroke);
  out_ += "/>\n";
}

void Svg::polyline(const std::vector<std::pair<double, double>>& pts, std::string_view cls,
                   std::string_view stroke) {
  out_ += "<polyline points=\"";
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i) out_ += ' ';
    out_ += c(pts[i].first) + "," + c(pts[i].second);
  }
  out_ += "\"";
  attr(out_, "class", cls);
  attr(out_, "stroke", stroke);
  out_ += "/>\n";
}

void Svg::circle(double cx, double cy, double r, std::string_view cls, std::string_view fill, std::string_view tip,
                 std::string_view href) {
  if (!href.empty()) {
    out_ += "<a";
    attr(out_, "href", href);
    out_ += ">";
  }
  out_ += "<circle cx=\"" + c(cx) + "\" cy=\"" + c(cy) + "\" r=\"" + c(r) + "\"";
  attr(out_, "class", cls);
  attr(out_, "fill", fill);
  if (!fill.empty() && cls.find("ring") != std::string_view::npos) attr(out_, "stroke", fill);
  close(out_, "circle", tip);
  if (!href.empty()) {
    out_.pop_back();
    out_ += "</a>\n";
  }
}

void Svg::text(double x, double y, std::string_view s, Anchor anchor, std::string_view cls, double rotate_deg) {
  out_ += "<text x=\"" + c(x) + "\" y=\"" + c(y) + "\"";
  if (anchor == Anchor::middle) out_ += " text-anchor=\"middle\"";
  if (anchor == Anchor::end) out_ += " text-anchor=\"end\"";
  attr(out_, "class", cls);
  if (rotate_deg != 0) out_ += " transform=\"rotate(" + c(rotate_deg) + " " + c(x) + " " + c(y) + ")\"";
  out_ += ">" + escape(s) + "</text>\n";
}

std::string Svg::finish() {
  out_ += "</svg>\n";
  return std::move(out_);
}

std::string axis_title(const std::string& label, const std::string& unit) {
  if (unit.empty()) return label;
  if (label.empty()) return unit;
  return label + " (" + unit + ")";
}

void x_axis(Svg& svg, const Plot& plot, const Ticks& ticks, const Scale& scale, const std::string& title) {
  for (double m : ticks.minor) {
    if (m > ticks.lo && m < ticks.hi) svg.line(scale(m), plot.y0, scale(m), plot.y1, "grid minor");
  }
  for (size_t i = 0; i < ticks.values.size(); ++i) {
    const double x = scale(ticks.values[i]);
    svg.line(x, plot.y0, x, plot.y1, "grid");
    svg.line(x, plot.y1, x, plot.y1 + 4, "axis");
    svg.text(x, plot.y1 + 16, ticks.labels[i], Anchor::middle, "tick");
  }
  svg.line(plot.x0, plot.y1, plot.x1, plot.y1, "axis");
  if (!title.empty()) svg.text((plot.x0 + plot.x1) / 2, plot.y1 + 34, title, Anchor::middle, "axis-title");
}

void y_axis(Svg& svg, const Plot& plot, const Ticks& ticks, const Scale& scale, const std::string& title) {
  for (double m : ticks.minor) {
    if (m > ticks.lo && m < ticks.hi) svg.line(plot.x0, scale(m), plot.x1, scale(m), "grid minor");
  }
  double widest = 0;
  for (size_t i = 0; i < ticks.values.size(); ++i) {
    const double y = scale(ticks.values[i]);
    svg.line(plot.x0, y, plot.x1, y, "grid");
    svg.line(plot.x0 - 4, y, plot.x0, y, "axis");
    svg.text(plot.x0 - 7, y + 4, ticks.labels[i], Anchor::end, "tick");
    widest = std::max(widest, text_width(ticks.labels[i], kFont));
  }
  svg.line(plot.x0, plot.y0, plot.x0, plot.y1, "axis");
  if (!title.empty()) {
    const double x = plot.x0 - widest - 16;
    svg.text(x, (plot.y0 + plot.y1) / 2, title, Anchor::middle, "axis-title", -90);
  }
}

std::string figure(std::string_view kind, const std::string& title, const std::string& svg,
                   const std::vector<LegendItem>& legend, const std::vector<std::string>& notes) {
  std::string out = "<figure class=\"chart\" data-kind=\"" + std::string(kind) + "\">\n";
  out += "<figcaption>" + escape(title) + "</figcaption>\n";
  out += svg;
  if (!legend.empty()) {
    out += "<ul class=\"legend\">";
    for (const LegendItem& item : legend) {
      std::string mark;
      switch (item.mark) {
        case LegendItem::Mark::box: mark = "box\" style=\"background:" + escape(item.colour); break;
        case LegendItem::Mark::line: mark = "line\" style=\"border-top-color:" + escape(item.colour); break;
        case LegendItem::Mark::dashed: mark = "line dashed\" style=\"border-top-color:" + escape(item.colour); break;
        case LegendItem::Mark::dot: mark = "dot\" style=\"background:" + escape(item.colour); break;
        case LegendItem::Mark::ring: mark = "dot ring\" style=\"border-color:" + escape(item.colour); break;
      }
      out += "<li><span class=\"mark " + mark + "\"></span>" + escape(item.name) + "</li>";
    }
    out += "</ul>\n";
  }
  for (const std::string& note : notes) out += "<p class=\"chart-note\">" + escape(note) + "</p>\n";
  out += "</figure>\n";
  return out;
}

std::string no_data(std::string_view kind, const std::string& title, const std::string& why) {
  return "<figure class=\"chart\" data-kind=\"" + std::string(kind) + "\">\n<figcaption>" + escape(title) +
         "</figcaption>\n<p class=\"no-data\">No data: " + escape(why) + "</p>\n</figure>\n";
}

void LabelPlacer::block(double x, double y, double w, double h) { taken_.push_back({x, y, x + w, y + h}); }

bool LabelPlacer::free(const Box& b) const {
  if (b.x0 < plot_.x0 || b.x1 > plot_.x1 || b.y0 < plot_.y0 || b.y1 > plot_.y1) return false;
  for (const Box& t : taken_) {
    if (b.x0 < t.x1 && t.x0 < b.x1 && b.y0 < t.y1 && t.y0 < b.y1) return false;
  }
  return true;
}

bool LabelPlacer::place(Svg& svg, double x, double y, const std::string& text, std::string_view cls) {
  const double w = text_width(text, 11);
  const double h = 13;
  // Right, left, above, below, then the diagonals, then the same further out.
  struct Spot {
    double dx, dy;
    Anchor anchor;
  };
  static constexpr Spot kSpots[] = {{7, 4, Anchor::start},   {-7, 4, Anchor::end},     {0, -8, Anchor::middle},
                                    {0, 16, Anchor::middle}, {6, -6, Anchor::start},   {-6, -6, Anchor::end},
                                    {6, 14, Anchor::start},  {-6, 14, Anchor::end},    {0, -20, Anchor::middle},
                                    {0, 28, Anchor::middle}, {16, -14, Anchor::start}, {-16, -14, Anchor::end}};
  for (const Spot& s : kSpots) {
    const double bx = s.anchor == Anchor::start ? x + s.dx : s.anchor == Anchor::end ? x + s.dx - w : x - w / 2;
    const Box box{bx - 1, y + s.dy - 10, bx + w + 1, y + s.dy - 10 + h};
    if (!free(box)) continue;
    taken_.push_back(box);
    svg.text(x + s.dx, y + s.dy, text, s.anchor, cls);
    return true;
  }
  return false;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += lines[i];
  }
  return out;
}

}  // namespace tessera::html::detail
