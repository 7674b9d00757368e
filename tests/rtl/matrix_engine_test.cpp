// The matrix engine RTL against the model (model/core/matrix_engine.h, the code the SystemC
// model runs) and the MAC contract (docs/numerics.md): for random tile sequences and random
// GEMMs on the tiny 8x8 array (and single-buffered, and 16x16), every instruction is accepted
// at the cycle Q and completes at the cycle E the model gives (and an independent
// implementation of the docs/timing.md recurrences), every accumulator write of the RTL
// equals the model's in cycle, address and value, and the accumulator holds exactly the
// reference result. The RTL's timing is not computed from the formulas (rtl/matrix_engine.sv),
// so these are two implementations compared. Fault-injection tests make the model, then the
// RTL, wrong by one cycle or one bit and check that the comparison names the instruction and
// write. Set TESSERA_WAVES=1 to write an FST waveform (matrix_engine_<test>.fst).
#include <gtest/gtest.h>

#include <algorithm>
#include <type_traits>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "Vmatrix_engine.h"
#include "Vmatrix_engine_16.h"
#include "Vmatrix_engine_sb.h"
#include "common/isa/isa.h"
#include "common/numerics/fp.h"
#include "common/numerics/mac.h"
#include "common/timing/timing.h"
#include "model/core/memory.h"
#include "model/core/functional.h"
#include "model/core/matrix_engine.h"
#include "tests/rtl/verilated_top.h"

// libsystemc references sc_main, which the model library defines in simulation.cpp; this bench
// uses only the model's MatmulTrack, so it names sc_main to link that definition in.
int sc_main(int, char**);
int (*tessera_link_sc_main)(int, char**) = &sc_main;

namespace {

namespace num = tessera::num;
namespace isa = tessera::isa;
namespace model = tessera::model;
using model::AccWrite;

constexpr int kAccDepth = 64;     // accumulator rows of every verilated variant
constexpr int kL1Bytes = 1 << 16;

// ISA dtype codes (spec/isa.yaml) of the matrix input formats.
enum Fmt : uint8_t { kInt8 = 0, kE4M3 = 1, kE5M2 = 2, kBf16 = 3 };

struct Tile {
  Fmt a_type, b_type;
  bool os, accumulate;
  uint32_t a_addr, b_addr, c_addr;
  uint32_t m, k, n;
  uint32_t a_stride, b_stride, c_stride;
};

unsigned elem_bytes(Fmt f) { return f == kBf16 ? 2 : 1; }

isa::Instr to_instr(const Tile& t) {
  isa::Instr in;
  in.op = isa::Opcode::matmul;
  in.unit = static_cast<uint8_t>(isa::Unit::mx0);
  in.a_type = t.a_type;
  in.b_type = t.b_type;
  in.dataflow = t.os ? 1 : 0;
  in.accumulate = t.accumulate;
  in.a_addr = t.a_addr;
  in.b_addr = t.b_addr;
  in.c_addr = t.c_addr;
  in.m = t.m;
  in.k = t.k;
  in.n = t.n;
  in.a_stride = t.a_stride;
  in.b_stride = t.b_stride;
  in.c_stride = t.c_stride;
  return in;
}

// Independent implementation of the docs/timing.md recurrences for back-to-back tiles
// presented from cycle 0: returns Q (acceptance) and E (completion) of every tile.
struct Expected {
  std::vector<uint64_t> q, e;
};

Expected expected_timing(const std::vector<Tile>& tiles, int rows, bool double_buffer) {
  Expected x;
  bool have_prev = false, prev_os = false;
  uint64_t s_prev = 0, e_prev = 0, e_prev2 = 0, m_prev = 0, k_prev = 0;
  for (const Tile& t : tiles) {
    // The engine takes one tile per cycle, and a tile only once its predecessor streams.
    const uint64_t q = have_prev ? std::max(s_prev, x.q.back() + 1) : 0;
    uint64_t s = 0, e = 0;
    if (!t.os) {
      uint64_t w = q;
      if (have_prev && prev_os) w = std::max(w, e_prev + 1);
      else if (have_prev && !double_buffer) w = std::max(w, e_prev);
      s = w + t.k;
      if (have_prev && !prev_os && double_buffer) s = std::max(s, s_prev + m_prev);
      e = s + t.m + rows + t.n - 1;
      if (have_prev) e = std::max(e, e_prev);
    } else {
      s = q;
      if (have_prev && !prev_os) s = std::max(s, e_prev + 1);
      else if (have_prev && double_buffer) s = std::max({s, s_prev + k_prev, e_prev2});
      else if (have_prev) s = std::max(s, e_prev);
      uint64_t d = s + t.k + t.m + t.n - 2;
      if (have_prev) d = std::max(d, e_prev);
      e = d + rows + 1;
    }
    x.q.push_back(q);
    x.e.push_back(e);
    have_prev = true;
    prev_os = t.os;
    s_prev = s;
    m_prev = t.m;
    k_prev = t.k;
    e_prev2 = e_prev;
    e_prev = e;
  }
  return x;
}

float decode(Fmt f, const uint8_t* p) {
  switch (f) {
    case kInt8: return static_cast<float>(static_cast<int8_t>(p[0]));
    case kE4M3: return num::e4m3_to_f32(p[0]);
    case kE5M2: return num::e5m2_to_f32(p[0]);
    case kBf16: return num::bf16_to_f32(static_cast<uint16_t>(p[0] | (p[1] << 8)));
  }
  return 0.0f;
}

// The reference accumulator after a sequence of tiles: the numerics library's MAC
// contract (common/numerics/mac.h) on the decoded operands.
void reference(const std::vector<Tile>& tiles, const std::vector<uint8_t>& l1, std::vector<uint32_t>& acc) {
  for (const Tile& t : tiles) {
    const unsigned ea = elem_bytes(t.a_type), eb = elem_bytes(t.b_type);
    for (uint32_t i = 0; i < t.m; ++i) {
      // ws: A row-major (m rows of k); os: A^T row-major (k rows of m).
      auto a_at = [&](uint32_t kk) {
        return t.os ? &l1[t.a_addr + kk * t.a_stride + i * ea] : &l1[t.a_addr + i * t.a_stride + kk * ea];
      };
      for (uint32_t j = 0; j < t.n; ++j) {
        const uint32_t idx = (t.c_addr + i * t.c_stride) / 4 + j;
        if (t.a_type == kInt8) {
          std::vector<int8_t> a(t.k), b(t.k);
          for (uint32_t kk = 0; kk < t.k; ++kk) {
            a[kk] = static_cast<int8_t>(*a_at(kk));
            b[kk] = static_cast<int8_t>(l1[t.b_addr + kk * t.b_stride + j]);
          }
          const int32_t s = num::tile_dot_int8(a.data(), b.data(), t.k, 1, nullptr);
          const int32_t old = static_cast<int32_t>(acc[idx]);
          acc[idx] = static_cast<uint32_t>(t.accumulate ? num::accumulate_int32(old, s, nullptr) : s);
        } else {
          std::vector<float> a(t.k), b(t.k);
          for (uint32_t kk = 0; kk < t.k; ++kk) {
            a[kk] = decode(t.a_type, a_at(kk));
            b[kk] = decode(t.b_type, &l1[t.b_addr + kk * t.b_stride + j * eb]);
          }
          const float s = num::tile_dot_fp(a.data(), b.data(), t.k, 1);
          const float old = std::bit_cast<float>(acc[idx]);
          acc[idx] = std::bit_cast<uint32_t>(t.accumulate ? num::accumulate_fp(old, s) : s);
        }
      }
    }
  }
}

template <typename V, int kRows, int kCols>
class Bench : public tessera::rtl_bench::VerilatedTop<V> {
  using tessera::rtl_bench::VerilatedTop<V>::top_;

 public:
  explicit Bench(const std::string& name) : tessera::rtl_bench::VerilatedTop<V>("matrix_engine_" + name) { this->reset(); }

  // Faults to inject into the RTL: hold back stream starts in these cycles; flip bits of
  // the words written in a cycle (column, bit).
  struct Flip {
    uint64_t cycle;
    int col;
    int bit;
  };
  std::vector<uint64_t> stall_cycles;
  std::vector<Flip> flips;

  // Runs the tiles back to back; records acceptance and completion cycles and every
  // accumulator write (byte address of the word; the cycle whose clock edge writes it).
  void run(const std::vector<Tile>& tiles, std::vector<uint8_t>& l1, std::vector<uint64_t>& q,
           std::vector<uint64_t>& e, std::vector<AccWrite>& writes) {
    std::deque<Tile> pending(tiles.begin(), tiles.end());
    bool a_pending = false, b_pending = false;
    uint32_t a_addr = 0, b_addr = 0;
    const uint64_t limit = 100000;
    constexpr int kAw = std::bit_width(unsigned(kAccDepth - 1));
    for (uint64_t cycle = 0; cycle < limit && e.size() < tiles.size(); ++cycle) {
      // Read data requested in the previous cycle.
      set_bytes(top_->a_data_i, l1, a_pending ? a_addr : 0, kRows * 2);
      set_bytes(top_->b_data_i, l1, b_pending ? b_addr : 0, kCols * 2);
      top_->cmd_valid_i = !pending.empty();
      if (!pending.empty()) drive(pending.front());
      top_->test_stall_i = std::find(stall_cycles.begin(), stall_cycles.end(), cycle) != stall_cycles.end();
      for (int w = 0; w < kCols; ++w) top_->test_flip_i[w] = 0;
      for (const Flip& f : flips)
        if (f.cycle == cycle) top_->test_flip_i[f.col] ^= uint32_t(1) << f.bit;
      top_->clk_i = 0;
      top_->eval();
      this->dump(2 * cycle);
      const bool fire = top_->cmd_valid_i && top_->cmd_ready_o;
      for (unsigned d = 0; d < top_->done_o; ++d) e.push_back(cycle);
      for (int c = 0; c < kCols; ++c) {
        if (!((top_->acc_we_o >> c) & 1)) continue;
        uint32_t row = 0;
        for (int b = 0; b < kAw; ++b) row |= uint32_t(bit_of(top_->acc_waddr_o, c * kAw + b)) << b;
        writes.push_back(AccWrite{cycle, uint64_t(row) * kCols * 4 + 4 * c, top_->acc_wdata_o[c], 0});
      }
      a_pending = top_->a_req_o;
      a_addr = top_->a_addr_o;
      b_pending = top_->b_req_o;
      b_addr = top_->b_addr_o;
      top_->clk_i = 1;
      top_->eval();
      this->dump(2 * cycle + 1);
      if (fire) {
        q.push_back(cycle);
        pending.pop_front();
      }
    }
  }

  uint32_t acc(int row, int col) {
    top_->acc_raddr_i = row;
    top_->eval();
    return top_->acc_rdata_o[col];
  }

 private:
  template <typename Wide>
  void set_bytes(Wide& w, const std::vector<uint8_t>& l1, uint32_t addr, int nbytes) {
    for (int i = 0; i < nbytes / 4; ++i) {
      uint32_t v = 0;
      for (int b = 0; b < 4; ++b) {
        const uint32_t a = addr + i * 4 + b;
        v |= uint32_t(a < l1.size() ? l1[a] : 0) << (8 * b);
      }
      w[i] = v;
    }
  }
  // A bit of a Verilator port of any width (a scalar or a word array).
  template <typename Port>
  static uint32_t bit_of(const Port& p, int i) {
    if constexpr (std::is_integral_v<Port>) {
      return uint32_t(uint64_t(p) >> i) & 1;
    } else {
      return (p[i / 32] >> (i % 32)) & 1;
    }
  }
  void drive(const Tile& t) {
    // The engine reads the instruction word itself, so the bench encodes it with the ISA
    // library: RTL and C++ agree on every field position by construction or fail here.
    const isa::Word w = isa::encode(to_instr(t));
    for (size_t i = 0; i < isa::kWordBytes / 4; ++i) {
      top_->cmd_word_i[i] = uint32_t(w[4 * i]) | uint32_t(w[4 * i + 1]) << 8 | uint32_t(w[4 * i + 2]) << 16 |
                            uint32_t(w[4 * i + 3]) << 24;
    }
  }
};

uint8_t random_byte(std::mt19937_64& rng, Fmt f) {
  uint8_t v = static_cast<uint8_t>(rng());
  if (f == kE4M3 && (v & 0x7F) == 0x7F) v ^= 0x01;  // keep NaN out of most data; one test adds it
  if (f == kE5M2 && ((v >> 2) & 0x1F) == 0x1F) v ^= 0x40;
  return v;
}

// Fills the operands of a tile with random values of its formats.
void fill(std::mt19937_64& rng, const Tile& t, std::vector<uint8_t>& l1) {
  const unsigned ea = elem_bytes(t.a_type), eb = elem_bytes(t.b_type);
  const uint32_t a_rows = t.os ? t.k : t.m, a_cols = t.os ? t.m : t.k;
  for (uint32_t r = 0; r < a_rows; ++r)
    for (uint32_t c = 0; c < a_cols * ea; ++c) {
      uint8_t v = random_byte(rng, t.a_type);
      if (t.a_type == kBf16 && (c & 1)) v = static_cast<uint8_t>((v & 0x80) | (0x38 + rng() % 16));  // |x| ~ 2^-15..2^16
      l1[t.a_addr + r * t.a_stride + c] = v;
    }
  for (uint32_t r = 0; r < t.k; ++r)
    for (uint32_t c = 0; c < t.n * eb; ++c) {
      uint8_t v = random_byte(rng, t.b_type);
      if (t.b_type == kBf16 && (c & 1)) v = static_cast<uint8_t>((v & 0x80) | (0x38 + rng() % 16));
      l1[t.b_addr + r * t.b_stride + c] = v;
    }
}

std::pair<Fmt, Fmt> random_formats(std::mt19937_64& rng) {
  switch (rng() % 5) {
    case 0: return {kInt8, kInt8};
    case 1: return {kE4M3, kE4M3};
    case 2: return {kE5M2, kE4M3};
    case 3: return {kE5M2, kE5M2};
    default: return {kBf16, kBf16};
  }
}

// Random tiles on distinct L1 regions and accumulator rows; each accumulator region is
// overwritten by its first tile, later tiles to it may accumulate.
std::vector<Tile> random_tiles(std::mt19937_64& rng, int count, int os_mode /*0 ws, 1 os, 2 mixed*/, int kRows,
                               int kCols) {
  std::vector<Tile> tiles;
  uint32_t l1_next = 0;
  for (int i = 0; i < count; ++i) {
    Tile t{};
    auto [fa, fb] = random_formats(rng);
    t.a_type = fa;
    t.b_type = fb;
    t.os = os_mode == 2 ? (rng() % 2) : os_mode == 1;
    t.n = 1 + rng() % kCols;
    if (!t.os) {
      t.k = 1 + rng() % kRows;
      t.m = 1 + rng() % 16;  // an accumulator region holds 16 rows
    } else {
      t.m = 1 + rng() % kRows;
      t.k = 1 + rng() % 24;
    }
    const unsigned ea = elem_bytes(fa), eb = elem_bytes(fb);
    const uint32_t a_rows = t.os ? t.k : t.m, a_cols = t.os ? t.m : t.k;
    t.a_stride = a_cols * ea + 16 * (rng() % 2);
    t.b_stride = t.n * eb + 16 * (rng() % 2);
    t.a_addr = l1_next;
    l1_next += a_rows * t.a_stride + 16;
    t.b_addr = l1_next;
    l1_next += t.k * t.b_stride + 16;
    // Accumulator: four 16-row regions of rows aligned to one bank row (4 x cols bytes).
    const uint32_t region = rng() % 4;
    t.c_stride = 4 * kCols;
    t.c_addr = region * 16 * t.c_stride;
    tiles.push_back(t);
  }
  // A tile accumulates only into a region last written with the same format class (int
  // or float); words no tile wrote start as zero in both the reference and the RTL.
  std::vector<int> region_int(4, -1);
  for (Tile& t : tiles) {
    const int region = t.c_addr / (16 * t.c_stride);
    const int is_int = t.a_type == kInt8;
    t.accumulate = region_int[region] == is_int && (rng() % 2);
    region_int[region] = is_int;
  }
  return tiles;
}

// The model's run of a tile sequence presented from cycle 0: the engine takes each tile as
// early as it allows (Q), times it and executes it with the model's own code, logging every
// accumulator write.
struct ModelRun {
  std::vector<tessera::timing::MatmulTimes> t;
  std::vector<AccWrite> writes;
};

ModelRun run_model(const std::vector<Tile>& tiles, const std::vector<uint8_t>& l1_bytes, int rows, bool double_buffer,
                   const model::MatmulFault& fault = {}) {
  ModelRun r;
  model::SparseMemory l1, acc;
  l1.write(0, l1_bytes.data(), l1_bytes.size());
  num::NumericEvents ev;
  model::MatmulTrack track(rows, double_buffer);
  track.fault = fault;
  track.log = &r.writes;
  for (size_t i = 0; i < tiles.size(); ++i) {
    const isa::Instr in = to_instr(tiles[i]);
    r.t.push_back(track.tile(track.earliest_q(), in, uint32_t(i)));
    model::fn_matmul(in, l1, acc, ev);
    track.writes(in, r.t.back(), uint32_t(i), acc);
  }
  return r;
}

// The first accumulator write on which model and RTL disagree. The k-th write of an address
// on one side is paired with the k-th write of that address on the other (both write an
// address in program order), so a write names its instruction; the pair (or unpaired write)
// with the earliest cycle is the divergence.
struct Divergence {
  bool found = false;
  size_t model_index = 0;  // index in the model's log (the write the model made or expected)
  AccWrite model, rtl;     // cycle UINT64_MAX: that side has no such write
  std::string text;
};

Divergence first_divergence(const std::vector<AccWrite>& m, const std::vector<AccWrite>& r) {
  std::map<uint64_t, std::vector<size_t>> by_addr_m, by_addr_r;
  for (size_t i = 0; i < m.size(); ++i) by_addr_m[m[i].addr].push_back(i);
  for (size_t i = 0; i < r.size(); ++i) by_addr_r[r[i].addr].push_back(i);
  Divergence d;
  uint64_t best = UINT64_MAX;
  const AccWrite none{UINT64_MAX, 0, 0, 0};
  auto consider = [&](uint64_t key, size_t mi, const AccWrite& mw, const AccWrite& rw) {
    if (d.found && (key > best || (key == best && mi >= d.model_index))) return;
    d.found = true;
    best = key;
    d.model_index = mi;
    d.model = mw;
    d.rtl = rw;
  };
  for (const auto& [addr, mis] : by_addr_m) {
    const std::vector<size_t>& ris = by_addr_r[addr];
    for (size_t k = 0; k < std::max(mis.size(), ris.size()); ++k) {
      const AccWrite mw = k < mis.size() ? m[mis[k]] : none;
      const AccWrite rw = k < ris.size() ? r[ris[k]] : none;
      if (mw.cycle == rw.cycle && mw.value == rw.value) continue;
      consider(std::min(mw.cycle, rw.cycle), k < mis.size() ? mis[k] : m.size(), mw, rw);
    }
  }
  for (const auto& [addr, ris] : by_addr_r)
    if (!by_addr_m.count(addr)) consider(r[ris[0]].cycle, m.size(), none, r[ris[0]]);
  if (d.found) {
    std::ostringstream o;
    o << "accumulator byte 0x" << std::hex << (d.model.cycle != UINT64_MAX ? d.model.addr : d.rtl.addr) << std::dec;
    if (d.model.cycle != UINT64_MAX) {
      o << " (instruction " << d.model.instr << ", model write " << d.model_index << "): model cycle "
        << d.model.cycle << " value 0x" << std::hex << d.model.value << std::dec;
    } else {
      o << ": the model makes no such write";
    }
    if (d.rtl.cycle != UINT64_MAX) {
      o << ", RTL cycle " << d.rtl.cycle << " value 0x" << std::hex << d.rtl.value << std::dec;
    } else {
      o << ", the RTL makes no such write";
    }
    d.text = o.str();
  }
  return d;
}

template <typename V, int kRows, int kCols, bool kDoubleBuffer>
void check(const std::vector<Tile>& tiles, uint64_t seed, const std::string& name) {
  std::printf("%s: seed %llu, %zu tiles\n", name.c_str(), static_cast<unsigned long long>(seed), tiles.size());
  std::mt19937_64 rng(seed ^ 0x5eed);
  std::vector<uint8_t> l1(kL1Bytes, 0);
  for (const Tile& t : tiles) fill(rng, t, l1);
  const ModelRun mr = run_model(tiles, l1, kRows, kDoubleBuffer);
  Bench<V, kRows, kCols> bench(name);
  std::vector<uint64_t> q, e;
  std::vector<AccWrite> writes;
  bench.run(tiles, l1, q, e, writes);
  const Expected x = expected_timing(tiles, kRows, kDoubleBuffer);
  ASSERT_EQ(e.size(), tiles.size()) << "not every tile completed; seed " << seed;
  ASSERT_EQ(q.size(), tiles.size()) << "seed " << seed;
  for (size_t i = 0; i < tiles.size(); ++i) {
    // The model (the code tessera runs) and the independent recurrences agree...
    EXPECT_EQ(mr.t[i].Q, x.q[i]) << "tile " << i << ": model and docs/timing.md disagree on Q; seed " << seed;
    EXPECT_EQ(mr.t[i].E, x.e[i]) << "tile " << i << ": model and docs/timing.md disagree on E; seed " << seed;
    // ...and the RTL's emergent timing agrees with both.
    EXPECT_EQ(q[i], mr.t[i].Q) << "tile " << i << " accepted at the wrong cycle; seed " << seed;
    EXPECT_EQ(e[i], mr.t[i].E) << "tile " << i << " (" << (tiles[i].os ? "os" : "ws") << " m=" << tiles[i].m
                               << " k=" << tiles[i].k << " n=" << tiles[i].n
                               << ") completed at the wrong cycle; seed " << seed;
  }
  // Every accumulator write: cycle, address and value.
  EXPECT_EQ(writes.size(), mr.writes.size()) << "number of accumulator writes; seed " << seed;
  const Divergence d = first_divergence(mr.writes, writes);
  EXPECT_FALSE(d.found) << d.text << "; seed " << seed;
  // Every accumulator word a tile wrote is checked; words never written are skipped.
  std::vector<uint32_t> acc(kAccDepth * kCols, 0);
  std::vector<bool> written(acc.size(), false);
  reference(tiles, l1, acc);
  for (const Tile& t : tiles)
    for (uint32_t i = 0; i < t.m; ++i)
      for (uint32_t j = 0; j < t.n; ++j) written[(t.c_addr + i * t.c_stride) / 4 + j] = true;
  for (size_t w = 0; w < acc.size(); ++w) {
    if (!written[w]) continue;
    ASSERT_EQ(bench.acc(static_cast<int>(w / kCols), static_cast<int>(w % kCols)), acc[w])
        << "accumulator row " << w / kCols << " column " << w % kCols << "; seed " << seed;
  }
}

// The tiny preset's 8x8 array, double-buffered.
void check_tiny(const std::vector<Tile>& tiles, uint64_t seed, const std::string& name) {
  check<Vmatrix_engine, 8, 8, true>(tiles, seed, name);
}

TEST(MatrixEngineRtl, SingleTilesMatchFormula) {
  // One tile per run: fill, stream and drain with nothing overlapping.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 40; ++i) {
    auto tiles = random_tiles(rng, 1, i % 2, 8, 8);
    tiles[0].accumulate = false;
    check_tiny(tiles, 1000 + i, "single");
  }
}

TEST(MatrixEngineRtl, WeightStationaryRunsMatchFormula) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    check_tiny(random_tiles(rng, 6, 0, 8, 8), seed, "ws_run");
  }
}

TEST(MatrixEngineRtl, OutputStationaryRunsMatchFormula) {
  for (uint64_t seed = 101; seed <= 130; ++seed) {
    std::mt19937_64 rng(seed);
    check_tiny(random_tiles(rng, 6, 1, 8, 8), seed, "os_run");
  }
}

TEST(MatrixEngineRtl, MixedDataflowRunsMatchFormula) {
  for (uint64_t seed = 201; seed <= 230; ++seed) {
    std::mt19937_64 rng(seed);
    check_tiny(random_tiles(rng, 8, 2, 8, 8), seed, "mixed_run");
  }
}

// matrix.double_buffer_weights: false — the weight load waits for the previous tile.
TEST(MatrixEngineRtl, SingleBufferedRunsMatchFormula) {
  for (uint64_t seed = 301; seed <= 320; ++seed) {
    std::mt19937_64 rng(seed);
    check<Vmatrix_engine_sb, 8, 8, false>(random_tiles(rng, 8, 2, 8, 8), seed, "single_buffer_run");
  }
}

// The 16x16 variant.
TEST(MatrixEngineRtl, Array16x16RunsMatchFormula) {
  for (uint64_t seed = 401; seed <= 415; ++seed) {
    std::mt19937_64 rng(seed);
    check<Vmatrix_engine_16, 16, 16, true>(random_tiles(rng, 8, 2, 16, 16), seed, "array16_run");
  }
}

// ---- fault injection: the comparison must name the instruction and the write -------------

// A mixed ws/os run on the tiny array, its operands and the fault-free model run.
struct FaultCase {
  std::vector<Tile> tiles;
  std::vector<uint8_t> l1;
  ModelRun clean;
};

// A tile (not the first) whose writes a one-cycle later Q moves: it streams as soon as it is
// taken and drains as soon as its last multiply-add is done (os), or loads its weights as soon
// as it is taken and streams right after (ws).
size_t delayable_tile(const FaultCase& f) {
  for (size_t j = 2; j < f.tiles.size(); ++j) {
    const auto& t = f.clean.t[j];
    const Tile& x = f.tiles[j];
    if (x.os ? (t.S == t.Q && t.D == t.S + x.k + x.m + x.n - 2) : (t.W == t.Q && t.S == t.W + x.k)) return j;
  }
  return 0;
}

// The first seed from 7 whose run has a tile (not among the first two) that a delay moves.
FaultCase fault_case() {
  for (uint64_t seed = 7;; ++seed) {
    FaultCase f;
    std::mt19937_64 rng(seed);
    f.tiles = random_tiles(rng, 10, 2, 8, 8);
    f.l1.assign(kL1Bytes, 0);
    for (const Tile& t : f.tiles) fill(rng, t, f.l1);
    f.clean = run_model(f.tiles, f.l1, 8, true);
    if (delayable_tile(f) > 0 || seed == 200) return f;
  }
}

size_t first_write_of(const std::vector<AccWrite>& log, size_t instr) {
  for (size_t i = 0; i < log.size(); ++i)
    if (log[i].instr == instr) return i;
  return log.size();
}

std::vector<AccWrite> run_rtl(const FaultCase& f, const std::vector<uint64_t>& stalls,
                              const std::vector<Bench<Vmatrix_engine, 8, 8>::Flip>& flips) {
  Bench<Vmatrix_engine, 8, 8> bench("fault");
  bench.stall_cycles = stalls;
  bench.flips = flips;
  std::vector<uint8_t> l1 = f.l1;
  std::vector<uint64_t> q, e;
  std::vector<AccWrite> writes;
  bench.run(f.tiles, l1, q, e, writes);
  return writes;
}

TEST(MatrixEngineFault, FaultFreeRunHasNoDivergence) {
  const FaultCase f = fault_case();
  const Divergence d = first_divergence(f.clean.writes, run_rtl(f, {}, {}));
  EXPECT_FALSE(d.found) << d.text;
}

TEST(MatrixEngineFault, ModelDelayIsReportedAtItsInstruction) {
  const FaultCase f = fault_case();
  const size_t j = delayable_tile(f);
  ASSERT_GT(j, 0u) << "the case has no tile whose start a later Q moves";
  model::MatmulFault fault;
  fault.delay_instr = int64_t(j);
  const ModelRun late = run_model(f.tiles, f.l1, 8, true, fault);
  const Divergence d = first_divergence(late.writes, run_rtl(f, {}, {}));
  ASSERT_TRUE(d.found);
  std::printf("model delay of instruction %zu: %s\n", j, d.text.c_str());
  EXPECT_EQ(d.model.instr, j);
  EXPECT_EQ(d.model_index, first_write_of(late.writes, j));
  EXPECT_EQ(d.model.cycle, d.rtl.cycle + 1);
  EXPECT_EQ(d.model.value, d.rtl.value);
}

TEST(MatrixEngineFault, ModelBitFlipIsReportedAtItsWrite) {
  const FaultCase f = fault_case();
  const size_t w = f.clean.writes.size() / 2;
  model::MatmulFault fault;
  fault.flip_write = int64_t(w);
  fault.flip_bit = 13;
  const ModelRun flipped = run_model(f.tiles, f.l1, 8, true, fault);
  const Divergence d = first_divergence(flipped.writes, run_rtl(f, {}, {}));
  ASSERT_TRUE(d.found);
  std::printf("model flip of write %zu: %s\n", w, d.text.c_str());
  EXPECT_EQ(d.model_index, w);
  EXPECT_EQ(d.model.instr, f.clean.writes[w].instr);
  EXPECT_EQ(d.model.cycle, d.rtl.cycle);
  EXPECT_EQ(d.model.value ^ d.rtl.value, 1u << 13);
}

TEST(MatrixEngineFault, RtlStallIsReportedAtItsInstruction) {
  const FaultCase f = fault_case();
  const size_t j = delayable_tile(f);
  ASSERT_GT(j, 0u);
  // Hold the engine's stream start back in the cycle the tile would start.
  const Divergence d = first_divergence(f.clean.writes, run_rtl(f, {f.clean.t[j].S}, {}));
  ASSERT_TRUE(d.found);
  std::printf("RTL stall at S of instruction %zu: %s\n", j, d.text.c_str());
  EXPECT_EQ(d.model.instr, j);
  EXPECT_EQ(d.model_index, first_write_of(f.clean.writes, j));
  EXPECT_EQ(d.rtl.cycle, d.model.cycle + 1);
}

TEST(MatrixEngineFault, RtlBitFlipIsReportedAtItsWrite) {
  const FaultCase f = fault_case();
  const size_t w = f.clean.writes.size() / 3;
  const AccWrite& tw = f.clean.writes[w];
  const int col = int(tw.addr / 4 % 8);
  const Divergence d = first_divergence(f.clean.writes, run_rtl(f, {}, {{tw.cycle, col, 5}}));
  ASSERT_TRUE(d.found);
  std::printf("RTL flip of write %zu: %s\n", w, d.text.c_str());
  EXPECT_EQ(d.model_index, w);
  EXPECT_EQ(d.model.instr, tw.instr);
  EXPECT_EQ(d.rtl.cycle, tw.cycle);
  EXPECT_EQ(d.model.value ^ d.rtl.value, 1u << 5);
}

}  // namespace
