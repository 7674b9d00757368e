#pragma once
// Multiply-accumulate semantics of the matrix engines (docs/numerics.md, "MAC"). The
// RTL processing element (rtl/pe.sv) implements exactly these loops.
//
//   floating point (FP8 E4M3/E5M2, BF16 inputs decoded exactly by fp.h):
//     s = +0.0f;  for kk in 0..k-1 ascending: s = s + a[kk]*b[kk]   (FP32, RNE, no FMA)
//     acc = accumulate ? acc + s : s                                 (one more FP32 add)
//   int8 (both operands INT8):
//     s = 0;      for kk in 0..k-1 ascending: s = s + a[kk]*b[kk]   (int32, wraps)
//     acc = accumulate ? acc + s : s                                 (int32, wraps)
// Every NaN result is the canonical NaN 0x7FC00000; every int32 wrap is counted.
#include <cstddef>
#include <cstdint>

#include "common/numerics/fp.h"

namespace tessera::num {

// One output element's partial sum over k: a[kk] at a + kk, b[kk] at b + kk*b_stride.
float tile_dot_fp(const float* a, const float* b, size_t k, size_t b_stride);
int32_t tile_dot_int8(const int8_t* a, const int8_t* b, size_t k, size_t b_stride, NumericEvents* ev);

// Combine a partial sum with the accumulator memory entry (accumulate = 1).
float accumulate_fp(float acc, float partial);
int32_t accumulate_int32(int32_t acc, int32_t partial, NumericEvents* ev);

// One whole matmul instruction on decoded operands (spec/isa.yaml `matmul` semantics):
// for i < m, j < n: s = tile_dot(A row i, B column j); C[i][j] = accumulate ? C[i][j] + s : s.
// Strides are in elements: A[i][kk] = a[i*a_stride + kk], B[kk][j] = b[kk*b_stride + j],
// C[i][j] = c[i*c_stride + j].
struct MatmulShape {
  size_t m, n, k;
  size_t a_stride, b_stride, c_stride;
};
void matmul_fp(const float* a, const float* b, float* c, const MatmulShape& shape, bool accumulate);
void matmul_int8(const int8_t* a, const int8_t* b, int32_t* c, const MatmulShape& shape, bool accumulate,
                 NumericEvents* ev);

}  // namespace tessera::num
