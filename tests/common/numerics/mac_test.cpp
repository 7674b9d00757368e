// Matrix-engine MAC semantics (docs/numerics.md, "MAC"): exact products, ascending-k
// accumulation from +0.0 with one FP32 rounding per add, the accumulator add, int32 wrap.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "common/numerics/fp.h"
#include "common/numerics/mac.h"

namespace tessera::num {
namespace {

uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }
const float kInf = std::numeric_limits<float>::infinity();

// The doc's exactness argument, checked: every product of two FP8 values (any mix of
// E4M3/E5M2) is exact in FP32, as is every FP8 x BF16 and BF16 x BF16 product whose
// magnitude lies in [2^-126, 2^128) (significands of 4/3 and 8 bits give at most 16 bits).
TEST(Mac, Fp8ProductsAreExactInFp32) {
  using Dec = float (*)(uint8_t);
  const Dec decs[] = {e4m3_to_f32, e5m2_to_f32};
  for (Dec da : decs) {
    for (Dec db : decs) {
      for (uint32_t i = 0; i < 256; ++i) {
        for (uint32_t j = 0; j < 256; ++j) {
          const float a = da(static_cast<uint8_t>(i)), b = db(static_cast<uint8_t>(j));
          if (!std::isfinite(a) || !std::isfinite(b)) continue;
          ASSERT_EQ(static_cast<double>(a * b), static_cast<double>(a) * static_cast<double>(b)) << i << " " << j;
        }
      }
    }
  }
}

TEST(Mac, Bf16ProductsAreExactInsideFp32Range) {
  for (uint32_t i = 0; i < 65536; i += 7) {
    for (uint32_t j = 0; j < 65536; j += 251) {
      const float a = bf16_to_f32(static_cast<uint16_t>(i)), b = bf16_to_f32(static_cast<uint16_t>(j));
      if (!std::isfinite(a) || !std::isfinite(b)) continue;
      const float e4 = e4m3_to_f32(static_cast<uint8_t>(j & 0x7E));
      for (float other : {b, e4}) {
        const double exact = static_cast<double>(a) * static_cast<double>(other);
        const double mag = std::fabs(exact);
        if (mag != 0 && (mag < 0x1p-126 || mag >= 0x1p128)) continue;  // outside FP32's normal range
        ASSERT_EQ(static_cast<double>(a * other), exact) << i << " " << j;
      }
    }
  }
}

// Products 1, 2^24, 1, -2^24 (exact sum 2). Ascending k from +0.0 with one rounding per add:
// 0+1 = 1; 1+2^24 -> 2^24 (tie, even); 2^24+1 -> 2^24; 2^24-2^24 = 0. Any other order
// gives something else: descending 2, pairwise 1, exact 2.
TEST(Mac, TileDotIsAscendingKFromPositiveZero) {
  const float two24 = 16777216.0f;
  const float a[] = {1.0f, two24, 1.0f, -two24};
  const float b[] = {1.0f, 1.0f, 1.0f, 1.0f};
  EXPECT_EQ(bits(tile_dot_fp(a, b, 4, 1)), bits(0.0f));
  const float a_rev[] = {-two24, 1.0f, two24, 1.0f};
  EXPECT_EQ(tile_dot_fp(a_rev, b, 4, 1), 2.0f);
  // Starting value +0.0: a single -0 product gives +0 (+0 + -0 = +0 in RNE); starting from
  // the first product (or from -0) would give -0. k = 0 gives +0.
  const float neg_zero[] = {-0.0f};
  const float one[] = {1.0f};
  EXPECT_EQ(bits(tile_dot_fp(neg_zero, one, 1, 1)), 0u);
  EXPECT_EQ(bits(tile_dot_fp(a, b, 0, 1)), 0u);
}

TEST(Mac, TileDotUsesBStride) {
  const float a[] = {1.0f, 2.0f, 3.0f};
  // b column 1 of a 3x3 row-major matrix: b[1], b[4], b[7].
  const float b[] = {9, 10, 9, 9, 20, 9, 9, 30, 9};
  EXPECT_EQ(tile_dot_fp(a, b + 1, 3, 3), 1 * 10.0f + 2 * 20.0f + 3 * 30.0f);
}

// s = s + a*b must be two roundings, never a fused multiply-add: with s = -1 and
// a = b = 1 + 2^-12 the product 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11 (tie, even), so the
// result is 2^-11; a fused operation would give 2^-11 + 2^-24.
TEST(Mac, NoFusedMultiplyAdd) {
  const float x = 1.0f + std::ldexp(1.0f, -12);
  const float a[] = {-1.0f, x};
  const float b[] = {1.0f, x};
  EXPECT_EQ(tile_dot_fp(a, b, 2, 1), std::ldexp(1.0f, -11));
}

TEST(Mac, AccumulateIsOneMoreFp32Add) {
  const float a[] = {1.0f, 1.0f};
  const float b[] = {std::ldexp(1.0f, -24), std::ldexp(1.0f, -24)};
  const float s = tile_dot_fp(a, b, 2, 1);  // 2^-23, exact
  EXPECT_EQ(s, std::ldexp(1.0f, -23));
  // acc + s with acc = 1: 1 + 2^-23 exact; adding the products one by one into acc would
  // give 1 (two ties to even).
  EXPECT_EQ(accumulate_fp(1.0f, s), 1.0f + std::ldexp(1.0f, -23));
  EXPECT_EQ(bits(accumulate_fp(-0.0f, -0.0f)), bits(-0.0f));
  EXPECT_EQ(bits(accumulate_fp(kInf, -kInf)), kFP32NaN);  // canonical, not x86's 0xFFC00000
  const float inf_a[] = {kInf};
  const float zero_b[] = {0.0f};
  EXPECT_EQ(bits(tile_dot_fp(inf_a, zero_b, 1, 1)), kFP32NaN);
}

TEST(Mac, MatmulOverwriteAndAccumulate) {
  // A 2x3, B 3x2 (row-major, B padded to stride 4), C 2x2 (stride 3).
  const float a[] = {1, 2, 3, 4, 5, 6};
  const float b[] = {1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0, 0};
  float c[] = {100, 200, -1, 300, 400, -1};
  const MatmulShape sh{.m = 2, .n = 2, .k = 3, .a_stride = 3, .b_stride = 4, .c_stride = 3};
  matmul_fp(a, b, c, sh, /*accumulate=*/true);
  const float want_acc[] = {100 + 22, 200 + 28, -1, 300 + 49, 400 + 64, -1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c[i], want_acc[i]) << i;
  matmul_fp(a, b, c, sh, /*accumulate=*/false);
  const float want_over[] = {22, 28, -1, 49, 64, -1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c[i], want_over[i]) << i;
}

TEST(Mac, Int8ProductsSumAndWrap) {
  const int8_t a[] = {-128, 127, -1, 5};
  const int8_t b[] = {-128, 127, 127, -3};
  NumericEvents ev;
  EXPECT_EQ(tile_dot_int8(a, b, 4, 1, &ev), 16384 + 16129 - 127 - 15);
  EXPECT_EQ(ev.int_overflow, 0u);
  // 131072 products of (-128)*(-128) = 2^14 sum to 2^31: the last add wraps to INT32_MIN.
  std::vector<int8_t> big(131072, -128);
  EXPECT_EQ(tile_dot_int8(big.data(), big.data(), big.size(), 1, &ev), INT32_MIN);
  EXPECT_EQ(ev.int_overflow, 1u);
  // 131073 products: one more 2^14 from INT32_MIN, no second wrap.
  big.push_back(-128);
  EXPECT_EQ(tile_dot_int8(big.data(), big.data(), big.size(), 1, &ev), INT32_MIN + 16384);
  EXPECT_EQ(ev.int_overflow, 2u);
  // Accumulator add wraps both ways and counts each wrap.
  EXPECT_EQ(accumulate_int32(INT32_MAX, 1, &ev), INT32_MIN);
  EXPECT_EQ(accumulate_int32(INT32_MIN, -1, &ev), INT32_MAX);
  EXPECT_EQ(accumulate_int32(INT32_MIN, INT32_MAX, &ev), -1);
  EXPECT_EQ(ev.int_overflow, 4u);
  EXPECT_EQ(accumulate_int32(5, -7, nullptr), -2);
}

TEST(Mac, Int8MatmulAccumulateWrapIsCounted) {
  const int8_t a[] = {127, 127};
  const int8_t b[] = {127, 127};
  int32_t c[] = {INT32_MAX - 100};
  const MatmulShape sh{.m = 1, .n = 1, .k = 2, .a_stride = 2, .b_stride = 1, .c_stride = 1};
  NumericEvents ev;
  matmul_int8(a, b, c, sh, /*accumulate=*/true, &ev);
  EXPECT_EQ(c[0], static_cast<int32_t>(static_cast<uint32_t>(INT32_MAX - 100) + 32258u));
  EXPECT_EQ(ev.int_overflow, 1u);
  matmul_int8(a, b, c, sh, /*accumulate=*/false, &ev);
  EXPECT_EQ(c[0], 32258);
  EXPECT_EQ(ev.int_overflow, 1u);
}

// Random FP8 tiles against a straightforward loop written from the doc.
TEST(Mac, RandomFp8TilesMatchTheDocLoop) {
  constexpr uint64_t kSeed = 0xACC0;
  std::printf("Mac.RandomFp8TilesMatchTheDocLoop: seed 0x%llx\n", static_cast<unsigned long long>(kSeed));
  std::mt19937_64 rng(kSeed);
  for (int t = 0; t < 2000; ++t) {
    const size_t k = 1 + rng() % 300;
    std::vector<float> a(k), b(k * 2);
    for (auto& v : a) v = e4m3_to_f32(static_cast<uint8_t>(rng() & 0xF7));  // avoid NaN codes
    for (auto& v : b) v = e5m2_to_f32(static_cast<uint8_t>((rng() % 0x7C) | (rng() & 0x80)));
    float s = 0.0f;
    for (size_t kk = 0; kk < k; ++kk) {
      const float p = a[kk] * b[kk * 2];
      s = s + p;
    }
    ASSERT_EQ(bits(tile_dot_fp(a.data(), b.data(), k, 2)), bits(s)) << "seed " << kSeed << " tile " << t;
  }
}

}  // namespace
}  // namespace tessera::num
