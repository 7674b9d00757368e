#pragma once
// Axis arithmetic of the charts: "nice" tick values (steps of 1, 2 or 5 times a power of ten on
// linear axes, decades on log axes), their labels, and the map from data values to pixels. Pure
// functions, so the unit tests check them directly.
#include <string>
#include <vector>

namespace tessera::html {

struct Ticks {
  double lo = 0;                    // axis range, widened to whole steps (or decades)
  double hi = 1;
  std::vector<double> values;       // major ticks, ascending, lo and hi included
  std::vector<std::string> labels;  // one per value: "0", "2.5", "20k", "1M", "0.001", "1e-6"
  std::vector<double> minor;        // log axes of few decades: 2..9 times each decade
};

// About `target` ticks (never fewer than 2) covering [lo, hi] on a linear axis. lo == hi is
// widened around the value; the order of lo and hi does not matter. Labels of ticks reaching
// 10,000 use the suffixes k, M, G, T, P.
Ticks nice_ticks(double lo, double hi, int target = 6);

// Decade ticks covering [lo, hi] (both > 0, else std::invalid_argument) on a log axis; every
// second or third decade is labelled when there are many.
Ticks log_ticks(double lo, double hi);

// Maps a data value to a pixel coordinate: [ticks.lo, ticks.hi] onto [p0, p1] (p1 < p0 for a
// y axis, whose pixels grow downwards).
struct Scale {
  double lo = 0;
  double hi = 1;
  bool log = false;
  double p0 = 0;
  double p1 = 1;
  double operator()(double v) const;
};

}  // namespace tessera::html
