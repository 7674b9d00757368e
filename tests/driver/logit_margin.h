#pragma once
// The gap between the largest and the second largest logit: how close a greedy step is to a
// tie, which the functional tests keep away from (a near tie is decided by rounding).
#include <cmath>
#include <vector>

namespace tessera::driver::test_models {

inline double top2_margin(const std::vector<float>& v) {
  float a = -INFINITY, b = -INFINITY;
  for (float x : v) {
    if (x > a) {
      b = a;
      a = x;
    } else if (x > b) {
      b = x;
    }
  }
  return double(a) - double(b);
}

}  // namespace tessera::driver::test_models
