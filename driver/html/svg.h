#pragma once
// Internal to tessera_html: the SVG element writer the charts draw with, the axis drawing they
// share, the figure frame (caption, legend, notes, the "No data" note) and a label placer that
// keeps point labels from overlapping. Coordinates are written with one decimal.
#include <string>
#include <string_view>
#include <vector>

#include "driver/html/axis.h"

namespace tessera::html::detail {

enum class Anchor { start, middle, end };

class Svg {
 public:
  Svg(double width, double height, std::string_view label);

  void rect(double x, double y, double w, double h, std::string_view cls, std::string_view fill = {},
            std::string_view tip = {});
  void line(double x1, double y1, double x2, double y2, std::string_view cls, std::string_view stroke = {});
  void polyline(const std::vector<std::pair<double, double>>& pts, std::string_view cls,
                std::string_view stroke = {});
  void circle(double cx, double cy, double r, std::string_view cls, std::string_view fill = {},
              std::string_view tip = {}, std::string_view href = {});
  void text(double x, double y, std::string_view s, Anchor anchor, std::string_view cls = {},
            double rotate_deg = 0);
  std::string finish();

 private:
  std::string out_;
};

// The plot area inside a chart's SVG.
struct Plot {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // left, top, right, bottom
};

// Grid lines, tick marks, tick labels and the axis title ("label (unit)") below / left of the plot.
void x_axis(Svg& svg, const Plot& plot, const Ticks& ticks, const Scale& scale, const std::string& title);
void y_axis(Svg& svg, const Plot& plot, const Ticks& ticks, const Scale& scale, const std::string& title);
std::string axis_title(const std::string& label, const std::string& unit);

struct LegendItem {
  std::string name;
  std::string colour;
  enum class Mark { box, line, dashed, dot, ring } mark = Mark::box;
};

// <figure> around a chart: caption, the SVG, the legend and notes (all text escaped here).
std::string figure(std::string_view kind, const std::string& title, const std::string& svg,
                   const std::vector<LegendItem>& legend, const std::vector<std::string>& notes);
std::string no_data(std::string_view kind, const std::string& title, const std::string& why);

// Places short labels next to markers without overlapping each other or leaving the plot.
class LabelPlacer {
 public:
  explicit LabelPlacer(const Plot& plot) : plot_(plot) {}
  void block(double x, double y, double w, double h);  // area labels must avoid (markers, lines)
  // Writes the label near (x, y) if some candidate spot is free; false when none is.
  bool place(Svg& svg, double x, double y, const std::string& text, std::string_view cls);

 private:
  struct Box {
    double x0, y0, x1, y1;
  };
  bool free(const Box& b) const;
  Plot plot_;
  std::vector<Box> taken_;
};

std::string join_lines(const std::vector<std::string>& lines);

}  // namespace tessera::html::detail
