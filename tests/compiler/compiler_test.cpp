// Front-end and compile errors (each an InputError naming what is wrong, with the sizes),
// and `tessera run`'s timing method on small models: deterministic, never faster than the
// roofline, and its two approximations (one simulated layer multiplied by the layer count,
// decode steps interpolated between simulated contexts) checked against full simulations.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "common/config/config.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "compiler/runner.h"
#include "model/core/model.h"
#include "ref/tiny_model.h"
#include "tests/compiler/input_error.h"

namespace tessera::compiler {
namespace {


std::string test_dir(const std::string& name) {
  // One directory per test: CTest runs the tests of this file in parallel processes.
  const std::string dir = std::string(TESSERA_BINARY_DIR) + "/tests/compiler/work/" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(Compiler, KnownModelsLoad) {
  for (const std::string& n : model_names()) EXPECT_NO_THROW(load_model(n)) << n;
}

TEST(CompilerErrors, UnknownModelNamesTheKnownOnes) {
  const std::string e = error_of([] { load_model("llama9-1t"); });
  EXPECT_NE(e.find("llama9-1t"), std::string::npos) << e;
  EXPECT_NE(e.find("llama3-70b"), std::string::npos) << e;
}

TEST(CompilerErrors, UnsupportedArchitectureNamesTheSupportedSet) {
  const std::string dir = test_dir("bert");
  std::ofstream(dir + "/config.json") << R"({"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 64})";
  const std::string e = error_of([&] { load_model(dir); });
  EXPECT_NE(e.find("architectures"), std::string::npos) << e;
  EXPECT_NE(e.find("LlamaForCausalLM"), std::string::npos) << e;
  EXPECT_NE(e.find("MixtralForCausalLM"), std::string::npos) << e;
}

TEST(CompilerErrors, MissingFieldIsNamed) {
  const std::string dir = test_dir("no_hidden");
  std::ofstream(dir + "/config.json") << R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "vocab_size": 512, "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0})";
  const std::string e = error_of([&] { load_model(dir); });
  EXPECT_NE(e.find("hidden_size"), std::string::npos) << e;
}

TEST(CompilerErrors, ModelLargerThanHbmGivesTheSizes) {
  const config::Arch tiny = config::load_arch("tiny");
  CompileOptions o;
  o.context = 16;
  const std::string e = error_of([&] { compile(load_model("llama3-8b"), *tiny, o); });
  EXPECT_NE(e.find("does not fit"), std::string::npos) << e;
  EXPECT_NE(e.find("8.56 GB"), std::string::npos) << e;  // FP8 weights of Llama-3-8B
  EXPECT_NE(e.find("1.07 GB"), std::string::npos) << e;  // the tiny preset's HBM slice
}

TEST(CompilerErrors, KvCacheThatCannotHoldTheBatch) {
  const config::Arch a = config::load_arch("sohu-like");
  CompileOptions o;
  o.chips = 1;
  o.batch = 2048;
  o.context = 8192;
  const std::string e = error_of([&] { compile(load_model("llama3-8b"), *a, o); });
  EXPECT_NE(e.find("KV cache cannot hold 2048 sequences x 8192 tokens"), std::string::npos) << e;
  EXPECT_NE(e.find("GB"), std::string::npos) << e;
}

TEST(CompilerErrors, TileThatCannotFitTheSram) {
  // GPT-2's 50,257-entry LM head on the tiny preset's 64 KiB L1.
  const config::Arch tiny = config::load_arch("tiny");
  CompileOptions o;
  o.phase = Phase::Prefill;
  o.context = 4;
  const std::string e = error_of([&] { compile(load_model("gpt2"), *tiny, o); });
  EXPECT_NE(e.find("l1"), std::string::npos) << e;
  EXPECT_NE(e.find("65536"), std::string::npos) << e;
}

TEST(CompilerErrors, BadRequests) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-8b");
  CompileOptions o;
  o.context = 0;
  EXPECT_NE(error_of([&] { compile(m, *a, o); }).find("--context"), std::string::npos);
  o.context = 16;
  o.batch = 3;  // 8 chips: 8 replicas of one chip
  o.tp = 1;
  EXPECT_NE(error_of([&] { compile(m, *a, o); }).find("does not divide"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_precision("fp4", *a); }).find("fp4"), std::string::npos);
  TimingOptions t;
  t.gen = 0;
  EXPECT_NE(error_of([&] { run_timing(m, *a, t); }).find("--gen"), std::string::npos);
}

// Precision policy: under FP8 activations the MoE router reads a BF16 copy of the
// normalised rows (a second output of mlp_norm) while the experts read FP8; under BF16
// there is no copy.
TEST(CompilerPrecision, MoeRouterInputStaysBf16) {
  ref::TinyModelOptions t;
  t.architecture = hf::Architecture::Mixtral;
  const std::string dir = test_dir("mixtral");
  ref::write_tiny_model(dir, t);
  const hf::ModelConfig m = load_model(dir);
  const config::Arch a = config::load_arch("tiny");
  CompileOptions o;
  o.context = 16;
  o.precision = parse_precision("fp8", *a);
  const std::string fp8 = compile(m, *a, o).ir_text;
  EXPECT_NE(fp8.find("%xn2:fp8_e4m3[1x64], %xr:bf16[1x64] = norm mlp_norm("), std::string::npos) << fp8;
  EXPECT_NE(fp8.find("linear router(%xr:bf16[1x64], %layer.router.w:bf16"), std::string::npos) << fp8;
  EXPECT_NE(fp8.find("linear experts.gate_up(%xn2:fp8_e4m3[1x64]"), std::string::npos) << fp8;
  o.precision = parse_precision("bf16", *a);
  const std::string bf16 = compile(m, *a, o).ir_text;
  EXPECT_EQ(bf16.find("%xr"), std::string::npos) << bf16;
  EXPECT_NE(bf16.find("linear router(%xn2:bf16[1x64]"), std::string::npos) << bf16;
}

// ---- timing ----------------------------------------------------------------------------

hf::ModelConfig tiny_llama() {
  ref::TinyModelOptions o;
  o.layers = 4;
  const std::string dir = test_dir("timing_llama");
  ref::write_tiny_model(dir, o);
  return load_model(dir);
}

uint64_t simulate_whole(const hf::ModelConfig& m, const config::ArchConfig& arch, Phase ph, uint64_t batch,
                        uint64_t context, uint64_t max_context) {
  CompileOptions o;
  o.phase = ph;
  o.batch = batch;
  o.context = context;
  o.max_context = max_context;
  const Compiled c = compile(m, arch, o);
  model::Simulation sim(arch, c.program);
  sim.run();
  return sim.cycles();
}

TEST(CompilerTiming, DeterministicAndWithinTheRoofline) {
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
TEST(CompilerTiming, StreamedInputDecodeCompilesAndRuns) {
  const config::Arch tiny = config::load_arch("tiny");
  CompileOptions o;
  o.phase = Phase::Decode;
  o.batch = 64;
  o.context = 16;
  const Compiled c = compile(tiny_llama(), *tiny, o);
  bool streamed = false;
  for (const MemoryRegion& r : c.memory) streamed |= r.what.find("qkv: input tiles") != std::string::npos;
  EXPECT_TRUE(streamed) << "batch 64 no longer streams the qkv input; pick a larger batch";
  model::Simulation sim(*tiny, c.program);
  sim.run();
  EXPECT_GT(sim.cycles(), 0u);
}

// One simulated layer times the layer count against the whole program's simulation: the
// segments start with empty queues, so the sum may only be slower, and by little.
TEST(CompilerTiming, LayerMultiplicationMatchesTheWholeProgram) {
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

// Interpolating decode steps between 3 simulated contexts against simulating all of them.
TEST(CompilerTiming, InterpolatedDecodeMatchesEverySimulatedStep) {
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
TEST(CompilerTiming, TensorParallelGroupSmallerThanTheSystem) {
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
}  // namespace tessera::compiler
