// Number formats and conversions (docs/numerics.md, "Formats" and "Conversions").
// Everything here is integer bit manipulation, written the way the RTL does it.
#include "common/numerics/fp.h"

#include <array>
#include <bit>
#include <cfloat>

// The contract is host float arithmetic: one IEEE rounding per operation, no fusion,
// no reassociation, no excess precision (docs/numerics.md, "FP32 arithmetic").
#if defined(__FAST_MATH__)
#error "tessera_numerics must not be built with -ffast-math"
#endif
static_assert(FLT_EVAL_METHOD == 0, "float expressions must be evaluated in float (x86-64 SSE)");

namespace tessera::num {

namespace {

constexpr std::array<std::string_view, 7> kNames = {"int8", "fp8_e4m3", "fp8_e5m2", "bf16",
                                                      "fp16", "fp32",     "int32"};

// A binary floating-point storage format narrower than FP32 (docs/numerics.md table).
struct Format {
  int exp_bits;        // E
  int man_bits;        // M (stored fraction bits)
  int bias;
  uint32_t max_mag;    // magnitude code (sign bit clear) of the largest finite value
  bool has_inf;        // IEEE-like: exponent all ones with zero fraction is Inf
  uint32_t inf_mag;    // magnitude code of +Inf (has_inf only)
  uint32_t nan_code;   // canonical NaN written by the encoder
};

constexpr Format kE4M3{kE4M3ExpBits, kE4M3ManBits, kE4M3Bias, kE4M3MaxFinite, kE4M3HasInf, 0, kE4M3NaN};
constexpr Format kE5M2{kE5M2ExpBits, kE5M2ManBits, kE5M2Bias, kE5M2MaxFinite, kE5M2HasInf, kE5M2Inf, kE5M2NaN};
constexpr Format kFP16{kFP16ExpBits, kFP16ManBits, kFP16Bias, kFP16MaxFinite, kFP16HasInf, kFP16Inf, kFP16NaN};
constexpr Format kBF16{kBF16ExpBits, kBF16ManBits, kBF16Bias, kBF16MaxFinite, kBF16HasInf, kBF16Inf, kBF16NaN};

constexpr uint32_t kF32Sign = 0x80000000u;
constexpr uint32_t kF32Inf = 0x7F800000u;

bool is_nan_mag(const Format& f, uint32_t mag) {
  if (!f.has_inf) return mag == ((1u << (f.exp_bits + f.man_bits)) - 1u);  // E4M3: S.1111.111 only
  return (mag >> f.man_bits) == ((1u << f.exp_bits) - 1u) && (mag & ((1u << f.man_bits) - 1u)) != 0;
}

// Exact decode to FP32 bits. Every value of these formats is an FP32 value; subnormals of
// E4M3/E5M2/FP16 become normal FP32 numbers (BF16 subnormals are FP32 subnormals and are
// handled by the caller). NaN -> kFP32NaN, Inf -> signed Inf.
uint32_t decode_bits(const Format& f, uint32_t code) {
  const int width = f.exp_bits + f.man_bits;
  const uint32_t sign = ((code >> width) & 1u) << 31;
  const uint32_t mag = code & ((1u << width) - 1u);
  if (is_nan_mag(f, mag)) return kFP32NaN;
  if (f.has_inf && mag == f.inf_mag) return sign | kF32Inf;
  if (mag == 0) return sign;
  const uint32_t man_mask = (1u << f.man_bits) - 1u;
  const uint32_t ef = mag >> f.man_bits;
  uint32_t mf = mag & man_mask;
  int exp;  // unbiased exponent of the leading one
  if (ef == 0) {
    // Subnormal: value = mf * 2^(1 - bias - M); normalise so the leading one is implied.
    const int p = std::bit_width(mf) - 1;  // index of the leading one
    exp = p + 1 - f.bias - f.man_bits;
    mf = (mf << (f.man_bits - p)) & man_mask;
  } else {
    exp = static_cast<int>(ef) - f.bias;
  }
  return sign | (static_cast<uint32_t>(exp + 127) << 23) | (mf << (23 - f.man_bits));
}

void count(NumericEvents* ev, uint64_t NumericEvents::*field) {
  if (ev) ++(ev->*field);
}

// FP32 -> narrower format, round to nearest, ties to even, with subnormal results.
uint32_t encode_bits(const Format& f, float x, Overflow mode, NumericEvents* ev) {
  const uint32_t u = std::bit_cast<uint32_t>(x);
  const uint32_t a = u & ~kF32Sign;
  const int width = f.exp_bits + f.man_bits;
  const uint32_t sign_out = (u >> 31) << width;
  if (a > kF32Inf) {  // NaN
    count(ev, &NumericEvents::nan_produced);
    return f.nan_code;
  }
  if (a == kF32Inf) {
    if (mode == Overflow::Saturate) {
      count(ev, &NumericEvents::saturated);
      return sign_out | f.max_mag;
    }
    if (f.has_inf) return sign_out | f.inf_mag;
    count(ev, &NumericEvents::nan_produced);
    return f.nan_code;
  }
  if (a == 0) return sign_out;

  // |x| = mant * 2^e_lsb exactly.
  const uint32_t e32 = a >> 23;
  const uint32_t mant = e32 == 0 ? (a & 0x7FFFFFu) : ((a & 0x7FFFFFu) | 0x800000u);
  const int e_lsb = e32 == 0 ? -149 : static_cast<int>(e32) - 150;
  const int e = e_lsb + std::bit_width(mant) - 1;  // exponent of the leading one
  const int emin = 1 - f.bias;                      // smallest normal exponent
  const int te = e > emin ? e : emin;               // exponent of the result's binade
  const int shift = te - f.man_bits - e_lsb;        // bits below the result's last place (>= 1 here)

  // r = round_half_even(mant / 2^shift), the result's significand in units of its last place.
  uint64_t r;
  if (shift <= 0) {
    r = static_cast<uint64_t>(mant) << -shift;  // not reached by the four formats; kept exact
  } else if (shift > 25) {
    r = 0;  // mant < 2^24 < half a unit
  } else {
    r = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
  }
  if (r == 0) {
    count(ev, &NumericEvents::underflow_to_zero);
    return sign_out;
  }
  // Binade offset and significand add into the code; a significand that rounded up to
  // 2^(M+1) (or a subnormal that rounded up to 2^M) carries into the exponent field.
  const uint64_t mag = (static_cast<uint64_t>(te - emin) << f.man_bits) + r;
  if (mag > f.max_mag) {
    if (mode == Overflow::Saturate) {
      count(ev, &NumericEvents::saturated);
      return sign_out | f.max_mag;
    }
    count(ev, &NumericEvents::overflow_nonfinite);
    return f.has_inf ? (sign_out | f.inf_mag) : f.nan_code;
  }
  return sign_out | static_cast<uint32_t>(mag);
}

// RNE of a finite float to an integer, clamped to [lo, hi]; NaN -> 0.
int64_t f32_to_int_sat(float x, int64_t lo, int64_t hi, NumericEvents* ev) {
  const uint32_t u = std::bit_cast<uint32_t>(x);
  const uint32_t a = u & ~kF32Sign;
  const bool neg = (u >> 31) != 0;
  if (a > kF32Inf) {
    count(ev, &NumericEvents::nan_produced);
    return 0;
  }
  const uint32_t e32 = a >> 23;
  int64_t v;
  if (e32 >= 181) {  // |x| >= 2^54 (or Inf): beyond every integer range here
    v = neg ? lo - 1 : hi + 1;
  } else {
    const uint32_t mant = e32 == 0 ? (a & 0x7FFFFFu) : ((a & 0x7FFFFFu) | 0x800000u);
    const int shift = e32 == 0 ? 149 : 150 - static_cast<int>(e32);
    uint64_t r;
    if (shift <= 0) {
      r = static_cast<uint64_t>(mant) << -shift;
    } else if (shift > 25) {
      r = 0;
    } else {
      r = mant >> shift;
      const uint32_t rem = mant & ((1u << shift) - 1u);
      const uint32_t half = 1u << (shift - 1);
      if (rem > half || (rem == half && (r & 1u))) ++r;
    }
    v = neg ? -static_cast<int64_t>(r) : static_cast<int64_t>(r);
  }
  if (v < lo || v > hi) {
    count(ev, &NumericEvents::saturated);
    return v < lo ? lo : hi;
  }
  return v;
}

}  // namespace

std::string_view dtype_name(DType t) { return kNames.at(static_cast<size_t>(t)); }

std::optional<DType> parse_dtype(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == s) return static_cast<DType>(i);
  return std::nullopt;
}

unsigned dtype_bytes(DType t) {
  switch (t) {
    case DType::INT8:
    case DType::FP8_E4M3:
    case DType::FP8_E5M2: return 1;
    case DType::BF16:
    case DType::FP16: return 2;
    case DType::FP32:
    case DType::INT32: return 4;
  }
  return 0;
}

void NumericEvents::add(const NumericEvents& o) {
  saturated += o.saturated;
  overflow_nonfinite += o.overflow_nonfinite;
  nan_produced += o.nan_produced;
  underflow_to_zero += o.underflow_to_zero;
  int_overflow += o.int_overflow;
}

float canonical_nan() { return std::bit_cast<float>(kFP32NaN); }
float canonicalize(float x) { return x != x ? canonical_nan() : x; }
float add_f32(float a, float b) { return canonicalize(a + b); }
float mul_f32(float a, float b) { return canonicalize(a * b); }

bool host_fp_environment_ok() {
  // volatile: the checks must run on the host's arithmetic unit at run time, not be folded.
  volatile float min_normal = std::bit_cast<float>(0x00800000u);
  volatile float half = 0.5f;
  volatile float min_sub = std::bit_cast<float>(0x00000001u);
  volatile float one = 1.0f;
  volatile float tie = std::bit_cast<float>(0x33800000u);        // 2^-24: half an ulp of 1
  volatile float three_halves = std::bit_cast<float>(0x34400000u);  // 1.5 * 2^-23
  const bool no_ftz = std::bit_cast<uint32_t>(static_cast<float>(min_normal * half)) == 0x00400000u;
  const bool no_daz = std::bit_cast<uint32_t>(static_cast<float>(min_sub + min_sub)) == 0x00000002u;
  const bool rne_tie_down = static_cast<float>(one + tie) == 1.0f;                       // 1 + half ulp -> 1 (even)
  const bool rne_tie_up = std::bit_cast<uint32_t>(static_cast<float>(one + three_halves)) == 0x3F800002u;  // 1 + 1.5 ulp -> 1 + 2 ulp
  return no_ftz && no_daz && rne_tie_down && rne_tie_up;
}

float e4m3_to_f32(uint8_t b) { return std::bit_cast<float>(decode_bits(kE4M3, b)); }
float e5m2_to_f32(uint8_t b) { return std::bit_cast<float>(decode_bits(kE5M2, b)); }
float fp16_to_f32(uint16_t b) { return std::bit_cast<float>(decode_bits(kFP16, b)); }
float bf16_to_f32(uint16_t b) {
  // The upper half of an FP32 word (this also covers BF16 subnormals); NaN -> canonical.
  if ((b & 0x7FFFu) > kBF16Inf) return canonical_nan();
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

uint8_t f32_to_e4m3(float x, Overflow mode, NumericEvents* ev) {
  return static_cast<uint8_t>(encode_bits(kE4M3, x, mode, ev));
}
uint8_t f32_to_e5m2(float x, Overflow mode, NumericEvents* ev) {
  return static_cast<uint8_t>(encode_bits(kE5M2, x, mode, ev));
}
uint16_t f32_to_bf16(float x, Overflow mode, NumericEvents* ev) {
  return static_cast<uint16_t>(encode_bits(kBF16, x, mode, ev));
}
uint16_t f32_to_fp16(float x, Overflow mode, NumericEvents* ev) {
  return static_cast<uint16_t>(encode_bits(kFP16, x, mode, ev));
}

int8_t f32_to_int8(float x, NumericEvents* ev) { return static_cast<int8_t>(f32_to_int_sat(x, -128, 127, ev)); }
int32_t f32_to_int32(float x, NumericEvents* ev) {
  return static_cast<int32_t>(f32_to_int_sat(x, INT32_MIN, INT32_MAX, ev));
}

float decode(DType t, uint32_t bits) {
  switch (t) {
    case DType::INT8: return static_cast<float>(static_cast<int8_t>(bits & 0xFFu));
    case DType::FP8_E4M3: return e4m3_to_f32(static_cast<uint8_t>(bits));
    case DType::FP8_E5M2: return e5m2_to_f32(static_cast<uint8_t>(bits));
    case DType::BF16: return bf16_to_f32(static_cast<uint16_t>(bits));
    case DType::FP16: return fp16_to_f32(static_cast<uint16_t>(bits));
    case DType::FP32: return std::bit_cast<float>(bits);
    case DType::INT32: return static_cast<float>(static_cast<int32_t>(bits));  // RNE
  }
  return 0.0f;
}

uint32_t encode(DType t, float x, Overflow mode, NumericEvents* ev) {
  switch (t) {
    case DType::INT8: return static_cast<uint8_t>(f32_to_int8(x, ev));
    case DType::FP8_E4M3: return f32_to_e4m3(x, mode, ev);
    case DType::FP8_E5M2: return f32_to_e5m2(x, mode, ev);
    case DType::BF16: return f32_to_bf16(x, mode, ev);
    case DType::FP16: return f32_to_fp16(x, mode, ev);
    case DType::FP32: return std::bit_cast<uint32_t>(x);
    case DType::INT32: return static_cast<uint32_t>(f32_to_int32(x, ev));
  }
  return 0;
}

}  // namespace tessera::num
