// Vector-engine functions and reductions (docs/numerics.md, "Vector-engine functions",
// "Reductions"): special values, error bounds against double-precision libm over a sweep of
// FP32 bit patterns, fixed golden bit patterns, and the exact reduction order.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "common/numerics/fp.h"
#include "common/numerics/vector_math.h"

namespace tessera::num {
namespace {

uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }
float fbits(uint32_t u) { return std::bit_cast<float>(u); }
const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kFltMax = 3.4028234663852886e38;

// ---- error measurement against double precision ----

double ulp_of(double r) {
  const double a = std::fabs(r);
  if (a < 0x1p-126) return 0x1p-149;  // subnormal results: the subnormal spacing
  int e;
  std::frexp(a, &e);
  return std::ldexp(1.0, e - 24);
}

double ref_exp(double x) { return std::exp(x); }
double ref_recip(double x) { return 1.0 / x; }
double ref_rsqrt(double x) { return 1.0 / std::sqrt(x); }
double ref_tanh(double x) { return std::tanh(x); }
double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double ref_silu(double x) { return x / (1.0 + std::exp(-x)); }
// gelu_new in double; 0.5*(1 + tanh(u)) = 1/(1 + e^(-2u)) avoids double's own cancellation.
double ref_gelu(double x) {
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x / (1.0 + std::exp(-2.0 * u));
}

struct Fn {
  const char* name;
  float (*f)(float);
  double (*ref)(double);
};
const Fn kFns[] = {{"v_exp", v_exp, ref_exp},         {"v_recip", v_recip, ref_recip},
                   {"v_rsqrt", v_rsqrt, ref_rsqrt},   {"v_tanh", v_tanh, ref_tanh},
                   {"v_sigmoid", v_sigmoid, ref_sigmoid}, {"v_silu", v_silu, ref_silu},
                   {"v_gelu_tanh", v_gelu_tanh, ref_gelu}};

// Error of f(x) in ulps of the correctly rounded result's binade; a reference beyond
// FLT_MAX demands +-Inf (error 0) and anything else counts as infinite error.
double ulp_error(const Fn& fn, float x) {
  const double r = fn.ref(static_cast<double>(x));
  const float y = fn.f(x);
  if (std::isnan(r)) return std::isnan(y) ? 0.0 : INFINITY;
  if (std::fabs(r) > kFltMax) {
    // Beyond FLT_MAX but rounding to FLT_MAX is allowed below the overflow threshold.
    if (std::isinf(y) && std::signbit(y) == std::signbit(r)) return 0.0;
    return std::fabs(static_cast<double>(y) - r) / ulp_of(kFltMax);
  }
  return std::fabs(static_cast<double>(y) - r) / ulp_of(r);
}

struct Range {
  float lo, hi;
};
struct Stat {
  double max_ulp = 0;
  float worst_x = 0;
};

// Max ulp error over all FP32 x in [lo, hi] whose bit pattern is a multiple of stride.
Stat sweep(const Fn& fn, Range range, uint32_t stride, unsigned threads = 1) {
  std::vector<Stat> part(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Stat s;
      for (uint64_t u = static_cast<uint64_t>(t) * stride; u < (1ull << 32); u += static_cast<uint64_t>(stride) * threads) {
        const float x = fbits(static_cast<uint32_t>(u));
        if (!(x >= range.lo && x <= range.hi)) continue;
        const double e = ulp_error(fn, x);
        if (e > s.max_ulp) s = {e, x};
      }
      part[t] = s;
    });
  }
  for (auto& th : pool) th.join();
  Stat best;
  for (const Stat& s : part)
    if (s.max_ulp > best.max_ulp) best = s;
  return best;
}

// The bounds docs/numerics.md states, measured by ExhaustiveErrorTable over every FP32 input
// of each range (rounded up). The default sweep below checks a subset against them.
struct Bound {
  const char* fn;
  Range range;
  double max_ulp;
};
const Bound kBounds[] = {
    {"v_exp", {-kInf, kInf}, 1.03},
    {"v_recip", {-kInf, kInf}, 1.14},
    {"v_rsqrt", {0.0f, kInf}, 1.22},
    {"v_tanh", {-kInf, kInf}, 1.63},
    {"v_sigmoid", {-kInf, kInf}, 3.16},
    {"v_silu", {-87.0f, kInf}, 3.91},
    {"v_gelu_tanh", {-3.0f, 3.0f}, 16.49},
    {"v_gelu_tanh", {-5.0f, kInf}, 44.35},
};

const Fn& fn_named(const char* name) {
  for (const Fn& f : kFns)
    if (std::string_view(f.name) == name) return f;
  throw std::runtime_error(name);
}

TEST(VectorMath, ErrorBoundsOverSweep) {
  for (const Bound& b : kBounds) {
    const Stat s = sweep(fn_named(b.fn), b.range, 4093);
    std::printf("%-12s [%g, %g]: max %.3f ulp at x = %a (bound %.2f)\n", b.fn, b.range.lo, b.range.hi, s.max_ulp,
                s.worst_x, b.max_ulp);
    EXPECT_LE(s.max_ulp, b.max_ulp) << b.fn << " worst x = " << s.worst_x;
  }
}

// Dense check of the ranges that matter most (softmax exponents, activations): every FP32
// in [-16, 16] with a coarser stride than the exhaustive table but finer than the sweep.
TEST(VectorMath, ErrorBoundsDenseNearZero) {
  std::mt19937 rng(1234);
  std::printf("VectorMath.ErrorBoundsDenseNearZero: seed 1234\n");
  for (const Bound& b : kBounds) {
    const Fn& fn = fn_named(b.fn);
    const float lo = std::max(b.range.lo, -16.0f), hi = std::min(b.range.hi, 16.0f);
    for (int i = 0; i < 300000; ++i) {
      const float x = lo + (hi - lo) * std::uniform_real_distribution<float>(0.0f, 1.0f)(rng);
      if (!(x >= lo && x <= hi)) continue;
      ASSERT_LE(ulp_error(fn, x), b.max_ulp) << b.fn << " x = " << x << " seed 1234";
    }
  }
}

// Run with --gtest_also_run_disabled_tests to regenerate the error table of docs/numerics.md
// (every FP32 input, two threads; a few minutes).
TEST(VectorMath, DISABLED_ExhaustiveErrorTable) {
  for (const Bound& b : kBounds) {
    const Stat s = sweep(fn_named(b.fn), b.range, 1, 2);
    std::printf("| `%s` | [%g, %g] | %.3f | %a (%.9g) | %.2f |\n", b.fn, b.range.lo, b.range.hi, s.max_ulp, s.worst_x,
                s.worst_x, b.max_ulp);
    EXPECT_LE(s.max_ulp, b.max_ulp) << b.fn;
  }
}

void expect_bits(float got, float want, const char* what) {
  if (std::isnan(want)) {
    EXPECT_EQ(bits(got), kFP32NaN) << what;
  } else {
    EXPECT_EQ(bits(got), bits(want)) << what << " got " << got << " want " << want;
  }
}

TEST(VectorMath, SpecialValues) {
  const float tiny = fbits(0x00000001), fmax = fbits(0x7F7FFFFF);
  // exp
  expect_bits(v_exp(kNaN), kNaN, "exp NaN");
  expect_bits(v_exp(fbits(0xFFC12345)), kNaN, "exp -NaN payload");
  expect_bits(v_exp(kInf), kInf, "exp +Inf");
  expect_bits(v_exp(-kInf), 0.0f, "exp -Inf");
  expect_bits(v_exp(0.0f), 1.0f, "exp +0");
  expect_bits(v_exp(-0.0f), 1.0f, "exp -0");
  expect_bits(v_exp(tiny), 1.0f, "exp tiny");
  expect_bits(v_exp(89.0f), kInf, "exp 89");
  expect_bits(v_exp(88.8f), kInf, "exp 88.8");
  expect_bits(v_exp(-104.0f), 0.0f, "exp -104");
  EXPECT_GT(v_exp(-103.0f), 0.0f);  // gradual underflow: a subnormal result
  EXPECT_LT(v_exp(-103.0f), std::ldexp(1.0f, -126));
  EXPECT_TRUE(std::isfinite(v_exp(88.72f)));
  // recip
  expect_bits(v_recip(kNaN), kNaN, "recip NaN");
  expect_bits(v_recip(0.0f), kInf, "recip +0");
  expect_bits(v_recip(-0.0f), -kInf, "recip -0");
  expect_bits(v_recip(kInf), 0.0f, "recip +Inf");
  expect_bits(v_recip(-kInf), -0.0f, "recip -Inf");
  expect_bits(v_recip(1.0f), 1.0f, "recip 1");
  expect_bits(v_recip(-4.0f), -0.25f, "recip -4");
  expect_bits(v_recip(tiny), kInf, "recip min subnormal");
  expect_bits(v_recip(std::ldexp(1.0f, -127)), std::ldexp(1.0f, 127), "recip subnormal 2^-127");
  expect_bits(v_recip(std::ldexp(1.0f, 127)), std::ldexp(1.0f, -127), "recip 2^127 (subnormal result)");
  expect_bits(v_recip(fmax), fbits(0x00200000), "recip FLT_MAX");
  // rsqrt
  expect_bits(v_rsqrt(kNaN), kNaN, "rsqrt NaN");
  expect_bits(v_rsqrt(-1.0f), kNaN, "rsqrt -1");
  expect_bits(v_rsqrt(-kInf), kNaN, "rsqrt -Inf");
  expect_bits(v_rsqrt(-tiny), kNaN, "rsqrt -tiny");
  expect_bits(v_rsqrt(0.0f), kInf, "rsqrt +0");
  expect_bits(v_rsqrt(-0.0f), -kInf, "rsqrt -0");
  expect_bits(v_rsqrt(kInf), 0.0f, "rsqrt +Inf");
  expect_bits(v_rsqrt(1.0f), 1.0f, "rsqrt 1");
  expect_bits(v_rsqrt(4.0f), 0.5f, "rsqrt 4");
  expect_bits(v_rsqrt(0.25f), 2.0f, "rsqrt 0.25");
  expect_bits(v_rsqrt(tiny), std::ldexp(1.0f, 74) * 1.41421354f, "rsqrt 2^-149");
  // tanh
  expect_bits(v_tanh(kNaN), kNaN, "tanh NaN");
  expect_bits(v_tanh(0.0f), 0.0f, "tanh +0");
  expect_bits(v_tanh(-0.0f), -0.0f, "tanh -0");
  expect_bits(v_tanh(tiny), tiny, "tanh tiny");
  expect_bits(v_tanh(kInf), 1.0f, "tanh +Inf");
  expect_bits(v_tanh(-kInf), -1.0f, "tanh -Inf");
  expect_bits(v_tanh(10.0f), 1.0f, "tanh 10");
  expect_bits(v_tanh(-fmax), -1.0f, "tanh -FLT_MAX");
  // sigmoid, silu, gelu
  expect_bits(v_sigmoid(kNaN), kNaN, "sigmoid NaN");
  expect_bits(v_sigmoid(0.0f), 0.5f, "sigmoid +0");
  expect_bits(v_sigmoid(-0.0f), 0.5f, "sigmoid -0");
  expect_bits(v_sigmoid(kInf), 1.0f, "sigmoid +Inf");
  expect_bits(v_sigmoid(-kInf), 0.0f, "sigmoid -Inf");
  expect_bits(v_silu(kNaN), kNaN, "silu NaN");
  expect_bits(v_silu(kInf), kInf, "silu +Inf");
  expect_bits(v_silu(-kInf), -0.0f, "silu -Inf");
  expect_bits(v_silu(0.0f), 0.0f, "silu +0");
  expect_bits(v_silu(-0.0f), -0.0f, "silu -0");
  expect_bits(v_silu(-200.0f), -0.0f, "silu -200");
  expect_bits(v_silu(200.0f), 200.0f, "silu 200");
  expect_bits(v_gelu_tanh(kNaN), kNaN, "gelu NaN");
  expect_bits(v_gelu_tanh(kInf), kInf, "gelu +Inf");
  expect_bits(v_gelu_tanh(-kInf), -0.0f, "gelu -Inf");
  expect_bits(v_gelu_tanh(0.0f), 0.0f, "gelu +0");
  expect_bits(v_gelu_tanh(-0.0f), -0.0f, "gelu -0");
  expect_bits(v_gelu_tanh(-1e20f), -0.0f, "gelu -1e20 (x^3 overflows)");
  expect_bits(v_gelu_tanh(1e20f), 1e20f, "gelu 1e20");
  expect_bits(v_gelu_tanh(fmax), fmax, "gelu FLT_MAX");
}

TEST(VectorMath, Symmetries) {
  std::mt19937 rng(99);
  for (int i = 0; i < 100000; ++i) {
    const float x = fbits(static_cast<uint32_t>(rng()) & 0x7FFFFFFFu);
    if (std::isnan(x)) continue;
    EXPECT_EQ(bits(v_tanh(-x)), bits(v_tanh(x)) ^ 0x80000000u) << x;
    EXPECT_EQ(bits(v_recip(-x)), bits(v_recip(x)) ^ 0x80000000u) << x;
  }
}

// Fixed input -> output bit patterns. They pin the exact algorithms (constants, operation
// order, Newton step counts): any change to them changes some of these bits.
TEST(VectorMath, GoldenBitPatterns) {
  struct Golden {
    float (*f)(float);
    const char* name;
    uint32_t in, out;
  };
  const Golden goldens[] = {
      {v_exp, "v_exp", 0x3F800000, 0x402DF854},  // v_exp(1) = 2.71828175
      {v_exp, "v_exp", 0xC0200000, 0x3DA81C2E},  // v_exp(-2.5) = 0.0820849985
      {v_exp, "v_exp", 0x4124CCCD, 0x46E84940},  // v_exp(10.3000002) = 29732.625
      {v_exp, "v_exp", 0xC2AF0000, 0x006CB2BC},  // v_exp(-87.5) = 9.9823514e-39
      {v_exp, "v_exp", 0x42B10000, 0x7F4CDCC4},  // v_exp(88.5) = 2.72308792e+38
      {v_recip, "v_recip", 0x40400000, 0x3EAAAAAA},  // v_recip(3) = 0.333333313
      {v_recip, "v_recip", 0xBDCCCCCD, 0xC1200000},  // v_recip(-0.100000001) = -10
      {v_recip, "v_recip", 0x000116C2, 0x7F800000},  // v_recip(9.9999461e-41) = inf
      {v_recip, "v_recip", 0x7E52A60A, 0x009B8EC2},  // v_recip(7.00000008e+37) = 1.42857138e-38
      {v_recip, "v_recip", 0x3FE00000, 0x3F124925},  // v_recip(1.75) = 0.571428597
      {v_rsqrt, "v_rsqrt", 0x40000000, 0x3F3504F3},  // v_rsqrt(2) = 0.707106769
      {v_rsqrt, "v_rsqrt", 0x3DCCCCCD, 0x404A62C2},  // v_rsqrt(0.100000001) = 3.1622777
      {v_rsqrt, "v_rsqrt", 0x000002CA, 0x6258C887},  // v_rsqrt(1.0005271e-42) = 9.99736559e+20
      {v_rsqrt, "v_rsqrt", 0x7F61B1E6, 0x1F8852AF},  // v_rsqrt(3.00000001e+38) = 5.77350289e-20
      {v_rsqrt, "v_rsqrt", 0x449A5000, 0x3CE927A3},  // v_rsqrt(1234.5) = 0.0284612831
      {v_tanh, "v_tanh", 0x3E99999A, 0x3E9526EE},  // v_tanh(0.300000012) = 0.291312635
      {v_tanh, "v_tanh", 0xBF333333, 0xBF1AB7D9},  // v_tanh(-0.699999988) = -0.604367793
      {v_tanh, "v_tanh", 0x40000000, 0x3F76CA83},  // v_tanh(2) = 0.964027584
      {v_tanh, "v_tanh", 0x3727C5AC, 0x3727C5AC},  // v_tanh(9.99999975e-06) = 9.99999975e-06
      {v_tanh, "v_tanh", 0x3F200000, 0x3F0DFA40},  // v_tanh(0.625) = 0.554599762
      {v_sigmoid, "v_sigmoid", 0xC0600000, 0x3CF02034},  // v_sigmoid(-3.5) = 0.0293122306
      {v_sigmoid, "v_sigmoid", 0x3E800000, 0x3F0FEACD},  // v_sigmoid(0.25) = 0.562176526
      {v_sigmoid, "v_sigmoid", 0x41880000, 0x3F800000},  // v_sigmoid(17) = 1
      {v_sigmoid, "v_sigmoid", 0xC2B40000, 0x0008EC28},  // v_sigmoid(-90) = 8.19400869e-40
      {v_sigmoid, "v_sigmoid", 0x3F800000, 0x3F3B26A8},  // v_sigmoid(1) = 0.731058598
      {v_silu, "v_silu", 0xBFD9999A, 0xBE867253},  // v_silu(-1.70000005) = -0.262590975
      {v_silu, "v_silu", 0x40133333, 0x4005C965},  // v_silu(2.29999995) = 2.09041715
      {v_silu, "v_silu", 0xC2700000, 0x972299BC},  // v_silu(-60) = -5.25390632e-25
      {v_silu, "v_silu", 0x3C23D70A, 0x3BA4A8C1},  // v_silu(0.00999999978) = 0.00502499985
      {v_silu, "v_silu", 0xC0A00000, 0xBD0911D0},  // v_silu(-5) = -0.0334642529
      {v_gelu_tanh, "v_gelu_tanh", 0xC00CCCCD, 0xBCF864BA},  // v_gelu_tanh(-2.20000005) = -0.0303214677
      {v_gelu_tanh, "v_gelu_tanh", 0x3F000000, 0x3EB1016D},  // v_gelu_tanh(0.5) = 0.345714003
      {v_gelu_tanh, "v_gelu_tanh", 0x3FF33333, 0x3FEC37BE},  // v_gelu_tanh(1.89999998) = 1.84545112
      {v_gelu_tanh, "v_gelu_tanh", 0xBC23D70A, 0xBBA28863},  // v_gelu_tanh(-0.00999999978) = -0.00496010622
      {v_gelu_tanh, "v_gelu_tanh", 0xC0800000, 0xB89350FD},  // v_gelu_tanh(-4) = -7.02459147e-05
  };
  for (const Golden& g : goldens)
    EXPECT_EQ(bits(g.f(fbits(g.in))), g.out) << std::hex << g.name << "(0x" << g.in << ")";
}

// ---- reductions ----

// Independent transcription of the doc's rule, with the tree written recursively over levels.
float doc_reduce(const std::vector<float>& x, unsigned lanes, bool is_max) {
  auto op = [&](float a, float b) { return is_max ? max_f32(a, b) : a + b; };
  std::vector<std::vector<float>> lane(lanes);
  for (size_t i = 0; i < x.size(); ++i) lane[i % lanes].push_back(x[i]);
  std::vector<float> level;
  for (auto& l : lane) {
    if (l.empty()) {
      level.push_back(is_max ? -kInf : 0.0f);
      continue;
    }
    float v = l[0];
    for (size_t i = 1; i < l.size(); ++i) v = op(v, l[i]);
    level.push_back(v);
  }
  while (level.size() > 1) {
    const size_t half = level.size() / 2;
    std::vector<float> next;
    for (size_t i = 0; i < half; ++i) next.push_back(op(level[i], level[i + half]));
    if (level.size() % 2) next.push_back(level.back());
    level = next;
  }
  return canonicalize(level[0]);
}

TEST(Reduce, SumOrderIsLanesThenTree) {
  // With 2^24 in play, adding 1 is a tie that rounds back to 2^24 (even), so every grouping
  // gives a different sum (exact sum: 4).
  const float big = 16777216.0f;
  const std::vector<float> x = {big, 1.0f, 1.0f, 1.0f, 1.0f, -big};
  // lanes 1 (sequential): big, big, big, big, big - big = 0.
  EXPECT_EQ(reduce_sum(x, 1), 0.0f);
  // lanes 2: lane0 = (big + 1) + 1 = big, lane1 = (1 + 1) - big = -16777214; tree: 2.
  EXPECT_EQ(reduce_sum(x, 2), 2.0f);
  // lanes 3: lane0 = big + 1 = big, lane1 = 1 + 1 = 2, lane2 = 1 - big = -16777215;
  // tree: count 3, half 1: {big + 2 = 16777218, carried -16777215}; then 3.
  EXPECT_EQ(reduce_sum(x, 3), 3.0f);
  // lanes 5: lanes {big - big = 0, 1, 1, 1, 1}; count 5, half 2: {0 + 1, 1 + 1, carried 1};
  // count 3, half 1: {1 + 2, carried 1}; then 4.
  EXPECT_EQ(reduce_sum(x, 5), 4.0f);
  // The odd count carries the LAST value: lanes {big, 1, -big, 1, 1}:
  // half 2: {big - big = 0, 1 + 1 = 2, carried 1}; half 1: {0 + 2, carried 1}; then 3.
  // (Carrying the first value instead, or folding left to right, gives big + ... != 3.)
  const std::vector<float> y = {big, 1.0f, -big, 1.0f, 1.0f};
  EXPECT_EQ(reduce_sum(y, 5), 3.0f);
  // Lanes beyond the data are empty (+0): a lone -0 folds to -0 in its lane, +0 in the tree.
  EXPECT_EQ(bits(reduce_sum(std::vector<float>{-0.0f}, 1)), bits(-0.0f));
  EXPECT_EQ(bits(reduce_sum(std::vector<float>{-0.0f}, 2)), bits(0.0f));
  EXPECT_EQ(bits(reduce_sum(std::vector<float>{}, 4)), bits(0.0f));
  EXPECT_EQ(bits(reduce_sum(std::vector<float>{kInf, -kInf}, 2)), kFP32NaN);
  EXPECT_THROW(reduce_sum(x, 0), std::invalid_argument);
}

TEST(Reduce, MaxRules) {
  EXPECT_EQ(bits(max_f32(-0.0f, 0.0f)), bits(0.0f));
  EXPECT_EQ(bits(max_f32(0.0f, -0.0f)), bits(0.0f));
  EXPECT_EQ(bits(max_f32(kNaN, 1.0f)), kFP32NaN);
  EXPECT_EQ(bits(max_f32(1.0f, fbits(0xFFC00001))), kFP32NaN);
  EXPECT_EQ(max_f32(-3.0f, -2.0f), -2.0f);
  EXPECT_EQ(max_f32(-kInf, fbits(0x80000001)), fbits(0x80000001));
  EXPECT_EQ(reduce_max(std::vector<float>{}, 3), -kInf);
  EXPECT_EQ(reduce_max(std::vector<float>{-5.0f, -7.0f}, 4), -5.0f);  // empty lanes hold -Inf
  EXPECT_EQ(bits(reduce_max(std::vector<float>{-0.0f, 0.0f, -0.0f}, 2)), bits(0.0f));
  EXPECT_EQ(bits(reduce_max(std::vector<float>{1.0f, kNaN, 3.0f}, 2)), kFP32NaN);
}

TEST(Reduce, RandomMatchesDocTranscription) {
  constexpr uint32_t kSeed = 4242;
  std::printf("Reduce.RandomMatchesDocTranscription: seed %u\n", kSeed);
  std::mt19937 rng(kSeed);
  for (int t = 0; t < 3000; ++t) {
    const size_t n = rng() % 200;
    const unsigned lanes = 1 + rng() % 40;
    std::vector<float> x(n);
    for (auto& v : x) {
      const int e = static_cast<int>(rng() % 40) - 20;
      v = std::ldexp(std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng), e);
      if (rng() % 50 == 0) v = rng() % 2 ? -0.0f : 0.0f;
    }
    ASSERT_EQ(bits(reduce_sum(x, lanes)), bits(doc_reduce(x, lanes, false))) << "seed " << kSeed << " t " << t;
    ASSERT_EQ(bits(reduce_max(x, lanes)), bits(doc_reduce(x, lanes, true))) << "seed " << kSeed << " t " << t;
  }
}

}  // namespace
}  // namespace tessera::num
