// Vector-engine functions (docs/numerics.md, "Vector-engine functions"). Each function is
// written as the literal operation sequence of the document: every `+`, `-`, `*` below is
// one FP32 operation rounded RNE (the build forbids FMA contraction and fast-math), and the
// rest is integer work on the bit pattern. Keep the operation order identical to the doc.
#include "common/numerics/vector_math.h"

#include <bit>
#include <cfloat>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common/numerics/fp.h"
#include "common/numerics/vector_constants.h"

#if defined(__FAST_MATH__)
#error "tessera_numerics must not be built with -ffast-math"
#endif
static_assert(FLT_EVAL_METHOD == 0, "float expressions must be evaluated in float (x86-64 SSE)");

namespace tessera::num {

namespace {

constexpr float f32(uint32_t bits) { return std::bit_cast<float>(bits); }
uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }

constexpr uint32_t kSign = 0x80000000u;
constexpr uint32_t kInfBits = 0x7F800000u;

// ---- constants: vector_constants.h holds the one list (shared with the RTL package) ----
constexpr float kOne = f32(vc::kOne);
constexpr float kHalf = f32(vc::kHalf);
constexpr float kInf = f32(kInfBits);
constexpr float kExpHi = f32(vc::kExpHi);
constexpr float kExpLo = f32(vc::kExpLo);
constexpr float kLog2e = f32(vc::kLog2e);
constexpr float kRoundMagic = f32(vc::kRoundMagic);
constexpr float kLn2Hi = f32(vc::kLn2Hi);
constexpr float kLn2Lo = f32(vc::kLn2Lo);
constexpr float kExpC2 = f32(vc::kExpC2);
constexpr float kExpC3 = f32(vc::kExpC3);
constexpr float kExpC4 = f32(vc::kExpC4);
constexpr float kExpC5 = f32(vc::kExpC5);
constexpr float kExpC6 = f32(vc::kExpC6);
constexpr uint32_t kRecipMagic = vc::kRecipMagic;
constexpr uint32_t kRsqrtMagic = vc::kRsqrtMagic;
constexpr int kRecipNewtonSteps = static_cast<int>(vc::kRecipNewtonSteps);
constexpr int kRsqrtNewtonSteps = static_cast<int>(vc::kRsqrtNewtonSteps);
constexpr float kTanhSplit = f32(vc::kTanhSplit);
constexpr float kTanhQ0 = f32(vc::kTanhQ0);
constexpr float kTanhQ1 = f32(vc::kTanhQ1);
constexpr float kTanhQ2 = f32(vc::kTanhQ2);
constexpr float kTanhQ3 = f32(vc::kTanhQ3);
constexpr float kTanhQ4 = f32(vc::kTanhQ4);
constexpr float kTanhQ5 = f32(vc::kTanhQ5);
constexpr float kGeluK0 = f32(vc::kGeluK0);
constexpr float kGeluK1 = f32(vc::kGeluK1);

bool is_nan(float x) { return (bits(x) & ~kSign) > kInfBits; }
bool sign_bit(float x) { return (bits(x) & kSign) != 0; }
float abs_f(float x) { return f32(bits(x) & ~kSign); }
float with_sign_of(float mag, float s) { return f32(bits(mag) | (bits(s) & kSign)); }

// 2^n for -126 <= n <= 127: the exponent field alone.
float pow2(int n) { return f32(static_cast<uint32_t>(n + 127) << 23); }

// y * 2^n with a single rounding, for -252 <= n <= 254 and normal y in [0.5, 4):
// n1 = floor(n/2), n2 = n - n1; (y * 2^n1) is exact, the second multiply rounds once
// (overflow to Inf, gradual underflow).
float scale2(float y, int n) {
  const int n1 = n >> 1;  // arithmetic shift: floor
  const int n2 = n - n1;
  return (y * pow2(n1)) * pow2(n2);
}

// Finite non-zero |x| = m * 2^e with m in [1, 2) (subnormals normalised by a leading-zero count).
struct Normalised {
  float m;
  int e;
};
Normalised normalise(float x) {
  const uint32_t a = bits(x) & ~kSign;
  const uint32_t ef = a >> 23;
  if (ef != 0) return {f32((a & 0x007FFFFFu) | 0x3F800000u), static_cast<int>(ef) - 127};
  const int p = std::bit_width(a) - 1;  // leading one of the subnormal fraction: |x| = 2^(p-149) * 1.f
  const uint32_t frac = (a << (23 - p)) & 0x007FFFFFu;
  return {f32(frac | 0x3F800000u), p - 149};
}

}  // namespace

// e^x: n = round(x*log2e), r = x - n*ln2 (Cody-Waite), e^r by a degree-6 polynomial, 2^n
// applied by scale2.
float v_exp(float x) {
  if (is_nan(x)) return canonical_nan();
  if (x > kExpHi) return kInf;
  if (x < kExpLo) return 0.0f;
  const float k = x * kLog2e + kRoundMagic;            // integer in the low mantissa bits
  const int n = static_cast<int>(bits(k)) - static_cast<int>(bits(kRoundMagic));
  const float nf = k - kRoundMagic;                     // n as a float (exact)
  const float r = (x - nf * kLn2Hi) - nf * kLn2Lo;
  const float q = (((kExpC6 * r + kExpC5) * r + kExpC4) * r + kExpC3) * r + kExpC2;
  const float p = kOne + (r + (r * r) * q);
  return scale2(p, n);
}

// 1/x: seed from the significand's bits, Newton y = y + y*(1 - m*y), then 2^-e.
float v_recip(float x) {
  if (is_nan(x)) return canonical_nan();
  const uint32_t a = bits(x) & ~kSign;
  if (a == 0) return with_sign_of(kInf, x);
  if (a == kInfBits) return with_sign_of(0.0f, x);
  const Normalised v = normalise(x);
  float y = f32(kRecipMagic - bits(v.m));
  for (int i = 0; i < kRecipNewtonSteps; ++i) {
    const float e = kOne - v.m * y;
    y = y + y * e;
  }
  return with_sign_of(scale2(y, -v.e), x);
}

// 1/sqrt(x): x = m' * 2^e' with e' even and m' in [1, 4); seed from m''s bits, Newton
// y = y + (0.5*y)*(1 - (m'*y)*y), then 2^(-e'/2) (exact: the result is always normal).
float v_rsqrt(float x) {
  if (is_nan(x)) return canonical_nan();
  const uint32_t a = bits(x) & ~kSign;
  if (a == 0) return with_sign_of(kInf, x);  // rsqrt(+-0) = +-Inf
  if (sign_bit(x)) return canonical_nan();   // negative, including -Inf
  if (a == kInfBits) return 0.0f;
  Normalised v = normalise(x);
  if (v.e & 1) {  // odd exponent: move one factor 2 into the significand (exponent field + 1)
    v.m = f32(bits(v.m) + 0x00800000u);
    v.e -= 1;
  }
  float y = f32(kRsqrtMagic - (bits(v.m) >> 1));
  for (int i = 0; i < kRsqrtNewtonSteps; ++i) {
    const float t = (v.m * y) * y;
    const float e = kOne - t;
    y = y + (kHalf * y) * e;
  }
  return y * pow2(-(v.e / 2));
}

// tanh(x) = sign(x) * T(|x|); T(a) = a + (a*y)*q(y) with y = a*a below 0.625, else
// 1 - 2/(e^(2a) + 1).
float v_tanh(float x) {
  if (is_nan(x)) return canonical_nan();
  const float a = abs_f(x);
  float t;
  if (a < kTanhSplit) {
    const float y = a * a;
    const float q = ((((kTanhQ5 * y + kTanhQ4) * y + kTanhQ3) * y + kTanhQ2) * y + kTanhQ1) * y + kTanhQ0;
    t = a + (a * y) * q;
  } else {
    const float e = v_exp(a + a);
    const float r = v_recip(e + kOne);
    t = kOne - (r + r);
  }
  return with_sign_of(t, x);
}

// sigmoid(x): t = e^-|x| in [0, 1], r = 1/(1 + t); x >= 0 (sign bit clear): r, else t*r.
float v_sigmoid(float x) {
  if (is_nan(x)) return canonical_nan();
  const float t = v_exp(f32(bits(x) | kSign));  // e^(-|x|)
  const float r = v_recip(kOne + t);
  return sign_bit(x) ? t * r : r;
}

// silu(x) = x * sigmoid(x); silu(-Inf) = -0.
float v_silu(float x) {
  if (is_nan(x)) return canonical_nan();
  if (bits(x) == (kSign | kInfBits)) return -0.0f;
  return x * v_sigmoid(x);
}

// gelu_new(x) = 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
// gelu(+Inf) = +Inf, gelu(-Inf) = -0.
float v_gelu_tanh(float x) {
  if (is_nan(x)) return canonical_nan();
  if (bits(x) == (kSign | kInfBits)) return -0.0f;
  if (bits(x) == kInfBits) return kInf;
  const float x3 = (x * x) * x;
  const float inner = x + kGeluK1 * x3;
  const float u = kGeluK0 * inner;
  return x * v_sigmoid(u + u);
}

float max_f32(float a, float b) {
  if (is_nan(a) || is_nan(b)) return canonical_nan();
  // Order key: sign-magnitude to a signed integer, -0 (key -1) < +0 (key 0).
  const auto key = [](float v) {
    const auto mag = static_cast<int32_t>(bits(v) & ~kSign);
    return sign_bit(v) ? -mag - 1 : mag;
  };
  return key(b) > key(a) ? b : a;
}

namespace {

template <typename Op>
float reduce(std::span<const float> x, unsigned lanes, float empty, Op op) {
  if (lanes == 0) throw std::invalid_argument("reduce: lanes must be >= 1");
  std::vector<float> v(lanes, empty);
  for (size_t j = 0; j < lanes && j < x.size(); ++j) {
    float acc = x[j];
    for (size_t i = j + lanes; i < x.size(); i += lanes) acc = op(acc, x[i]);
    v[j] = acc;
  }
  size_t count = lanes;
  while (count > 1) {
    const size_t half = count / 2;
    for (size_t i = 0; i < half; ++i) v[i] = op(v[i], v[i + half]);
    if (count & 1) v[half] = v[count - 1];
    count -= half;
  }
  return v[0];
}

}  // namespace

float reduce_sum(std::span<const float> x, unsigned lanes) {
  return canonicalize(reduce(x, lanes, 0.0f, [](float a, float b) { return a + b; }));
}

float reduce_max(std::span<const float> x, unsigned lanes) {
  return reduce(x, lanes, -kInf, max_f32);
}

}  // namespace tessera::num
