// Matrix-engine MAC semantics (docs/numerics.md, "MAC").
#include "common/numerics/mac.h"

#include <cfloat>

#if defined(__FAST_MATH__)
#error "tessera_numerics must not be built with -ffast-math"
#endif
static_assert(FLT_EVAL_METHOD == 0, "float expressions must be evaluated in float (x86-64 SSE)");

namespace tessera::num {

float tile_dot_fp(const float* a, const float* b, size_t k, size_t b_stride) {
  float s = 0.0f;  // +0.0
  for (size_t kk = 0; kk < k; ++kk) {
    const float p = a[kk] * b[kk * b_stride];  // exact for FP8/BF16 operands (unless out of FP32 range)
    s = s + p;                                 // rounded RNE; the build forbids contraction into an FMA
  }
  return canonicalize(s);
}

int32_t accumulate_int32(int32_t acc, int32_t partial, NumericEvents* ev) {
  const int64_t wide = static_cast<int64_t>(acc) + static_cast<int64_t>(partial);
  const auto wrapped = static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(partial));
  if (ev && wide != wrapped) ++ev->int_overflow;
  return wrapped;
}

int32_t tile_dot_int8(const int8_t* a, const int8_t* b, size_t k, size_t b_stride, NumericEvents* ev) {
  int32_t s = 0;
  for (size_t kk = 0; kk < k; ++kk) {
    const int32_t p = static_cast<int32_t>(a[kk]) * static_cast<int32_t>(b[kk * b_stride]);  // |p| <= 2^14
    s = accumulate_int32(s, p, ev);
  }
  return s;
}

float accumulate_fp(float acc, float partial) { return canonicalize(acc + partial); }

void matmul_fp(const float* a, const float* b, float* c, const MatmulShape& sh, bool accumulate) {
  for (size_t i = 0; i < sh.m; ++i) {
    for (size_t j = 0; j < sh.n; ++j) {
      const float s = tile_dot_fp(a + i * sh.a_stride, b + j, sh.k, sh.b_stride);
      float& out = c[i * sh.c_stride + j];
      out = accumulate ? accumulate_fp(out, s) : s;
    }
  }
}

void matmul_int8(const int8_t* a, const int8_t* b, int32_t* c, const MatmulShape& sh, bool accumulate,
                 NumericEvents* ev) {
  for (size_t i = 0; i < sh.m; ++i) {
    for (size_t j = 0; j < sh.n; ++j) {
      const int32_t s = tile_dot_int8(a + i * sh.a_stride, b + j, sh.k, sh.b_stride, ev);
      int32_t& out = c[i * sh.c_stride + j];
      out = accumulate ? accumulate_int32(out, s, ev) : s;
    }
  }
}

}  // namespace tessera::num
