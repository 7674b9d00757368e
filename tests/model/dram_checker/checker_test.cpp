// The independent DRAM trace checker: every rule is shown to pass a hand-written trace at
// its limit and to flag the same trace one cycle short; model traces of random, streaming
// and mixed traffic pass with zero violations; and a model run with any one timing value
// understated (the model then ignores part of that constraint) is flagged under exactly
// the rule that value belongs to.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <sstream>

#include "model/dram/traffic.h"
#include "tests/model/dram/dram_test_util.h"

namespace tessera::dram_checker {
namespace {

using model::dram::DramParams;
using model::dram::test::check_params;
using model::dram::test::test_device;

// One trace line of the test device: channel/pc default 0/0.
std::string L(uint64_t cycle, const char* cmd, int bg = -1, int bank = -1, int row = -1, int col = -1, int ch = 0,
              int pc = 0) {
  auto f = [](int v) { return v < 0 ? std::string("-") : std::to_string(v); };
  return std::to_string(cycle) + " " + cmd + " 0 " + std::to_string(ch) + " " + std::to_string(pc) + " " + f(bg) + " " +
         f(bank) + " " + f(row) + " " + f(col) + "\n";
}

CheckReport check(const std::string& body, const CheckParams& p) {
  std::istringstream in("# tessera dram trace v1 arch=test\n" + body);
  return check_trace(in, p);
}

std::string describe(const CheckReport& r) {
  std::string s;
  for (const Violation& v : r.violations) s += "  line " + std::to_string(v.line) + ": " + std::string(rule_name(v.rule)) + ": " + v.message + "\n";
  return s;
}

struct RuleCase {
  Rule rule;
  // The trace with its last command `d` cycles off the limit (d = 0: exactly at it).
  std::function<std::string(int d)> trace;
  std::function<void(CheckParams&)> adjust = nullptr;
};

// Test device: tBURST 2, CL 11, CWL 4, tRCD 7, tRP 6, tRAS 17, tRC 29, tRRD_S 3, tRRD_L 5,
// tFAW 23, tCCD_S 3, tCCD_L 5, tWTR_S 4, tWTR_L 7, tRTP 9, tWR 8, tRTW 2, tRFC 60, tRFCsb 25.
std::vector<RuleCase> rule_cases() {
  auto u = [](int base, int d) { return uint64_t(base + d); };
  return {
      {Rule::tRCD, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(u(7, d), "RD", 0, 0, 1, 0); }},
      {Rule::tRAS, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(u(17, d), "PRE", 0, 0); }},
      {Rule::tRP, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(30, "PRE", 0, 0) + L(u(36, d), "ACT", 0, 0, 2); }},
      {Rule::tRC, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(17, "PRE", 0, 0) + L(u(29, d), "ACT", 0, 0, 2); }},
      {Rule::tRRD_S, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(u(3, d), "ACT", 1, 0, 1); }},
      {Rule::tRRD_L, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(u(5, d), "ACT", 0, 1, 1); }},
      {Rule::tFAW,
       [=](int d) {
         return L(0, "ACT", 0, 0, 1) + L(3, "ACT", 1, 0, 1) + L(6, "ACT", 2, 0, 1) + L(9, "ACT", 3, 0, 1) +
                L(u(23, d), "ACT", 0, 1, 1);
       }},
      {Rule::tCCD_L, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(7, "RD", 0, 0, 1, 0) + L(u(12, d), "RD", 0, 0, 1, 1); }},
      {Rule::tCCD_S,
       [=](int d) {
         return L(0, "ACT", 0, 0, 1) + L(3, "ACT", 1, 0, 1) + L(10, "RD", 0, 0, 1, 0) + L(u(13, d), "RD", 1, 0, 1, 0);
       }},
      {Rule::tWTR_L, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(7, "WR", 0, 0, 1, 0) + L(u(20, d), "RD", 0, 0, 1, 1); }},
      {Rule::tWTR_S,
       [=](int d) {
         return L(0, "ACT", 0, 0, 1) + L(3, "ACT", 1, 0, 1) + L(10, "WR", 0, 0, 1, 0) + L(u(20, d), "RD", 1, 0, 1, 0);
       }},
      {Rule::tRTW, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(7, "RD", 0, 0, 1, 0) + L(u(18, d), "WR", 0, 0, 1, 1); }},
      {Rule::tRTP,
       [=](int d) { return L(0, "ACT", 0, 0, 1) + L(7, "RD", 0, 0, 1, 0) + L(20, "RD", 0, 0, 1, 1) + L(u(29, d), "PRE", 0, 0); }},
      {Rule::tWR, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(7, "WR", 0, 0, 1, 0) + L(u(21, d), "PRE", 0, 0); }},
      // Auto-precharge: RDA at 20 precharges at max(ACT + tRAS, 20 + tRTP) = 29; WRA at 10 at
      // max(17, 10 + CWL + tBURST + tWR) = 24; the next ACT waits tRP from there.
      {Rule::tRP, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(20, "RDA", 0, 0, 1, 0) + L(u(35, d), "ACT", 0, 0, 2); }},
      {Rule::tRP, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(10, "WRA", 0, 0, 1, 0) + L(u(30, d), "ACT", 0, 0, 2); }},
      {Rule::tRP, [=](int d) { return L(0, "ACT", 0, 0, 1) + L(17, "PRE", 0, 0) + L(u(23, d), "REFab"); }},
      {Rule::tRFC, [=](int d) { return L(10, "REFab") + L(u(70, d), "ACT", 2, 1, 3); }},
      {Rule::tRFC, [=](int d) { return L(10, "REFab") + L(u(70, d), "REFab"); }},
      {Rule::tRFCsb, [=](int d) { return L(10, "REFpb", 1, 1) + L(u(35, d), "ACT", 1, 1, 3); }},
      {Rule::tRFCsb, [=](int d) { return L(10, "REFpb", 1, 1) + L(u(35, d), "REFpb", 1, 1); }},
      {Rule::CmdBus, [=](int d) { return L(0, "ACT", 0, 0, 1, -1, 0, 0) + L(u(1, d), "ACT", 0, 0, 1, -1, 0, 1); }},
      {Rule::CmdBus,
       [=](int d) {
         return L(0, "ACT", 0, 0, 1, -1, 0, 0) + L(1, "ACT", 0, 0, 1, -1, 0, 1) + L(8, "RD", 0, 0, 1, 0, 0, 0) +
                L(u(9, d), "RD", 0, 0, 1, 0, 0, 1);
       }},
      // tCCD_S 3 below a 4-cycle burst: the bursts of two bank groups collide on the data bus.
      {Rule::DataBus,
       [=](int d) {
         return L(0, "ACT", 0, 0, 1) + L(3, "ACT", 1, 0, 1) + L(10, "RD", 0, 0, 1, 0) + L(u(14, d), "RD", 1, 0, 1, 0);
       },
       [](CheckParams& p) { p.tburst = 4; }},
  };
}

TEST(DramChecker, EveryRulePassesAtItsLimitAndFailsOneCycleShort) {
  const CheckParams base = check_params(test_device());
  int n = 0;
  for (const RuleCase& rc : rule_cases()) {
    CheckParams p = base;
    if (rc.adjust) rc.adjust(p);
    SCOPED_TRACE("case " + std::to_string(n++) + " (" + std::string(rule_name(rc.rule)) + ")");
    const CheckReport ok = check(rc.trace(0), p);
    EXPECT_EQ(ok.total(), 0u) << rc.trace(0) << describe(ok);
    const CheckReport bad = check(rc.trace(-1), p);
    EXPECT_GE(bad.counts[size_t(rc.rule)], 1u) << rc.trace(-1) << describe(bad);
    EXPECT_EQ(bad.total(), bad.counts[size_t(rc.rule)]) << "other rules flagged too:\n" << describe(bad);
  }
}

TEST(DramChecker, BankStateRules) {
  const CheckParams p = check_params(test_device());
  EXPECT_EQ(check(L(0, "ACT", 0, 0, 1) + L(29, "ACT", 0, 0, 2), p).counts[size_t(Rule::ActOpen)], 1u);
  EXPECT_EQ(check(L(7, "RD", 0, 0, 1, 0), p).counts[size_t(Rule::ColClosed)], 1u);
  EXPECT_EQ(check(L(0, "ACT", 0, 0, 1) + L(7, "WR", 0, 0, 2, 0), p).counts[size_t(Rule::ColRow)], 1u);
  EXPECT_EQ(check(L(0, "ACT", 0, 0, 1) + L(100, "REFab"), p).counts[size_t(Rule::RefOpen)], 1u);
  EXPECT_EQ(check(L(0, "ACT", 1, 1, 1) + L(100, "REFpb", 1, 1), p).counts[size_t(Rule::RefOpen)], 1u);
  EXPECT_EQ(check(L(0, "ACT", 0, 0, 1) + L(20, "RDA", 0, 0, 1, 0) + L(40, "RD", 0, 0, 1, 1), p).counts[size_t(Rule::ColClosed)],
            1u);
  // Precharging an idle bank is a no-operation, not an error.
  EXPECT_EQ(check(L(5, "PRE", 2, 1), p).total(), 0u);
}

TEST(DramChecker, FormatOrderAndRange) {
  const CheckParams p = check_params(test_device());
  EXPECT_EQ(check(L(10, "ACT", 0, 0, 1) + L(5, "ACT", 1, 0, 1), p).counts[size_t(Rule::Order)], 1u);
  EXPECT_EQ(check("12 ACT 0 0 0 0 0\n", p).counts[size_t(Rule::Format)], 1u);
  EXPECT_EQ(check("12 FOO 0 0 0 0 0 1 -\n", p).counts[size_t(Rule::Format)], 1u);
  EXPECT_EQ(check("12 ACT 0 0 0 0 0 1 3\n", p).counts[size_t(Rule::Format)], 1u);  // ACT has no column
  EXPECT_EQ(check(L(0, "ACT", 4, 0, 1), p).counts[size_t(Rule::Range)], 1u);        // 4 bank groups
  EXPECT_EQ(check(L(0, "ACT", 0, 0, 64), p).counts[size_t(Rule::Range)], 1u);       // 64 rows
  EXPECT_EQ(check(L(0, "ACT", 0, 0, 1, -1, 2), p).counts[size_t(Rule::Range)], 1u);  // 2 channels
  std::istringstream no_header(L(0, "ACT", 0, 0, 1));
  EXPECT_EQ(check_trace(no_header, p).counts[size_t(Rule::Format)], 1u);
}

TEST(DramChecker, RefreshScheduleAllowsEightPostponed) {
  const CheckParams p = check_params(test_device());  // tREFI 2000
  // With no refresh at all, a trace may last until 9 x tREFI - 1.
  EXPECT_EQ(check(L(0, "ACT", 0, 0, 1) + L(17999, "PRE", 0, 0), p).total(), 0u);
  const CheckReport late = check(L(0, "ACT", 0, 0, 1) + L(18000, "PRE", 0, 0), p);
  EXPECT_EQ(late.counts[size_t(Rule::tREFI)], 4u * 8u) << "every bank of every pseudo-channel is late";
  // REFab keeps every bank of its pseudo-channel on schedule; REFpb only its bank.
  std::string body;
  for (int k = 1; k <= 9; ++k) body += L(uint64_t(k) * 2000, "REFab", -1, -1, -1, -1, 0, 0);
  const CheckReport some = check(body, p);
  EXPECT_EQ(some.counts[size_t(Rule::tREFI)], 3u * 8u) << "the other three pseudo-channels";
}

// ------------------------------------------------------------------------------------------
// The model, judged by the checker.

using Traffic = model::dram::TrafficSpec;
constexpr auto kStream = Traffic::Kind::Stream;
constexpr auto kRandom = Traffic::Kind::Random;
constexpr auto kMix = Traffic::Kind::Mix;

// Runs `traffic` (random requests from seed 20240611) on a model of `p`, then lets it idle
// until `idle_until`, and returns the trace.
std::string run_model(const DramParams& p, Traffic traffic, uint64_t idle_until = 0) {
  std::ostringstream trace;
  model::dram::DramSystem m(p, model::dram::Options{&trace});
  traffic.seed = 20240611;
  model::dram::run_traffic(m, traffic);
  m.advance(std::max(idle_until, m.now_tck()));
  return trace.str();
}

CheckReport check_model(const DramParams& model_params, const CheckParams& truth, const Traffic& t,
                        uint64_t idle_until = 0) {
  std::istringstream in(run_model(model_params, t, idle_until));
  return check_trace(in, truth);
}

TEST(DramChecker, ModelTracesHaveNoViolations) {
  for (const auto policy : {0, 1, 2, 3}) {
    DramParams p = test_device();
    p.page = policy & 1 ? model::dram::Page::Closed : model::dram::Page::Open;
    p.refresh = policy & 2 ? model::dram::Refresh::PerBank : model::dram::Refresh::AllBank;
    for (const auto sched : {model::dram::Sched::FrFcfs, model::dram::Sched::Fcfs}) {
      p.sched = sched;
      for (const Traffic t : {Traffic{kStream, 12000 * 32}, Traffic{kRandom, 6000 * 32},
                              Traffic{kMix, 6000 * 32}}) {
        SCOPED_TRACE("policy " + std::to_string(policy) + " fcfs " + std::to_string(int(sched)) + " traffic " +
                     std::to_string(int(t.kind)));
        const CheckReport r = check_model(p, check_params(p), t, 30000);
        EXPECT_GT(r.commands, t.bytes / 32);
        EXPECT_EQ(r.total(), 0u) << describe(r);
      }
    }
  }
}

TEST(DramChecker, Ddr3ModelTracesHaveNoViolations) {
  DramParams p = test_device();
  p.standard = "ddr3";
  p.pcs = 1;
  p.bank_groups = 1;
  p.banks_per_group = 8;
  for (const Traffic t : {Traffic{kStream, 8000 * 32}, Traffic{kMix, 4000 * 32}}) {
    const CheckReport r = check_model(p, check_params(p), t, 30000);
    EXPECT_EQ(r.total(), 0u) << describe(r);
  }
}

// Each timing value understated in the model only: the model then issues commands the
// true constraint forbids, and the checker (with the true value) must say which.
TEST(DramChecker, AModelIgnoringAConstraintIsCaught) {
  struct Case {
    const char* name;
    Rule rule;
    std::function<void(DramParams&)> weaken;
    Traffic traffic;
    bool per_bank = false;
    uint64_t idle_until = 0;
  };
  const Traffic mix{kMix, 4000 * 32}, rnd{kRandom, 4000 * 32};
  const Traffic stream{kStream, 4000 * 32};
  const std::vector<Case> cases = {
      {"trcd", Rule::tRCD, [](DramParams& p) { p.trcd = 3; }, rnd},
      {"trp", Rule::tRP, [](DramParams& p) { p.trp = 2; }, rnd},
      {"tras", Rule::tRAS, [](DramParams& p) { p.tras = 8; }, rnd},
      {"trc", Rule::tRC, [](DramParams& p) { p.trc = 10; }, rnd},
      {"trrd_s", Rule::tRRD_S, [](DramParams& p) { p.trrd_s = 1; }, rnd},
      {"trrd_l", Rule::tRRD_L, [](DramParams& p) { p.trrd_l = 3; }, rnd},
      {"tfaw", Rule::tFAW, [](DramParams& p) { p.tfaw = 8; }, rnd},
      {"tccd_s", Rule::tCCD_S, [](DramParams& p) { p.tccd_s = 2; }, stream},
      {"tccd_l", Rule::tCCD_L, [](DramParams& p) { p.tccd_l = 3; }, rnd},
      {"twtr_s", Rule::tWTR_S, [](DramParams& p) { p.twtr_s = 1; }, mix},
      {"twtr_l", Rule::tWTR_L, [](DramParams& p) { p.twtr_l = 4; }, mix},
      {"trtp", Rule::tRTP, [](DramParams& p) { p.trtp = 2; p.tras = 1; }, rnd},
      {"twr", Rule::tWR, [](DramParams& p) { p.twr = 1; }, mix},
      {"trtw", Rule::tRTW, [](DramParams& p) { p.trtw = 0; }, mix},
      {"cl", Rule::tRTW, [](DramParams& p) { p.cl = 8; }, mix},
      {"cwl", Rule::tWTR_L, [](DramParams& p) { p.cwl = 1; }, mix},
      {"tburst", Rule::tWTR_L, [](DramParams& p) { p.data_rate_mtps = 8000; }, mix},
      {"trfc", Rule::tRFC, [](DramParams& p) { p.trfc = 20; }, Traffic{kRandom, 8000 * 32}},
      {"trfcsb", Rule::tRFCsb, [](DramParams& p) { p.trfcsb = 5; }, Traffic{kRandom, 8000 * 32}, true},
      {"trefi", Rule::tREFI, [](DramParams& p) { p.trefi = 20000; }, rnd, false, 40000},
      {"trefi per bank", Rule::tREFI, [](DramParams& p) { p.trefi = 20000; }, rnd, true, 40000},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DramParams truth = test_device();
    if (c.per_bank) truth.refresh = model::dram::Refresh::PerBank;
    DramParams weak = truth;
    c.weaken(weak);
    const CheckReport honest = check_model(truth, check_params(truth), c.traffic, c.idle_until);
    EXPECT_EQ(honest.total(), 0u) << describe(honest);
    const CheckReport r = check_model(weak, check_params(truth), c.traffic, c.idle_until);
    EXPECT_GT(r.counts[size_t(c.rule)], 0u) << "violations found:\n" << describe(r);
  }
}

}  // namespace
}  // namespace tessera::dram_checker
