// The vector-engine lane RTL against tessera::num, bit for bit, for every lane function:
// corner values (zeros, subnormals, infinities, NaNs, the algorithms' thresholds and
// their neighbours) crossed with each other, then random operands drawn both from all
// bit patterns and from the ranges where each function does its real work.
// TESSERA_SEED overrides the seed; a failure prints it.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "Vvector_lane.h"
#include "common/numerics/fp.h"
#include "common/numerics/vector_constants.h"
#include "common/numerics/vector_math.h"

namespace {

namespace num = tessera::num;

// Lane function codes (rtl/vector_lane.sv).
enum Fn : uint8_t {
  kAdd, kSub, kMul, kMax, kScale, kSquare, kExp, kRecip, kRsqrt, kTanh, kSigmoid, kSilu, kGelu, kPass
};

float f(uint32_t b) { return std::bit_cast<float>(b); }
uint32_t u(float x) { return std::bit_cast<uint32_t>(x); }

uint32_t reference(Fn fn, uint32_t a, uint32_t b, uint32_t imm, uint32_t imm2) {
  switch (fn) {
    case kAdd: return u(num::add_f32(f(a), f(b)));
    case kSub: return u(num::add_f32(f(a), f(b ^ 0x80000000u)));
    case kMul: return u(num::mul_f32(f(a), f(b)));
    case kMax: return u(num::max_f32(f(a), f(b)));
    case kScale: return u(num::add_f32(num::mul_f32(f(a), f(imm)), f(imm2)));
    case kSquare: return u(num::mul_f32(f(a), f(a)));
    case kExp: return u(num::v_exp(f(a)));
    case kRecip: return u(num::v_recip(f(a)));
    case kRsqrt: return u(num::v_rsqrt(f(a)));
    case kTanh: return u(num::v_tanh(f(a)));
    case kSigmoid: return u(num::v_sigmoid(f(a)));
    case kSilu: return u(num::v_silu(f(a)));
    case kGelu: return u(num::v_gelu_tanh(f(a)));
    case kPass: return a;
  }
  return 0;
}

uint64_t seed_from_env() {
  const char* s = std::getenv("TESSERA_SEED");
  return s ? std::strtoull(s, nullptr, 0) : 20261123u;
}

std::vector<uint32_t> corner_values() {
  std::vector<uint32_t> v = {0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,
                             0x00800000, 0x80800000, 0x3F800000, 0xBF800000, 0x7F7FFFFF, 0xFF7FFFFF,
                             0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x3F000000,
                             0x40000000, 0xC0000000, 0x00400000, 0x00000003};
  for (uint32_t c : {num::vc::kExpHi, num::vc::kExpLo, num::vc::kTanhSplit, 0x42AE0000u /*87*/,
                     0xC2CE0000u /*-103*/, 0xC2BA0000u /*-93*/}) {
    for (int d = -2; d <= 2; ++d) {
      v.push_back(c + static_cast<uint32_t>(d));
      v.push_back((c + static_cast<uint32_t>(d)) ^ 0x80000000u);
    }
  }
  return v;
}

class LaneBench {
 public:
  uint32_t eval(Fn fn, uint32_t a, uint32_t b, uint32_t imm, uint32_t imm2) {
    lane_.en_i = 1;
    lane_.fn_i = fn;
    lane_.a_i = a;
    lane_.b_i = b;
    lane_.imm_i = imm;
    lane_.imm2_i = imm2;
    lane_.eval();
    return lane_.y_o;
  }
  // A lane without an element computes nothing and outputs 0 (the simulator skips it).
  uint32_t eval_idle(Fn fn, uint32_t a) {
    lane_.en_i = 0;
    lane_.fn_i = fn;
    lane_.a_i = a;
    lane_.eval();
    return lane_.y_o;
  }

 private:
  Vvector_lane lane_;
};

void check(LaneBench& bench, Fn fn, uint32_t a, uint32_t b, uint32_t imm, uint32_t imm2, uint64_t seed,
           int& failures) {
  const uint32_t got = bench.eval(fn, a, b, imm, imm2);
  const uint32_t want = reference(fn, a, b, imm, imm2);
  if (got != want && failures < 10) {
    ++failures;
    ADD_FAILURE() << "fn " << int(fn) << " a=0x" << std::hex << a << " b=0x" << b << " imm=0x" << imm
                  << " imm2=0x" << imm2 << ": rtl 0x" << got << ", numerics 0x" << want << std::dec
                  << " (seed " << seed << ")";
  }
}

constexpr Fn kAllFns[] = {kAdd, kSub, kMul, kMax, kScale, kSquare, kExp, kRecip, kRsqrt,
                          kTanh, kSigmoid, kSilu, kGelu, kPass};

TEST(VectorLaneRtl, CornerValuesEveryFunction) {
  LaneBench bench;
  const auto corners = corner_values();
  int failures = 0;
  for (Fn fn : kAllFns)
    for (uint32_t a : corners)
      for (uint32_t b : corners) check(bench, fn, a, b, b, a, 0, failures);
  EXPECT_EQ(failures, 0);
}

// Operands where each function does its real work: |x| up to ~120 (exp's whole range and
// beyond both cut-offs), plus uniformly random bit patterns (all exponents, NaNs, subnormals).
TEST(VectorLaneRtl, RandomOperandsEveryFunction) {
  const uint64_t seed = seed_from_env();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> moderate(-120.0f, 120.0f);
  std::uniform_real_distribution<float> small(-1.0f, 1.0f);
  LaneBench bench;
  int failures = 0;
  constexpr int kPerFunction = 60000;
  for (Fn fn : kAllFns) {
    for (int i = 0; i < kPerFunction; ++i) {
      uint32_t a, b;
      switch (i % 3) {
        case 0: a = static_cast<uint32_t>(rng()); b = static_cast<uint32_t>(rng()); break;
        case 1: a = u(moderate(rng)); b = u(moderate(rng)); break;
        default: a = u(small(rng)); b = u(small(rng)); break;
      }
      check(bench, fn, a, b, u(small(rng)), u(moderate(rng)), seed, failures);
    }
  }
  EXPECT_EQ(failures, 0) << "seed " << seed;
}

// The enable: an idle lane outputs 0 whatever its operands (so it need not be evaluated), and
// the same lane computes again once enabled.
TEST(VectorLaneRtl, IdleLaneOutputsZero) {
  LaneBench bench;
  for (Fn fn : kAllFns) {
    EXPECT_EQ(bench.eval_idle(fn, 0x3F800000u), 0u);
    EXPECT_NE(bench.eval(fn, 0x3F800000u, 0x40000000u, 0x3F000000u, 0x3F800000u), 0u);
  }
}

}  // namespace
