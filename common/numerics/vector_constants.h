#pragma once
// The constants of the vector-engine algorithms (docs/numerics.md, "Vector-engine
// functions"), as FP32 bit patterns or integers, listed once. vector_math.cpp uses them
// and the build writes the same list into the SystemVerilog package tessera_num_pkg
// (gen_num_sv.cpp), so the RTL vector engine can never drift from the C++ algorithms.
//
// X(name, value, comment): `name` is the C++ identifier suffix and the SV localparam
// (upper-cased); `value` a 32-bit pattern (FP32 constants) or a small integer.
#include <cstdint>

#define TESSERA_VECTOR_CONSTANTS(X)                                                        \
  X(One, 0x3F800000u, "1.0")                                                               \
  X(Half, 0x3F000000u, "0.5")                                                              \
  X(ExpHi, 0x42B20000u, "89.0: above, e^x = +Inf")                                         \
  X(ExpLo, 0xC2D00000u, "-104.0: below, e^x = +0")                                         \
  X(Log2e, 0x3FB8AA3Bu, "RN(1/ln 2)")                                                      \
  X(RoundMagic, 0x4B400000u, "1.5 * 2^23: x + M - M rounds x to an integer (RNE)")         \
  X(Ln2Hi, 0x3F317200u, "ln 2 to 15 significant bits: n * Ln2Hi is exact")                 \
  X(Ln2Lo, 0x35BFBE8Eu, "RN(ln 2 - Ln2Hi)")                                                \
  X(ExpC2, 0x3F000000u, "e^r = 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4)")        \
  X(ExpC3, 0x3E2AAA6Cu, "")                                                                \
  X(ExpC4, 0x3D2AAA8Bu, "")                                                                \
  X(ExpC5, 0x3C090836u, "")                                                                \
  X(ExpC6, 0x3AB68B03u, "")                                                                \
  X(RecipMagic, 0x7EF311C3u, "reciprocal seed on the normalised significand")              \
  X(RsqrtMagic, 0x5F3759DFu, "reciprocal square-root seed on the normalised significand")  \
  X(RecipNewtonSteps, 3u, "Newton steps of recip")                                         \
  X(RsqrtNewtonSteps, 3u, "Newton steps of rsqrt")                                         \
  X(TanhSplit, 0x3F200000u, "0.625: below, tanh uses the odd polynomial")                  \
  X(TanhQ0, 0xBEAAAAABu, "T(a) = a + (a y) q(y), y = a^2")                                 \
  X(TanhQ1, 0x3E088875u, "")                                                               \
  X(TanhQ2, 0xBD5D0462u, "")                                                               \
  X(TanhQ3, 0x3CB254BBu, "")                                                               \
  X(TanhQ4, 0xBC08B50Bu, "")                                                               \
  X(TanhQ5, 0x3B1641E0u, "")                                                               \
  X(GeluK0, 0x3F4C422Au, "RN(sqrt(2/pi))")                                                 \
  X(GeluK1, 0x3D372713u, "RN(0.044715)")

namespace tessera::num::vc {

#define TESSERA_VC_DECLARE(name, value, comment) inline constexpr uint32_t k##name = value;
TESSERA_VECTOR_CONSTANTS(TESSERA_VC_DECLARE)
#undef TESSERA_VC_DECLARE

}  // namespace tessera::num::vc
