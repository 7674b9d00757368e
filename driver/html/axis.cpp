#include "driver/html/axis.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "driver/html/text.h"

namespace tessera::html {

namespace {

// Label of `v` on an axis whose ticks are `step` apart and reach `max_abs`.
std::string linear_label(double v, double step, double max_abs) {
  static constexpr const char* kSuffix[] = {"", "k", "M", "G", "T", "P"};
  int group = 0;
  if (max_abs >= 1e4) group = std::min(5, static_cast<int>(std::floor(std::log10(max_abs) / 3.0)));
  const double scale = std::pow(1000.0, group);
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step / scale) + 1e-9)));
  if (std::fabs(v) < step * 1e-9) return "0";
  return fixed(v / scale, decimals) + kSuffix[group];
}

std::string decade_label(int exp) {
  if (exp >= 3 && exp < 18) {
    static constexpr const char* kSuffix[] = {"k", "M", "G", "T", "P"};
    const int group = exp / 3;
    std::string digits = "1" + std::string(static_cast<size_t>(exp - 3 * group), '0');
    return digits + kSuffix[group - 1];
  }
  if (exp >= 0 && exp < 3) return "1" + std::string(static_cast<size_t>(exp), '0');
  if (exp >= -3 && exp < 0) return "0." + std::string(static_cast<size_t>(-exp - 1), '0') + "1";
  return "1e" + std::to_string(exp);
}

}  // namespace

Ticks nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) throw std::invalid_argument("html: axis range is not finite");
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= lo == 0 ? 0 : pad;
    hi += pad;
  }
  target = std::max(2, target);
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const double first = std::floor(lo / step + 1e-9);
  const double last = std::ceil(hi / step - 1e-9);
  Ticks t;
  t.lo = first * step;
  t.hi = last * step;
  for (double i = first; i <= last + 0.5; i += 1) t.values.push_back(i * step);
  const double max_abs = std::max(std::fabs(t.lo), std::fabs(t.hi));
  for (double v : t.values) t.labels.push_back(linear_label(v, step, max_abs));
  return t;
}

Ticks log_ticks(double lo, double hi) {
  if (!(lo > 0) || !(hi > 0) || !std::isfinite(lo) || !std::isfinite(hi)) {
    throw std::invalid_argument("html: a log axis needs a positive, finite range");
  }
  if (lo > hi) std::swap(lo, hi);
  int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (e1 == e0) ++e1;
  const int decades = e1 - e0;
  const int every = decades > 16 ? 3 : decades > 8 ? 2 : 1;
  // Start on a multiple of `every` so the labelled decades do not depend on the data's range.
  while (e0 % every != 0) --e0;
  while ((e1 - e0) % every != 0) ++e1;
  Ticks t;
  t.lo = std::pow(10.0, e0);
  t.hi = std::pow(10.0, e1);
  for (int e = e0; e <= e1; e += every) {
    t.values.push_back(std::pow(10.0, e));
    t.labels.push_back(decade_label(e));
  }
  if (decades <= 6) {
    for (int e = e0; e < e1; ++e) {
      for (int m = 2; m <= 9; ++m) t.minor.push_back(m * std::pow(10.0, e));
    }
  }
  return t;
}

double Scale::operator()(double v) const {
  double f = 0;
  if (log) {
    f = (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  } else {
    f = (v - lo) / (hi - lo);
  }
  return p0 + f * (p1 - p0);
}

}  // namespace tessera::html
