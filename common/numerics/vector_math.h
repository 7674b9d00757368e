#pragma once
// Vector-engine functions: bit-exact algorithms built only from FP32 adds and multiplies
// (each rounded RNE, never fused), comparisons and integer/exponent-field bit operations.
// The RTL vector unit implements exactly these sequences; docs/numerics.md gives each as
// pseudo-code with its constants and its measured error against double-precision libm.
// No host libm call is used. Every NaN result is the canonical NaN 0x7FC00000.
#include <span>

namespace tessera::num {

float v_exp(float x);        // e^x
float v_recip(float x);      // 1/x
float v_rsqrt(float x);      // 1/sqrt(x)
float v_tanh(float x);       // tanh(x)
float v_sigmoid(float x);    // 1/(1 + e^-x)
float v_silu(float x);       // x * sigmoid(x)
float v_gelu_tanh(float x);  // GPT-2 gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))

// Lane-parallel reductions (docs/numerics.md, "Reductions"): lane j (0..lanes-1) folds
// x[j], x[j+lanes], ... in ascending order starting from its first element (an empty lane
// holds +0.0 for sum, -Inf for max); then the lane values are combined by a pairwise tree:
// while count > 1: half = count/2; v[i] = op(v[i], v[i+half]) for i < half; an odd count
// carries v[count-1] to position half; count = count - half.
// lanes must be >= 1 (std::invalid_argument otherwise). Empty x: +0.0 (sum), -Inf (max).
float reduce_sum(std::span<const float> x, unsigned lanes);
float reduce_max(std::span<const float> x, unsigned lanes);

// The two-operand max of reduce_max: NaN if either operand is NaN, otherwise the larger
// operand, with -0.0 < +0.0.
float max_f32(float a, float b);

}  // namespace tessera::num
