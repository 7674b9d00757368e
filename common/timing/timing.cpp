#include "common/timing/timing.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace tessera::timing {

// ---- matmul ----------------------------------------------------------------------------

MatmulTimes MatmulTimer::tile(uint64_t Q, const MatmulTile& t) {
  MatmulTimes r;
  r.Q = Q;
  // A dataflow change starts a fresh run after the predecessor completes.
  const bool fresh = !have_prev_ || prev_os_ != t.os;
  const uint64_t fresh_floor = have_prev_ ? prev_e_ + 1 : 0;
  if (!t.os) {
    if (fresh) {
      r.W = std::max(Q, fresh_floor);
      r.S = r.W + t.k;
    } else if (db_) {
      r.W = std::max(Q, prev_s_);
      r.S = std::max(r.W + t.k, prev_s_ + prev_len_);
    } else {
      r.W = std::max(Q, prev_e_);
      r.S = r.W + t.k;
    }
    r.E = std::max(r.S + t.m + R_ + t.n - 1, e_last_);
  } else {
    if (fresh) {
      r.S = std::max(Q, fresh_floor);
    } else if (db_) {
      r.S = std::max({Q, prev_s_ + prev_len_, prev2_e_});
    } else {
      r.S = std::max(Q, prev_e_);
    }
    r.W = r.S;
    r.D = std::max(r.S + t.k + t.m + t.n - 2, e_last_);
    r.E = r.D + R_ + 1;
  }
  prev2_e_ = fresh ? 0 : prev_e_;
  have_prev_ = true;
  prev_os_ = t.os;
  prev_s_ = r.S;
  prev_len_ = t.os ? t.k : t.m;
  prev_e_ = r.E;
  e_last_ = std::max(e_last_, r.E);
  next_q_ = std::max(Q + 1, r.S);
  return r;
}

uint64_t MatmulTimer::sync(uint64_t Q, bool is_push) {
  const uint64_t e = is_push ? std::max(Q, e_last_) : Q;
  e_last_ = std::max(e_last_, e);
  next_q_ = std::max(next_q_, Q + 1);
  return e;
}

// ---- vector ----------------------------------------------------------------------------

uint64_t ceil_log2(uint64_t x) {
  uint64_t r = 0;
  while ((uint64_t(1) << r) < x) ++r;
  return r;
}

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// Byte ranges one operand port reads or writes in the beat covering rows [r0, r1) and
// lane-group j of each row (columns [j*L, min((j+1)*L, cols))).
void operand_ranges(const VecOperand& op, OperandShape mode, uint64_t r0, uint64_t r1, uint64_t c0, uint64_t c1,
                    uint64_t iarg, std::vector<ByteRange>& out) {
  out.clear();
  for (uint64_t r = r0; r < r1; ++r) {
    switch (mode) {
      case OperandShape::none:
      case OperandShape::block:
      case OperandShape::topk:  // vtopk's dst: written after the tail, never timed by beat
        out.push_back({op.addr + r * op.stride + c0 * op.elem_bytes, (c1 - c0) * op.elem_bytes});
        break;
      case OperandShape::col0:  // one element per row, read with the row's first lane-group
        if (c0 == 0) out.push_back({op.addr + r * op.stride, op.elem_bytes});
        break;
      case OperandShape::row0:  // row 0 of src2, the same columns for every row
        out.push_back({op.addr + c0 * op.elem_bytes, (c1 - c0) * op.elem_bytes});
        break;
      case OperandShape::rope_table:  // row r / iarg of the table, same columns as the data
        out.push_back({op.addr + (r / iarg) * op.stride + c0 * op.elem_bytes, (c1 - c0) * op.elem_bytes});
        break;
    }
  }
}

// Whether some beat of this port can take more than one cycle.
bool port_may_conflict(const VecOperand& op, OperandShape mode, bool packed, uint64_t cols, uint64_t lanes) {
  if (!op.tier) return false;
  // Several rows in one beat: separate ranges whose banks depend on the row stride.
  if (packed && mode != OperandShape::row0) return true;
  const uint64_t elems = mode == OperandShape::col0 ? 1 : std::min(cols, lanes);
  return !contiguous_never_conflicts(*op.tier, elems * op.elem_bytes);
}

}  // namespace

namespace {

// What vector_timing and vector_timing_stepped share: the beat count and the per-beat cost of
// one pass, stepped over beats [u0, u1) of "units" (a unit is the group of rows one packed
// beat holds, or one row with all its lane-groups).
struct VecBeats {
  const VecShape& s;
  uint64_t L, per_row, g, cost, passes;
  bool packed, c1, c2, cd;
  std::vector<ByteRange> ranges;
  std::vector<uint32_t> scratch;

  uint64_t units() const { return packed ? ceil_div(s.rows, g) : s.rows; }

  uint64_t beat_cost(uint64_t r0, uint64_t r1, uint64_t c0, uint64_t c1x) {
    uint64_t c = cost;
    if (c1) {
      operand_ranges(s.src1, OperandShape::block, r0, r1, c0, c1x, s.iarg, ranges);
      c = std::max(c, multi_range_beat_cycles(*s.src1.tier, ranges, scratch));
    }
    if (c2) {
      operand_ranges(s.src2, s.src2_shape, r0, r1, c0, c1x, s.iarg, ranges);
      if (!ranges.empty()) c = std::max(c, multi_range_beat_cycles(*s.src2.tier, ranges, scratch));
    }
    if (cd) {
      operand_ranges(s.dst, OperandShape::block, r0, r1, c0, c1x, s.iarg, ranges);
      c = std::max(c, multi_range_beat_cycles(*s.dst.tier, ranges, scratch));
    }
    return c;
  }

  uint64_t unit_cost(uint64_t u) {
    if (packed) return beat_cost(u * g, std::min(s.rows, u * g + g), 0, s.cols);
    uint64_t c = 0;
    for (uint64_t j = 0; j < per_row; ++j) c += beat_cost(u, u + 1, j * L, std::min(s.cols, (j + 1) * L));
    return c;
  }

  uint64_t stepped(uint64_t u0, uint64_t u1) {
    uint64_t c = 0;
    for (uint64_t u = u0; u < u1; ++u) c += unit_cost(u);
    return c;
  }
};

VecBeats vec_beats(const VecShape& s, uint32_t lanes, uint32_t special_cycles, VecTiming& t) {
  const uint64_t L = lanes;
  const bool reduce = s.cls == VecClass::reduce || s.cls == VecClass::topk;
  const uint64_t per_row = ceil_div(s.cols, L);
  // Rows share a beat only in elementwise classes with cols < L.
  const bool packed = !reduce && s.cols < L;
  const uint64_t g = packed ? L / s.cols : 1;  // rows per beat
  const uint64_t passes = s.cls == VecClass::topk ? std::max<uint64_t>(s.iarg, 1) : 1;
  t.beats = (packed ? ceil_div(s.rows, g) : s.rows * per_row) * passes;
  const uint64_t cost = s.cls == VecClass::special ? special_cycles : 1;
  t.tail = reduce ? ceil_log2(L) : 0;
  // Ports that can conflict; the reduction result write never does (docs/timing.md).
  const bool c1 = s.has_src1 && port_may_conflict(s.src1, OperandShape::block, packed, s.cols, L);
  const bool c2 = s.src2_shape != OperandShape::none && port_may_conflict(s.src2, s.src2_shape, packed, s.cols, L);
  const bool cd = !reduce && port_may_conflict(s.dst, OperandShape::block, packed, s.cols, L);
  return VecBeats{s, L, per_row, g, cost, passes, packed, c1, c2, cd, {}, {}};
}

uint64_t lcm_u(uint64_t a, uint64_t b) { return a / std::gcd(a, b) * b; }

// A unit's cost depends on its operands' start addresses only through their offsets within a
// bank line: moving every range of a beat by a whole number of lines rotates the banks it
// touches and keeps the busiest bank's count. Unit u + P starts P * advance bytes after unit u
// on each port, so the costs repeat with period P = lcm over the conflicting ports of
// width / gcd(advance, width), and a long instruction costs whole periods times one period's
// sum plus the remainder. The rope table's rows advance every iarg rows, not by a stride, so
// an instruction reading one is stepped.
VecTiming vector_timing_impl(const VecShape& s, uint32_t lanes, uint32_t special_cycles, bool use_period) {
  VecTiming t;
  VecBeats b = vec_beats(s, lanes, special_cycles, t);
  if (!b.c1 && !b.c2 && !b.cd) {
    t.issue = t.beats * b.cost;
    return t;
  }
  const uint64_t units = b.units();
  // The last packed unit may hold fewer rows: it is costed alone.
  const uint64_t whole = b.packed && s.rows % b.g ? units - 1 : units;
  uint64_t period = 1;
  bool periodic = use_period && !(b.c2 && s.src2_shape == OperandShape::rope_table);
  auto port = [&](bool conflicts, const VecOperand& op, OperandShape mode) {
    if (!conflicts || !periodic) return;
    const uint64_t advance = mode == OperandShape::row0 ? 0 : op.stride * b.g;
    const uint64_t w = op.tier->width;
    period = lcm_u(period, w / std::gcd(advance % w, w));
  };
  port(b.c1, s.src1, OperandShape::block);
  port(b.c2, s.src2, s.src2_shape);
  port(b.cd, s.dst, OperandShape::block);
  uint64_t issue;
  if (!periodic || 2 * period > whole) {
    issue = b.stepped(0, units);
  } else {
    const uint64_t one = b.stepped(0, period);
    issue = one * (whole / period) + b.stepped(0, whole % period) + b.stepped(whole, units);
  }
  t.issue = issue * b.passes;
  t.conflicts = t.issue - t.beats * b.cost;
  return t;
}

}  // namespace

VecTiming vector_timing(const VecShape& s, uint32_t lanes, uint32_t special_cycles) {
  return vector_timing_impl(s, lanes, special_cycles, true);
}

VecTiming vector_timing_stepped(const VecShape& s, uint32_t lanes, uint32_t special_cycles) {
  return vector_timing_impl(s, lanes, special_cycles, false);
}

// ---- DMA -----------------------------------------------------------------------------

namespace {

uint64_t side_piece_cost(const DmaSide& side, uint64_t addr, uint64_t w) {
  return side.tier ? contiguous_beat_cycles(*side.tier, addr, w) : 1;
}

uint64_t side_width(const DmaSide& side) { return side.tier ? side.tier->width : 1; }

// Cycles of all beats of one row whose source starts at `sa` and destination at `da`;
// a piece's cost depends only on its address modulo the bank width.
uint64_t row_cost(const DmaShape& s, uint64_t bpc, uint64_t sa, uint64_t da) {
  uint64_t c = 0;
  for (uint64_t off = 0; off < s.len; off += bpc) {
    const uint64_t w = std::min(bpc, s.len - off);
    c += std::max(side_piece_cost(s.src, sa + off, w), side_piece_cost(s.dst, da + off, w));
  }
  return c;
}

uint64_t period_of(uint64_t stride, uint64_t width) { return width / std::gcd(stride % width, width); }

}  // namespace

DmaTiming dma_timing_stepped(const DmaShape& s, uint64_t bpc, uint64_t max_outstanding,
                             uint64_t outstanding_latency) {
  DmaTiming t;
  std::vector<uint64_t> issue;  // issue cycle of every beat (relative to the first)
  uint64_t now = 0;
  for (uint64_t p = 0; p < s.n2; ++p) {
    for (uint64_t r = 0; r < s.n1; ++r) {
      const uint64_t sa = s.src.addr + p * s.src.stride2 + r * s.src.stride1;
      const uint64_t da = s.dst.addr + p * s.dst.stride2 + r * s.dst.stride1;
      for (uint64_t off = 0; off < s.len; off += bpc) {
        const uint64_t w = std::min(bpc, s.len - off);
        const uint64_t c = std::max(side_piece_cost(s.src, sa + off, w), side_piece_cost(s.dst, da + off, w));
        uint64_t at = now;
        if (outstanding_latency && issue.size() >= max_outstanding) {
          const uint64_t gate = issue[issue.size() - max_outstanding] + outstanding_latency;
          if (gate > at) {
            t.throttle += gate - at;
            at = gate;
          }
        }
        issue.push_back(at);
        t.conflicts += c - 1;
        now = at + c;
      }
    }
  }
  t.beats = issue.size();
  t.last_issue = issue.empty() ? 0 : issue.back();
  return t;
}

DmaTiming dma_timing(const DmaShape& s, uint64_t bpc, uint64_t max_outstanding, uint64_t outstanding_latency) {
  DmaTiming t;
  const uint64_t per_row = ceil_div(s.len, bpc);
  t.beats = s.n1 * s.n2 * per_row;
  const uint64_t wmax = std::min(bpc, s.len);
  const bool src_ok = !s.src.tier || contiguous_never_conflicts(*s.src.tier, wmax);
  const bool dst_ok = !s.dst.tier || contiguous_never_conflicts(*s.dst.tier, wmax);
  const bool throttled = outstanding_latency > 0 && max_outstanding < outstanding_latency;
  if (src_ok && dst_ok) {
    if (!throttled) {
      t.last_issue = t.beats - 1;
      return t;
    }
    // Groups of max_outstanding beats issue back to back, each group one latency after
    // the previous group's first beat.
    const uint64_t b = t.beats - 1;
    t.last_issue = (b / max_outstanding) * outstanding_latency + b % max_outstanding;
    t.throttle = t.last_issue - b;
    return t;
  }
  if (throttled) return dma_timing_stepped(s, bpc, max_outstanding, outstanding_latency);

  // Bank conflicts without throttling: the total is the sum of per-row costs, and a
  // row's cost depends only on its start addresses modulo the bank widths, which repeat
  // with a period that divides the width along each dimension.
  const uint64_t ws = side_width(s.src), wd = side_width(s.dst);
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> cache;
  auto cost_at = [&](uint64_t sa, uint64_t da) {
    auto key = std::make_pair(sa % ws, da % wd);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    const uint64_t c = row_cost(s, bpc, key.first, key.second);
    cache.emplace(key, c);
    return c;
  };
  auto repeat_sum = [](uint64_t n, uint64_t period, auto&& fn) {
    const uint64_t k = std::min(n, period);
    std::vector<uint64_t> v(k);
    uint64_t sum_period = 0;
    for (uint64_t i = 0; i < k; ++i) sum_period += (v[i] = fn(i));
    if (n <= period) return sum_period;
    uint64_t total = (n / period) * sum_period;
    for (uint64_t i = 0; i < n % period; ++i) total += v[i];
    return total;
  };
  const uint64_t pr = lcm_u(period_of(s.src.stride1, ws), period_of(s.dst.stride1, wd));
  const uint64_t pp = lcm_u(period_of(s.src.stride2, ws), period_of(s.dst.stride2, wd));
  const uint64_t total = repeat_sum(s.n2, pp, [&](uint64_t p) {
    const uint64_t sp = s.src.addr + p * s.src.stride2, dp = s.dst.addr + p * s.dst.stride2;
    return repeat_sum(s.n1, pr, [&](uint64_t r) { return cost_at(sp + r * s.src.stride1, dp + r * s.dst.stride1); });
  });
  // The last beat's own cost: the last piece of the last row.
  const uint64_t lp = s.n2 - 1, lr = s.n1 - 1, loff = (per_row - 1) * bpc;
  const uint64_t lsa = s.src.addr + lp * s.src.stride2 + lr * s.src.stride1 + loff;
  const uint64_t lda = s.dst.addr + lp * s.dst.stride2 + lr * s.dst.stride1 + loff;
  const uint64_t lw = s.len - loff;
  const uint64_t last_cost = std::max(side_piece_cost(s.src, lsa, lw), side_piece_cost(s.dst, lda, lw));
  t.conflicts = total - t.beats;
  t.last_issue = total - last_cost;
  return t;
}

// ---- links -----------------------------------------------------------------------------

uint64_t link_serialize_fs(uint64_t bytes, uint64_t links, uint64_t mbytes_per_s) {
  if (links == 0 || mbytes_per_s == 0) throw std::logic_error("link_serialize_fs: no link bandwidth");
  // bytes / (links * MB/s * 1e6 B/s) seconds = bytes * 1e9 / (links * MB/s) femtoseconds.
  const unsigned __int128 num = (unsigned __int128)bytes * 1000000000ull;
  const unsigned __int128 den = (unsigned __int128)links * mbytes_per_s;
  return uint64_t((num + den - 1) / den);
}

}  // namespace tessera::timing
