// Each DRAM timing constraint observed in isolation: two or three commands whose cycles
// follow from one constraint of the test device (dram_test_util.h), so that a model that
// ignored or mis-applied it would put a command on another cycle.
#include <gtest/gtest.h>

#include "tests/model/dram/dram_test_util.h"

namespace tessera::model::dram::test {
namespace {

// Cycle of the n-th command `cmd` (0-based) in trace order.
uint64_t at(Harness& h, const std::string& cmd, size_t n = 0) {
  const auto v = h.only(cmd);
  EXPECT_GT(v.size(), n) << "fewer than " << n + 1 << " " << cmd << " commands";
  return v.size() > n ? v[n].cycle : UINT64_MAX;
}

TEST(DramTiming, UnloadedReadLatencyIsTrcdPlusClPlusBurst) {
  Harness h(test_device());
  const DramParams& p = h.model().params();  // validated: tburst derived
  h.read(h.addr(0, 0, 0, 0, 3), 0);
  h.run();
  EXPECT_EQ(at(h, "ACT"), 0u);
  EXPECT_EQ(at(h, "RD"), p.trcd);
  const auto done = h.model().take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tck, uint64_t(p.trcd + p.cl + p.tburst));
  EXPECT_EQ(done[0].tck, h.model().params().unloaded_read_tck());
  EXPECT_EQ(h.model().stats().read_latency.min, 20u);  // 7 + 11 + 2
}

TEST(DramTiming, Trcd) {
  Harness h(test_device());
  h.read(h.addr(0, 0, 1, 1, 5), 40);
  h.run();
  EXPECT_EQ(at(h, "ACT"), 40u);
  EXPECT_EQ(at(h, "RD"), 47u);  // tRCD 7
}

TEST(DramTiming, TccdLSameBankGroup) {
  Harness h(test_device());
  h.read(h.addr(0, 0, 0, 0, 1), 0, 64);  // two bursts of one row
  h.run();
  EXPECT_EQ(at(h, "RD", 0), 7u);
  EXPECT_EQ(at(h, "RD", 1), 12u);  // tCCD_L 5
}

TEST(DramTiming, TccdSAcrossBankGroupsAndTccdLAcrossBanksOfOneGroup) {
  Harness h(test_device());
  // Open three rows, then read from them together once everything has settled.
  h.read(h.addr(0, 0, 0, 0, 1), 0);
  h.read(h.addr(0, 0, 1, 0, 1), 0);
  h.read(h.addr(0, 0, 0, 1, 1), 0);
  h.run();
  h.read(h.addr(0, 0, 0, 0, 1, 1), 100);
  h.read(h.addr(0, 0, 1, 0, 1, 1), 100);
  h.read(h.addr(0, 0, 0, 1, 1, 1), 100);
  h.run();
  EXPECT_EQ(at(h, "RD", 3), 100u);
  EXPECT_EQ(at(h, "RD", 4), 103u);  // other bank group: tCCD_S 3
  EXPECT_EQ(at(h, "RD", 5), 106u);  // bank group 0 again: 100 + tCCD_L 5 = 105 < 103 + tCCD_S 3
  EXPECT_EQ(h.only("ACT").size(), 3u);
}

TEST(DramTiming, TrrdSAndTrrdL) {
  {
    Harness h(test_device());
    h.read(h.addr(0, 0, 0, 0, 1), 0);
    h.read(h.addr(0, 0, 1, 0, 1), 0);
    h.run();
    EXPECT_EQ(at(h, "ACT", 1), 3u);  // tRRD_S
  }
  {
    Harness h(test_device());
    h.read(h.addr(0, 0, 0, 0, 1), 0);
    h.read(h.addr(0, 0, 0, 1, 1), 0);
    h.run();
    EXPECT_EQ(at(h, "ACT", 1), 5u);  // tRRD_L
  }
}

TEST(DramTiming, TfawLimitsTheFifthActivate) {
  Harness h(test_device());
  h.read(h.addr(0, 0, 0, 0, 1), 0);
  h.read(h.addr(0, 0, 1, 0, 1), 0);
  h.read(h.addr(0, 0, 2, 0, 1), 0);
  h.read(h.addr(0, 0, 3, 0, 1), 0);
  h.read(h.addr(0, 0, 0, 1, 1), 0);
  h.run();
  const auto acts = h.only("ACT");
  ASSERT_EQ(acts.size(), 5u);
  EXPECT_EQ(acts[3].cycle, 9u);
  EXPECT_EQ(acts[4].cycle, 23u);  // tRRD would allow 12; tFAW 23 after the ACT at 0
}

TEST(DramTiming, TrasTrpTrcOnARowConflict) {
  Harness h(test_device());
  h.read(h.addr(0, 0, 2, 1, 1), 0);
  h.read(h.addr(0, 0, 2, 1, 2), 0);
  h.run();
  EXPECT_EQ(at(h, "RD", 0), 7u);
  EXPECT_EQ(at(h, "PRE"), 17u);    // tRAS 17 (RD + tRTP = 16)
  EXPECT_EQ(at(h, "ACT", 1), 29u);  // tRC 29 (PRE + tRP = 23)
  EXPECT_EQ(at(h, "RD", 1), 36u);
}

TEST(DramTiming, TrpBindsWhenTrcIsShort) {
  DramParams p = test_device();
  p.trc = 20;
  Harness h(p);
  h.read(h.addr(0, 0, 2, 1, 1), 0);
  h.read(h.addr(0, 0, 2, 1, 2), 0);
  h.run();
  EXPECT_EQ(at(h, "ACT", 1), 23u);  // PRE 17 + tRP 6
}

TEST(DramTiming, TrtpBindsALateRead) {
  DramParams p = test_device();
  p.trc = 20;
  Harness h(p);
  h.read(h.addr(0, 0, 2, 1, 1), 0);
  h.run();
  h.read(h.addr(0, 0, 2, 1, 1, 1), 30);  // a hit at 30
  h.read(h.addr(0, 0, 2, 1, 2), 30);     // then a conflict
  h.run();
  EXPECT_EQ(at(h, "RD", 1), 30u);
  EXPECT_EQ(at(h, "PRE"), 39u);  // tRTP 9
}

TEST(DramTiming, TwrBeforePrecharge) {
  DramParams p = test_device();
  p.trc = 20;
  Harness h(p);
  h.write(h.addr(0, 0, 2, 1, 1), 0);
  h.advance(8);  // the WR has issued at 7; a read now cannot pre-empt it
  h.read(h.addr(0, 0, 2, 1, 2), 8);
  h.run();
  EXPECT_EQ(at(h, "WR"), 7u);
  EXPECT_EQ(at(h, "PRE"), 21u);  // WR 7 + CWL 4 + tBURST 2 + tWR 8
  EXPECT_EQ(at(h, "ACT", 1), 27u);
}

TEST(DramTiming, TwtrLAndTwtrS) {
  {
    Harness h(test_device());
    h.write(h.addr(0, 0, 0, 0, 1), 0);
    h.advance(8);
    h.read(h.addr(0, 0, 0, 0, 1, 1), 8);
    h.run();
    EXPECT_EQ(at(h, "WR"), 7u);
    EXPECT_EQ(at(h, "RD"), 20u);  // 7 + CWL 4 + tBURST 2 + tWTR_L 7
  }
  {
    Harness h(test_device());
    h.write(h.addr(0, 0, 0, 0, 1), 0);
    h.advance(8);
    h.read(h.addr(0, 0, 1, 0, 1), 8);  // another bank group: ACT at 8, tRCD allows 15
    h.run();
    EXPECT_EQ(at(h, "ACT", 1), 8u);
    EXPECT_EQ(at(h, "RD"), 17u);  // 7 + 4 + 2 + tWTR_S 4
  }
}

TEST(DramTiming, Trtw) {
  Harness h(test_device());
  h.read(h.addr(0, 0, 0, 0, 1), 0);
  h.advance(8);
  h.write(h.addr(0, 0, 0, 0, 1, 1), 8);
  h.run();
  EXPECT_EQ(at(h, "RD"), 7u);
  EXPECT_EQ(at(h, "WR"), 18u);  // write data at 22 = read data end 20 + tRTW 2
}

TEST(DramTiming, AllBankRefreshBlocksForTrfc) {
  const DramParams p = test_device();
  Harness h(p);
  h.read(h.addr(0, 0, 0, 0, 1), p.trefi);
  h.run();
  EXPECT_EQ(at(h, "REFab"), 2000u);
  EXPECT_EQ(at(h, "ACT"), 2060u);  // tRFC 60
}

TEST(DramTiming, AllBankRefreshClosesOpenRowsFirst) {
  const DramParams p = test_device();
  Harness h(p);
  h.read(h.addr(0, 0, 0, 0, 1), 1990);  // ACT 1990, RD 1997: row open when refresh falls due
  h.run();
  h.advance(3000);
  const auto cmds = h.commands();
  std::vector<std::string> pc0;
  for (const auto& c : cmds) {
    if (c.channel == 0 && c.pc == 0) pc0.push_back(c.cmd + "@" + std::to_string(c.cycle));
  }
  // PRE waits for tRAS (1990 + 17), REFab for tRP.
  EXPECT_EQ(pc0, (std::vector<std::string>{"ACT@1990", "RD@1997", "PRE@2007", "REFab@2013"}));
}

TEST(DramTiming, PerBankRefreshSkipsBusyBanksAndBlocksForTrfcsb) {
  DramParams p = test_device();
  p.refresh = Refresh::PerBank;
  Harness h(p);
  // Due every 2000 / 8 = 250. Bank 0 has a request waiting, so bank 1 is refreshed
  // first; the ACT for bank 0 then waits a cycle for the shared row command bus.
  h.read(h.addr(0, 0, 0, 0, 1), 250);
  h.run();
  auto refs = h.only("REFpb");
  ASSERT_FALSE(refs.empty());
  EXPECT_EQ(refs[0].cycle, 250u);
  EXPECT_EQ(refs[0].bg * 2 + refs[0].bank, 1);
  EXPECT_EQ(at(h, "ACT"), 251u);
  // A request to the refreshed bank waits tRFCsb.
  h.read(h.addr(0, 0, 0, 1, 1), 252);
  h.run();
  EXPECT_EQ(at(h, "ACT", 1), 275u);
}

TEST(DramTiming, PseudoChannelsShareTheChannelCommandBuses) {
  Harness h(test_device());
  h.read(h.addr(0, 0, 0, 0, 1), 0);
  h.read(h.addr(0, 1, 0, 0, 1), 0);
  h.read(h.addr(1, 0, 0, 0, 1), 0);
  h.run();
  const auto cmds = h.commands();
  auto cycle = [&](const std::string& cmd, uint32_t ch, uint32_t pc) {
    for (const auto& c : cmds) {
      if (c.cmd == cmd && c.channel == ch && c.pc == pc) return c.cycle;
    }
    return uint64_t(UINT64_MAX);
  };
  EXPECT_EQ(cycle("ACT", 0, 0), 0u);
  EXPECT_EQ(cycle("ACT", 0, 1), 1u);  // same channel: one row command per cycle
  EXPECT_EQ(cycle("ACT", 1, 0), 0u);  // another channel has its own bus
  EXPECT_EQ(cycle("RD", 0, 0), 7u);
  EXPECT_EQ(cycle("RD", 0, 1), 8u);
}

TEST(DramTiming, HbmRowAndColumnCommandsShareACycleButDdr3DoesNot) {
  for (const bool ddr3 : {false, true}) {
    DramParams p = test_device();
    if (ddr3) {
      p.standard = "ddr3";
      p.pcs = 1;
      p.data_rate_mtps = 2000;  // DDR: two transfers per tCK, so 8 beats still take 4 tCK
      p.burst_length = 4;
    }
    Harness h(p);
    h.read(h.addr(0, 0, 0, 0, 1), 0);
    h.read(h.addr(0, 0, 1, 0, 1), 7);  // its ACT wants cycle 7, when the first RD issues
    h.run();
    EXPECT_EQ(at(h, "RD"), 7u);
    EXPECT_EQ(at(h, "ACT", 1), ddr3 ? 8u : 7u) << (ddr3 ? "ddr3" : "hbm3");
  }
}

TEST(DramTiming, ClosedPageAutoPrechargesUnlessAnotherRequestHitsTheRow) {
  DramParams p = test_device();
  p.page = Page::Closed;
  Harness h(p);
  h.read(h.addr(0, 0, 0, 0, 1), 0, 64);  // two bursts of one row: RD then RDA
  h.run();
  h.read(h.addr(0, 0, 0, 0, 1, 2), 40);  // the row was closed: a new ACT
  h.run();
  const auto cmds = h.commands();
  std::vector<std::string> seq;
  for (const auto& c : cmds) seq.push_back(c.cmd + "@" + std::to_string(c.cycle));
  // Auto-precharge after the RDA at 12 starts at max(ACT + tRAS, 12 + tRTP) = 21.
  EXPECT_EQ(seq, (std::vector<std::string>{"ACT@0", "RD@7", "RDA@12", "ACT@40", "RDA@47"}));
  const Stats& s = h.model().stats();
  EXPECT_EQ(s.row_misses, 2u);
  EXPECT_EQ(s.row_hits, 1u);
}

TEST(DramTiming, ClosedPageAutoPrechargeDelaysTheNextActivate) {
  DramParams p = test_device();
  p.page = Page::Closed;
  p.trc = 20;
  Harness h(p);
  h.read(h.addr(0, 0, 0, 0, 1), 0);
  h.read(h.addr(0, 0, 0, 0, 2), 8);
  h.run();
  EXPECT_EQ(at(h, "RDA", 0), 7u);
  EXPECT_EQ(at(h, "ACT", 1), 23u);  // auto-precharge at max(17, 16) = 17, + tRP 6
}

TEST(DramTiming, OpenPageKeepsTheRowForALaterHit) {
  Harness h(test_device());
  h.read(h.addr(0, 0, 0, 0, 1), 0);
  h.run();
  h.read(h.addr(0, 0, 0, 0, 1, 2), 40);
  h.run();
  EXPECT_EQ(h.only("ACT").size(), 1u);
  EXPECT_EQ(at(h, "RD", 1), 40u);
  EXPECT_EQ(h.model().stats().row_hits, 1u);
}

TEST(DramTiming, FrFcfsServesTheRowHitBeforeAnOlderConflict) {
  for (const Sched sched : {Sched::FrFcfs, Sched::Fcfs}) {
    DramParams p = test_device();
    p.sched = sched;
    Harness h(p);
    h.read(h.addr(0, 0, 0, 0, 1), 0);
    h.run();
    h.read(h.addr(0, 0, 0, 0, 2), 100);     // older, conflicts with the open row
    h.read(h.addr(0, 0, 0, 0, 1, 1), 100);  // younger, hits
    h.run();
    std::vector<std::string> seq;
    for (const auto& c : h.commands()) {
      if (c.cycle >= 100) seq.push_back(c.cmd + "@" + std::to_string(c.cycle) + (c.row >= 0 ? ":" + std::to_string(c.row) : ""));
    }
    if (sched == Sched::FrFcfs) {
      // The hit at 100, PRE after tRTP 9, ACT after tRP 6, RD after tRCD 7.
      EXPECT_EQ(seq, (std::vector<std::string>{"RD@100:1", "PRE@109", "ACT@115:2", "RD@122:2"}));
    } else {
      // Strict order: the conflict first, then the row is reopened for the younger request
      // (ACT 106 -> next ACT at tRC 29 later).
      EXPECT_EQ(seq, (std::vector<std::string>{"PRE@100", "ACT@106:2", "RD@113:2", "PRE@123", "ACT@135:1", "RD@142:1"}));
    }
  }
}

TEST(DramTiming, ReadsGoFirstUntilWritesReachTheHighWatermark) {
  const DramParams p = test_device();  // write_high 8, write_low 2
  {
    Harness h(p);
    for (uint32_t i = 0; i < 6; ++i) h.write(h.addr(0, 0, 0, 0, 1, i), 0);
    for (uint32_t i = 0; i < 6; ++i) h.read(h.addr(0, 0, 1, 0, 1, i), 0);
    h.run();
    // Six writes stay below the watermark: every read goes first.
    EXPECT_LT(h.only("RD").back().cycle, h.only("WR").front().cycle);
  }
  {
    Harness h(p);
    for (uint32_t i = 0; i < 8; ++i) h.write(h.addr(0, 0, 0, 0, 1, i), 0);
    for (uint32_t i = 0; i < 6; ++i) h.read(h.addr(0, 0, 1, 0, 1, i), 0);
    h.run();
    // Eight writes start a drain that stops at two left: 6 writes, all reads, 2 writes.
    std::string order;
    for (const auto& c : h.commands()) {
      if (c.cmd == "RD" || c.cmd == "WR") order += c.cmd == "RD" ? 'r' : 'w';
    }
    EXPECT_EQ(order, "wwwwwwrrrrrrww");
  }
}

TEST(DramTiming, ARequestEntersTheQueueWhole) {
  for (const uint64_t request_bytes : {uint64_t(0), uint64_t(64)}) {
    Harness h(test_device());  // read queue of 16
    for (uint32_t i = 0; i < 16; ++i) h.read(h.addr(0, 0, 0, 0, 1, i % 8), 0);
    Pattern3D pat;
    pat.base = h.addr(0, 0, 1, 0, 1);
    pat.len = 64;
    h.model().submit(pat, false, 2, 0, request_bytes);
    h.run();
    // Queue slots free as the RDs of the full queue issue at 7, 12, ...: a one-burst
    // request enters at the first, a two-burst request needs two.
    EXPECT_EQ(h.only("ACT")[1].cycle, request_bytes ? 12u : 7u) << request_bytes;
  }
}

TEST(DramTiming, MaxOutstandingLimitsBurstsInFlight) {
  Harness h(test_device());
  Pattern3D pat;
  pat.base = h.addr(0, 0, 0, 0, 1);
  pat.len = 64;
  h.model().submit(pat, false, 1, 0);
  h.run();
  // The second burst enters only when the first has completed (7 + 11 + 2 = 20).
  EXPECT_EQ(at(h, "RD", 1), 20u);
}

TEST(DramTiming, RefreshHappensEveryInterval) {
  {
    Harness h(test_device());
    h.advance(20010);
    EXPECT_EQ(h.only("REFab").size(), 4u * 10);  // 4 pseudo-channels, at 2000, ..., 20000
    // Two pseudo-channels share a row command bus: the second refreshes a cycle later.
    for (const auto& c : h.only("REFab")) EXPECT_EQ(c.cycle % 2000, c.pc);
  }
  {
    DramParams p = test_device();
    p.refresh = Refresh::PerBank;
    Harness h(p);
    h.advance(2000 * 3 + 10);
    const auto refs = h.only("REFpb");
    EXPECT_EQ(refs.size(), 4u * 24);  // every 250 on each of 4 pseudo-channels
    // Each round of 8 refreshes covers every bank once.
    std::vector<int> seen(8, 0);
    for (const auto& c : refs) {
      if (c.channel == 0 && c.pc == 0 && c.cycle <= 2000) ++seen[size_t(c.bg * 2 + c.bank)];
    }
    EXPECT_EQ(seen, std::vector<int>(8, 1));
  }
}

}  // namespace
}  // namespace tessera::model::dram::test
