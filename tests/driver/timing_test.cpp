// `tessera run`'s timing method on small models: deterministic, never faster than the
// roofline, and its two approximations (one simulated layer multiplied by the layer count,
// decode steps interpolated between simulated contexts) checked against full simulations;
// compiled programs that must simulate; bad requests named.
#include "driver/timing.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "common/config/config.h"
#include "model/core/model.h"
#include "ref/tiny_model.h"
#include "tests/driver/tiny_llama.h"
#include "tests/common/hf/test_util.h"

namespace tessera::driver {
namespace {

using compiler::CompileOptions;
using compiler::Compiled;
using compiler::MemoryRegion;
using compiler::Phase;

TEST(DriverErrors, BadRequestsNameTheOption) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = compiler::load_model("llama3-8b");
  TimingOptions t;
  t.gen = 0;
  test::expect_input_error([&] { run_timing(m, *a, t); }, {"--gen"});
  t.gen = 2;
  t.batch = 0;
  test::expect_input_error([&] { run_timing(m, *a, t); }, {"--batch"});
  t.batch = 1;
  t.prompt = 0;
  test::expect_input_error([&] { run_timing(m, *a, t); }, {"--prompt"});
}

using test_models::tiny_llama;

uint64_t simulate_whole(const hf::ModelConfig& m, const config::ArchConfig& arch, Phase ph, uint64_t batch,
                        uint64_t context, uint64_t max_context) {
  CompileOptions o;
  o.phase = ph;
  o.batch = batch;
  o.context = context;
  o.max_context = max_context;
  const Compiled c = compiler::compile(m, arch, o);
  model::Simulation sim(arch, c.program);
  sim.run();
  return sim.cycles();
}

TEST(DriverTiming, DeterministicAndWithinTheRoofline) {
  const config::Arch tiny = config::load_arch("tiny");
  const hf::ModelConfig m = tiny_llama();
  TimingOptions t;
  t.batch = 2;
  t.prompt = 24;
  t.gen = 9;
  const TimingReport a = run_timing(m, *tiny, t), b = run_timing(m, *tiny, t);
  EXPECT_EQ(report_text(a), report_text(b));
  EXPECT_EQ(report_json(a), report_json(b));
  EXPECT_GT(a.ttft, 0);
  EXPECT_GT(a.tpot, 0);
  EXPECT_EQ(a.decode_steps, 8u);
  EXPECT_EQ(a.decode_steps_simulated + a.decode_steps_estimated, 8u);
  EXPECT_LE(a.roofline_fraction, 1.0);
  EXPECT_GT(a.roofline_fraction, 0.0);
  EXPECT_LE(a.mac_utilisation, 1.0);
  EXPECT_LE(a.hbm_utilisation, 1.0);
  const std::string text = report_text(a);
  for (const char* label : {"time to first token", "time per output token", "tokens/s", "MAC utilisation",
                            "HBM bandwidth", "roofline", "multiplied:", "estimated:", "top time consumers"})
    EXPECT_NE(text.find(label), std::string::npos) << label;
}

// Decode at a batch whose QKV input is streamed in blocks (not resident in L1): the
// three-slot A pipeline must not assume prefill's tensors (the K^T identity), and the
// program must simulate. The functional tests cover the slots' contents (prefill).
TEST(DriverTiming, StreamedInputDecodeCompilesAndRuns) {
  const config::Arch tiny = config::load_arch("tiny");
  CompileOptions o;
  o.phase = Phase::Decode;
  o.batch = 128;
  o.context = 16;
  const Compiled c = compiler::compile(tiny_llama(), *tiny, o);
  bool streamed = false;
  for (const MemoryRegion& r : c.memory) streamed |= r.what.find("qkv: input tiles") != std::string::npos;
  EXPECT_TRUE(streamed) << "batch 128 no longer streams the qkv input; pick a larger batch";
  model::Simulation sim(*tiny, c.program);
  sim.run();
  EXPECT_GT(sim.cycles(), 0u);
}

// One simulated layer times the layer count against the whole program's simulation: the
// segments start with empty queues, so the sum may only be slower, and by little.
TEST(DriverTiming, LayerMultiplicationMatchesTheWholeProgram) {
  const config::Arch tiny = config::load_arch("tiny");
  const hf::ModelConfig m = tiny_llama();
  TimingOptions t;
  t.batch = 2;
  t.prompt = 24;
  t.gen = 2;
  t.decode_points = 1;
  const TimingReport r = run_timing(m, *tiny, t);
  const double hz = r.core_hz;
  const double prefill = double(simulate_whole(m, *tiny, Phase::Prefill, 2, 24, 26)) / hz;
  const double decode = double(simulate_whole(m, *tiny, Phase::Decode, 2, 25, 26)) / hz;
  std::printf("prefill: whole program %.3f us, segments %.3f us; decode: %.3f us, %.3f us\n", prefill * 1e6,
              r.ttft * 1e6, decode * 1e6, r.tpot * 1e6);
  EXPECT_NEAR(r.ttft / prefill, 1.0, 0.05);
  EXPECT_NEAR(r.tpot / decode, 1.0, 0.05);
}

// --exact: the prefill and every decode step are whole-model programs, so its times are those
// programs' simulations (computed here without the driver), and the default estimates (one
// layer multiplied, decode interpolated) stay close to it, energy included.
TEST(DriverTiming, ExactSimulatesTheWholeModelAtEveryStep) {
  const config::Arch tiny = config::load_arch("tiny");
  const hf::ModelConfig m = tiny_llama();
  TimingOptions t;
  t.batch = 2;
  t.prompt = 24;
  t.gen = 5;
  t.decode_points = 2;
  const TimingReport est = run_timing(m, *tiny, t);
  t.exact = true;
  const TimingReport r = run_timing(m, *tiny, t);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.layer_multiplier(), 1u);
  EXPECT_EQ(r.decode_steps_estimated, 0u);
  ASSERT_EQ(r.decode_contexts, (std::vector<uint64_t>{25, 26, 27, 28}));
  EXPECT_EQ(r.segments().size(), 5u);
  const double hz = r.core_hz;
  // The driver's DRAM model (bandwidth) on the whole programs, compiled here.
  auto whole = [&](Phase ph, uint64_t context) {
    CompileOptions o;
    o.phase = ph;
    o.batch = 2;
    o.context = context;
    o.max_context = 29;
    const Compiled c = compiler::compile(m, *tiny, o);
    model::RunOptions ro;
    ro.dram = model::DramModel::Bandwidth;
    model::Simulation sim(*tiny, c.program, ro);
    sim.run();
    return double(sim.cycles()) / hz;
  };
  EXPECT_DOUBLE_EQ(r.ttft, whole(Phase::Prefill, 24));
  double decode = 0;
  for (uint64_t c : r.decode_contexts) decode += whole(Phase::Decode, c);
  EXPECT_NEAR(r.decode_total, decode, 1e-12);
  std::printf("exact: ttft %.3f us, decode %.3f us, %.4g J; estimated: %.3f us, %.3f us, %.4g J\n", r.ttft * 1e6,
              r.decode_total * 1e6, r.cost.total_j, est.ttft * 1e6, est.decode_total * 1e6, est.cost.total_j);
  EXPECT_NEAR(est.ttft / r.ttft, 1.0, 0.05);
  EXPECT_NEAR(est.decode_total / r.decode_total, 1.0, 0.05);
  EXPECT_NEAR(est.cost.total_j / r.cost.total_j, 1.0, 0.05);
  const std::string text = report_text(r);
  EXPECT_NE(text.find("exact:"), std::string::npos);
  EXPECT_EQ(text.find("layer 0"), std::string::npos);
  EXPECT_EQ(text.find("multiplied:   layer"), std::string::npos);
  EXPECT_EQ(text.find("estimated:"), std::string::npos);
  EXPECT_EQ(report_json(r), report_json(run_timing(m, *tiny, t)));
}

TEST(DriverErrors, ExactRefusesAPipeline) {
  const config::Arch a = config::load_arch("tiny", {"system.chips=2", "link.count=2", "link.gbytes_per_s=25", "link.latency_ns=200"});
  TimingOptions t;
  t.batch = 2;
  t.prompt = 8;
  t.gen = 2;
  t.chips = 2;
  t.tp = 1;
  t.pp = 2;
  t.exact = true;
  test::expect_input_error([&] { run_timing(tiny_llama(), *a, t); }, {"--exact", "pipeline of 2 stages", "pp=1"});
}

// Interpolating decode steps between 3 simulated contexts against simulating all of them.
TEST(DriverTiming, InterpolatedDecodeMatchesEverySimulatedStep) {
  const config::Arch tiny = config::load_arch("tiny");
  const hf::ModelConfig m = tiny_llama();
  TimingOptions t;
  t.batch = 2;
  t.prompt = 8;
  t.gen = 25;
  t.decode_points = 3;
  const TimingReport est = run_timing(m, *tiny, t);
  t.decode_points = 24;
  const TimingReport all = run_timing(m, *tiny, t);
  EXPECT_EQ(all.decode_steps_estimated, 0u);
  EXPECT_EQ(est.decode_steps_estimated, 21u);
  std::printf("decode: interpolated %.3f us, every step simulated %.3f us\n", est.decode_total * 1e6,
              all.decode_total * 1e6);
  EXPECT_NEAR(est.decode_total / all.decode_total, 1.0, 0.02);
}

// A tensor-parallel group smaller than the system: collective peers are relative modulo
// system.chips, so the ring must name the group's next and previous chips (a group of 2
// in a 4-chip system deadlocked with peers +1 / -1).
TEST(DriverTiming, TensorParallelGroupSmallerThanTheSystem) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/configs/arch/tiny.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = yaml.find("chips: 1");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 8, "chips: 4");
  yaml += "link:\n  count: 2\n  gbytes_per_s: 16.0\n  latency_ns: 100.0\n";
  const config::Arch a = config::load_arch_text(yaml, "tiny.yaml with system.chips 4");
  const hf::ModelConfig m = tiny_llama();
  TimingOptions t;
  t.chips = 4;
  t.tp = 2;
  t.batch = 2;
  t.prompt = 8;
  t.gen = 2;
  const TimingReport r = run_timing(m, *a, t);
  EXPECT_EQ(r.tp, 2u);
  EXPECT_EQ(r.replicas, 2u);
  EXPECT_GT(r.prefill_layer.link_bytes, 0u);
  EXPECT_LE(r.roofline_fraction, 1.0);
}

}  // namespace
}  // namespace tessera::driver
