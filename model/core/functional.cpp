#include "model/core/functional.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

#include "common/numerics/mac.h"
#include "common/numerics/vector_math.h"

namespace tessera::model {

using isa::Opcode;
using isa::Space;
using num::DType;

num::Overflow store_overflow(DType t) {
  return (t == DType::FP8_E4M3 || t == DType::FP8_E5M2) ? num::Overflow::Saturate : num::Overflow::NonSaturating;
}

namespace {

uint32_t load_bits(const SparseMemory& m, uint64_t addr, unsigned bytes) {
  uint8_t b[4] = {0, 0, 0, 0};
  m.read(addr, b, bytes);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

void store_bits(SparseMemory& m, uint64_t addr, uint32_t v, unsigned bytes) {
  const uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
  m.write(addr, b, bytes);
}

float load_value(const SparseMemory& m, uint64_t addr, DType t) {
  return num::decode(t, load_bits(m, addr, num::dtype_bytes(t)));
}

void store_value(SparseMemory& m, uint64_t addr, DType t, float v, num::NumericEvents& ev) {
  store_bits(m, addr, num::encode(t, v, store_overflow(t), &ev), num::dtype_bytes(t));
}

float fsub(float a, float b) { return num::add_f32(a, -b); }

// Total order of vargmax/vtopk, the order of max_f32: NaN above everything, then by value
// with -0 below +0.
int64_t order_key(float x) {
  const uint32_t b = std::bit_cast<uint32_t>(x);
  if ((b & 0x7FFFFFFFu) > 0x7F800000u) return INT64_MAX;
  const int64_t mag = b & 0x7FFFFFFFu;
  return (b >> 31) ? -mag - 1 : mag;
}

}  // namespace

void fn_copy(const isa::Instr& in, const MemoryOf& mem) {
  SparseMemory& src = mem(Space(in.src_space), uint32_t(in.acc_engine));
  SparseMemory& dst = mem(Space(in.dst_space), uint32_t(in.acc_engine));
  std::vector<uint8_t> row(in.len);
  // Row by row, in the order of the semantics, so overlapping copies behave as written.
  for (uint64_t p = 0; p < in.n2; ++p) {
    for (uint64_t r = 0; r < in.n1; ++r) {
      src.read(in.src_addr + p * in.src_stride2 + r * in.src_stride1, row.data(), in.len);
      dst.write(in.dst_addr + p * in.dst_stride2 + r * in.dst_stride1, row.data(), in.len);
    }
  }
}

void fn_matmul(const isa::Instr& in, SparseMemory& l1, SparseMemory& acc, num::NumericEvents& ev) {
  const uint64_t m = in.m, k = in.k, n = in.n;
  const bool os = in.dataflow == uint64_t(isa::Dataflow::os);
  const DType ta = DType(in.a_type), tb = DType(in.b_type);
  const unsigned ea = num::dtype_bytes(ta), eb = num::dtype_bytes(tb);
  auto a_addr = [&](uint64_t i, uint64_t kk) {
    return os ? in.a_addr + kk * in.a_stride + i * ea : in.a_addr + i * in.a_stride + kk * ea;
  };
  auto b_addr = [&](uint64_t kk, uint64_t j) { return in.b_addr + kk * in.b_stride + j * eb; };
  auto c_addr = [&](uint64_t i, uint64_t j) { return in.c_addr + i * in.c_stride + 4 * j; };
  const num::MatmulShape shape{m, n, k, k, n, n};
  if (ta == DType::INT8) {
    std::vector<int8_t> a(m * k), b(k * n);
    std::vector<int32_t> c(m * n);
    for (uint64_t i = 0; i < m; ++i)
      for (uint64_t kk = 0; kk < k; ++kk) a[i * k + kk] = int8_t(load_bits(l1, a_addr(i, kk), 1));
    for (uint64_t kk = 0; kk < k; ++kk)
      for (uint64_t j = 0; j < n; ++j) b[kk * n + j] = int8_t(load_bits(l1, b_addr(kk, j), 1));
    for (uint64_t i = 0; i < m; ++i)
      for (uint64_t j = 0; j < n; ++j) c[i * n + j] = int32_t(load_bits(acc, c_addr(i, j), 4));
    num::matmul_int8(a.data(), b.data(), c.data(), shape, in.accumulate != 0, &ev);
    for (uint64_t i = 0; i < m; ++i)
      for (uint64_t j = 0; j < n; ++j) store_bits(acc, c_addr(i, j), uint32_t(c[i * n + j]), 4);
    return;
  }
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t kk = 0; kk < k; ++kk) a[i * k + kk] = load_value(l1, a_addr(i, kk), ta);
  for (uint64_t kk = 0; kk < k; ++kk)
    for (uint64_t j = 0; j < n; ++j) b[kk * n + j] = load_value(l1, b_addr(kk, j), tb);
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) c[i * n + j] = std::bit_cast<float>(load_bits(acc, c_addr(i, j), 4));
  num::matmul_fp(a.data(), b.data(), c.data(), shape, in.accumulate != 0);
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) store_bits(acc, c_addr(i, j), std::bit_cast<uint32_t>(c[i * n + j]), 4);
}

void fn_vector(const isa::Instr& in, const MemoryOf& mem, uint32_t lanes, num::NumericEvents& ev) {
  const uint64_t rows = in.rows, cols = in.cols;
  const uint32_t eng = uint32_t(in.acc_engine);
  const DType t1 = DType(in.src1_type), t2 = DType(in.src2_type), td = DType(in.dst_type);
  const unsigned e1 = num::dtype_bytes(t1), e2 = num::dtype_bytes(t2), ed = num::dtype_bytes(td);
  SparseMemory& dst = mem(Space(in.dst_space), eng);
  const Opcode op = in.op;
  const bool has_src1 = op != Opcode::vfill;
  SparseMemory* s1 = has_src1 ? &mem(Space(in.src1_space), eng) : nullptr;
  const bool has_src2 = op == Opcode::vadd || op == Opcode::vsub || op == Opcode::vmul || op == Opcode::vmax ||
                        op == Opcode::vsub_row || op == Opcode::vmul_row || op == Opcode::vadd_col ||
                        op == Opcode::vmul_col || op == Opcode::vrope;
  SparseMemory* s2 = has_src2 ? &mem(Space(in.src2_space), eng) : nullptr;
  auto x1 = [&](uint64_t r, uint64_t c) { return load_value(*s1, in.src1_addr + r * in.src1_stride + c * e1, t1); };
  auto x2 = [&](uint64_t r, uint64_t c) { return load_value(*s2, in.src2_addr + r * in.src2_stride + c * e2, t2); };
  auto d_at = [&](uint64_t r, uint64_t c) { return in.dst_addr + r * in.dst_stride + c * ed; };
  // Every source element is read before any result is written (the results of one
  // instruction never feed its own operands).
  std::vector<float> row(cols), out(cols);
  const float imm = in.imm, imm2 = in.imm2;
  std::vector<std::vector<float>> results;
  std::vector<std::vector<uint32_t>> raw;  // vargmax / vtopk rows, written as raw bits
  results.reserve(rows);
  for (uint64_t r = 0; r < rows; ++r) {
    if (has_src1)
      for (uint64_t c = 0; c < cols; ++c) row[c] = x1(r, c);
    switch (op) {
      case Opcode::vadd:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::add_f32(row[c], x2(r, c));
        break;
      case Opcode::vsub:
        for (uint64_t c = 0; c < cols; ++c) out[c] = fsub(row[c], x2(r, c));
        break;
      case Opcode::vmul:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::mul_f32(row[c], x2(r, c));
        break;
      case Opcode::vmax:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::max_f32(row[c], x2(r, c));
        break;
      case Opcode::vsub_row: {
        const float s = x2(r, 0);
        for (uint64_t c = 0; c < cols; ++c) out[c] = fsub(row[c], s);
        break;
      }
      case Opcode::vmul_row: {
        const float s = x2(r, 0);
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::mul_f32(row[c], s);
        break;
      }
      case Opcode::vadd_col:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::add_f32(row[c], x2(0, c));
        break;
      case Opcode::vmul_col:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::mul_f32(row[c], x2(0, c));
        break;
      case Opcode::vscale:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::add_f32(num::mul_f32(row[c], imm), imm2);
        break;
      case Opcode::vcvt:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::mul_f32(row[c], imm);
        break;
      case Opcode::vfill:
        for (uint64_t c = 0; c < cols; ++c) out[c] = imm;
        break;
      case Opcode::vexp:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::v_exp(row[c]);
        break;
      case Opcode::vrecip:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::v_recip(row[c]);
        break;
      case Opcode::vrsqrt:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::v_rsqrt(row[c]);
        break;
      case Opcode::vtanh:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::v_tanh(row[c]);
        break;
      case Opcode::vsilu:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::v_silu(row[c]);
        break;
      case Opcode::vgelu:
        for (uint64_t c = 0; c < cols; ++c) out[c] = num::v_gelu_tanh(row[c]);
        break;
      case Opcode::vrsum:
        out[0] = num::reduce_sum(std::span<const float>(row.data(), cols), lanes);
        break;
      case Opcode::vrmax:
        out[0] = num::reduce_max(std::span<const float>(row.data(), cols), lanes);
        break;
      case Opcode::vrsumsq: {
        std::vector<float> sq(cols);
        for (uint64_t c = 0; c < cols; ++c) sq[c] = num::mul_f32(row[c], row[c]);
        out[0] = num::reduce_sum(std::span<const float>(sq.data(), cols), lanes);
        break;
      }
      case Opcode::vargmax: {
        uint64_t best = 0;
        for (uint64_t c = 1; c < cols; ++c)
          if (order_key(row[c]) > order_key(row[best])) best = c;
        raw.push_back({uint32_t(best)});
        break;
      }
      case Opcode::vtopk: {
        std::vector<uint32_t> order(cols);
        std::iota(order.begin(), order.end(), 0u);
        std::stable_sort(order.begin(), order.end(),
                         [&](uint32_t a, uint32_t b) { return order_key(row[a]) > order_key(row[b]); });
        std::vector<uint32_t> v;
        for (uint64_t i = 0; i < in.iarg; ++i) v.push_back(std::bit_cast<uint32_t>(num::canonicalize(row[order[i]])));
        for (uint64_t i = 0; i < in.iarg; ++i) v.push_back(order[i]);
        raw.push_back(std::move(v));
        break;
      }
      case Opcode::vrope: {
        const uint64_t h = cols / 2, t = r / std::max<uint64_t>(in.iarg, 1);
        for (uint64_t i = 0; i < h; ++i) {
          const float x0 = row[i], xh = row[i + h], cs = x2(t, i), sn = x2(t, h + i);
          out[i] = fsub(num::mul_f32(x0, cs), num::mul_f32(xh, sn));
          out[i + h] = num::add_f32(num::mul_f32(xh, cs), num::mul_f32(x0, sn));
        }
        break;
      }
      case Opcode::vmask: {
        const uint64_t p0 = in.iarg >> 16, g = std::max<uint64_t>(in.iarg & 0xffff, 1);
        for (uint64_t c = 0; c < cols; ++c) out[c] = c > p0 + r / g ? -std::numeric_limits<float>::infinity() : row[c];
        break;
      }
      default:
        break;
    }
    const bool reduce = op == Opcode::vrsum || op == Opcode::vrmax || op == Opcode::vrsumsq;
    if (op != Opcode::vargmax && op != Opcode::vtopk) results.emplace_back(out.begin(), out.begin() + (reduce ? 1 : cols));
  }
  if (op == Opcode::vargmax || op == Opcode::vtopk) {
    for (uint64_t r = 0; r < rows; ++r)
      for (uint64_t i = 0; i < raw[r].size(); ++i) store_bits(dst, in.dst_addr + r * in.dst_stride + 4 * i, raw[r][i], 4);
    return;
  }
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < results[r].size(); ++c) store_value(dst, d_at(r, c), td, results[r][c], ev);
}

std::vector<uint8_t> fn_send_payload(const isa::Instr& in, const MemoryOf& mem) {
  std::vector<uint8_t> out(in.bytes);
  mem(Space(in.send_space), uint32_t(in.acc_engine)).read(in.send_addr, out.data(), in.bytes);
  return out;
}

void fn_receive(const isa::Instr& in, const std::vector<uint8_t>& payload, const MemoryOf& mem,
                num::NumericEvents& ev) {
  SparseMemory& dst = mem(Space(in.recv_space), uint32_t(in.acc_engine));
  if (in.op == Opcode::crecv) {
    dst.write(in.recv_addr, payload.data(), payload.size());
    return;
  }
  const DType t = DType(in.dtype);
  const unsigned es = num::dtype_bytes(t);
  for (uint64_t off = 0; off + es <= in.bytes; off += es) {
    uint32_t bits = 0;
    for (unsigned b = 0; b < es; ++b) bits |= uint32_t(payload[off + b]) << (8 * b);
    const float x = num::decode(t, bits);
    const float old = load_value(dst, in.recv_addr + off, t);
    store_value(dst, in.recv_addr + off, t, num::add_f32(old, x), ev);
  }
}

}  // namespace tessera::model
