// The timing functions of the model (common/timing/timing.h, sram.h, tokens.h, ports.h) against
// independent transcriptions of docs/timing.md: brute-force bank counting, a stepped
// reference of the vector beat schedule, the matmul formulas rewritten from the document,
// a cycle-by-cycle token counter, and the bandwidth shared by the clients of SRAM ports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "common/timing/ports.h"
#include "common/timing/sram.h"
#include "common/timing/timing.h"
#include "common/timing/tokens.h"

namespace tessera::timing {
namespace {

constexpr uint32_t kSeed = 20240611;

// Distinct lines per bank, by enumerating every byte.
uint64_t brute_beat_cycles(const BankGeometry& g, const std::vector<ByteRange>& ranges) {
  std::set<uint64_t> lines;
  for (const ByteRange& r : ranges)
    for (uint64_t a = r.addr; a < r.addr + r.bytes; ++a) lines.insert(a / g.width);
  std::map<uint64_t, uint64_t> per_bank;
  uint64_t worst = 1;
  for (uint64_t l : lines) worst = std::max(worst, ++per_bank[l % g.banks]);
  return worst;
}

TEST(Sram, ContiguousAndMultiRangeMatchBruteForce) {
  std::printf("seed %u\n", kSeed);
  std::mt19937_64 rng(kSeed);
  std::vector<uint32_t> scratch;
  for (int iter = 0; iter < 3000; ++iter) {
    BankGeometry g{1 + rng() % 8, 1 + rng() % 16, 1};
    std::vector<ByteRange> ranges;
    const int n = 1 + int(rng() % 4);
    for (int i = 0; i < n; ++i) ranges.push_back({rng() % 512, 1 + rng() % 96});
    EXPECT_EQ(multi_range_beat_cycles(g, ranges, scratch), brute_beat_cycles(g, ranges)) << "iteration " << iter;
    EXPECT_EQ(contiguous_beat_cycles(g, ranges[0].addr, ranges[0].bytes), brute_beat_cycles(g, {ranges[0]}));
    if (contiguous_never_conflicts(g, ranges[0].bytes)) {
      for (uint64_t a = 0; a < g.width; ++a) EXPECT_EQ(contiguous_beat_cycles(g, a, ranges[0].bytes), 1u);
    }
  }
}

TEST(Sram, NamedConflictCases) {
  const BankGeometry g{8, 16, 2};  // 128-byte lines across the banks
  std::vector<uint32_t> scratch;
  // A whole line in one beat: every bank once.
  EXPECT_EQ(contiguous_beat_cycles(g, 0, 128), 1u);
  // One byte more than a line: bank 0 twice.
  EXPECT_EQ(contiguous_beat_cycles(g, 0, 129), 2u);
  // Misaligned 128 bytes touch 9 lines: bank of the first line twice.
  EXPECT_EQ(contiguous_beat_cycles(g, 8, 128), 2u);
  // Four 4-byte elements of rows 128 bytes apart all sit in bank 0: four cycles.
  std::vector<ByteRange> col = {{0, 4}, {128, 4}, {256, 4}, {384, 4}};
  EXPECT_EQ(multi_range_beat_cycles(g, col, scratch), 4u);
  // Padding the stride by one bank width spreads them over four banks.
  std::vector<ByteRange> padded = {{0, 4}, {144, 4}, {288, 4}, {432, 4}};
  EXPECT_EQ(multi_range_beat_cycles(g, padded, scratch), 1u);
  // A broadcast row read by every row of the beat is one access per line.
  std::vector<ByteRange> bcast = {{64, 16}, {64, 16}, {64, 16}};
  EXPECT_EQ(multi_range_beat_cycles(g, bcast, scratch), 1u);
}

// ---- DMA -----------------------------------------------------------------------------------

TEST(Dma, ClosedFormsEqualTheSteppedSchedule) {
  std::printf("seed %u\n", kSeed + 1);
  std::mt19937_64 rng(kSeed + 1);
  for (int iter = 0; iter < 2000; ++iter) {
    BankGeometry gs{1 + rng() % 6, uint64_t(1) << (rng() % 5), 2};
    BankGeometry gd{1 + rng() % 6, uint64_t(1) << (rng() % 5), 20};
    DmaShape s;
    s.src = DmaSide{rng() % 3 ? &gs : nullptr, rng() % 300, rng() % 200, rng() % 2000};
    s.dst = DmaSide{rng() % 3 ? &gd : nullptr, rng() % 300, rng() % 200, rng() % 2000};
    s.len = 1 + rng() % 100;
    s.n1 = 1 + rng() % 9;
    s.n2 = 1 + rng() % 4;
    const uint64_t bpc = 1 + rng() % 64, mo = 1 + rng() % 24, lat = rng() % 2 ? 0 : 1 + rng() % 30;
    const DmaTiming a = dma_timing(s, bpc, mo, lat), b = dma_timing_stepped(s, bpc, mo, lat);
    ASSERT_EQ(a.beats, b.beats) << iter;
    ASSERT_EQ(a.last_issue, b.last_issue) << iter;
    ASSERT_EQ(a.conflicts, b.conflicts) << iter;
    ASSERT_EQ(a.throttle, b.throttle) << iter;
  }
}

TEST(Dma, BeatsAndThrottleByHand) {
  BankGeometry l1{4, 16, 2};  // 64-byte lines
  DmaShape s;
  s.src = DmaSide{nullptr, 0, 1000, 0};
  s.dst = DmaSide{&l1, 0, 100, 0};
  s.len = 100;
  s.n1 = 3;
  // 100-byte rows at 32 B/cycle: 4 beats per row (32, 32, 32, 4), 12 beats back to back.
  DmaTiming t = dma_timing(s, 32, 64, 0);
  EXPECT_EQ(t.beats, 12u);
  EXPECT_EQ(t.last_issue, 11u);
  EXPECT_EQ(t.conflicts, 0u);
  // 64 B/cycle into 64-byte lines: a 64-byte piece at an unaligned address touches 5 lines.
  t = dma_timing(s, 64, 64, 0);
  EXPECT_EQ(t.beats, 6u);  // (64, 36) per row
  // Rows start at 0, 100, 200. A 64-byte piece at 100 touches lines 6..10 (16-byte lines, 4
  // banks): banks 2 twice, 2 cycles; the same at 200 (lines 12..16). The others fit.
  EXPECT_EQ(t.conflicts, 2u);
  EXPECT_EQ(t.last_issue, 5u + 2);  // five earlier beats, two of them 2 cycles long
  // Row 0's first piece, 64 bytes at 60, touches lines 3..7 of a 2 x 16-byte tier: bank 1
  // holds lines 3, 5 and 7, so that beat takes 3 cycles.
  s.dst.addr = 60;
  BankGeometry narrow{2, 16, 2};
  EXPECT_EQ(contiguous_beat_cycles(narrow, 60, 64), 3u);
  s.dst.tier = &narrow;
  t = dma_timing(s, 64, 64, 0);
  EXPECT_EQ(t.conflicts, dma_timing_stepped(s, 64, 64, 0).conflicts);
  EXPECT_GT(t.conflicts, 0u);
  // Outstanding limit: 4 requests, 20-cycle latency: groups of 4 beats every 20 cycles.
  s.dst.tier = &l1;
  s.dst.addr = 0;
  t = dma_timing(s, 32, 4, 20);
  EXPECT_EQ(t.last_issue, (11 / 4) * 20 + 11 % 4);
  EXPECT_EQ(t.throttle, t.last_issue - 11);
}

// ---- vector --------------------------------------------------------------------------------

// The beat schedule of docs/timing.md, "Vector engine", stepped beat by beat.
uint64_t reference_vector_issue(const VecShape& s, uint64_t L, uint64_t sp) {
  const bool reduce = s.cls == VecClass::reduce || s.cls == VecClass::topk;
  const bool special = s.cls == VecClass::special;
  const uint64_t passes = s.cls == VecClass::topk ? s.iarg : 1;
  struct Beat {
    uint64_t r0, r1, c0, c1;
  };
  std::vector<Beat> beats;
  if (!reduce && s.cols < L) {
    const uint64_t g = L / s.cols;
    for (uint64_t r = 0; r < s.rows; r += g) beats.push_back({r, std::min(s.rows, r + g), 0, s.cols});
  } else {
    for (uint64_t r = 0; r < s.rows; ++r)
      for (uint64_t c = 0; c < s.cols; c += L) beats.push_back({r, r + 1, c, std::min(s.cols, c + L)});
  }
  uint64_t total = 0;
  for (const Beat& b : beats) {
    uint64_t cost = special ? sp : 1;
    auto port = [&](const VecOperand& op, OperandShape mode) {
      if (!op.tier) return;
      std::vector<ByteRange> rs;
      for (uint64_t r = b.r0; r < b.r1; ++r) {
        const uint64_t w = (b.c1 - b.c0) * op.elem_bytes, c0 = b.c0 * op.elem_bytes;
        if (mode == OperandShape::block) rs.push_back({op.addr + r * op.stride + c0, w});
        if (mode == OperandShape::col0 && b.c0 == 0) rs.push_back({op.addr + r * op.stride, op.elem_bytes});
        if (mode == OperandShape::row0) rs.push_back({op.addr + c0, w});
        if (mode == OperandShape::rope_table) rs.push_back({op.addr + (r / s.iarg) * op.stride + c0, w});
      }
      if (!rs.empty()) cost = std::max(cost, brute_beat_cycles(*op.tier, rs));
    };
    if (s.has_src1) port(s.src1, OperandShape::block);
    if (s.src2_shape != OperandShape::none) port(s.src2, s.src2_shape);
    if (!reduce) port(s.dst, OperandShape::block);
    total += cost;
  }
  return total * passes;
}

// A random vector instruction on bank geometry `g`: class, src2 shape and operands (a quarter of
// them outside SRAM). `long_rows` draws up to 700 rows with row strides that are mostly whole rows
// (the compiler's layouts) and otherwise arbitrary; else up to 12 rows and word-aligned strides.
VecShape random_vec_shape(std::mt19937_64& rng, const BankGeometry& g, bool long_rows) {
  const VecClass classes[] = {VecClass::elementwise, VecClass::special, VecClass::reduce, VecClass::topk};
  const OperandShape modes[] = {OperandShape::none, OperandShape::block, OperandShape::col0, OperandShape::row0,
                                OperandShape::rope_table};
  VecShape s;
  s.cls = classes[rng() % 4];
  s.src2_shape = s.cls == VecClass::reduce || s.cls == VecClass::topk ? OperandShape::none : modes[rng() % 5];
  s.rows = 1 + rng() % (long_rows ? 700 : 12);
  s.cols = 1 + rng() % 40;
  s.iarg = 1 + rng() % 3;
  auto op = [&]() {
    VecOperand o;
    o.tier = rng() % 4 ? &g : nullptr;
    if (long_rows) {
      o.addr = rng() % 256;
      o.elem_bytes = 1u << (rng() % 3);
      o.stride = rng() % 3 ? o.elem_bytes * s.cols * (1 + rng() % 2) : rng() % 200;
    } else {
      o.addr = 4 * (rng() % 64);
      o.stride = 4 * (rng() % 48);
      o.elem_bytes = 1u << (rng() % 3);
    }
    return o;
  };
  s.src1 = op();
  s.src2 = op();
  s.dst = op();
  if (s.src2_shape == OperandShape::none) s.src2.tier = nullptr;
  return s;
}

TEST(Vector, IssueMatchesSteppedReference) {
  std::printf("seed %u\n", kSeed + 2);
  std::mt19937_64 rng(kSeed + 2);
  for (int iter = 0; iter < 1500; ++iter) {
    BankGeometry g{1 + rng() % 8, uint64_t(4) << (rng() % 3), 2};
    const uint64_t L = 1 + rng() % 16, sp = 1 + rng() % 4;
    const VecShape s = random_vec_shape(rng, g, false);
    const VecTiming t = vector_timing(s, uint32_t(L), uint32_t(sp));
    ASSERT_EQ(t.issue, reference_vector_issue(s, L, sp)) << "iteration " << iter;
    const bool reduce = s.cls == VecClass::reduce || s.cls == VecClass::topk;
    EXPECT_EQ(t.tail, reduce ? ceil_log2(L) : 0u);
  }
}

// Long instructions, where vector_timing sums whole periods of beats instead of costing each:
// the period argument (a beat's cost depends on its addresses only modulo a bank line) must
// give the stepped figures exactly, with strides that make the period long and short.
TEST(Vector, PeriodicSumEqualsSteppedOnLongInstructions) {
  std::printf("seed %u\n", kSeed + 3);
  std::mt19937_64 rng(kSeed + 3);
  int periodic = 0;
  for (int iter = 0; iter < 400; ++iter) {
    BankGeometry g{1 + rng() % 8, uint64_t(4) << (rng() % 4), 2};
    const uint64_t L = 1 + rng() % 64, sp = 1 + rng() % 4;
    const VecShape s = random_vec_shape(rng, g, true);
    const VecTiming a = vector_timing(s, uint32_t(L), uint32_t(sp)), b = vector_timing_stepped(s, uint32_t(L), uint32_t(sp));
    ASSERT_EQ(a.issue, b.issue) << "iteration " << iter;
    ASSERT_EQ(a.beats, b.beats) << "iteration " << iter;
    ASSERT_EQ(a.conflicts, b.conflicts) << "iteration " << iter;
    if (iter % 8 == 0) {
      ASSERT_EQ(a.issue, reference_vector_issue(s, L, sp)) << "iteration " << iter;
    }
    periodic += a.conflicts > 0 && s.rows > 64;
  }
  // The draw must exercise instructions that conflict over many rows, or the test proves little.
  EXPECT_GT(periodic, 40);
}

TEST(Vector, BeatCountsByHand) {
  VecShape s;  // no SRAM operands: pure beat counting
  s.src1.tier = s.dst.tier = nullptr;
  s.rows = 64;
  s.cols = 8192;
  EXPECT_EQ(vector_timing(s, 256, 4).issue, 64u * 32);  // 32 lane-groups per row
  s.cls = VecClass::special;
  EXPECT_EQ(vector_timing(s, 256, 4).issue, 64u * 32 * 4);
  s.cls = VecClass::elementwise;
  s.cols = 64;  // 4 rows share a beat of 256 lanes
  EXPECT_EQ(vector_timing(s, 256, 4).beats, 16u);
  s.cols = 100;  // 2 rows per beat
  EXPECT_EQ(vector_timing(s, 256, 4).beats, 32u);
  s.cls = VecClass::reduce;  // rows never share a beat in reductions
  EXPECT_EQ(vector_timing(s, 256, 4).beats, 64u);
  EXPECT_EQ(vector_timing(s, 256, 4).tail, 8u);
  s.cls = VecClass::topk;
  s.iarg = 3;
  EXPECT_EQ(vector_timing(s, 256, 4).beats, 64u * 3);
}

// ---- matmul ---------------------------------------------------------------------------------

struct RefTile {
  bool os;
  uint64_t m, k, n, arrival;
};
struct RefTimes {
  uint64_t Q, W, S, D, E;
};

// docs/timing.md "Matrix engine: matmul", transcribed independently of MatmulTimer.
std::vector<RefTimes> reference_matmul(const std::vector<RefTile>& t, uint64_t R, bool db) {
  std::vector<RefTimes> r(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    const uint64_t Sprev = i ? r[i - 1].S : 0, Qprev1 = i ? r[i - 1].Q + 1 : 0, Eprev = i ? r[i - 1].E : 0;
    const uint64_t Eprev2 = i >= 2 ? r[i - 2].E : 0;
    RefTimes x{};
    x.Q = std::max({t[i].arrival, Sprev, Qprev1});
    const bool change = i > 0 && t[i].os != t[i - 1].os;
    const bool first = i == 0;
    if (!t[i].os) {
      if (first) {
        x.W = x.Q;
        x.S = x.W + t[i].k;
      } else if (change) {
        x.W = std::max(x.Q, Eprev + 1);
        x.S = x.W + t[i].k;
      } else if (db) {
        x.W = std::max(x.Q, Sprev);
        x.S = std::max(x.W + t[i].k, Sprev + t[i - 1].m);
      } else {
        x.W = std::max(x.Q, Eprev);
        x.S = x.W + t[i].k;
      }
      x.E = std::max(x.S + t[i].m + R + t[i].n - 1, Eprev);
    } else {
      if (first) {
        x.S = x.Q;
      } else if (change) {
        x.S = std::max(x.Q, Eprev + 1);
      } else if (db) {
        x.S = std::max({x.Q, Sprev + t[i - 1].k, Eprev2});
      } else {
        x.S = std::max(x.Q, Eprev);
      }
      x.W = x.S;
      x.D = std::max(x.S + t[i].k + t[i].m + t[i].n - 2, Eprev);
      x.E = x.D + R + 1;
    }
    r[i] = x;
  }
  return r;
}

TEST(Matmul, TimerMatchesTheDocumentedFormulas) {
  std::printf("seed %u\n", kSeed + 3);
  std::mt19937_64 rng(kSeed + 3);
  for (int iter = 0; iter < 400; ++iter) {
    const uint64_t R = 1 + rng() % 32, C = 1 + rng() % 32;
    const bool db = rng() % 2;
    const int mix = int(rng() % 3);  // 0 ws only, 1 os only, 2 both
    std::vector<RefTile> tiles;
    uint64_t arrival = 0;
    for (int i = 0; i < 30; ++i) {
      RefTile t;
      t.os = mix == 2 ? rng() % 4 == 0 : mix == 1;
      t.m = t.os ? 1 + rng() % R : 1 + rng() % 64;
      t.k = t.os ? 1 + rng() % 64 : 1 + rng() % R;
      t.n = 1 + rng() % C;
      arrival += rng() % 3 ? 1 : rng() % 90;
      t.arrival = arrival;
      tiles.push_back(t);
    }
    const auto ref = reference_matmul(tiles, R, db);
    MatmulTimer timer(R, db);
    for (size_t i = 0; i < tiles.size(); ++i) {
      const uint64_t Q = std::max(tiles[i].arrival, timer.earliest_q());
      const MatmulTimes got = timer.tile(Q, MatmulTile{tiles[i].os, tiles[i].m, tiles[i].k, tiles[i].n});
      ASSERT_EQ(got.Q, ref[i].Q) << "iteration " << iter << " tile " << i;
      ASSERT_EQ(got.W, ref[i].W) << "iteration " << iter << " tile " << i;
      ASSERT_EQ(got.S, ref[i].S) << "iteration " << iter << " tile " << i;
      ASSERT_EQ(got.D, ref[i].D) << "iteration " << iter << " tile " << i;
      ASSERT_EQ(got.E, ref[i].E) << "iteration " << iter << " tile " << i;
    }
  }
}

TEST(Matmul, BackToBackRunCost) {
  // docs/timing.md: t double-buffered ws tiles of equal shape with m >= k take k + t*m + R + n - 1.
  const uint64_t R = 256, m = 300, k = 256, n = 256, t = 7;
  MatmulTimer timer(R, true);
  MatmulTimes last{};
  for (uint64_t i = 0; i < t; ++i) last = timer.tile(timer.earliest_q(), MatmulTile{false, m, k, n});
  EXPECT_EQ(last.E, k + t * m + R + n - 1);  // from Q_0 = 0
}

// ---- tokens --------------------------------------------------------------------------------

TEST(Tokens, OverflowMatchesCycleByCycleCount) {
  std::printf("seed %u\n", kSeed + 4);
  std::mt19937_64 rng(kSeed + 4);
  for (int iter = 0; iter < 2000; ++iter) {
    const uint32_t D = 1 + uint32_t(rng() % 4);
    // Monotone push cycles; each pop at or after its push's visibility, monotone.
    const int n = 1 + int(rng() % 12);
    std::vector<uint64_t> push(n), pop(n);
    uint64_t t = 0;
    for (int i = 0; i < n; ++i) push[i] = t += rng() % 4;
    uint64_t q = 0;
    for (int i = 0; i < n; ++i) pop[i] = q = std::max(q + rng() % 3, push[i] + 1) + (rng() % 3 == 0 ? rng() % 10 : 0);
    // Reference: the counter after each cycle.
    bool over = false;
    for (uint64_t c = 0; c <= pop.back(); ++c) {
      int64_t v = 0;
      for (int i = 0; i < n; ++i) v += (push[i] <= c) - (pop[i] <= c);
      if (v > int64_t(D)) over = true;
    }
    // The counter sees the events interleaved as a simulation would: each pop after its push.
    TokenCounter tc(D);
    bool got = false;
    int pi = 0;
    for (int i = 0; i < n; ++i) {
      got |= tc.push(push[i]).has_value();
      // Pops may be recorded late (after later pushes) or early.
      while (pi <= i && rng() % 2) got |= tc.pop(pop[pi++]).has_value();
    }
    while (pi < n) got |= tc.pop(pop[pi++]).has_value();
    got |= tc.final_check().has_value();
    EXPECT_EQ(got, over) << "iteration " << iter;
  }
}

TEST(Links, SerialisationIsExactInFemtoseconds) {
  // 100 GB/s = 100,000 MB/s: one byte is 10 ps = 10,000 fs.
  EXPECT_EQ(link_serialize_fs(1, 1, 100000), 10000u);
  EXPECT_EQ(link_serialize_fs(28672, 4, 100000), 28672u * 10000 / 4);
  EXPECT_EQ(link_serialize_fs(3, 1, 300000), 10000u);   // 3 bytes at 300 GB/s
  EXPECT_EQ(link_serialize_fs(1, 1, 300000), 3334u);    // 3,333.3 fs rounded up
}

// docs/timing.md, "SRAM ports and arbitration": what each kind of bank lets through per cycle.
TEST(Ports, CapacityOfEachKind) {
  const BankGeometry g{4, 16, 2};
  auto cap = [&](Ports k) {
    const PortCapacity c = port_capacity(g, k);
    return std::vector<uint64_t>{c.read, c.write, c.shared};
  };
  EXPECT_EQ(cap(Ports::per_client), (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_EQ(cap(Ports::single_port), (std::vector<uint64_t>{0, 0, 64}));
  EXPECT_EQ(cap(Ports::two_port), (std::vector<uint64_t>{64, 64, 0}));
  EXPECT_EQ(cap(Ports::dual_port), (std::vector<uint64_t>{0, 0, 128}));
}

TEST(Ports, TwoClientsOfOnePortTakeTwiceAsLong) {
  BandwidthCalendar port(16);
  // 512 bytes at 16 B/cycle from cycle 32: 32 cycles alone; the second client waits for all of them.
  EXPECT_EQ(book({&port}, 32, 512, 16), 0u);
  // A booking on another page of windows leaves the first page's bookings in place.
  EXPECT_EQ(book({&port}, 32 + BandwidthCalendar::kPage * kPortWindow, 512, 16), 0u);
  EXPECT_EQ(book({&port}, 32, 512, 16), 32u);
  EXPECT_EQ(book({&port}, 32 + BandwidthCalendar::kPage * kPortWindow, 512, 16), 32u);
  // An unlimited calendar (per_client ports) never delays, and neither does an empty transfer.
  BandwidthCalendar free_port;
  EXPECT_EQ(book({&free_port, nullptr}, 32, 512, 16), 0u);
  EXPECT_EQ(book({&port}, 32, 0, 16), 0u);
}

// Clients whose rates together fit the capacity never lose a cycle, whatever their starts
// and the order they book in.
TEST(Ports, ClientsWithinTheCapacityLoseNothing) {
  std::mt19937_64 rng(kSeed);
  for (int round = 0; round < 200; ++round) {
    BandwidthCalendar port(64);
    std::vector<uint64_t> rates;
    for (uint64_t left = 64; left > 0;) {
      const uint64_t r = std::min<uint64_t>(left, 1 + rng() % 40);
      rates.push_back(r);
      left -= r;
    }
    for (uint64_t r : rates) {
      for (int k = 0; k < 5; ++k) {
        const uint64_t start = rng() % 2000, bytes = 1 + rng() % 4000;
        // One client's transfers never overlap in time: each starts after its previous one ended.
        EXPECT_EQ(book({&port}, start + uint64_t(k) * 6000, bytes, r), 0u) << "round " << round;
      }
    }
  }
}

// 16 clients, each with its own port of 64 B/cycle, behind 4 shared ports of 64 B/cycle: together
// they move at most 256 B/cycle, first booked first served.
TEST(Ports, StreamsAreCappedByTheSharedPath) {
  BandwidthCalendar shared(4 * 64);
  std::vector<BandwidthCalendar> own;
  for (int i = 0; i < 16; ++i) own.emplace_back(64);
  uint64_t last_end = 0;
  for (uint64_t i = 0; i < 16; ++i) {
    const uint64_t lost = book({&own[i], &shared}, 0, 65536, 64);
    EXPECT_EQ(lost, 1024 * (i / 4)) << "client " << i;
    last_end = std::max(last_end, 1024 + lost);
  }
  EXPECT_EQ(last_end, 16u * 65536 / 256);
}

}  // namespace
}  // namespace tessera::timing
