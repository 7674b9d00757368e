#include "common/hf/rope.h"

#include <cmath>
#include <numbers>

namespace tessera::hf {

std::vector<double> rope_inv_freq(const ModelConfig& c) {
  const uint64_t half = c.head_dim / 2;
  std::vector<double> f(half);
  for (uint64_t i = 0; i < half; ++i) {
    f[i] = 1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / static_cast<double>(c.head_dim));
  }
  if (!c.rope_scaling.llama3) return f;
  // Llama 3.1 scaling: wavelengths longer than original/low_freq_factor are stretched by
  // factor, those shorter than original/high_freq_factor kept, the band between blended.
  const RopeScaling& s = c.rope_scaling;
  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_len / s.low_freq_factor;
  const double high_freq_wavelen = old_len / s.high_freq_factor;
  for (double& x : f) {
    const double wavelen = 2.0 * std::numbers::pi / x;
    if (wavelen > low_freq_wavelen) {
      x = x / s.factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      x = (1.0 - smooth) * x / s.factor + smooth * x;
    }
  }
  return f;
}

void rope_cos_sin(const std::vector<double>& inv_freq, uint64_t pos, std::vector<float>& cos_out,
                  std::vector<float>& sin_out) {
  cos_out.resize(inv_freq.size());
  sin_out.resize(inv_freq.size());
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const double angle = static_cast<double>(pos) * inv_freq[i];
    cos_out[i] = static_cast<float>(std::cos(angle));
    sin_out[i] = static_cast<float>(std::sin(angle));
  }
}

}  // namespace tessera::hf
