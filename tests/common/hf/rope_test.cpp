// RoPE frequencies of a config: plain theta^(-2i/hd), and the Llama-3 scaling bands
// against their formula worked out by hand for each band.
#include "common/hf/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace tessera::hf {
namespace {

TEST(Rope, Llama3ScalingMatchesItsFormula) {
  ModelConfig c;
  c.head_dim = 16;
  c.rope_theta = 10000.0;
  const std::vector<double> plain = rope_inv_freq(c);
  ASSERT_EQ(plain.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(plain[i], std::pow(10000.0, -i / 8.0));
  c.rope_scaling = {true, 8.0, 1.0, 4.0, 32};
  const std::vector<double> f = rope_inv_freq(c);
  // Wavelength 2 pi / inv_freq against original / high = 8 and original / low = 32:
  //   i = 0: 2 pi = 6.28 < 8             -> unchanged
  //   i = 1: 2 pi 10^(1/2) = 19.87       -> blended: s = (32 / 19.87 - 1) / (4 - 1)
  //   i = 2: 2 pi 10 = 62.8 > 32         -> divided by the factor 8
  EXPECT_DOUBLE_EQ(f[0], 1.0);
  const double f1 = std::pow(10.0, -0.5);
  const double s = (32.0 / (2 * std::numbers::pi * std::pow(10.0, 0.5)) - 1.0) / 3.0;
  EXPECT_NEAR(s, 0.20351, 1e-5);
  EXPECT_DOUBLE_EQ(f[1], (1 - s) * f1 / 8 + s * f1);
  for (int i = 2; i < 8; ++i) EXPECT_DOUBLE_EQ(f[i], plain[i] / 8) << i;
  std::vector<float> cos, sin;
  rope_cos_sin(f, 3, cos, sin);
  ASSERT_EQ(cos.size(), 8u);
  EXPECT_EQ(cos[1], static_cast<float>(std::cos(3 * f[1])));
  EXPECT_EQ(sin[2], static_cast<float>(std::sin(3 * plain[2] / 8)));
}

}  // namespace
}  // namespace tessera::hf
