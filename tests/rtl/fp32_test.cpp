// The FP32 adder and multiplier RTL against host float arithmetic, which is the
// numerics contract (docs/numerics.md): every result must match bit for bit,
// including signed zeros, subnormals and infinities; NaN results are canonical.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "Vfp32_add.h"
#include "Vfp32_mul.h"

namespace {

constexpr uint64_t kSeed = 20261123;

// Operands that exercise every path: zeros, subnormal edges, normal edges, Inf, NaNs.
std::vector<uint32_t> corner_values() {
  std::vector<uint32_t> v = {0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,
                             0x00800000, 0x80800000, 0x00800001, 0x3F800000, 0xBF800000, 0x3F800001,
                             0x3FFFFFFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F000000, 0x7F800000, 0xFF800000,
                             0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA00000, 0x33800000, 0x34000000,
                             0x4B000000, 0x4B7FFFFF, 0x1F800000, 0x20000000, 0x5F800000, 0x40490FDB};
  return v;
}

template <typename Model>
uint32_t eval(Model& m, uint32_t a, uint32_t b) {
  m.a_i = a;
  m.b_i = b;
  m.eval();
  return m.y_o;
}

// Host arithmetic with the contract's one deviation: NaN results are canonical.
uint32_t canonical(float f) { return f != f ? 0x7FC00000u : std::bit_cast<uint32_t>(f); }
uint32_t host_add(uint32_t a, uint32_t b) { return canonical(std::bit_cast<float>(a) + std::bit_cast<float>(b)); }
uint32_t host_mul(uint32_t a, uint32_t b) { return canonical(std::bit_cast<float>(a) * std::bit_cast<float>(b)); }

// Random operands biased toward interesting exponent relations (close exponents for
// cancellation, far ones for alignment, tiny ones for underflow).
uint32_t random_operand(std::mt19937_64& rng) {
  const uint32_t bits = static_cast<uint32_t>(rng());
  switch (rng() % 4) {
    case 0: return bits;                                            // anything
    case 1: return (bits & 0x807FFFFF) | ((120u + rng() % 16) << 23);  // near 1.0
    case 2: return bits & 0x80FFFFFF;                                // subnormal / tiny
    default: return (bits & 0x807FFFFF) | ((rng() % 255) << 23);     // finite
  }
}

template <typename Model>
void check_all(Model& m, uint32_t (*host)(uint32_t, uint32_t), const char* what) {
  std::printf("%s: seed %llu\n", what, static_cast<unsigned long long>(kSeed));
  const auto corners = corner_values();
  for (uint32_t a : corners)
    for (uint32_t b : corners)
      ASSERT_EQ(eval(m, a, b), host(a, b)) << what << std::hex << " a=0x" << a << " b=0x" << b;
  std::mt19937_64 rng(kSeed);
  for (int i = 0; i < 2000000; ++i) {
    const uint32_t a = random_operand(rng);
    uint32_t b = random_operand(rng);
    if (i % 3 == 0) b = (a ^ 0x80000000u) + static_cast<uint32_t>(rng() % 5) - 2u;  // near-cancellation
    ASSERT_EQ(eval(m, a, b), host(a, b)) << what << std::hex << " a=0x" << a << " b=0x" << b << std::dec
                                         << " seed " << kSeed << " iteration " << i;
  }
}

TEST(Fp32Rtl, AddMatchesHostFloat) {
  Vfp32_add add;
  check_all(add, host_add, "fp32_add");
}

TEST(Fp32Rtl, MulMatchesHostFloat) {
  Vfp32_mul mul;
  check_all(mul, host_mul, "fp32_mul");
}

}  // namespace
