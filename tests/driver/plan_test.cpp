// The parallelism planner and pipeline costing (driver/plan.h, docs/driver.md "Parallelism
// planner"): --plan and --objective parsing, the enumeration of dp x tp x pp, feasibility
// against HBM, forced plans that cannot work named, the pipeline time of run_timing against
// the pipeline formula written out here, pp = 1 unchanged, and --batch max at the capacity edge.
#include "driver/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "common/config/config.h"
#include "compiler/hw.h"
#include "driver/timing.h"
#include "ref/tiny_model.h"
#include "tests/common/hf/test_util.h"

namespace tessera::driver {
namespace {

hf::ModelConfig tiny_llama(uint64_t layers = 4) {
  ref::TinyModelOptions o;
  o.layers = layers;
  return ref::tiny_model_config(o);
}

config::Arch tiny_chips(uint32_t chips) {
  return config::load_arch("tiny", {"system.chips=" + std::to_string(chips), "link.count=2",
                                    "link.gbytes_per_s=25", "link.latency_ns=200"});
}

// 8 sequences of 16 prompt tokens generating 5 on the 4-layer model.
PlanRequest small_request() {
  PlanRequest req;
  req.batch = 8;
  req.prompt = 16;
  req.gen = 5;
  return req;
}

TEST(PlanParse, PlansAndObjectives) {
  const Plan p = parse_plan("pp=4,dp=2");
  EXPECT_EQ(p.dp, 2u);
  EXPECT_EQ(p.tp, 1u);
  EXPECT_EQ(p.pp, 4u);
  EXPECT_EQ(p.chips(), 8u);
  EXPECT_EQ(plan_text(parse_plan("dp=2,tp=2,pp=2")), "dp=2,tp=2,pp=2");
  for (const char* bad : {"", "dp=0", "dp=2,dp=2", "xp=2", "dp", "dp=two", "dp=2,,tp=1"})
    test::expect_input_error([&] { parse_plan(bad); }, {"--plan"});
  EXPECT_EQ(parse_objective("latency"), Objective::Latency);
  EXPECT_EQ(parse_objective("throughput"), Objective::Throughput);
  test::expect_input_error([&] { parse_objective("speed"); }, {"--objective", "speed", "throughput or latency"});
}

TEST(PlanFormulas, PipelineFillDrainAndPeriod) {
  // Uniform stages: M micro-batches take (M + pp - 1) stage times.
  const std::vector<double> u(4, 10.0);
  EXPECT_DOUBLE_EQ(pipeline_pass(u, 1), 40.0);
  EXPECT_DOUBLE_EQ(pipeline_pass(u, 6), 90.0);
  // Decode: with M >= pp the bottleneck serves M; with fewer a token's round trip sets it.
  EXPECT_DOUBLE_EQ(pipeline_period(u, 4), 40.0);
  EXPECT_DOUBLE_EQ(pipeline_period(u, 8), 80.0);
  EXPECT_DOUBLE_EQ(pipeline_period(u, 2), 40.0);
  EXPECT_DOUBLE_EQ(pipeline_drain(u, 8), 30.0);
  EXPECT_DOUBLE_EQ(pipeline_drain(u, 2), 10.0);
  // Unequal stages: the slowest stage sets the rate.
  const std::vector<double> s = {12, 10, 10, 15};
  EXPECT_DOUBLE_EQ(pipeline_pass(s, 3), 47.0 + 2 * 15.0);
  // Stage times: embedding on the first, head and the token return on the last.
  const std::vector<double> st = stage_times(3, 1, 10, 4, 2, 0.5);
  ASSERT_EQ(st.size(), 3u);
  EXPECT_DOUBLE_EQ(st[0], 13);
  EXPECT_DOUBLE_EQ(st[1], 12);
  EXPECT_DOUBLE_EQ(st[2], 14.5);
  EXPECT_EQ(stage_times(1, 1, 10, 4, 2, 0.5), std::vector<double>{15});
  EXPECT_EQ(default_decode_micro_batches(12, 4), 4u);
  EXPECT_EQ(default_decode_micro_batches(6, 4), 3u);
  EXPECT_EQ(default_decode_micro_batches(7, 4), 1u);
  EXPECT_EQ(default_prefill_batch(6, 1024), 2u);
}

TEST(PlanChoose, EnumeratesEveryFactorisationAndOrdersByObjective) {
  const config::Arch a = tiny_chips(4);
  const hf::ModelConfig m = tiny_llama();
  PlanRequest req = small_request();
  const PlanChoice c = choose_plan(m, *a, req);
  // dp x tp x pp = 4: (4,1,1) (2,2,1) (1,4,1) (2,1,2) (1,2,2) (1,1,4).
  ASSERT_EQ(c.candidates.size(), 6u);
  size_t feasible = 0;
  for (size_t i = 0; i < c.candidates.size(); ++i) {
    const PlanEstimate& e = c.candidates[i];
    EXPECT_EQ(e.plan.chips(), 4u);
    if (!e.feasible) {
      EXPECT_FALSE(e.why.empty());
      continue;
    }
    ++feasible;
    EXPECT_EQ(e.batch, 8u);
    EXPECT_GT(e.tokens_per_s, 0);
    EXPECT_NEAR(e.tokens_per_s, 8.0 * 21 / e.total, 1e-9 * e.tokens_per_s);
    if (i) {
      EXPECT_GE(c.candidates[i - 1].tokens_per_s, e.tokens_per_s);
    }
  }
  // The tiny model has 2 KV heads: tp = 4 cannot split them.
  EXPECT_EQ(feasible, 5u);
  EXPECT_TRUE(c.best.feasible);
  EXPECT_EQ(c.best.plan.dp, c.candidates.front().plan.dp);
  // Latency: the request time decides.
  req.objective = Objective::Latency;
  const PlanChoice l = choose_plan(m, *a, req);
  for (const PlanEstimate& e : l.candidates)
    if (e.feasible) {
      EXPECT_LE(l.best.total, e.total);
    }
}

TEST(PlanChoose, ForcedPlansThatCannotWorkAreNamed) {
  const config::Arch a = tiny_chips(4);
  const hf::ModelConfig m = tiny_llama();
  PlanRequest req = small_request();
  auto forced = [&](const std::string& plan) {
    PlanRequest r = req;
    r.forced = parse_plan(plan);
    return choose_plan(m, *a, r);
  };
  test::expect_input_error([&] { forced("dp=2,tp=2,pp=2"); }, {"--plan", "8 chips", "--chips"});
  test::expect_input_error([&] { forced("pp=3"); }, {"--plan", "pp=3", "4 layers"});
  test::expect_input_error([&] { forced("tp=4"); }, {"--plan", "num_key_value_heads"});
  test::expect_input_error([&] { forced("dp=3"); }, {"--plan", "dp=3", "--batch 8"});
  // Fewer chips than --chips is allowed.
  const PlanChoice c = forced("dp=1,tp=1,pp=2");
  EXPECT_EQ(c.candidates.size(), 1u);
  EXPECT_EQ(c.best.plan.chips(), 2u);
  EXPECT_EQ(c.best.decode_micro_batches, 2u);
}

TEST(PlanChoose, NothingFitsIsAnInputError) {
  const config::Arch a = config::load_arch("sohu-like", {"system.chips=2"});
  // Six times Llama-3-70B's layers: about 420 GB of FP8 weights, more than two chips hold.
  hf::ModelConfig m = compiler::load_model("llama3-70b");
  m.num_layers = 480;
  PlanRequest req;
  req.batch = 1;
  req.prompt = 2048;
  req.gen = 128;
  req.chips = 2;
  test::expect_input_error([&] { choose_plan(m, *a, req); }, {"no parallelism plan of 2 chip(s) fits", "HBM"});
  req.batch = 0;
  test::expect_input_error([&] { choose_plan(m, *a, req); }, {"--batch max", "no parallelism plan"});
}

// The pipeline of run_timing, written out from the report's simulated segments.
struct Expected {
  double ttft, prefill, decode;
};
Expected pipeline_by_hand(const TimingReport& r, const config::ArchConfig& arch, uint64_t x_pre_bytes,
                          uint64_t x_dec_bytes) {
  const double hz = r.core_hz;
  const uint32_t pp = r.plan.pp;
  const double Ls = double(r.layers / pp);
  // Ring of docs/timing.md: 2 chips share all links; each chip of a group sends x, tp hops.
  const compiler::Hw hw = compiler::hw_of(arch);
  const double links = hw.chips == 2 ? hw.link_count : (hw.link_count + 1) / 2;
  auto xfer = [&](double bytes) {
    return double(r.tp) * (bytes / (links * hw.link_bytes_per_cycle) + hw.link_latency_cycles);
  };
  auto stages = [&](const SegmentRun& e, const SegmentRun& l, const SegmentRun& h, double x, double back) {
    std::vector<double> s(pp, Ls * double(l.cycles) + x);
    s[0] += double(e.cycles);
    s[pp - 1] += double(h.cycles) + back - x;
    return s;
  };
  Expected out{};
  const std::vector<double> ps = stages(r.prefill_embed, r.prefill_layer, r.prefill_head, xfer(x_pre_bytes), 0);
  const double psum = std::accumulate(ps.begin(), ps.end(), 0.0), pmax = *std::max_element(ps.begin(), ps.end());
  out.ttft = psum / hz;
  out.prefill = (psum + double(r.prefill_steps - 1) * pmax) / hz;
  const uint64_t md = r.plan.decode_micro_batches;
  const double rows = double(r.batch_per_replica / md);
  double dec = 0;
  std::vector<double> last;
  for (size_t i = 0; i < r.decode_contexts.size(); ++i) {
    last = stages(r.decode_embed[i], r.decode_layer[i], r.decode_head[i], xfer(x_dec_bytes), xfer(rows * 4));
    const double sum = std::accumulate(last.begin(), last.end(), 0.0), mx = *std::max_element(last.begin(), last.end());
    dec += std::max(double(md) * mx, sum);
  }
  const double sum = std::accumulate(last.begin(), last.end(), 0.0), mx = *std::max_element(last.begin(), last.end());
  dec += double(md) * mx >= sum ? sum - mx : double(md - 1) * mx;
  out.decode = dec / hz;
  return out;
}

TEST(PlanTiming, TwoStagePipelineFollowsThePipelineFormula) {
  const config::Arch a = tiny_chips(2);
  const hf::ModelConfig m = tiny_llama();
  TimingOptions t;
  t.batch = 8;
  t.prompt = 16;
  t.gen = 4;  // decode contexts 17, 18, 19: every step simulated
  t.prefill_batch = 2;
  t.chips = 2;
  t.tp = 1;
  t.pp = 2;
  const TimingReport r = run_timing(m, *a, t);
  EXPECT_EQ(r.plan.pp, 2u);
  EXPECT_EQ(r.plan.stage_layers, 2u);
  EXPECT_EQ(r.replicas, 1u);
  EXPECT_EQ(r.prefill_steps, 4u);
  EXPECT_EQ(r.plan.decode_micro_batches, 2u);
  EXPECT_EQ(r.decode_steps_estimated, 0u);
  // The residual stream x handed over: rows x hidden, FP32 (the precision policy).
  const uint64_t H = m.hidden_size;
  const Expected e = pipeline_by_hand(r, *a, 2 * 16 * H * 4, 4 * H * 4);
  EXPECT_NEAR(r.ttft, e.ttft, 1e-12 * e.ttft);
  EXPECT_NEAR(r.prefill_total, e.prefill, 1e-9 * e.prefill);
  EXPECT_NEAR(r.decode_total, e.decode, 1e-9 * e.decode);
  EXPECT_NEAR(r.tokens_total_per_s, 8.0 * 20 / (e.prefill + e.decode), 1e-9 * r.tokens_total_per_s);
  EXPECT_GT(r.plan.prefill_transfer, 0);
  EXPECT_GT(r.plan.prefill_bubble, 0);
  EXPECT_LT(r.plan.prefill_bubble, 1);
  EXPECT_LE(r.mac_utilisation, 1.0);
  EXPECT_LE(r.hbm_utilisation, 1.0);
  // Same request, one stage: the plain sum of the segments (today's method).
  TimingOptions one = t;
  one.pp = 1;
  one.chips = 1;
  const TimingReport q = run_timing(m, *a, one);
  const double step = double(q.prefill_embed.cycles) + 4.0 * double(q.prefill_layer.cycles) +
                      double(q.prefill_head.cycles);
  EXPECT_DOUBLE_EQ(q.ttft, step / q.core_hz);
  EXPECT_DOUBLE_EQ(q.prefill_total, 4 * step / q.core_hz);
  EXPECT_EQ(q.plan.pp, 1u);
  EXPECT_EQ(q.plan.decode_micro_batches, 1u);
  EXPECT_EQ(q.plan.prefill_bubble, 0);
}

TEST(PlanTiming, OneStageIsTodaysMethodBitForBit) {
  const config::Arch a = config::load_arch("tiny");
  const hf::ModelConfig m = tiny_llama();
  TimingOptions t;
  t.batch = 2;
  t.prompt = 24;
  t.gen = 9;
  const TimingReport def = run_timing(m, *a, t);
  t.pp = 1;
  t.tp = 1;
  t.decode_micro_batches = 1;
  const TimingReport one = run_timing(m, *a, t);
  EXPECT_EQ(report_json(def), report_json(one));
  // Decode: the steps sum (interpolated between the simulated contexts), no pipeline terms.
  EXPECT_EQ(def.plan.decode_bubble, 0);
  EXPECT_EQ(def.plan.decode_transfer, 0);
}

TEST(PlanChoose, BatchMaxIsTheLargestThatFits) {
  const config::Arch a = config::load_arch("sohu-like", {"system.chips=2"});
  const hf::ModelConfig m = compiler::load_model("llama3-8b");
  PlanRequest req;
  req.batch = 0;
  req.prompt = 2048;
  req.gen = 128;
  req.chips = 2;
  req.forced = parse_plan("dp=1,tp=1,pp=2");
  const PlanChoice c = choose_plan(m, *a, req);
  const uint64_t b = c.best.batch;
  ASSERT_GT(b, 0u);
  EXPECT_EQ(b % 2, 0u);  // whole decode micro-batches per stage
  // The compiler accepts the batch and refuses the next micro-batch multiple.
  compiler::CompileOptions co;
  co.phase = compiler::Phase::Decode;
  co.batch = b;
  co.context = co.max_context = 2176;
  co.chips = 2;
  co.tp = 1;
  co.pp = 2;
  co.segment.kind = compiler::Segment::Embed;
  EXPECT_NO_THROW(compiler::compile(m, *a, co));
  co.batch = b + 2;
  test::expect_input_error([&] { compiler::compile(m, *a, co); }, {"HBM"});
  // Two data-parallel replicas each hold all the weights; the pipeline's chips hold half, and
  // the HBM freed holds more sequences.
  req.forced = parse_plan("dp=2");
  const PlanChoice d = choose_plan(m, *a, req);
  EXPECT_GT(b, d.best.batch);
}

}  // namespace
}  // namespace tessera::driver
