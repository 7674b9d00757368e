// The banked SRAM RTL against docs/timing.md "SRAM accesses and bank conflicts" and "SRAM ports
// and arbitration": one access of `bytes` bytes at `a` takes c = ceil(lines / banks) windows
// (tessera::timing::contiguous_beat_cycles), one per cycle in which its port is granted its
// banks, and the port is not ready until its last; read data arrive `latency` cycles after the
// access's last window (one cycle on the fast port); data equal a byte-level reference in which
// each cycle's granted windows (banks consecutive lines per port) are read before, and written
// after, that cycle. With per-client ports every window is granted; otherwise the reference
// grants them by the round-robin policy of rtl/sram.sv's header, written again here from the
// doc, with the port kind's capacity per bank and cycle. Builds: Vsram (tiny's L1: 64 KiB, 4
// banks x 16 B, latency 2; 64-byte ports so unaligned accesses conflict), Vsram_small (2 banks x
// 8 B, latency 3, 40-byte ports: up to 3 cycles per access), and the single-, two- and
// dual-port variants Vsram_single, Vsram_two (small's geometry) and Vsram_dual. Random traffic
// on every port every cycle; seeds printed; TESSERA_WAVES=1 writes sram_<test>.fst.
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

#include "Vsram.h"
#include "Vsram_dual.h"
#include "Vsram_single.h"
#include "Vsram_small.h"
#include "Vsram_two.h"
#include "common/timing/ports.h"
#include "common/timing/sram.h"
#include "tests/rtl/verilated_top.h"

namespace {

namespace timing = tessera::timing;

struct Params {
  uint32_t bytes, banks, width, latency, num_rd, num_wr, port_bytes, fast_mask;
  timing::Ports kind = timing::Ports::per_client;  // PortKind, in config::SramPorts order
};
// The -G values of tests/rtl/CMakeLists.txt.
constexpr Params kTinyL1{65536, 4, 16, 2, 3, 2, 64, 0b001};
constexpr Params kSmall{4096, 2, 8, 3, 3, 2, 40, 0b010};
constexpr Params kSingle{65536, 4, 16, 2, 3, 2, 64, 0b001, timing::Ports::single_port};
constexpr Params kTwo{4096, 2, 8, 3, 3, 2, 40, 0b010, timing::Ports::two_port};
constexpr Params kDual{65536, 4, 16, 2, 3, 2, 64, 0b001, timing::Ports::dual_port};

struct Access {
  uint64_t t = 0;  // cycle accepted
  uint32_t addr = 0, bytes = 0, cost = 0;
  std::vector<uint8_t> data;  // write data, or the reference read data
};

struct Port {
  bool active = false;
  Access acc;
  uint32_t window = 0;
};

template <class V>
class Bench : public tessera::rtl_bench::VerilatedTop<V> {
  using tessera::rtl_bench::VerilatedTop<V>::top_;

 public:
  Bench(const std::string& name, const Params& p) : tessera::rtl_bench::VerilatedTop<V>("sram_" + name), p_(p) { this->reset(); }

  // `cycles` cycles of random traffic: each idle port starts an access with probability
  // `busy_pct`; addresses in a `span`-byte window so reads and writes meet. Checks every read
  // and every ready, returns the number of accesses that cost more than one cycle.
  uint64_t run(uint64_t cycles, uint32_t busy_pct, uint32_t span, std::mt19937_64& rng, uint64_t seed) {
    const timing::BankGeometry g{p_.banks, p_.width, p_.latency};
    std::vector<uint8_t> ref(p_.bytes, 0);
    // The RTL's memory starts undefined: write it all first through write port 0, one line at a time.
    for (uint32_t a = 0; a < p_.bytes;) {
      const uint32_t n = std::min<uint32_t>(p_.port_bytes / p_.width * p_.width, p_.bytes - a);
      std::vector<uint8_t> d(n);
      for (auto& b : d) b = uint8_t(rng());
      std::copy(d.begin(), d.end(), ref.begin() + a);
      drive_write(0, true, a, n, d);
      for (uint32_t q = 1; q < p_.num_wr; ++q) drive_write(q, false, 0, 0, {});
      for (uint32_t q = 0; q < p_.num_rd; ++q) drive_read(q, false, 0, 0);
      tick(nullptr);
      while (!(top_->wr_ready_o & 1)) tick(nullptr);
      a += n;
    }
    std::vector<Port> rd(p_.num_rd), wr(p_.num_wr);
    std::vector<std::deque<Access>> due(p_.num_rd);
    uint64_t conflicting = 0, reads = 0;
    auto U = [&](uint64_t lo, uint64_t hi) { return uint32_t(std::uniform_int_distribution<uint64_t>(lo, hi)(rng)); };
    const uint32_t base = U(0, p_.bytes / 2);
    for (uint64_t cycle = 0; cycle < cycles; ++cycle) {
      // New requests on idle ports.
      std::vector<bool> rd_new(p_.num_rd, false), wr_new(p_.num_wr, false);
      for (uint32_t q = 0; q < p_.num_rd; ++q) {
        const bool ready = (top_->rd_ready_o >> q) & 1;
        EXPECT_EQ(ready, !rd[q].active) << "read port " << q << " ready at " << cycle << "; seed " << seed;
        if (!rd[q].active && U(0, 99) < busy_pct) {
          Access a;
          a.t = cycle;
          a.bytes = U(1, p_.port_bytes);
          a.addr = (base + U(0, span)) % p_.bytes;
          if (a.addr + a.bytes > p_.bytes) a.addr = p_.bytes - a.bytes;
          a.cost = uint32_t(timing::contiguous_beat_cycles(g, a.addr, a.bytes));
          a.data.assign(a.bytes, 0);
          rd[q] = Port{true, a, 0};
          rd_new[q] = true;
          drive_read(q, true, a.addr, a.bytes);
        } else {
          drive_read(q, false, U(0, p_.bytes - 1), U(1, p_.port_bytes));  // ignored while busy or idle
        }
      }
      for (uint32_t q = 0; q < p_.num_wr; ++q) {
        const bool ready = (top_->wr_ready_o >> q) & 1;
        EXPECT_EQ(ready, !wr[q].active) << "write port " << q << " ready at " << cycle << "; seed " << seed;
        if (!wr[q].active && U(0, 99) < busy_pct) {
          Access a;
          a.t = cycle;
          a.bytes = U(1, p_.port_bytes);
          a.addr = (base + U(0, span)) % p_.bytes;
          if (a.addr + a.bytes > p_.bytes) a.addr = p_.bytes - a.bytes;
          a.cost = uint32_t(timing::contiguous_beat_cycles(g, a.addr, a.bytes));
          a.data.resize(a.bytes);
          for (auto& b : a.data) b = uint8_t(rng());
          wr[q] = Port{true, a, 0};
          wr_new[q] = true;
          drive_write(q, true, a.addr, a.bytes, a.data);
        } else {
          std::vector<uint8_t> junk(p_.port_bytes);
          for (auto& b : junk) b = uint8_t(rng());
          drive_write(q, false, U(0, p_.bytes - 1), U(1, p_.port_bytes), junk);
        }
      }
      // The reference: this cycle's granted windows read, then written (ports in order).
      auto window_lines = [&](const Access& a, uint32_t j, auto&& fn) {
        const uint64_t l0 = a.addr / p_.width, l1 = (a.addr + a.bytes - 1) / p_.width;
        for (uint64_t l = l0 + uint64_t(j) * p_.banks; l <= l1 && l < l0 + uint64_t(j + 1) * p_.banks; ++l) fn(l);
      };
      std::vector<bool> rg, wg;
      grants(rd, wr, window_lines, rg, wg);
      for (uint32_t q = 0; q < p_.num_rd; ++q) {
        if (!rd[q].active || !rg[q]) continue;
        Access& a = rd[q].acc;
        window_lines(a, rd[q].window, [&](uint64_t l) {
          for (uint64_t b = l * p_.width; b < (l + 1) * p_.width; ++b)
            if (b >= a.addr && b < a.addr + a.bytes) a.data[b - a.addr] = ref[b];
        });
      }
      for (uint32_t q = 0; q < p_.num_wr; ++q) {
        if (!wr[q].active || !wg[q]) continue;
        const Access& a = wr[q].acc;
        window_lines(a, wr[q].window, [&](uint64_t l) {
          for (uint64_t b = l * p_.width; b < (l + 1) * p_.width; ++b)
            if (b >= a.addr && b < a.addr + a.bytes) ref[b] = a.data[b - a.addr];
        });
      }
      // Observe outputs of this cycle: read data due now.
      tick([&] {
        for (uint32_t q = 0; q < p_.num_rd; ++q) {
          const bool valid = (top_->rd_valid_o >> q) & 1;
          const bool want = !due[q].empty() && due[q].front().t == cycle;
          EXPECT_EQ(valid, want) << "read port " << q << " valid at " << cycle << "; seed " << seed;
          if (valid && want) {
            const Access& a = due[q].front();
            for (uint32_t i = 0; i < a.bytes; ++i) {
              const uint8_t got = uint8_t(top_->rd_data_o[(q * p_.port_bytes + i) / 4] >> (8 * (i % 4)));
              if (got != a.data[i]) {
                ADD_FAILURE() << "read port " << q << " byte " << i << " of " << a.bytes << " at " << a.addr
                              << ": got " << int(got) << " want " << int(a.data[i]) << "; seed " << seed;
                break;
              }
            }
            ++reads;
          }
          if (want) due[q].pop_front();
        }
      });
      // Advance the accesses.
      for (uint32_t q = 0; q < p_.num_rd; ++q) {
        if (!rd[q].active || !rg[q]) continue;
        if (++rd[q].window == rd[q].acc.cost) {
          Access done = rd[q].acc;
          const uint32_t lat = (p_.fast_mask >> q) & 1 ? 1 : p_.latency;
          done.t = cycle + lat;  // last window at `cycle`
          if (rd[q].acc.cost > 1) ++conflicting;
          due[q].push_back(done);
          rd[q].active = false;
        }
      }
      for (uint32_t q = 0; q < p_.num_wr; ++q) {
        if (!wr[q].active || !wg[q]) continue;
        if (++wr[q].window == wr[q].acc.cost) {
          if (wr[q].acc.cost > 1) ++conflicting;
          wr[q].active = false;
        }
      }
    }
    EXPECT_GT(reads, cycles / 10) << "too few reads checked; seed " << seed;
    if (p_.kind != timing::Ports::per_client) {
      EXPECT_GT(denied_, cycles / 10) << "too few windows waited; seed " << seed;
    }
    return conflicting;
  }

  // Ports `rd_ports` and `wr_ports` each move `count` accesses of one whole row of lines
  // (banks x width bytes, aligned: one window each) back to back from cycle 0; returns the
  // cycles until the last one's last window.
  uint64_t stream(uint32_t rd_ports, uint32_t wr_ports, uint32_t count) {
    const uint32_t row = p_.banks * p_.width;
    std::vector<uint32_t> left_r(rd_ports, count), left_w(wr_ports, count);
    std::vector<uint8_t> data(row, 0x5a);
    uint64_t cycles = 0;
    for (;; ++cycles) {
      bool busy = false;
      for (uint32_t q = 0; q < p_.num_rd; ++q) {
        const bool go = q < rd_ports && left_r[q] > 0 && ((top_->rd_ready_o >> q) & 1);
        if (go) --left_r[q];
        drive_read(q, go, (q * count + (count - (q < rd_ports ? left_r[q] : 0))) * row % p_.bytes, row);
        busy |= go || (q < rd_ports && (left_r[q] > 0 || !((top_->rd_ready_o >> q) & 1)));
      }
      for (uint32_t q = 0; q < p_.num_wr; ++q) {
        const bool go = q < wr_ports && left_w[q] > 0 && ((top_->wr_ready_o >> q) & 1);
        if (go) --left_w[q];
        drive_write(q, go, ((p_.num_rd + q) * count) * row % p_.bytes, row, data);
        busy |= go || (q < wr_ports && (left_w[q] > 0 || !((top_->wr_ready_o >> q) & 1)));
      }
      if (!busy) return cycles;
      tick(nullptr);
    }
  }

 private:
  template <class F>
  void tick(F&& observe) {
    top_->clk_i = 0;
    top_->eval();
    this->dump(2 * now_);
    if constexpr (!std::is_same_v<std::decay_t<F>, std::nullptr_t>) observe();
    top_->clk_i = 1;
    top_->eval();
    this->dump(2 * now_ + 1);
    ++now_;
  }
  void drive_read(uint32_t q, bool req, uint32_t addr, uint32_t bytes) {
    top_->rd_req_i = (top_->rd_req_i & ~(1u << q)) | (uint32_t(req) << q);
    set_word(top_->rd_addr_i, q, addr);
    set_byte(top_->rd_bytes_i, q, bytes);
  }
  void drive_write(uint32_t q, bool req, uint32_t addr, uint32_t bytes, const std::vector<uint8_t>& d) {
    top_->wr_req_i = (top_->wr_req_i & ~(1u << q)) | (uint32_t(req) << q);
    set_word(top_->wr_addr_i, q, addr);
    set_byte(top_->wr_bytes_i, q, bytes);
    for (uint32_t i = 0; i < p_.port_bytes; ++i) {
      const uint32_t bit = (q * p_.port_bytes + i) * 8;
      uint32_t& w = top_->wr_data_i[bit / 32];
      w = (w & ~(0xFFu << (bit % 32))) | (uint32_t(i < d.size() ? d[i] : 0) << (bit % 32));
    }
  }
  template <class W>
  static void set_word(W& port, uint32_t q, uint32_t v) {
    if constexpr (std::is_integral_v<W>) {
      port = W((uint64_t(port) & ~(uint64_t(0xFFFFFFFF) << (32 * q))) | (uint64_t(v) << (32 * q)));
    } else {
      port[q] = v;
    }
  }
  template <class W>
  static void set_byte(W& port, uint32_t q, uint32_t v) {
    port = W((uint64_t(port) & ~(uint64_t(0xFF) << (8 * q))) | (uint64_t(v & 0xFF) << (8 * q)));
  }

  // This cycle's grants by the documented policy: clients are read ports then write ports,
  // client (cycle mod N) first and the others in turn; a client's window is granted when each
  // bank it touches has a port of its kind left this cycle.
  template <class Lines>
  void grants(const std::vector<Port>& rd, const std::vector<Port>& wr, Lines&& window_lines, std::vector<bool>& rg,
              std::vector<bool>& wg) {
    rg.assign(p_.num_rd, true);
    wg.assign(p_.num_wr, true);
    if (p_.kind == timing::Ports::per_client) return;
    const uint32_t n = p_.num_rd + p_.num_wr;
    std::vector<uint32_t> any(p_.banks, 0), reads(p_.banks, 0), writes(p_.banks, 0);
    for (uint32_t k = 0; k < n; ++k) {
      const uint32_t c = uint32_t((now_ + k) % n);
      const bool is_rd = c < p_.num_rd;
      const Port& port = is_rd ? rd[c] : wr[c - p_.num_rd];
      std::vector<bool>::reference g = is_rd ? rg[c] : wg[c - p_.num_rd];
      if (!port.active) continue;
      std::vector<uint32_t> touched;
      window_lines(port.acc, port.window, [&](uint64_t l) { touched.push_back(uint32_t(l % p_.banks)); });
      bool ok = true;
      for (uint32_t b : touched) {
        switch (p_.kind) {
          case timing::Ports::single_port: ok &= any[b] == 0; break;
          case timing::Ports::two_port: ok &= (is_rd ? reads[b] : writes[b]) == 0; break;
          case timing::Ports::dual_port: ok &= any[b] < 2; break;
          case timing::Ports::per_client: break;
        }
      }
      g = ok;
      if (!ok) {
        ++denied_;
        continue;
      }
      for (uint32_t b : touched) {
        ++any[b];
        ++(is_rd ? reads[b] : writes[b]);
      }
    }
  }

  Params p_;
  uint64_t now_ = 0, denied_ = 0;
};

template <class V>
void random_traffic(const Params& p, const std::string& name, uint64_t first, int count, uint32_t span) {
  uint64_t conflicting = 0;
  for (uint64_t seed = first; seed < first + uint64_t(count); ++seed) {
    std::printf("%s: seed %llu\n", name.c_str(), static_cast<unsigned long long>(seed));
    std::mt19937_64 rng(seed);
    Bench<V> b(name + "_" + std::to_string(seed), p);
    conflicting += b.run(3000, 70, span, rng, seed);
    if (::testing::Test::HasFailure()) return;
  }
  std::printf("%s: %llu accesses took more than one cycle\n", name.c_str(), static_cast<unsigned long long>(conflicting));
  EXPECT_GT(conflicting, 100u);
}

// The doc's cost rule on the tiny geometry, the cases the RTL test relies on.
TEST(Sram, CostRuleExamples) {
  const timing::BankGeometry g{4, 16, 2};
  EXPECT_EQ(timing::contiguous_beat_cycles(g, 0, 64), 1u);   // 4 lines, one per bank
  EXPECT_EQ(timing::contiguous_beat_cycles(g, 8, 64), 2u);   // 5 lines: bank 0 twice
  EXPECT_EQ(timing::contiguous_beat_cycles(g, 15, 16), 1u);  // 2 lines
  EXPECT_TRUE(timing::contiguous_never_conflicts(g, 16));    // the core's 16-byte ports never conflict
}

TEST(Sram, RandomTrafficTinyL1) { random_traffic<Vsram>(kTinyL1, "tiny_l1", 1, 6, 512); }
TEST(Sram, RandomTrafficSmall) { random_traffic<Vsram_small>(kSmall, "small", 50, 6, 256); }
TEST(Sram, RandomTrafficSinglePort) { random_traffic<Vsram_single>(kSingle, "single", 100, 4, 512); }
TEST(Sram, RandomTrafficTwoPort) { random_traffic<Vsram_two>(kTwo, "two", 150, 4, 256); }
TEST(Sram, RandomTrafficDualPort) { random_traffic<Vsram_dual>(kDual, "dual", 200, 4, 512); }

// Clients streaming whole rows through the arbitrated RTL against the model's port booking
// (timing::port_capacity and timing::book, what model/core's BankPorts does): each client moves its
// rows at one row per cycle, booked first come first served in 32-cycle windows, where the RTL
// grants cycle by cycle round-robin. The RTL never moves more than the ports allow, and its end
// is within one booking window of the model's (docs/timing.md: the model "can be off by up to one
// window against a cycle-by-cycle arbiter").
TEST(Sram, StreamsMoveThePortCapacityOfTheModel) {
  constexpr uint32_t kCount = 40;
  auto check = [&](const Params& p, uint32_t readers, uint32_t writers, uint64_t rtl_cycles) {
    const timing::BankGeometry g{p.banks, p.width, p.latency};
    const timing::PortCapacity cap = timing::port_capacity(g, p.kind);
    const uint64_t row = g.row_bytes(), bytes = uint64_t(kCount) * row;
    timing::BandwidthCalendar shared(cap.shared), rd(cap.read), wr(cap.write);
    uint64_t model = 0;
    for (uint32_t c = 0; c < readers + writers; ++c) {
      timing::BandwidthCalendar* side = c < readers ? &rd : &wr;
      model = std::max(model, kCount + timing::book({&shared, side}, 0, bytes, row));
    }
    const uint64_t r = uint64_t(readers) * bytes, w = uint64_t(writers) * bytes;
    const uint64_t floor = cap.shared ? (r + w + cap.shared - 1) / cap.shared
                                      : std::max((r + cap.read - 1) / cap.read, (w + cap.write - 1) / cap.write);
    std::printf("kind %d, %u readers, %u writers: RTL %llu cycles, model %llu, port floor %llu\n", int(p.kind), readers,
                writers, (unsigned long long)rtl_cycles, (unsigned long long)model, (unsigned long long)floor);
    EXPECT_GE(rtl_cycles, floor);
    EXPECT_LE(rtl_cycles, model + timing::kPortWindow);
    EXPECT_GE(rtl_cycles + timing::kPortWindow, model);
  };
  {
    Bench<Vsram_single> b("stream_single", kSingle);
    check(kSingle, 3, 0, b.stream(3, 0, kCount));
  }
  {
    Bench<Vsram_single> b("stream_single_rw", kSingle);
    check(kSingle, 2, 2, b.stream(2, 2, kCount));
  }
  {
    Bench<Vsram_two> b("stream_two", kTwo);
    check(kTwo, 2, 2, b.stream(2, 2, kCount));
  }
  {
    Bench<Vsram_dual> b("stream_dual", kDual);
    check(kDual, 3, 0, b.stream(3, 0, kCount));
  }
  {
    Bench<Vsram> b("stream_per_client", kTinyL1);  // no arbitration: every port at one row per cycle
    EXPECT_EQ(b.stream(3, 2, kCount), kCount);
  }
}

}  // namespace
