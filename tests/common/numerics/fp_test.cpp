// Formats and conversions (docs/numerics.md, "Formats", "Conversions", "Events").
// Every reference here is computed independently of the library: decoders from the spec
// formulas with std::ldexp in double, encoders by scanning all codes for the nearest value,
// FP16 by the compiler's _Float16 conversion, BF16 by the classic integer rounding trick.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "common/numerics/fp.h"

namespace tessera::num {
namespace {

constexpr uint32_t kCanonNaN = 0x7FC00000u;
uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }
float fbits(uint32_t u) { return std::bit_cast<float>(u); }
const float kInf = std::numeric_limits<float>::infinity();

// ---- independent spec formulas (OCP OFP8 v1.0 section 5.3; IEEE 754-2019 3.4) ----
// Returns NaN (quiet, any payload) for NaN codes.
double e4m3_formula(uint8_t b) {
  const int s = b >> 7, e = (b >> 3) & 0xF, m = b & 7;
  if (e == 0xF && m == 7) return std::numeric_limits<double>::quiet_NaN();
  const double mag = e == 0 ? std::ldexp(m, -6 - 3) : std::ldexp(8 + m, e - 7 - 3);
  return s ? -mag : mag;
}
double e5m2_formula(uint8_t b) {
  const int s = b >> 7, e = (b >> 2) & 0x1F, m = b & 3;
  double mag;
  if (e == 0x1F) mag = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  else mag = e == 0 ? std::ldexp(m, -14 - 2) : std::ldexp(4 + m, e - 15 - 2);
  return s ? -mag : mag;
}
double fp16_formula(uint16_t b) {
  const int s = b >> 15, e = (b >> 10) & 0x1F, m = b & 0x3FF;
  double mag;
  if (e == 0x1F) mag = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  else mag = e == 0 ? std::ldexp(m, -14 - 10) : std::ldexp(1024 + m, e - 15 - 10);
  return s ? -mag : mag;
}
double bf16_formula(uint16_t b) {
  const int s = b >> 15, e = (b >> 7) & 0xFF, m = b & 0x7F;
  double mag;
  if (e == 0xFF) mag = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  else mag = e == 0 ? std::ldexp(m, -126 - 7) : std::ldexp(128 + m, e - 127 - 7);
  return s ? -mag : mag;
}

// The decoded float must be the formula's value bit for bit (signed zeros included); NaN
// codes decode to the canonical FP32 NaN.
void expect_decodes_to(float got, double want, uint32_t code) {
  if (std::isnan(want)) {
    EXPECT_EQ(bits(got), kCanonNaN) << std::hex << "code 0x" << code;
  } else {
    EXPECT_EQ(bits(got), bits(static_cast<float>(want))) << std::hex << "code 0x" << code;
    EXPECT_EQ(static_cast<double>(got), want) << std::hex << "code 0x" << code;  // exact
  }
}

TEST(DType, NamesBytesAndParse) {
  const std::pair<DType, const char*> names[] = {{DType::INT8, "int8"}, {DType::FP8_E4M3, "fp8_e4m3"},
                                                 {DType::FP8_E5M2, "fp8_e5m2"}, {DType::BF16, "bf16"},
                                                 {DType::FP16, "fp16"}, {DType::FP32, "fp32"},
                                                 {DType::INT32, "int32"}};
  const unsigned bytes[] = {1, 1, 1, 2, 2, 4, 4};
  for (size_t i = 0; i < std::size(names); ++i) {
    EXPECT_EQ(dtype_name(names[i].first), names[i].second);
    EXPECT_EQ(parse_dtype(names[i].second), names[i].first);
    EXPECT_EQ(dtype_bytes(names[i].first), bytes[i]);
  }
  EXPECT_FALSE(parse_dtype("FP32").has_value());
  EXPECT_FALSE(parse_dtype("fp8").has_value());
  EXPECT_FALSE(parse_dtype("").has_value());
}

TEST(HostFp, EnvironmentIsTheContract) {
  // Round to nearest even, no FTZ/DAZ (a -ffast-math object in the process would set FTZ).
  EXPECT_TRUE(host_fp_environment_ok());
#ifdef __FAST_MATH__
  ADD_FAILURE() << "built with -ffast-math";
#endif
}

TEST(E4M3, ExhaustiveDecodeAndReencode) {
  for (uint32_t c = 0; c < 256; ++c) {
    const float v = e4m3_to_f32(static_cast<uint8_t>(c));
    expect_decodes_to(v, e4m3_formula(static_cast<uint8_t>(c)), c);
    for (Overflow mode : {Overflow::Saturate, Overflow::NonSaturating}) {
      NumericEvents ev;
      const uint8_t back = f32_to_e4m3(v, mode, &ev);
      if ((c & 0x7F) == 0x7F) {
        EXPECT_EQ(back, kE4M3NaN) << c;
        EXPECT_EQ(ev, (NumericEvents{.nan_produced = 1}));
      } else {
        EXPECT_EQ(back, c) << c;
        EXPECT_EQ(ev, NumericEvents{}) << c;
      }
    }
  }
  EXPECT_EQ(e4m3_to_f32(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0xFE), -448.0f);
  EXPECT_EQ(e4m3_to_f32(0x01), std::ldexp(1.0f, -9));   // smallest subnormal
  EXPECT_EQ(e4m3_to_f32(0x08), std::ldexp(1.0f, -6));   // smallest normal
  EXPECT_EQ(bits(e4m3_to_f32(0x80)), 0x80000000u);      // -0
  EXPECT_EQ(bits(e4m3_to_f32(0x78)), bits(256.0f));     // S.1111.000 is a number, not Inf
}

TEST(E5M2, ExhaustiveDecodeAndReencode) {
  for (uint32_t c = 0; c < 256; ++c) {
    const float v = e5m2_to_f32(static_cast<uint8_t>(c));
    expect_decodes_to(v, e5m2_formula(static_cast<uint8_t>(c)), c);
    const bool nan = (c & 0x7C) == 0x7C && (c & 3) != 0;
    const bool inf = (c & 0x7F) == 0x7C;
    for (Overflow mode : {Overflow::Saturate, Overflow::NonSaturating}) {
      NumericEvents ev;
      const uint8_t back = f32_to_e5m2(v, mode, &ev);
      if (nan) {
        EXPECT_EQ(back, kE5M2NaN) << c;
        EXPECT_EQ(ev, (NumericEvents{.nan_produced = 1}));
      } else if (inf && mode == Overflow::Saturate) {
        EXPECT_EQ(back, (c & 0x80) | kE5M2MaxFinite) << c;
        EXPECT_EQ(ev, (NumericEvents{.saturated = 1}));
      } else {
        EXPECT_EQ(back, c) << c;
        EXPECT_EQ(ev, NumericEvents{}) << c;
      }
    }
  }
  EXPECT_EQ(e5m2_to_f32(0x7B), 57344.0f);
  EXPECT_EQ(e5m2_to_f32(0x01), std::ldexp(1.0f, -16));
  EXPECT_EQ(e5m2_to_f32(0x7C), kInf);
  EXPECT_EQ(e5m2_to_f32(0xFC), -kInf);
}

TEST(BF16, AllCodesRoundTripThroughFp32) {
  for (uint32_t c = 0; c < 65536; ++c) {
    const auto b = static_cast<uint16_t>(c);
    const float v = bf16_to_f32(b);
    expect_decodes_to(v, bf16_formula(b), c);
    const bool nan = (c & 0x7FFF) > kBF16Inf;
    if (!nan) {
      EXPECT_EQ(bits(v), c << 16) << c;  // BF16 is the top half of FP32
    }
    NumericEvents ev;
    const uint16_t back = f32_to_bf16(v, Overflow::NonSaturating, &ev);
    EXPECT_EQ(back, nan ? kBF16NaN : b) << std::hex << c;
    EXPECT_EQ(ev.nan_produced, nan ? 1u : 0u);
    EXPECT_EQ(ev.saturated + ev.overflow_nonfinite + ev.underflow_to_zero, 0u);
  }
}

TEST(FP16, AllCodesRoundTripThroughFp32) {
  for (uint32_t c = 0; c < 65536; ++c) {
    const auto h = static_cast<uint16_t>(c);
    const float v = fp16_to_f32(h);
    expect_decodes_to(v, fp16_formula(h), c);
    const bool nan = (c & 0x7FFF) > kFP16Inf;
    NumericEvents ev;
    const uint16_t back = f32_to_fp16(v, Overflow::NonSaturating, &ev);
    EXPECT_EQ(back, nan ? kFP16NaN : h) << std::hex << c;
    EXPECT_EQ(ev.nan_produced, nan ? 1u : 0u);
    EXPECT_EQ(ev.saturated + ev.overflow_nonfinite + ev.underflow_to_zero, 0u);
  }
}

// ---- rounding at every tie: all adjacent code pairs of every format ----

struct Fmt {
  const char* name;
  unsigned width;       // bits of magnitude (without sign)
  uint32_t max_mag;     // largest finite magnitude code
  double next_after_max;  // the value one ulp above max (the rounding target that overflows)
  double (*formula)(uint16_t);
  uint32_t (*enc)(float, Overflow, NumericEvents*);
  uint32_t overflow_code;  // NonSaturating result for a positive overflow
  bool overflow_is_nan;    // E4M3: the overflow code is the (unsigned) NaN, not a signed Inf
  uint32_t nan_code;
};

double e4m3_f(uint16_t b) { return e4m3_formula(static_cast<uint8_t>(b)); }
double e5m2_f(uint16_t b) { return e5m2_formula(static_cast<uint8_t>(b)); }
uint32_t enc_e4m3(float x, Overflow m, NumericEvents* ev) { return f32_to_e4m3(x, m, ev); }
uint32_t enc_e5m2(float x, Overflow m, NumericEvents* ev) { return f32_to_e5m2(x, m, ev); }
uint32_t enc_bf16(float x, Overflow m, NumericEvents* ev) { return f32_to_bf16(x, m, ev); }
uint32_t enc_fp16(float x, Overflow m, NumericEvents* ev) { return f32_to_fp16(x, m, ev); }

const Fmt kFormats[] = {
    {"e4m3", 7, 0x7E, 480.0, e4m3_f, enc_e4m3, kE4M3NaN, true, kE4M3NaN},
    {"e5m2", 7, 0x7B, 65536.0, e5m2_f, enc_e5m2, kE5M2Inf, false, kE5M2NaN},
    {"bf16", 15, 0x7F7F, std::ldexp(1.0, 128), bf16_formula, enc_bf16, kBF16Inf, false, kBF16NaN},
    {"fp16", 15, 0x7BFF, 65536.0, fp16_formula, enc_fp16, kFP16Inf, false, kFP16NaN},
};

TEST(Rounding, TiesToEvenAndNeighboursAtEveryAdjacentPair) {
  for (const Fmt& f : kFormats) {
    const uint32_t sign = 1u << f.width;
    for (uint32_t c = 0; c <= f.max_mag; ++c) {
      const double lo = f.formula(static_cast<uint16_t>(c));
      const double hi = c == f.max_mag ? f.next_after_max : f.formula(static_cast<uint16_t>(c + 1));
      const double mid_d = (lo + hi) / 2;
      const auto mid = static_cast<float>(mid_d);
      ASSERT_EQ(static_cast<double>(mid), mid_d) << f.name << " midpoint must be an FP32 value";
      const uint32_t even = (c & 1) ? c + 1 : c;
      for (uint32_t s : {0u, sign}) {
        const float sg = s ? -1.0f : 1.0f;
        const float below = std::nextafter(sg * mid, 0.0f);
        const float above = std::nextafter(sg * mid, sg * kInf);
        for (Overflow mode : {Overflow::Saturate, Overflow::NonSaturating}) {
          // The exact value of each code stays itself.
          ASSERT_EQ(f.enc(sg * static_cast<float>(lo), mode, nullptr), s | c) << f.name << " code " << c;
          // Just below the midpoint: down to c.
          ASSERT_EQ(f.enc(below, mode, nullptr), s | c) << f.name << " below mid of " << c;
          // The midpoint: to the even code; just above: up to c+1.
          const uint32_t up = c + 1;
          auto expect_up = [&](float x, uint32_t want_mag, const char* what) {
            NumericEvents ev;
            const uint32_t got = f.enc(x, mode, &ev);
            if (want_mag > f.max_mag) {  // rounds past max: overflow
              if (mode == Overflow::Saturate) {
                ASSERT_EQ(got, s | f.max_mag) << f.name << " " << what;
                ASSERT_EQ(ev, (NumericEvents{.saturated = 1})) << f.name << " " << what;
              } else {
                const uint32_t want = f.overflow_is_nan ? f.overflow_code : (s | f.overflow_code);
                ASSERT_EQ(got, want) << f.name << " " << what;
                ASSERT_EQ(ev, (NumericEvents{.overflow_nonfinite = 1})) << f.name << " " << what;
              }
            } else {
              ASSERT_EQ(got, s | want_mag) << f.name << " " << what << " c=" << c << " x=" << x;
              const bool underflow = want_mag == 0 && x != 0.0f;
              ASSERT_EQ(ev.underflow_to_zero, underflow ? 1u : 0u) << f.name << " " << what;
            }
          };
          expect_up(sg * mid, even, "midpoint");
          expect_up(above, up, "above midpoint");
        }
      }
    }
  }
}

TEST(Rounding, NamedBoundaries) {
  const auto NS = Overflow::NonSaturating;
  const auto SAT = Overflow::Saturate;
  // E4M3: 448 max; 464 is the tie between 448 (mantissa 110) and 480 (111): even -> 448.
  EXPECT_EQ(f32_to_e4m3(448.0f, NS), 0x7E);
  EXPECT_EQ(f32_to_e4m3(464.0f, NS), 0x7E);
  EXPECT_EQ(f32_to_e4m3(std::nextafter(464.0f, 1e9f), NS), kE4M3NaN);
  EXPECT_EQ(f32_to_e4m3(std::nextafter(464.0f, 1e9f), SAT), 0x7E);
  EXPECT_EQ(f32_to_e4m3(-1e6f, SAT), 0xFE);
  EXPECT_EQ(f32_to_e4m3(-1e6f, NS), kE4M3NaN);  // NaN has no sign in the contract
  // E4M3 subnormals: 2^-9 smallest; 2^-10 is the tie with 0 -> +-0 (underflow).
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.0f, -10), NS), 0x00);
  EXPECT_EQ(f32_to_e4m3(-std::ldexp(1.0f, -10), NS), 0x80);
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.5f, -10), NS), 0x01);
  EXPECT_EQ(f32_to_e4m3(std::ldexp(7.5f, -9), NS), 0x08);  // largest subnormal tie -> min normal (even)
  // E5M2: 57344 max; 61440 ties between 57344 (mantissa 11) and 65536 (00): even -> overflow.
  EXPECT_EQ(f32_to_e5m2(std::nextafter(61440.0f, 0.0f), NS), 0x7B);
  EXPECT_EQ(f32_to_e5m2(61440.0f, NS), kE5M2Inf);
  EXPECT_EQ(f32_to_e5m2(-61440.0f, NS), 0x80 | kE5M2Inf);
  EXPECT_EQ(f32_to_e5m2(61440.0f, SAT), 0x7B);
  EXPECT_EQ(f32_to_e5m2(std::ldexp(1.0f, -17), NS), 0x00);
  EXPECT_EQ(f32_to_e5m2(std::ldexp(3.0f, -18), NS), 0x01);
  // BF16 / FP16 overflow thresholds.
  EXPECT_EQ(f32_to_bf16(fbits(0x7F7F7FFF)), 0x7F7F);
  EXPECT_EQ(f32_to_bf16(fbits(0x7F7F8000)), kBF16Inf);
  EXPECT_EQ(f32_to_bf16(fbits(0x7F7F8000), SAT), kBF16MaxFinite);
  EXPECT_EQ(f32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_fp16(std::nextafter(65520.0f, 0.0f)), 0x7BFF);
  EXPECT_EQ(f32_to_fp16(65520.0f), kFP16Inf);
  EXPECT_EQ(f32_to_fp16(-65520.0f, SAT), 0x8000 | kFP16MaxFinite);
  // FP16 subnormal edge: 2^-25 ties to 0; anything above it rounds to 2^-24.
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(f32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  // BF16 ties: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 -> 1 (even); 1 + 3*2^-8 -> 1 + 2^-6 (even).
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
  EXPECT_EQ(f32_to_bf16(-(1.0f + 3 * std::ldexp(1.0f, -8))), 0xBF82);
  // FP32 subnormal inputs become zero in FP8/FP16 (counted) but stay in BF16.
  NumericEvents ev;
  EXPECT_EQ(f32_to_e4m3(fbits(0x00000001), NS, &ev), 0x00);
  EXPECT_EQ(f32_to_fp16(fbits(0x80000001), NS, &ev), 0x8000);
  EXPECT_EQ(ev.underflow_to_zero, 2u);
  EXPECT_EQ(f32_to_bf16(fbits(0x00010000), NS, &ev), 0x0001);
  EXPECT_EQ(f32_to_bf16(fbits(0x00008000), NS, &ev), 0x0000);  // tie with 0 -> even
  EXPECT_EQ(f32_to_bf16(fbits(0x00018000), NS, &ev), 0x0002);  // tie 1.5 -> 2
  EXPECT_EQ(ev.underflow_to_zero, 3u);
}

TEST(Conversions, SpecialInputsAndEvents) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float neg_nan = fbits(0xFFC00001);
  struct Case {
    float in;
    Overflow mode;
    uint32_t e4m3, e5m2, bf16, fp16;
    NumericEvents ev_e4m3, ev_e5m2, ev_16;
  };
  const NumericEvents none{}, sat{.saturated = 1}, nanp{.nan_produced = 1};
  const Case cases[] = {
      {nan, Overflow::Saturate, 0x7F, 0x7E, 0x7FC0, 0x7E00, nanp, nanp, nanp},
      {neg_nan, Overflow::NonSaturating, 0x7F, 0x7E, 0x7FC0, 0x7E00, nanp, nanp, nanp},
      {kInf, Overflow::Saturate, 0x7E, 0x7B, 0x7F7F, 0x7BFF, sat, sat, sat},
      {-kInf, Overflow::Saturate, 0xFE, 0xFB, 0xFF7F, 0xFBFF, sat, sat, sat},
      {kInf, Overflow::NonSaturating, 0x7F, 0x7C, 0x7F80, 0x7C00, nanp, none, none},
      {-kInf, Overflow::NonSaturating, 0x7F, 0xFC, 0xFF80, 0xFC00, nanp, none, none},
      {0.0f, Overflow::NonSaturating, 0x00, 0x00, 0x0000, 0x0000, none, none, none},
      {-0.0f, Overflow::Saturate, 0x80, 0x80, 0x8000, 0x8000, none, none, none},
  };
  for (const Case& c : cases) {
    NumericEvents e1, e2, e3, e4;
    EXPECT_EQ(f32_to_e4m3(c.in, c.mode, &e1), c.e4m3) << c.in;
    EXPECT_EQ(f32_to_e5m2(c.in, c.mode, &e2), c.e5m2) << c.in;
    EXPECT_EQ(f32_to_bf16(c.in, c.mode, &e3), c.bf16) << c.in;
    EXPECT_EQ(f32_to_fp16(c.in, c.mode, &e4), c.fp16) << c.in;
    EXPECT_EQ(e1, c.ev_e4m3) << c.in;
    EXPECT_EQ(e2, c.ev_e5m2) << c.in;
    EXPECT_EQ(e3, c.ev_16) << c.in;
    EXPECT_EQ(e4, c.ev_16) << c.in;
  }
  // Events accumulate across calls and add() sums every field.
  NumericEvents a{.saturated = 1, .overflow_nonfinite = 2, .nan_produced = 3, .underflow_to_zero = 4, .int_overflow = 5};
  a.add(a);
  EXPECT_EQ(a, (NumericEvents{2, 4, 6, 8, 10}));
}

TEST(Conversions, Int8AndInt32) {
  struct Case {
    float in;
    int8_t out;
    NumericEvents ev;
  };
  const NumericEvents none{}, sat{.saturated = 1}, nanp{.nan_produced = 1};
  const Case cases[] = {
      {0.5f, 0, none},      {1.5f, 2, none},     {2.5f, 2, none},       {-0.5f, 0, none},
      {-1.5f, -2, none},    {-2.5f, -2, none},   {0.49999997f, 0, none}, {126.5f, 126, none},
      {127.0f, 127, none},  {127.49998f, 127, none}, {127.5f, 127, sat}, {-128.0f, -128, none},
      {-128.5f, -128, none} /* tie to even -128 */, {std::nextafter(-128.5f, -1e9f), -128, sat},
      {1e30f, 127, sat},    {-kInf, -128, sat},  {kInf, 127, sat},
      {std::numeric_limits<float>::quiet_NaN(), 0, nanp}, {fbits(0x00000001), 0, none},
      {-0.0f, 0, none},     {3.7f, 4, none},     {-3.2f, -3, none},
  };
  for (const Case& c : cases) {
    NumericEvents ev;
    EXPECT_EQ(f32_to_int8(c.in, &ev), c.out) << c.in;
    EXPECT_EQ(ev, c.ev) << c.in;
  }
  NumericEvents ev;
  EXPECT_EQ(f32_to_int32(-2147483648.0f, &ev), INT32_MIN);
  EXPECT_EQ(ev, NumericEvents{});
  EXPECT_EQ(f32_to_int32(2147483648.0f, &ev), INT32_MAX);
  EXPECT_EQ(ev.saturated, 1u);
  EXPECT_EQ(f32_to_int32(16777217.0f), 16777216);  // the float is 2^24
  EXPECT_EQ(f32_to_int32(-8388607.5f), -8388608);
}

TEST(Storage, DecodeEncodeAllTypes) {
  const auto NS = Overflow::NonSaturating;
  EXPECT_EQ(decode(DType::INT8, 0xFF), -1.0f);
  EXPECT_EQ(decode(DType::INT8, 0x80), -128.0f);
  EXPECT_EQ(decode(DType::INT8, 0x7F), 127.0f);
  EXPECT_EQ(decode(DType::INT32, 0xFFFFFFFF), -1.0f);
  EXPECT_EQ(decode(DType::INT32, 0x7FFFFFFF), 2147483648.0f);  // RNE to FP32
  EXPECT_EQ(decode(DType::INT32, 16777217), 16777216.0f);
  EXPECT_EQ(decode(DType::FP32, 0x3F800000), 1.0f);
  EXPECT_EQ(decode(DType::BF16, 0xC000), -2.0f);
  EXPECT_EQ(decode(DType::FP16, 0x3C00), 1.0f);
  EXPECT_EQ(decode(DType::FP8_E4M3, 0x38), 1.0f);
  EXPECT_EQ(decode(DType::FP8_E5M2, 0x3C), 1.0f);
  EXPECT_EQ(encode(DType::INT8, -1.0f, NS), 0xFFu);
  EXPECT_EQ(encode(DType::INT32, -1.0f, NS), 0xFFFFFFFFu);
  EXPECT_EQ(encode(DType::FP32, -2.5f, NS), bits(-2.5f));
  EXPECT_EQ(encode(DType::BF16, -2.0f, NS), 0xC000u);
  EXPECT_EQ(encode(DType::FP16, 1.0f, NS), 0x3C00u);
  EXPECT_EQ(encode(DType::FP8_E4M3, -1.0f, NS), 0xB8u);
  EXPECT_EQ(encode(DType::FP8_E5M2, 1e9f, Overflow::Saturate), 0x7Bu);
  // Round trip of every 8- and 16-bit code through the generic helpers.
  for (DType t : {DType::INT8, DType::FP8_E4M3, DType::FP8_E5M2, DType::BF16, DType::FP16}) {
    const uint32_t n = 1u << (8 * dtype_bytes(t));
    for (uint32_t c = 0; c < n; ++c) {
      const float v = decode(t, c);
      if (v != v) continue;
      EXPECT_EQ(encode(t, v, NS), c) << dtype_name(t) << " " << c;
    }
  }
}

// ---- brute force: FP32 -> FP8 against "nearest of all 256 codes" ----

// Nearest finite value by scanning every code; ties go to the even code (the code's lowest
// bit is the mantissa's lowest bit). A virtual code max+1 (value next_after_max) stands for
// "rounds beyond max"; anything at or above it overflows. Below it, differences between x and
// the candidates near x are exact in double, so the comparison is exact where it matters.
uint32_t scan_nearest(const Fmt& f, float x, Overflow mode) {
  const uint32_t s = std::signbit(x) ? (1u << f.width) : 0u;
  if (std::isnan(x)) return f.nan_code;
  const double ax = std::fabs(static_cast<double>(x));
  if (ax >= f.next_after_max) return mode == Overflow::Saturate ? (s | f.max_mag)
                                    : f.overflow_is_nan ? f.overflow_code : (s | f.overflow_code);
  uint32_t best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (uint32_t c = 0; c <= f.max_mag + 1; ++c) {
    const double v = c <= f.max_mag ? f.formula(static_cast<uint16_t>(c)) : f.next_after_max;
    const double d = std::fabs(ax - v);
    if (d < best_d || (d == best_d && (c & 1) == 0)) {
      best = c;
      best_d = d;
    }
  }
  if (std::isinf(x) || best > f.max_mag) {
    if (mode == Overflow::Saturate) return s | f.max_mag;
    return f.overflow_is_nan ? f.overflow_code : (s | f.overflow_code);
  }
  return s | best;
}

TEST(BruteForce, Fp32ToFp8MatchesNearestScan) {
  constexpr uint64_t kSeed = 0x7E55E4A8;
  std::printf("BruteForce.Fp32ToFp8MatchesNearestScan: seed 0x%llx\n", static_cast<unsigned long long>(kSeed));
  std::mt19937_64 rng(kSeed);
  std::vector<float> inputs;
  // Boundaries: every code value, its FP32 neighbours, every midpoint and its neighbours.
  for (const Fmt& f : {kFormats[0], kFormats[1]}) {
    for (uint32_t c = 0; c <= f.max_mag; ++c) {
      const double lo = f.formula(static_cast<uint16_t>(c));
      const double hi = c == f.max_mag ? f.next_after_max : f.formula(static_cast<uint16_t>(c + 1));
      for (double v : {lo, (lo + hi) / 2, hi}) {
        for (float sg : {1.0f, -1.0f}) {
          const float x = sg * static_cast<float>(v);
          inputs.insert(inputs.end(), {x, std::nextafter(x, 0.0f), std::nextafter(x, sg * kInf)});
        }
      }
    }
  }
  inputs.insert(inputs.end(), {kInf, -kInf, 0.0f, -0.0f, fbits(0x7F7FFFFF), fbits(0x00000001), fbits(0x80800000)});
  // Random: any bit pattern, and patterns whose exponent lies in or near the FP8 ranges.
  for (int i = 0; i < 400000; ++i) {
    const auto r = static_cast<uint32_t>(rng());
    inputs.push_back(fbits(r));
    inputs.push_back(fbits((r & 0x807FFFFFu) | ((100u + static_cast<uint32_t>(rng() % 46)) << 23)));
  }
  size_t checked = 0;
  for (float x : inputs) {
    for (Overflow mode : {Overflow::Saturate, Overflow::NonSaturating}) {
      ASSERT_EQ(f32_to_e4m3(x, mode), scan_nearest(kFormats[0], x, mode)) << std::hex << "x=0x" << bits(x)
                                                                          << " seed " << kSeed;
      ASSERT_EQ(f32_to_e5m2(x, mode), scan_nearest(kFormats[1], x, mode)) << std::hex << "x=0x" << bits(x)
                                                                          << " seed " << kSeed;
      ++checked;
    }
  }
  std::printf("checked %zu inputs x 2 modes x 2 formats\n", checked / 2);
}

// FP16 against the compiler's own binary16 conversion, BF16 against the integer rounding
// trick (u + 0x7FFF + lsb) >> 16; both RNE with overflow to Inf and subnormals.
TEST(BruteForce, Fp32To16BitMatchesIndependentConversions) {
  constexpr uint64_t kSeed = 0xB16F16;
  std::printf("BruteForce.Fp32To16BitMatchesIndependentConversions: seed 0x%llx\n",
              static_cast<unsigned long long>(kSeed));
  std::mt19937_64 rng(kSeed);
  for (int i = 0; i < 2000000; ++i) {
    auto u = static_cast<uint32_t>(rng());
    if (i & 1) u = (u & 0x807FFFFFu) | ((90u + static_cast<uint32_t>(rng() % 60)) << 23);
    if (i % 7 == 0) u = (u & ~0x1FFFu) | 0x1000u;  // FP16 ties (and BF16 ties below)
    if (i % 11 == 0) u = (u & ~0xFFFFu) | 0x8000u;
    const float x = fbits(u);
    if (x != x) continue;
    const auto h = std::bit_cast<uint16_t>(static_cast<_Float16>(x));
    ASSERT_EQ(f32_to_fp16(x), h) << std::hex << "x=0x" << u << " seed " << kSeed;
    const uint32_t b = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    ASSERT_EQ(f32_to_bf16(x), b) << std::hex << "x=0x" << u << " seed " << kSeed;
  }
}

}  // namespace
}  // namespace tessera::num
