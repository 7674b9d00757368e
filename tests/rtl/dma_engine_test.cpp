// The DMA engine RTL against docs/isa.md (load/store semantics: the 3-D copy, bytes bit-exact
// in L1 and in the outside memory) and docs/timing.md "DMA": the first beat at T + setup,
// one beat per row piece, beat cost = max of the two sides' bank costs, the L2 outstanding
// rule, and E = t_L + latency(src) + latency(dst), the outside memory's latency being the
// bench's fixed response latency (l2.latency for L2, a random value for HBM, where the
// model's DRAM would time the transfer instead). Two builds: Vdma_engine with the tiny
// preset's parameters (checked against config::load_arch("tiny")), Vdma_engine_small with
// bank-conflicting beats and a binding outstanding limit. Stores also read a matrix engine's
// accumulator (8 banks of 4 bytes, data one cycle after the read) and copy it to the outside
// or into L1 (each L1 write complete l1.latency cycles later). t_L is predicted twice: by this
// bench's transcription and by the model's own tessera::timing::dma_timing. Seeds are printed;
// TESSERA_WAVES=1 writes dma_engine_<test>.fst.
#include <gtest/gtest.h>
#include <verilated.h>
#include <verilated_fst_c.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vdma_engine.h"
#include "Vdma_engine_small.h"
#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/timing/timing.h"
#include "tests/rtl/verilated_top.h"

namespace {

namespace isa = tessera::isa;
namespace timing = tessera::timing;
namespace config = tessera::config;

struct Params {
  uint32_t bpc, setup, max_out, l1_lat, l1_banks, l1_width, l2_lat, l2_banks, l2_width;
};
// Vdma_engine: the RTL defaults (tiny). Vdma_engine_small: the -G values of tests/rtl/CMakeLists.txt.
constexpr Params kTiny{16, 4, 64, 2, 4, 16, 20, 4, 16};
constexpr Params kSmall{32, 2, 3, 3, 2, 8, 6, 4, 8};

// The accumulator behind the read port when the engine reads acc (the RTL defaults).
constexpr uint32_t kAccBanks = 8, kAccWidth = 4, kAccLat = 1;
constexpr uint64_t kAccBytes = 16 * 1024;
constexpr uint64_t kL1Bytes = 64 * 1024;
constexpr uint64_t kExtBytes = 1 << 20;
constexpr uint64_t kExtBase = 0x12'3400'0000ull;  // outside addresses use the upper 40-bit range too

struct Copy {
  bool load = true;
  isa::Space ext = isa::Space::l2;
  // A store from the accumulator (l1_addr, l1_s* are then acc addresses), to the outside or
  // (to_l1) into L1 at ext_off with the ext strides.
  bool acc = false, to_l1 = false;
  uint64_t l1_addr = 0, ext_off = 0;  // ext address = kExtBase + ext_off
  uint64_t len = 1, n1 = 1, n2 = 1;
  uint64_t l1_s1 = 0, l1_s2 = 0, ext_s1 = 0, ext_s2 = 0;
};

isa::Instr to_instr(const Copy& c) {
  isa::Instr in;
  in.op = c.load ? isa::Opcode::load : isa::Opcode::store;
  in.unit = 0;
  const uint64_t ext = c.to_l1 ? c.ext_off : kExtBase + c.ext_off;
  in.src_space = uint64_t(c.load ? c.ext : c.acc ? isa::Space::acc : isa::Space::l1);
  in.dst_space = uint64_t(c.load ? isa::Space::l1 : c.to_l1 ? isa::Space::l1 : c.ext);
  in.src_addr = c.load ? ext : c.l1_addr;
  in.dst_addr = c.load ? c.l1_addr : ext;
  in.src_stride1 = c.load ? c.ext_s1 : c.l1_s1;
  in.dst_stride1 = c.load ? c.l1_s1 : c.ext_s1;
  in.src_stride2 = c.load ? c.ext_s2 : c.l1_s2;
  in.dst_stride2 = c.load ? c.l1_s2 : c.ext_s2;
  in.len = c.len;
  in.n1 = c.n1;
  in.n2 = c.n2;
  return in;
}

// docs/timing.md "SRAM accesses and bank conflicts": ceil(lines / banks) for one range.
uint64_t cost(uint64_t a, uint64_t w, uint64_t width, uint64_t banks) {
  const uint64_t lines = (a + w - 1) / width - a / width + 1;
  return (lines + banks - 1) / banks;
}

// docs/timing.md "DMA", transcribed: the last beat's issue cycle relative to t_0.
uint64_t last_issue(const Copy& c, const Params& p, bool* conflicted = nullptr) {
  std::vector<uint64_t> t;
  uint64_t now = 0;
  const bool l2 = c.ext == isa::Space::l2 && !c.to_l1;
  for (uint64_t pl = 0; pl < c.n2; ++pl)
    for (uint64_t r = 0; r < c.n1; ++r)
      for (uint64_t off = 0; off < c.len; off += p.bpc) {
        const uint64_t w = std::min<uint64_t>(p.bpc, c.len - off);
        const uint64_t la = c.l1_addr + pl * c.l1_s2 + r * c.l1_s1 + off;
        const uint64_t ea = (c.to_l1 ? 0 : kExtBase) + c.ext_off + pl * c.ext_s2 + r * c.ext_s1 + off;
        const uint64_t core_side = c.acc ? cost(la, w, kAccWidth, kAccBanks) : cost(la, w, p.l1_width, p.l1_banks);
        const uint64_t ext_side = c.to_l1 ? cost(ea, w, p.l1_width, p.l1_banks)
                                  : l2     ? cost(ea, w, p.l2_width, p.l2_banks)
                                           : 1;
        const uint64_t cb = std::max(core_side, ext_side);
        uint64_t at = now;
        if (l2 && t.size() >= p.max_out) at = std::max(at, t[t.size() - p.max_out] + p.l2_lat);
        t.push_back(at);
        if (conflicted && cb > 1) *conflicted = true;
        now = at + cb;
      }
  return t.back();
}

uint64_t model_last_issue(const Copy& c, const Params& p) {
  const timing::BankGeometry l1{p.l1_banks, p.l1_width, p.l1_lat};
  const timing::BankGeometry l2{p.l2_banks, p.l2_width, p.l2_lat};
  const timing::BankGeometry acc{kAccBanks, kAccWidth, kAccLat};
  const timing::BankGeometry* ext = c.to_l1 ? &l1 : c.ext == isa::Space::l2 ? &l2 : nullptr;
  timing::DmaSide l1s{c.acc ? &acc : &l1, c.l1_addr, c.l1_s1, c.l1_s2};
  timing::DmaSide exs{ext, (c.to_l1 ? 0 : kExtBase) + c.ext_off, c.ext_s1, c.ext_s2};
  timing::DmaShape sh;
  sh.src = c.load ? exs : l1s;
  sh.dst = c.load ? l1s : exs;
  sh.len = c.len;
  sh.n1 = c.n1;
  sh.n2 = c.n2;
  return timing::dma_timing(sh, p.bpc, p.max_out, c.ext == isa::Space::l2 && !c.to_l1 ? p.l2_lat : 0).last_issue;
}

// The copy in the order of its semantics.
void reference(const Copy& c, std::vector<uint8_t>& l1, std::vector<uint8_t>& ext, std::vector<uint8_t>& acc) {
  for (uint64_t pl = 0; pl < c.n2; ++pl)
    for (uint64_t r = 0; r < c.n1; ++r)
      for (uint64_t i = 0; i < c.len; ++i) {
        uint8_t& a = (c.acc ? acc : l1).at(c.l1_addr + pl * c.l1_s2 + r * c.l1_s1 + i);
        uint8_t& e = (c.to_l1 ? l1 : ext).at(c.ext_off + pl * c.ext_s2 + r * c.ext_s1 + i);
        if (c.load) a = e; else e = a;
      }
}

struct Result {
  std::vector<uint64_t> t, e;
  bool err = false;
  uint64_t stalls = 0;  // cycles a request waited for ready
};

template <class V>
class Bench : public tessera::rtl_bench::VerilatedTop<V> {
  using tessera::rtl_bench::VerilatedTop<V>::top_;

 public:
  Bench(const std::string& name, const Params& p) : tessera::rtl_bench::VerilatedTop<V>("dma_engine_" + name), p_(p) { this->reset(); }

  // Offers the words back to back from cycle 0. The outside answers a request accepted at
  // t at t + ext_lat (reads see the memory at t; writes land at t). `ready_pct` < 100 drops
  // ext_req_ready at random.
  Result run(const std::vector<isa::Word>& words, uint32_t ext_lat, std::vector<uint8_t>& l1, std::vector<uint8_t>& ext,
          uint32_t ready_pct, std::mt19937_64& rng, uint64_t limit = 400000, const std::vector<uint8_t>* acc = nullptr) {
    Result out;
    struct Rsp {
      uint64_t due;
      std::vector<uint8_t> data;
    };
    std::deque<Rsp> rsps, l1_reads;
    size_t next = 0;
    const uint32_t bpc = p_.bpc;
    for (uint64_t cycle = 0; cycle < limit && out.e.size() < words.size(); ++cycle) {
      const bool have_rsp = !rsps.empty() && rsps.front().due == cycle;
      top_->ext_rsp_valid_i = have_rsp;
      set_bytes(top_->ext_rsp_data_i, have_rsp ? rsps.front().data : std::vector<uint8_t>(bpc, 0xA5));
      const bool have_rd = !l1_reads.empty() && l1_reads.front().due == cycle;
      set_bytes(top_->l1_rd_data_i, have_rd ? l1_reads.front().data : std::vector<uint8_t>(bpc, 0x5A));
      const bool ready = std::uniform_int_distribution<uint32_t>(0, 99)(rng) < ready_pct;
      top_->ext_req_ready_i = ready;
      top_->start_i = next < words.size();
      if (next < words.size()) drive(words[next]);
      top_->clk_i = 0;
      top_->eval();
      this->dump(2 * cycle);
      if (top_->start_i && top_->ready_o) {
        out.t.push_back(cycle);
        ++next;
      }
      if (have_rsp) {
        EXPECT_TRUE(top_->ext_rsp_ready_o) << "response refused at " << cycle;
        rsps.pop_front();
      }
      if (have_rd) l1_reads.pop_front();
      if (top_->l1_rd_en_o) {
        // A read of the accumulator returns before the L1 reads in flight (none are: one
        // copy reads one of them).
        const bool from_acc = top_->rd_acc_o;
        Rsp r{cycle + (from_acc ? kAccLat : p_.l1_lat), std::vector<uint8_t>(bpc, 0xEE)};
        for (uint32_t i = 0; i < top_->l1_rd_bytes_o; ++i)
          r.data[i] = from_acc ? acc->at(top_->l1_rd_addr_o + i) : l1.at(top_->l1_rd_addr_o + i);
        l1_reads.push_back(std::move(r));
      }
      if (top_->l1_wr_en_o) {
        const auto d = get_bytes(top_->l1_wr_data_o);
        for (uint32_t i = 0; i < top_->l1_wr_bytes_o; ++i) l1.at(top_->l1_wr_addr_o + i) = d[i];
      }
      if (top_->ext_req_valid_o && !ready) ++out.stalls;
      if (top_->ext_req_valid_o && ready) {
        const uint64_t a = top_->ext_req_addr_o - kExtBase;
        Rsp r{cycle + ext_lat, std::vector<uint8_t>(bpc, 0xCC)};
        if (top_->ext_req_write_o) {
          const auto d = get_bytes(top_->ext_req_data_o);
          for (uint32_t i = 0; i < top_->ext_req_bytes_o; ++i) ext.at(a + i) = d[i];
        } else {
          for (uint32_t i = 0; i < top_->ext_req_bytes_o; ++i) r.data[i] = ext.at(a + i);
        }
        rsps.push_back(std::move(r));
      }
      if (top_->done_o) out.e.push_back(cycle);
      out.err = out.err || top_->err_o;
      top_->clk_i = 1;
      top_->eval();
      this->dump(2 * cycle + 1);
    }
    return out;
  }

 private:
  template <class W>
  void set_bytes(W& port, const std::vector<uint8_t>& b) {
    for (size_t i = 0; i < b.size() / 4; ++i)
      port[i] = uint32_t(b[4 * i]) | uint32_t(b[4 * i + 1]) << 8 | uint32_t(b[4 * i + 2]) << 16 |
                uint32_t(b[4 * i + 3]) << 24;
  }
  template <class W>
  std::vector<uint8_t> get_bytes(const W& port) const {
    std::vector<uint8_t> b(p_.bpc);
    for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(port[i / 4] >> (8 * (i % 4)));
    return b;
  }
  void drive(const isa::Word& w) {
    for (size_t i = 0; i < isa::kWordBytes / 4; ++i)
      top_->word_i[i] = uint32_t(w[4 * i]) | uint32_t(w[4 * i + 1]) << 8 | uint32_t(w[4 * i + 2]) << 16 |
                        uint32_t(w[4 * i + 3]) << 24;
  }

  Params p_;
};

// A random copy whose L1 and outside footprints fit their memories. Shapes: 1-D (one row),
// 2-D, 3-D; strides dense, padded, bank-aligned or odd; addresses aligned or not.
Copy random_copy(std::mt19937_64& rng, const Params& p, bool hbm_ok) {
  auto U = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  Copy c;
  c.load = U(0, 1);
  c.ext = (hbm_ok && U(0, 1)) ? isa::Space::hbm : isa::Space::l2;
  const uint64_t dims = U(1, 3);
  c.len = U(0, 3) == 0 ? U(1, 2 * p.bpc) : U(1, 6 * p.bpc);
  c.n1 = dims >= 2 ? U(1, 6) : 1;
  c.n2 = dims >= 3 ? U(1, 4) : 1;
  auto stride = [&](uint64_t min) {
    switch (U(0, 3)) {
      case 0: return min;
      case 1: return min + U(1, 40);
      case 2: return ((min + 63) / 64 + U(0, 2)) * 64;
      default: return min + 2 * U(0, 50) + 1;
    }
  };
  c.l1_s1 = stride(c.len);
  c.ext_s1 = stride(c.len);
  c.l1_s2 = stride(c.n1 * c.l1_s1);
  c.ext_s2 = stride(c.n1 * c.ext_s1);
  const uint64_t l1_span = (c.n2 - 1) * c.l1_s2 + (c.n1 - 1) * c.l1_s1 + c.len;
  const uint64_t ext_span = (c.n2 - 1) * c.ext_s2 + (c.n1 - 1) * c.ext_s1 + c.len;
  c.l1_addr = U(0, kL1Bytes - l1_span);
  c.ext_off = U(0, kExtBytes - ext_span);
  if (U(0, 1)) c.l1_addr &= ~uint64_t(15);
  // One store in three reads the accumulator; a third of those copy into L1.
  if (!c.load && U(0, 2) == 0 && l1_span <= kAccBytes && ext_span <= kL1Bytes) {
    c.acc = true;
    c.l1_addr = U(0, kAccBytes - l1_span);
    if (U(0, 1)) c.l1_addr &= ~uint64_t(3);
    if (U(0, 2) == 0) {
      c.to_l1 = true;
      c.ext_off = U(0, kL1Bytes - ext_span);
    }
  }
  return c;
}

std::vector<uint8_t> random_bytes(size_t n, std::mt19937_64& rng) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng());
  return v;
}

// Runs `count` sequences of `len` copies; for each: every byte of both memories, T and E.
template <class V>
void random_sequences(const Params& p, const std::string& name, uint64_t first_seed, int count, int len,
                      uint32_t ready_pct) {
  uint64_t conflicts = 0, throttled = 0, stalls = 0, acc_ext = 0, acc_l1 = 0;
  for (uint64_t seed = first_seed; seed < first_seed + uint64_t(count); ++seed) {
    std::mt19937_64 rng(seed);
    std::printf("%s: seed %llu\n", name.c_str(), static_cast<unsigned long long>(seed));
    const uint32_t hbm_lat = uint32_t(std::uniform_int_distribution<uint32_t>(1, 40)(rng));
    // One outside latency per sequence: l2.latency when any copy is on L2 (the formula's), else random.
    std::vector<Copy> copies;
    const bool use_hbm = std::uniform_int_distribution<int>(0, 2)(rng) == 0;
    for (int i = 0; i < len; ++i) copies.push_back(random_copy(rng, p, use_hbm));
    if (use_hbm)
      for (auto& c : copies) c.ext = isa::Space::hbm;
    const uint32_t ext_lat = use_hbm ? hbm_lat : p.l2_lat;
    std::vector<isa::Word> words;
    for (const Copy& c : copies) words.push_back(isa::encode(to_instr(c)));
    std::vector<uint8_t> l1 = random_bytes(kL1Bytes, rng), ext = random_bytes(kExtBytes, rng);
    std::vector<uint8_t> acc = random_bytes(kAccBytes, rng);
    std::vector<uint8_t> l1_ref = l1, ext_ref = ext, acc_ref = acc;
    for (const Copy& c : copies) reference(c, l1_ref, ext_ref, acc_ref);
    Bench<V> b(name + "_" + std::to_string(seed), p);
    const Result r = b.run(words, ext_lat, l1, ext, ready_pct, rng, 400000, &acc);
    stalls += r.stalls;
    ASSERT_EQ(r.e.size(), copies.size()) << "not all copies completed; seed " << seed;
    EXPECT_FALSE(r.err) << "seed " << seed;
    EXPECT_TRUE(l1 == l1_ref) << "L1 contents differ from the reference walk; seed " << seed;
    EXPECT_TRUE(ext == ext_ref) << "outside contents differ from the reference walk; seed " << seed;
    for (size_t i = 0; i < copies.size(); ++i) {
      const Copy& c = copies[i];
      bool conflicted = false;
      const uint64_t tl = last_issue(c, p, &conflicted);
      ASSERT_EQ(tl, model_last_issue(c, p)) << "bench transcription vs timing::dma_timing, copy " << i << "; seed " << seed;
      const uint64_t beats = c.n1 * c.n2 * ((c.len + p.bpc - 1) / p.bpc);
      if (c.ext == isa::Space::l2 && !c.to_l1 && beats > p.max_out && p.max_out < p.l2_lat) ++throttled;
      if (conflicted) ++conflicts;
      if (c.acc) ++(c.to_l1 ? acc_l1 : acc_ext);
      // E = t_L + latency(src) + latency(dst).
      const uint64_t want = r.t[i] + p.setup + tl + (c.acc ? kAccLat : p.l1_lat) + (c.to_l1 ? p.l1_lat : ext_lat);
      if (i > 0) {
        EXPECT_EQ(r.t[i], r.e[i - 1] + 1) << "copy " << i << " start; seed " << seed;
      }
      if (ready_pct >= 100) {
        EXPECT_EQ(r.e[i], want) << "copy " << i << " (" << isa::format_instr(to_instr(c)) << ") E; seed " << seed;
      } else {
        EXPECT_GE(r.e[i], want) << "copy " << i << " E under back-pressure; seed " << seed;
      }
    }
  }
  std::printf("%s: %llu copies with bank-conflict cycles, %llu throttled by the outstanding limit, %llu stalled "
              "request cycles, %llu from acc outside, %llu from acc into L1\n",
              name.c_str(), static_cast<unsigned long long>(conflicts), static_cast<unsigned long long>(throttled),
              static_cast<unsigned long long>(stalls), static_cast<unsigned long long>(acc_ext),
              static_cast<unsigned long long>(acc_l1));
  EXPECT_GT(acc_ext, 0u) << name << ": no store from acc to the outside";
  EXPECT_GT(acc_l1, 0u) << name << ": no store from acc into L1";
  if (p.l1_banks * p.l1_width < p.bpc + p.l1_width - 1) {
    EXPECT_GT(conflicts, 0u) << name << ": no conflicting copy";
  }
  if (p.max_out < p.l2_lat) {
    EXPECT_GT(throttled, 0u) << name << ": no throttled copy";
  }
  if (ready_pct < 100) {
    EXPECT_GT(stalls, 0u) << name << ": no back-pressure";
  }
}

TEST(DmaEngine, TinyParametersArePreset) {
  const config::Arch a = config::load_arch("tiny");
  EXPECT_EQ(a->dma.bytes_per_cycle, kTiny.bpc);
  EXPECT_EQ(a->dma.setup_cycles, kTiny.setup);
  EXPECT_EQ(a->dma.max_outstanding, kTiny.max_out);
  EXPECT_EQ(a->l1.latency, kTiny.l1_lat);
  EXPECT_EQ(a->l1.banks, kTiny.l1_banks);
  EXPECT_EQ(a->l1.bank_width, kTiny.l1_width);
  EXPECT_EQ(a->l1.bytes, kL1Bytes);
  EXPECT_EQ(a->l2.latency, kTiny.l2_lat);
  EXPECT_EQ(a->l2.banks, kTiny.l2_banks);
  EXPECT_EQ(a->l2.bank_width, kTiny.l2_width);
  // The accumulator's geometry is derived (common/config/derived.h), as the model times it.
  const timing::ArchParams tp = timing::arch_params(*a);
  EXPECT_EQ(tp.acc.banks, kAccBanks);
  EXPECT_EQ(tp.acc.width, kAccWidth);
  EXPECT_EQ(tp.acc.latency, kAccLat);
}

// docs/timing.md's example: a 512-byte L2 -> L1 load, 32 beats, t_L = t_0 + 31, E = t_L + 20 + 2.
TEST(DmaEngine, DocExample) {
  Copy c;
  c.load = true;
  c.len = 512;
  c.l1_addr = 1024;
  c.ext_off = 4096;
  std::mt19937_64 rng(1);
  std::vector<uint8_t> l1 = random_bytes(kL1Bytes, rng), ext = random_bytes(kExtBytes, rng);
  Bench<Vdma_engine> b("doc_example", kTiny);
  const Result r = b.run({isa::encode(to_instr(c))}, kTiny.l2_lat, l1, ext, 100, rng);
  ASSERT_EQ(r.e.size(), 1u);
  EXPECT_EQ(r.t[0], 0u);
  EXPECT_EQ(r.e[0], 0 + 4 + 31 + 20 + 2u);  // the doc's T = 1 gives E = 58
  EXPECT_TRUE(std::equal(l1.begin() + 1024, l1.begin() + 1024 + 512, ext.begin() + 4096));
}

TEST(DmaEngine, RandomCopiesTiny) { random_sequences<Vdma_engine>(kTiny, "tiny", 100, 40, 8, 100); }
TEST(DmaEngine, RandomCopiesTinyBackPressure) { random_sequences<Vdma_engine>(kTiny, "tiny_bp", 200, 25, 8, 60); }
TEST(DmaEngine, RandomCopiesConflictsAndThrottle) {
  random_sequences<Vdma_engine_small>(kSmall, "small", 300, 40, 8, 100);
}
TEST(DmaEngine, RandomCopiesConflictsBackPressure) {
  random_sequences<Vdma_engine_small>(kSmall, "small_bp", 400, 25, 8, 50);
}

// Words the engine does not execute are refused (not started) and set err_o.
TEST(DmaEngine, RefusesOtherSpacesAndEmptyCopies) {
  std::mt19937_64 rng(7);
  auto refused = [&](isa::Instr in) {
    std::vector<uint8_t> l1(kL1Bytes), ext(kExtBytes);
    Bench<Vdma_engine> b("refuse", kTiny);
    const Result r = b.run({isa::encode(in)}, kTiny.l2_lat, l1, ext, 100, rng, 200);
    return r.err && r.e.empty();
  };
  Copy c;
  c.len = 32;
  isa::Instr ok = to_instr(c);
  {
    std::vector<uint8_t> l1(kL1Bytes), ext(kExtBytes);
    Bench<Vdma_engine> b("accept", kTiny);
    const Result r = b.run({isa::encode(ok)}, kTiny.l2_lat, l1, ext, 100, rng, 200);
    EXPECT_FALSE(r.err);
    EXPECT_EQ(r.e.size(), 1u);
  }
  isa::Instr acc = ok;
  acc.dst_space = uint64_t(isa::Space::acc);
  EXPECT_TRUE(refused(acc)) << "load into acc";
  isa::Instr l1l1 = ok;
  l1l1.src_space = uint64_t(isa::Space::l1);
  EXPECT_TRUE(refused(l1l1)) << "l1 -> l1";
  isa::Instr st = ok;
  st.op = isa::Opcode::store;
  EXPECT_TRUE(refused(st)) << "store toward l1";
  isa::Instr st_l1 = ok;
  st_l1.op = isa::Opcode::store;
  st_l1.src_space = st_l1.dst_space = uint64_t(isa::Space::l1);
  EXPECT_TRUE(refused(st_l1)) << "store l1 -> l1";
  isa::Instr acc_acc = st_l1;
  acc_acc.src_space = acc_acc.dst_space = uint64_t(isa::Space::acc);
  EXPECT_TRUE(refused(acc_acc)) << "store acc -> acc";
  // n1 = 0 is below the ISA minimum: the word is patched after encoding (n1 = bits 219:200)
  // because the engine must not hang on a word the tools would not produce.
  isa::Word zero = isa::encode(ok);
  zero[25] = 0;
  zero[26] = 0;
  zero[27] &= 0xF0;
  std::vector<uint8_t> l1(kL1Bytes), ext(kExtBytes);
  Bench<Vdma_engine> b("refuse_n1", kTiny);
  const Result r = b.run({zero}, kTiny.l2_lat, l1, ext, 100, rng, 200);
  EXPECT_TRUE(r.err && r.e.empty()) << "n1 = 0";
}

}  // namespace
