// The vector engine's format conversion (rtl/vec_cvt.sv, functions in vec_cvt.svh) against
// the model's `vcvt` arithmetic, bit for bit: decode the source format
// (tessera::num::decode), multiply by the scale (num::mul_f32), encode to the destination
// format as the functional model stores it (num::encode with model::store_overflow).
// Every code of the 1- and 2-byte formats, and FP32/INT32 sources drawn from corner values,
// all bit patterns and the ranges where rounding, subnormals and overflow happen, each with
// scales that keep, shrink and grow the values. TESSERA_SEED overrides the seed.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "Vvec_cvt.h"
#include "common/numerics/fp.h"
#include "model/core/functional.h"

namespace {

namespace num = tessera::num;
using num::DType;

constexpr DType kAll[] = {DType::INT8, DType::FP8_E4M3, DType::FP8_E5M2, DType::BF16,
                          DType::FP16, DType::FP32,     DType::INT32};

uint32_t u(float x) { return std::bit_cast<uint32_t>(x); }

uint32_t reference(DType src, DType dst, uint32_t raw, uint32_t scale) {
  const float x = num::mul_f32(num::decode(src, raw), std::bit_cast<float>(scale));
  return num::encode(dst, x, tessera::model::store_overflow(dst));
}

class Cvt {
 public:
  uint32_t run(DType src, DType dst, uint32_t raw, uint32_t scale) {
    top_.src_fmt_i = uint8_t(src);
    top_.dst_fmt_i = uint8_t(dst);
    top_.raw_i = raw;
    top_.scale_i = scale;
    top_.eval();
    return top_.raw_o;
  }

 private:
  Vvec_cvt top_;
};

// Scales: identity, exact powers of two, quantisation-like factors, and the specials.
std::vector<uint32_t> scales() {
  return {u(1.0f), u(0.5f), u(-2.0f), u(448.0f / 3.7f), u(1.0f / 127.0f), u(3.0e-39f), u(1.0e30f),
          0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x00000001u};
}

// Sources of a format: every code of 1- and 2-byte formats, else corners and random words.
std::vector<uint32_t> sources(DType t, std::mt19937_64& rng) {
  std::vector<uint32_t> v;
  const unsigned bytes = num::dtype_bytes(t);
  if (bytes < 4) {
    // The engine reads 4 bytes per element: the bytes above a narrow element must not matter.
    for (uint32_t c = 0; c < (1u << (8 * bytes)); ++c) v.push_back(c | (c % 2 ? uint32_t(rng()) << (8 * bytes) : 0u));
    return v;
  }
  const uint32_t corners[] = {0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
                              0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001, 0x3F800000, 0x43FF8000,
                              0x43E00000, 0x47600000, 0x477FE000, 0x7F7F8000, 0x477FF000, 0x42FE0000, 0x42FF0000,
                              0x4EFFFFFF, 0x4F000000, 0xCF000000, 0x7FFFFFFF, 0x80000001, 0x00FFFFFF, 0x01000001};
  for (uint32_t c : corners) v.push_back(c);
  for (int i = 0; i < 60000; ++i) {
    const uint32_t pick = uint32_t(rng() % 4);
    if (pick == 0) {
      v.push_back(uint32_t(rng()));
    } else {
      // Around each narrow format's range and rounding points: exponents near their
      // subnormal and overflow thresholds, and integers near the INT8/INT32 limits.
      std::uniform_int_distribution<int> e(pick == 1 ? 100 : 110, pick == 1 ? 160 : 145);
      v.push_back(uint32_t(rng() & 0x807FFFFFu) | uint32_t(e(rng)) << 23);
    }
  }
  return v;
}

TEST(VecCvt, EveryFormatPairMatchesTheModel) {
  const char* env = std::getenv("TESSERA_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 0) : 2026120701ull;
  std::printf("EveryFormatPairMatchesTheModel: seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  Cvt cvt;
  uint64_t checked = 0;
  for (DType src : kAll) {
    const std::vector<uint32_t> xs = sources(src, rng);
    for (DType dst : kAll) {
      int failures = 0;
      for (uint32_t scale : scales()) {
        for (uint32_t x : xs) {
          const uint32_t want = reference(src, dst, x, scale), got = cvt.run(src, dst, x, scale);
          ++checked;
          if (got != want && ++failures <= 3)
            ADD_FAILURE() << num::dtype_name(src) << " -> " << num::dtype_name(dst) << ": raw " << std::hex << x
                          << " scale " << scale << ": RTL " << got << ", model " << want << std::dec << "; seed "
                          << seed;
        }
      }
    }
  }
  std::printf("%llu conversions compared\n", static_cast<unsigned long long>(checked));
}

}  // namespace
