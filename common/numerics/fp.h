#pragma once
// Tessera number formats and conversions. The rules are written down in
// docs/numerics.md; the RTL implements exactly what this file does, bit for bit.
//
//   FP8 E4M3 / E5M2 : OCP 8-bit Floating Point Specification (OFP8), rev 1.0, 2023.
//   BF16, FP16, FP32: IEEE 754-2019 binary16 / binary32 (BF16 = top half of binary32).
//
// All conversions from FP32 round to nearest, ties to even (RNE) and produce
// subnormal results. Decoders are exact (every FP8/BF16/FP16/INT8 value is an FP32).
#include <cstdint>
#include <optional>
#include <string_view>

namespace tessera::num {

enum class DType : uint8_t { INT8, FP8_E4M3, FP8_E5M2, BF16, FP16, FP32, INT32 };

// "int8","fp8_e4m3","fp8_e5m2","bf16","fp16","fp32","int32"
std::string_view dtype_name(DType);
// Inverse of dtype_name (exact, lower-case match); nullopt for anything else.
std::optional<DType> parse_dtype(std::string_view);
// Storage size of one element in bytes.
unsigned dtype_bytes(DType);

// Counts of numeric events, so users can see low-precision overflow. One conversion
// records at most one event (docs/numerics.md, "Events").
struct NumericEvents {
  uint64_t saturated = 0;           // out-of-range value or Inf clamped to the largest finite value
  uint64_t overflow_nonfinite = 0;  // finite input overflowed to Inf (or NaN in E4M3), NonSaturating mode
  uint64_t nan_produced = 0;        // NaN input (-> NaN, or -> 0 for integers); Inf -> NaN (E4M3 NonSaturating)
  uint64_t underflow_to_zero = 0;   // non-zero finite input rounded to a (signed) zero
  uint64_t int_overflow = 0;        // int32 two's complement wrap-around in the integer MAC
  void add(const NumericEvents& o);
  bool operator==(const NumericEvents&) const = default;
};

// OCP OFP8 "satfinite" (Saturate) vs the non-saturating mode.
enum class Overflow { Saturate, NonSaturating };

// ---- Field widths and exponent bias of the narrow formats (docs/numerics.md) ----
// fp.cpp's codecs and, through scripts/gen_num_sv.py (tessera_num_pkg), the RTL's format
// conversions (rtl/vec_cvt.svh) read these; HasInf: the all-ones exponent with a zero fraction
// is Inf (IEEE-like), else E4M3's OCP encoding (no Inf, one NaN code per sign).
inline constexpr int kE4M3ExpBits = 4;
inline constexpr int kE4M3ManBits = 3;
inline constexpr int kE4M3Bias = 7;
inline constexpr bool kE4M3HasInf = false;
inline constexpr int kE5M2ExpBits = 5;
inline constexpr int kE5M2ManBits = 2;
inline constexpr int kE5M2Bias = 15;
inline constexpr bool kE5M2HasInf = true;
inline constexpr int kFP16ExpBits = 5;
inline constexpr int kFP16ManBits = 10;
inline constexpr int kFP16Bias = 15;
inline constexpr bool kFP16HasInf = true;
inline constexpr int kBF16ExpBits = 8;
inline constexpr int kBF16ManBits = 7;
inline constexpr int kBF16Bias = 127;
inline constexpr bool kBF16HasInf = true;

// ---- Canonical codes produced by the encoders (see docs/numerics.md) ----
// NaN payloads and NaN signs are never carried: every NaN any encoder, decoder or
// arithmetic function of this library produces is the one positive canonical code below.
inline constexpr uint8_t kE4M3MaxFinite = 0x7E;     // 448
inline constexpr uint8_t kE4M3NaN = 0x7F;           // 0.1111.111
inline constexpr uint8_t kE5M2MaxFinite = 0x7B;     // 57344
inline constexpr uint8_t kE5M2Inf = 0x7C;           // sign bit added for -Inf
inline constexpr uint8_t kE5M2NaN = 0x7E;           // 0.11111.10 (quiet)
inline constexpr uint16_t kBF16MaxFinite = 0x7F7F;  // 3.3895314e38
inline constexpr uint16_t kBF16Inf = 0x7F80;
inline constexpr uint16_t kBF16NaN = 0x7FC0;        // quiet
inline constexpr uint16_t kFP16MaxFinite = 0x7BFF;  // 65504
inline constexpr uint16_t kFP16Inf = 0x7C00;
inline constexpr uint16_t kFP16NaN = 0x7E00;        // quiet
inline constexpr uint32_t kFP32NaN = 0x7FC00000u;   // quiet

// The canonical FP32 NaN as a float, and x with any NaN replaced by it.
float canonical_nan();
float canonicalize(float x);

// FP32 arithmetic of the contract (rtl/fp32_add.sv, rtl/fp32_mul.sv): IEEE 754 binary32,
// RNE, subnormal inputs and outputs, every NaN result canonical.
float add_f32(float a, float b);
float mul_f32(float a, float b);

// True when the host's FP32 arithmetic is the contract: round to nearest even and no
// flush-to-zero / denormals-are-zero (e.g. a library built with -ffast-math can set FTZ
// for the whole process). The model and the tests check it once at start-up.
bool host_fp_environment_ok();

// ---- Decoders (exact) ----
float e4m3_to_f32(uint8_t);
float e5m2_to_f32(uint8_t);
float bf16_to_f32(uint16_t);
float fp16_to_f32(uint16_t);

// ---- Encoders from FP32 (RNE) ----
uint8_t f32_to_e4m3(float, Overflow, NumericEvents* ev = nullptr);
uint8_t f32_to_e5m2(float, Overflow, NumericEvents* ev = nullptr);
uint16_t f32_to_bf16(float, Overflow = Overflow::NonSaturating, NumericEvents* ev = nullptr);
uint16_t f32_to_fp16(float, Overflow = Overflow::NonSaturating, NumericEvents* ev = nullptr);
// RNE, saturate to [-128,127] (counted as saturated; +-Inf too), NaN -> 0 (counted as nan_produced).
int8_t f32_to_int8(float, NumericEvents* ev = nullptr);
// RNE, saturate to [INT32_MIN, INT32_MAX] (counted as saturated), NaN -> 0 (counted as nan_produced).
int32_t f32_to_int32(float, NumericEvents* ev = nullptr);

// ---- Storage-generic helpers used by memories ----
// bits are the little-endian element value, zero-extended to 32 bits (only the low
// dtype_bytes()*8 bits are read). INT8/INT32 decode to their float value (INT32 rounded RNE).
float decode(DType, uint32_t bits);
// Result zero-extended. Overflow applies to FP8/BF16/FP16; FP32 is stored unchanged.
uint32_t encode(DType, float, Overflow, NumericEvents* ev = nullptr);

}  // namespace tessera::num
