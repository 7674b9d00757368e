// A hand-written program on the functional model, GEMM + softmax + RMSNorm, against a
// reference computed here directly from the semantics of spec/isa.yaml with the numerics
// library (docs/numerics.md): the bytes must be identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "common/config/config.h"
#include "common/numerics/fp.h"
#include "common/numerics/mac.h"
#include "common/numerics/vector_math.h"
#include "model/core/model.h"

namespace tessera::model {
namespace {

using isa::DType;
using isa::Instr;
using isa::Opcode;
using isa::Space;

uint16_t bit(int u) { return uint16_t(1u << u); }
constexpr int kDma0 = 0, kDma1 = 1, kMx0 = 4, kVec = 12;

Instr vec(Opcode op, Space ds, uint64_t da, uint64_t dstride, DType dt, Space s1, uint64_t a1, uint64_t s1stride,
          DType t1, uint64_t rows, uint64_t cols) {
  Instr v;
  v.op = op;
  v.unit = kVec;
  v.dst_space = uint64_t(ds);
  v.dst_addr = da;
  v.dst_stride = dstride;
  v.dst_type = uint64_t(dt);
  v.src1_space = uint64_t(s1);
  v.src1_addr = a1;
  v.src1_stride = s1stride;
  v.src1_type = uint64_t(t1);
  v.rows = rows;
  v.cols = cols;
  return v;
}

Instr with_src2(Instr v, Space s2, uint64_t a2, uint64_t stride, DType t2) {
  v.src2_space = uint64_t(s2);
  v.src2_addr = a2;
  v.src2_stride = stride;
  v.src2_type = uint64_t(t2);
  return v;
}

TEST(Functional, GemmSoftmaxRmsnormMatchTheNumericsReference) {
  config::Arch cfg = config::load_arch("tiny");  // 8 x 8 array, 8 lanes
  const uint64_t M = 8, K = 16, N = 8, L = uint64_t(cfg->vector.lanes);
  const uint32_t seed = 4242;
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  // A (M x K), B (K x N) in BF16, gain g (N) in BF16, in HBM.
  std::vector<uint16_t> a(M * K), b(K * N), g(N);
  for (auto& x : a) x = num::f32_to_bf16(dist(rng));
  for (auto& x : b) x = num::f32_to_bf16(dist(rng));
  for (auto& x : g) x = num::f32_to_bf16(0.5f + dist(rng) / 4);
  auto bytes_of = [](const std::vector<uint16_t>& v) {
    std::vector<uint8_t> out(v.size() * 2);
    std::memcpy(out.data(), v.data(), out.size());
    return out;
  };
  const uint64_t hA = 0, hB = 4096, hG = 8192, hOut = 12288, hQ = 16384;
  isa::Program prog;
  prog.arch_name = cfg->name;
  prog.arch_fingerprint = config::fingerprint(*cfg);
  prog.data.push_back({0, Space::hbm, hA, bytes_of(a)});
  prog.data.push_back({0, Space::hbm, hB, bytes_of(b)});
  prog.data.push_back({0, Space::hbm, hG, bytes_of(g)});

  // L1 layout.
  const uint64_t lA = 0, lB = 1024, lG = 2048, lMax = 3072, lX = 4096, lSum = 5120, lRcp = 5632, lP = 6144,
                 lSq = 7168, lR = 7680, lY = 8192, lYb = 8704, lQ = 9216;
  std::vector<Instr> code;
  auto load = [&](uint64_t dst, uint64_t src, uint64_t len, int signal) {
    Instr in;
    in.op = Opcode::load;
    in.unit = kDma0;
    in.dst_space = uint64_t(Space::l1);
    in.src_space = uint64_t(Space::hbm);
    in.dst_addr = dst;
    in.src_addr = src;
    in.len = len;
    in.n1 = 1;
    in.n2 = 1;
    in.signal = signal ? bit(signal) : 0;
    code.push_back(in);
  };
  load(lA, hA, M * K * 2, 0);
  load(lB, hB, K * N * 2, 0);
  load(lG, hG, N * 2, kMx0);  // one token covers the three loads (dma0 runs in order)
  // C = A B as two K tiles of 8 (k <= R) accumulated in the accumulator of mx0.
  for (uint64_t q = 0; q < 2; ++q) {
    Instr mm;
    mm.op = Opcode::matmul;
    mm.unit = kMx0;
    mm.a_type = mm.b_type = uint64_t(DType::bf16);
    mm.accumulate = q;
    mm.a_addr = lA + q * 8 * 2;
    mm.b_addr = lB + q * 8 * N * 2;
    mm.c_addr = 0;
    mm.m = M;
    mm.k = 8;
    mm.n = N;
    mm.a_stride = K * 2;
    mm.b_stride = N * 2;
    mm.c_stride = 4 * 8;
    if (q == 0) mm.wait = bit(kDma0);
    if (q == 1) mm.signal = bit(kVec);
    code.push_back(mm);
  }
  // Softmax of each row of C: vrmax, vsub_row, vexp, vrsum, vrecip, vmul_row.
  Instr v = vec(Opcode::vrmax, Space::l1, lMax, 4, DType::fp32, Space::acc, 0, 32, DType::fp32, M, N);
  v.wait = bit(kMx0);
  code.push_back(v);
  code.push_back(with_src2(vec(Opcode::vsub_row, Space::l1, lX, 32, DType::fp32, Space::acc, 0, 32, DType::fp32, M, N),
                           Space::l1, lMax, 4, DType::fp32));
  code.push_back(vec(Opcode::vexp, Space::l1, lX, 32, DType::fp32, Space::l1, lX, 32, DType::fp32, M, N));
  code.push_back(vec(Opcode::vrsum, Space::l1, lSum, 4, DType::fp32, Space::l1, lX, 32, DType::fp32, M, N));
  code.push_back(vec(Opcode::vrecip, Space::l1, lRcp, 4, DType::fp32, Space::l1, lSum, 4, DType::fp32, M, 1));
  code.push_back(with_src2(vec(Opcode::vmul_row, Space::l1, lP, 32, DType::fp32, Space::l1, lX, 32, DType::fp32, M, N),
                           Space::l1, lRcp, 4, DType::fp32));
  // RMSNorm of P: vrsumsq, vscale (mean + eps), vrsqrt, vmul_row, vmul_col (gain).
  code.push_back(vec(Opcode::vrsumsq, Space::l1, lSq, 4, DType::fp32, Space::l1, lP, 32, DType::fp32, M, N));
  const float inv_n = 1.0f / float(N), eps = 1e-5f;
  v = vec(Opcode::vscale, Space::l1, lSq, 4, DType::fp32, Space::l1, lSq, 4, DType::fp32, M, 1);
  v.imm = inv_n;
  v.imm2 = eps;
  code.push_back(v);
  code.push_back(vec(Opcode::vrsqrt, Space::l1, lR, 4, DType::fp32, Space::l1, lSq, 4, DType::fp32, M, 1));
  code.push_back(with_src2(vec(Opcode::vmul_row, Space::l1, lY, 32, DType::fp32, Space::l1, lP, 32, DType::fp32, M, N),
                           Space::l1, lR, 4, DType::fp32));
  code.push_back(with_src2(vec(Opcode::vmul_col, Space::l1, lYb, 16, DType::bf16, Space::l1, lY, 32, DType::fp32, M, N),
                           Space::l1, lG, 0, DType::bf16));
  // Quantise to FP8 with a scale that saturates some values (events counted).
  v = vec(Opcode::vcvt, Space::l1, lQ, 8, DType::fp8_e4m3, Space::l1, lYb, 16, DType::bf16, M, N);
  v.imm = 2000.0f;
  v.signal = bit(kDma1);
  code.push_back(v);
  Instr st;
  st.op = Opcode::store;
  st.unit = kDma1;
  st.wait = bit(kVec);
  st.dst_space = uint64_t(Space::hbm);
  st.src_space = uint64_t(Space::l1);
  st.dst_addr = hOut;
  st.src_addr = lYb;
  st.len = M * N * 2;
  st.n1 = st.n2 = 1;
  code.push_back(st);
  st.wait = 0;
  st.dst_addr = hQ;
  st.src_addr = lQ;
  st.len = M * N;
  code.push_back(st);
  Instr halt;
  halt.op = Opcode::halt;
  halt.unit = 14;
  code.push_back(halt);
  prog.text.push_back(isa::TextSection{0, 0, code});

  Simulation sim(*cfg, prog, RunOptions{true});
  sim.run();
  const std::vector<uint8_t> got = sim.read_memory(0, 0, Space::hbm, 0, hOut, M * N * 2);
  const std::vector<uint8_t> got_q = sim.read_memory(0, 0, Space::hbm, 0, hQ, M * N);

  // Reference, from the semantics.
  std::vector<uint8_t> want(M * N * 2), want_q(M * N);
  num::NumericEvents ev;
  for (uint64_t i = 0; i < M; ++i) {
    float c[8];
    for (uint64_t j = 0; j < N; ++j) {
      float s[2];
      for (int q = 0; q < 2; ++q) {
        float x[8], y[8];
        for (int kk = 0; kk < 8; ++kk) {
          x[kk] = num::bf16_to_f32(a[i * K + q * 8 + kk]);
          y[kk] = num::bf16_to_f32(b[(q * 8 + kk) * N + j]);
        }
        s[q] = num::tile_dot_fp(x, y, 8, 1);
      }
      c[j] = num::accumulate_fp(s[0], s[1]);
    }
    const float mx = num::reduce_max(std::span<const float>(c, N), unsigned(L));
    float e[8], p[8], sq[8], y[8];
    for (uint64_t j = 0; j < N; ++j) e[j] = num::v_exp(num::add_f32(c[j], -mx));
    const float rcp = num::v_recip(num::reduce_sum(std::span<const float>(e, N), unsigned(L)));
    for (uint64_t j = 0; j < N; ++j) p[j] = num::mul_f32(e[j], rcp);
    for (uint64_t j = 0; j < N; ++j) sq[j] = num::mul_f32(p[j], p[j]);
    const float ms = num::add_f32(num::mul_f32(num::reduce_sum(std::span<const float>(sq, N), unsigned(L)), inv_n), eps);
    const float r = num::v_rsqrt(ms);
    for (uint64_t j = 0; j < N; ++j) {
      y[j] = num::mul_f32(num::mul_f32(p[j], r), num::bf16_to_f32(g[j]));
      const uint16_t yb = num::f32_to_bf16(y[j], num::Overflow::NonSaturating, &ev);
      want[(i * N + j) * 2] = uint8_t(yb);
      want[(i * N + j) * 2 + 1] = uint8_t(yb >> 8);
      want_q[i * N + j] = num::f32_to_e4m3(num::mul_f32(num::bf16_to_f32(yb), 2000.0f), num::Overflow::Saturate, &ev);
    }
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(got_q, want_q);
  EXPECT_NE(std::count(want.begin(), want.end(), 0), long(want.size()));  // not a run of zeros
  const Totals t = sim.totals();
  EXPECT_EQ(t.numeric.saturated, ev.saturated);
  EXPECT_GT(ev.saturated, 0u);  // the scale pushes the largest values past 448
  EXPECT_EQ(t.macs, M * K * N);
}

}  // namespace
}  // namespace tessera::model
