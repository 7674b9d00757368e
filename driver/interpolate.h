#pragma once
// How a decode step between two simulated contexts is estimated (docs/driver.md): linearly in
// the context length. The timing and the energy of a request use the same rule, so both are
// estimated for the same steps in the same way.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tessera::driver {

// Context c between the simulated points `pts` (sorted): index of the lower point and the
// weight of the upper one.
inline std::pair<size_t, double> bracket(const std::vector<uint64_t>& pts, uint64_t c) {
  if (pts.size() == 1 || c <= pts.front()) return {0, 0.0};
  for (size_t i = 0; i + 1 < pts.size(); ++i)
    if (c <= pts[i + 1]) return {i, double(c - pts[i]) / double(pts[i + 1] - pts[i])};
  return {pts.size() - 2, 1.0};
}

// The decode steps s = 1 .. steps (context prompt + s) as weights of the simulated points: a
// quantity linear in the steps' interpolated values sums to sum_i weight[i] x value(point i).
inline std::vector<double> decode_weights(const std::vector<uint64_t>& pts, uint64_t prompt, uint64_t steps) {
  std::vector<double> w(pts.size(), 0.0);
  if (pts.empty()) return w;
  for (uint64_t s = 1; s <= steps; ++s) {
    const auto [i, f] = bracket(pts, prompt + s);
    w[i] += 1.0 - f;
    w[std::min(i + 1, pts.size() - 1)] += f;
  }
  return w;
}

}  // namespace tessera::driver
