// BandwidthDram, the fast DRAM fidelity (docs/dram.md, "Bandwidth model"), against the
// burst-level DramSystem: the same unloaded latencies, streaming bandwidth within the
// stated tolerance, an exact split of any 3-D pattern over the pseudo-channels, the
// interface semantics and determinism.
#include <gtest/gtest.h>

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

#include "common/config/config.h"
#include "common/util/error.h"
#include "model/dram/bandwidth.h"
#include "model/dram/traffic.h"
#include "tests/model/dram/dram_test_util.h"

namespace tessera::model::dram::test {
namespace {

// A transfer alone on an idle DRAM: the first burst of each pseudo-channel sees
// tRCD + CL (CWL) + tBURST, as in the burst model.
TEST(BandwidthDram, UnloadedLatencyMatchesTheBurstModelOnEveryPreset) {
  for (const std::string& name : config::preset_names()) {
    for (bool write : {false, true}) {
      SCOPED_TRACE(name + (write ? " write" : " read"));
      const DramParams p = params_from_config(*config::load_arch(name));
      DramSystem burst(p);
      BandwidthDram bw(p);
      Pattern3D pat;
      pat.base = 12345 * 64;
      pat.len = 1;
      for (Device* m : {static_cast<Device*>(&burst), static_cast<Device*>(&bw)}) {
        m->submit(pat, write, 1, 1000);
        m->run_until_idle();
      }
      const uint64_t expect = 1000u + p.trcd + (write ? p.cwl : p.cl) + burst.params().tburst;
      EXPECT_EQ(burst.take_completed().at(0).tck, expect);
      EXPECT_EQ(bw.take_completed().at(0).tck, expect);
    }
  }
}

double stream_share(Device& m, uint64_t bytes) {
  TrafficSpec spec;
  spec.bytes = bytes;
  run_traffic(m, spec);
  return m.stats().peak_share();
}

struct StreamCase {
  const char* arch;
  bool per_bank;
  uint64_t bytes;
};

// The tolerance the docs state: 2 % of peak on the tiny and sohu-like presets, for both
// refresh modes.
TEST(BandwidthDram, StreamingBandwidthWithinTwoPercentOfTheBurstModel) {
  const StreamCase cases[] = {{"tiny", false, 16 << 20}, {"tiny", true, 16 << 20},
                              {"sohu-like", true, 64 << 20}, {"sohu-like", false, 64 << 20}};
  for (const StreamCase& c : cases) {
    DramParams p = params_from_config(*config::load_arch(c.arch));
    p.refresh = c.per_bank ? Refresh::PerBank : Refresh::AllBank;
    DramSystem burst(p);
    BandwidthDram bw(p);
    const double b = stream_share(burst, c.bytes), f = stream_share(bw, c.bytes);
    const StreamCalibration& k = bw.calibration();
    std::printf("%s %s: burst %.4f bandwidth %.4f (efficiency %.4f: g %u, k %u, row %.1f tCK, refresh %.1f / %.0f)\n",
                c.arch, c.per_bank ? "per_bank" : "all_bank", b, f, k.efficiency, k.groups_in_view,
                k.banks_before_reuse, k.row_time, k.refresh_loss, k.refresh_interval);
    EXPECT_NEAR(f, b, 0.02) << c.arch;
  }
}

// The split of a transfer over the pseudo-channels (a map period at a time) equals a burst
// by burst decode, for random 3-D patterns on three maps, including a shared burst between
// consecutive rows moved once.
TEST(BandwidthDram, PatternSplitEqualsBurstByBurstDecode) {
  // TESSERA_SEED reproduces a failing run.
  const char* env = std::getenv("TESSERA_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::printf("seed %llu (set TESSERA_SEED to repeat)\n", (unsigned long long)seed);
  std::mt19937_64 rng(seed);
  struct MapCase {
    const char* arch;
    const char* map;
  };
  const MapCase maps[] = {{"tiny", nullptr}, {"sohu-like", nullptr}, {"sohu-like", "ro-ba-co-bg-ch-pc-st-co:1"},
                          {"tpu-v1", nullptr}};
  for (const MapCase& mc : maps) {
    SCOPED_TRACE(std::string(mc.arch) + " " + (mc.map ? mc.map : "preset map"));
    DramParams p = params_from_config(*config::load_arch(mc.arch));
    if (mc.map) p.address_map = mc.map;
    BandwidthDram bw(p);
    const DramParams& v = bw.params();
    std::vector<uint64_t> expect(v.pcs_total(), 0);
    for (int t = 0; t < 40; ++t) {
      Pattern3D pat;
      pat.len = 1 + rng() % (t % 4 == 0 ? (4u << 20) : 3000u);
      pat.n1 = 1 + rng() % (t % 4 == 0 ? 2 : 40);
      pat.n2 = 1 + rng() % 3;
      pat.stride1 = pat.len + rng() % 5000 - (t % 3 == 0 ? std::min<uint64_t>(pat.len, 40) : 0);
      // Half the patterns have whole-burst row strides (the stepped path of submit).
      if (t % 2) pat.stride1 = (pat.stride1 / v.burst_bytes + 1) * v.burst_bytes;
      pat.stride2 = pat.stride1 * pat.n1 + rng() % 100000;
      // Some contiguous rows and planes (served as one row, docs/dram.md "Splitting a transfer").
      if (t % 7 == 3) {
        pat.stride1 = pat.len;
        pat.stride2 = pat.len * pat.n1;
      }
      pat.base = rng() % (v.capacity_bytes() / 2);
      bw.submit(pat, t % 5 == 0, 64, 0);
      uint64_t last = UINT64_MAX;
      for (uint64_t i2 = 0; i2 < pat.n2; ++i2) {
        for (uint64_t i1 = 0; i1 < pat.n1; ++i1) {
          const uint64_t start = pat.base + i1 * pat.stride1 + i2 * pat.stride2;
          // As DramSystem: a row's first burst is skipped when the previous row ended in it.
          const uint64_t first = start / v.burst_bytes;
          for (uint64_t b = first == last ? first + 1 : first; b <= (start + pat.len - 1) / v.burst_bytes; ++b) {
            const Location l = bw.address_map().decode(b * v.burst_bytes);
            ++expect[(l.stack * v.channels + l.channel) * v.pcs + l.pc];
          }
          last = (start + pat.len - 1) / v.burst_bytes;
        }
      }
    }
    // Transfers are split a chunk at a time as they are served: count once all are served.
    bw.run_until_idle();
    EXPECT_EQ(bw.bursts_per_pc(), expect);
  }
}

// The Device contract DramPort relies on: completions in time order once advance passes
// them, next_event_tck, now_tck, transfers entering no earlier than now, errors.
TEST(BandwidthDram, EventDrivenInterface) {
  BandwidthDram m(test_device());
  const DramParams& p = m.params();
  EXPECT_EQ(m.next_event_tck(), UINT64_MAX);
  Pattern3D pat;
  pat.len = 32;
  EXPECT_EQ(m.submit(pat, false, 64, 100), 0u);
  const uint64_t done = 100 + p.trcd + p.cl + p.tburst;
  // The transfer enters at 100 (its first chunk is served then); the next event is its end.
  EXPECT_EQ(m.next_event_tck(), 100u);
  m.advance(101);
  EXPECT_EQ(m.next_event_tck(), done);
  m.advance(done);
  EXPECT_TRUE(m.take_completed().empty());
  EXPECT_EQ(m.now_tck(), done);
  m.advance(done + 1);
  const auto c = m.take_completed();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].tck, done);
  m.advance(UINT64_MAX);  // nothing in flight: returns at once
  EXPECT_EQ(m.now_tck(), done + 1);
  // A transfer for a cycle already processed enters now; a second behind it on the same
  // pseudo-channel waits for the first one's bursts, not for a second tRCD + CL.
  pat.len = 64;  // two bursts on one pseudo-channel of the test device's map
  m.submit(pat, false, 64, 0);
  m.submit(pat, false, 64, 0);
  m.run_until_idle();
  const auto two = m.take_completed();
  ASSERT_EQ(two.size(), 2u);
  // Both bursts of a transfer are in one bank group, so tCCD_L apart (the test device has
  // tCCD_L = 5 > tBURST = 2), and the second transfer's bursts follow the first's in that group.
  EXPECT_EQ(two[0].tck, done + 1 + p.trcd + p.cl + p.tccd_l + p.tburst);
  EXPECT_EQ(two[1].tck, two[0].tck + 2 * p.tccd_l);
  // Little's law: one burst in flight makes every burst wait a whole unloaded latency.
  BandwidthDram serial(test_device());
  pat.len = 4 * 32;
  serial.submit(pat, false, 1, 0);
  serial.run_until_idle();
  EXPECT_EQ(serial.take_completed().at(0).tck, 4u * (p.trcd + p.cl + p.tburst));
  pat.len = 1ull << 40;
  EXPECT_THROW(m.submit(pat, false, 64, 0), InputError);
  pat.len = 32;
  EXPECT_THROW(m.submit(pat, false, 0, 0), InputError);
}

// Transfers that arrive together share the pseudo-channels as the burst model's windows make
// them: sixteen 224 KiB weight tiles (a decode layer's cores, 1,024 bursts in flight each) all
// finish near the end of the whole, not one after another as first come first served would
// have them. Each completion is held to the burst model's within 15 %.
// Also with the schema's 64-entry read queues, where both models take longer.
void expect_concurrent_tiles_as_burst_model(uint32_t read_queue) {
  SCOPED_TRACE("read_queue " + std::to_string(read_queue));
  DramParams p = params_from_config(*config::load_arch("sohu-like"));
  p.read_queue = read_queue;
  DramSystem burst(p);
  BandwidthDram bw(p);
  std::vector<uint64_t> done[2];
  int k = 0;
  for (Device* m : {static_cast<Device*>(&burst), static_cast<Device*>(&bw)}) {
    for (uint64_t i = 0; i < 16; ++i) {
      Pattern3D pat;
      pat.base = (64ull << 20) + i * (224ull << 10);
      pat.len = 224ull << 10;
      m->submit(pat, false, 1024, 0, 128);
    }
    m->run_until_idle();
    done[k].assign(16, 0);
    for (const Completion& c : m->take_completed()) done[k][c.id] = c.tck;
    ++k;
  }
  const auto [bmin, bmax] = std::minmax_element(done[1].begin(), done[1].end());
  const auto [rmin, rmax] = std::minmax_element(done[0].begin(), done[0].end());
  std::printf("burst model: first %llu, last %llu tCK; bandwidth model: first %llu, last %llu tCK\n",
              (unsigned long long)*rmin, (unsigned long long)*rmax, (unsigned long long)*bmin,
              (unsigned long long)*bmax);
  for (int i = 0; i < 16; ++i) {
    EXPECT_NEAR(double(done[1][i]), double(done[0][i]), 0.15 * double(done[0][i])) << "transfer " << i;
  }
}

TEST(BandwidthDram, ConcurrentTransfersFinishTogetherAsInTheBurstModel) {
  expect_concurrent_tiles_as_burst_model(256);
  expect_concurrent_tiles_as_burst_model(64);
}

// A block described as contiguous rows (a KV page: 128 rows of 256 bytes) or as planes of them is
// the same bursts in the same order as the block in one row, so it is served the same.
TEST(BandwidthDram, ContiguousRowsAreServedAsOneRow) {
  auto serve = [](const Pattern3D& pat) {
    BandwidthDram m(params_from_config(*config::load_arch("sohu-like")));
    Pattern3D other{1 << 20, 1 << 16, 1, 1, 0, 0};  // a concurrent transfer to interleave with
    m.submit(pat, false, 256, 0);
    m.submit(other, true, 256, 3);
    m.run_until_idle();
    std::ostringstream os;
    for (const Completion& c : m.take_completed()) os << c.id << '@' << c.tck << ' ';
    m.stats().write_json(os);
    return os.str();
  };
  const std::string one = serve(Pattern3D{4096, 32768, 1, 1, 0, 0});
  EXPECT_EQ(serve(Pattern3D{4096, 256, 128, 1, 256, 0}), one);
  EXPECT_EQ(serve(Pattern3D{4096, 256, 16, 8, 256, 4096}), one);
  EXPECT_NE(serve(Pattern3D{4096, 256, 128, 1, 512, 0}), one);  // a gap between rows is another transfer
}

// A transfer's split kept at submit and replayed gives the same service as the split worked out
// chunk by chunk as the transfer is served (the path past the kept splits' memory bound): random
// overlapping transfers on three presets, with windows wide enough for chunks that cover whole
// address-map periods and narrow enough for chunks that put two runs on one pseudo-channel.
TEST(BandwidthDram, KeptSplitsServeAsSplitsWorkedOutWhileServing) {
  const char* env = std::getenv("TESSERA_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::printf("seed %llu (set TESSERA_SEED to repeat)\n", (unsigned long long)seed);
  for (const char* arch : {"tiny", "sohu-like", "tpu-v1"}) {
    SCOPED_TRACE(arch);
    auto serve = [&](bool keep) {
      BandwidthDram m(params_from_config(*config::load_arch(arch)));
      m.keep_splits(keep);
      std::mt19937_64 rng(seed);
      uint64_t t = 0;
      for (int i = 0; i < 120; ++i) {
        Pattern3D pat;
        pat.len = 1 + rng() % (i % 3 == 0 ? (4u << 20) : 40000u);
        pat.n1 = 1 + rng() % 4;
        pat.n2 = 1 + rng() % 2;
        pat.stride1 = pat.len + rng() % 3000;
        pat.stride2 = pat.stride1 * pat.n1 + rng() % 10000;
        pat.base = rng() % (m.params().capacity_bytes() / 2);
        const uint32_t window = i % 3 == 0 ? 65536 : i % 3 == 1 ? 4096 : 16;
        m.submit(pat, i % 4 == 0, window, t);
        t += rng() % 3000;
        m.advance(t);
      }
      m.run_until_idle();
      std::ostringstream os;
      for (const Completion& c : m.take_completed()) os << c.id << '@' << c.tck << ' ';
      m.stats().write_json(os);
      return os.str();
    };
    EXPECT_EQ(serve(true), serve(false));
  }
}

TEST(BandwidthDram, SameRunTwiceGivesIdenticalStats) {
  auto once = [] {
    BandwidthDram m(params_from_config(*config::load_arch("sohu-like")));
    TrafficSpec spec;
    spec.kind = TrafficSpec::Kind::Mix;
    spec.bytes = 1 << 20;
    run_traffic(m, spec);
    std::ostringstream os;
    m.stats().write_json(os);
    return os.str();
  };
  const std::string a = once();
  EXPECT_EQ(a, once());
  EXPECT_NE(a.find("\"dram_model\": \"bandwidth\""), std::string::npos);
}

}  // namespace
}  // namespace tessera::model::dram::test
