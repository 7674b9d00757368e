// Compiled programs run on the functional model with real (fixed-seed, generated)
// weights, against the FP32 reference Transformer (docs/compiler.md, "Validation"):
// greedy tokens identical for 16 steps with BF16 weights, and every step's logits with a
// cosine similarity of at least 0.999 (BF16) or 0.99 (FP8) under teacher forcing; and FP8 /
// INT8 on randomly initialised models against the reference quantised as the program stores
// values (docs/numerics.md, section 10).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "common/config/config.h"
#include "compiler/compiler.h"
#include "driver/functional.h"
#include "common/numerics/fp.h"
#include "ref/tiny_model.h"
#include "tests/driver/logit_margin.h"
#include "ref/transformer.h"

namespace tessera::driver {
namespace {

const std::vector<int64_t> kPrompt = {1, 10, 20, 30};
constexpr uint64_t kSteps = 16;

std::string model_dir(const std::string& name, const ref::TinyModelOptions& o) {
  // One directory per test: CTest runs the tests of this file in parallel processes.
  const std::string dir = std::string(TESSERA_BINARY_DIR) + "/tests/driver/models/" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/" + name;
  ref::write_tiny_model(dir, o);
  return dir;
}

struct Case {
  const char* name;
  hf::Architecture arch;
  const char* preset;
  uint64_t seed = 1;
  uint32_t chips = 1;
};

// The test data is meaningful only if no greedy step is a near tie: BF16 activations move
// logits by about 0.4 % (one rounding), 0.01 here, so a reference margin below 0.02 would
// be decided by rounding, not by the compiler. The seeds are chosen for that; this checks it.
constexpr double kMinMargin = 0.02;

using test_models::top2_margin;

void check(const Case& c, const char* precision, double min_cosine, bool tokens_equal) {
  ref::TinyModelOptions o;
  o.architecture = c.arch;
  o.seed = c.seed;
  o.dtype = hf::TensorDType::BF16;
  const std::string dir = model_dir(c.name, o);
  const ref::Model model = ref::Model::load(dir);
  ref::GenerateOptions go;
  go.steps = kSteps;
  const ref::Generation want = ref::generate(model, kPrompt, go);
  for (uint64_t s = 0; s < kSteps; ++s)
    ASSERT_GT(top2_margin(want.logits[s]), kMinMargin) << c.name << " seed " << c.seed << " step " << s;
  config::Arch arch = config::load_arch(c.preset);
  if (c.chips > 1) {
    // The preset with more chips: one tensor-parallel group over all of them.
    std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/configs/arch/" + c.preset + ".yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = yaml.find("chips: 1");
    ASSERT_NE(at, std::string::npos);
    yaml.replace(at, 8, "chips: " + std::to_string(c.chips));
    yaml += "link:\n  count: 2\n  gbytes_per_s: 16.0\n  latency_ns: 100.0\n";
    arch = config::load_arch_text(yaml, std::string(c.preset) + ".yaml with more chips");
  }
  FunctionalOptions fo;
  fo.prompt = kPrompt;
  fo.steps = kSteps;
  fo.precision = compiler::parse_precision(precision, *arch);
  if (tokens_equal) {
    const FunctionalResult got = run_functional(dir, *arch, fo);
    EXPECT_EQ(got.tokens, want.tokens) << c.name << " " << precision;
  }
  // Teacher forcing: feed the reference's tokens, compare every step's logits.
  fo.forced = want.tokens;
  const FunctionalResult forced = run_functional(dir, *arch, fo);
  ASSERT_EQ(forced.logits.size(), kSteps);
  double worst = 1.0;
  for (uint64_t s = 0; s < kSteps; ++s) {
    const double cs = cosine(forced.logits[s], want.logits[s]);
    worst = std::min(worst, cs);
    EXPECT_GE(cs, min_cosine) << c.name << " " << precision << " step " << s;
  }
  std::printf("%s %s on %s: lowest logits cosine %.6f over %llu steps\n", c.name, precision, c.preset, worst,
              (unsigned long long)kSteps);
}

TEST(DriverFunctional, LlamaGqaBf16TokensAndLogits) {
  check({"llama", hf::Architecture::Llama, "tiny"}, "bf16", 0.999, true);
}

TEST(DriverFunctional, Gpt2Bf16TokensAndLogits) {
  check({"gpt2", hf::Architecture::GPT2, "tiny", 8}, "bf16", 0.999, true);
}

TEST(DriverFunctional, MixtralMoeBf16TokensAndLogits) {
  check({"mixtral", hf::Architecture::Mixtral, "tiny"}, "bf16", 0.999, true);
}

TEST(DriverFunctional, LlamaFp8Logits) {
  check({"llama", hf::Architecture::Llama, "tiny"}, "fp8", 0.99, false);
  check({"llama", hf::Architecture::Llama, "tiny"}, "fp8w", 0.99, false);
}

// Tensor parallelism: heads, FFN columns and the vocabulary split over two chips, partial
// sums all-reduced over the links.
TEST(DriverFunctional, LlamaTwoChipTensorParallelBf16) {
  check({"llama", hf::Architecture::Llama, "tiny", 1, 2}, "bf16", 0.999, true);
}

// Chips at scale (issue 15): tensor- and pipeline-parallel plans over 4 and 8 tiny chips,
// every step one program over tp x pp chips whose partial sums and residual stream cross
// the links; greedy tokens equal the FP32 reference's. Small link buffers (4 packets of
// 64 bytes per link) make senders wait for credits on the way.
struct PlanCase {
  const char* name;
  uint32_t tp, pp;
  uint64_t layers = 2, heads = 4, kv_heads = 2, hidden = 64;
};

void check_plan(const PlanCase& c) {
  constexpr uint64_t kPlanSteps = 6;
  ref::TinyModelOptions o;
  o.dtype = hf::TensorDType::BF16;
  o.layers = c.layers;
  o.heads = c.heads;
  o.kv_heads = c.kv_heads;
  o.hidden = c.hidden;
  // The first seed whose reference has no near tie (kMinMargin) in these steps.
  ref::GenerateOptions go;
  go.steps = kPlanSteps;
  std::string dir;
  ref::Generation want;
  for (o.seed = 1; o.seed <= 20; ++o.seed) {
    dir = model_dir(c.name, o);
    want = ref::generate(ref::Model::load(dir), kPrompt, go);
    bool clear = true;
    for (uint64_t s = 0; s < kPlanSteps; ++s) clear = clear && top2_margin(want.logits[s]) > kMinMargin;
    if (clear) break;
  }
  ASSERT_LE(o.seed, 20u) << c.name << ": no seed without a near tie";
  const config::Arch arch =
      config::load_arch("tiny", {"system.chips=" + std::to_string(c.tp * c.pp), "link.count=2",
                                 "link.gbytes_per_s=16", "link.latency_ns=100", "link.packet_bytes=64",
                                 "link.rx_buffer_bytes=256"});
  FunctionalOptions fo;
  fo.prompt = kPrompt;
  fo.steps = kPlanSteps;
  fo.precision = compiler::parse_precision("bf16", *arch);
  fo.tp = c.tp;
  fo.pp = c.pp;
  const FunctionalResult got = run_functional(dir, *arch, fo);
  EXPECT_EQ(got.tokens, want.tokens) << c.name;
  double worst = 1.0;
  for (uint64_t s = 0; s < kPlanSteps; ++s) worst = std::min(worst, cosine(got.logits[s], want.logits[s]));
  EXPECT_GE(worst, 0.999) << c.name;
  std::printf("%s (seed %llu): lowest logits cosine %.6f, %llu cycles over %llu steps\n", c.name,
              (unsigned long long)o.seed, worst, (unsigned long long)got.cycles, (unsigned long long)kPlanSteps);
}

TEST(DriverFunctionalChips, TensorParallelFourChips) { check_plan({"tp4", 4, 1, 2, 4, 4}); }
TEST(DriverFunctionalChips, TensorParallelEightChips) { check_plan({"tp8", 8, 1, 2, 8, 8}); }
TEST(DriverFunctionalChips, PipelineFourStages) { check_plan({"pp4", 1, 4, 4}); }
TEST(DriverFunctionalChips, PipelineEightStages) { check_plan({"pp8", 1, 8, 8}); }
TEST(DriverFunctionalChips, TensorAndPipelineParallel) { check_plan({"tp2pp2", 2, 2, 4}); }

// Teacher-forced logits of 4 steps after a 120-token prompt (15 key pages of 8 tokens) against
// the reference: prefill attention's units sweep many pages (kernels_attention.cpp).
void check_long_prompt(const config::Arch& arch, std::optional<uint64_t> kv_heads = std::nullopt) {
  ref::TinyModelOptions o;
  o.dtype = hf::TensorDType::BF16;
  o.kv_heads = kv_heads;
  const std::string dir = model_dir(kv_heads ? "llama_long_kv" + std::to_string(*kv_heads) : "llama_long", o);
  std::vector<int64_t> prompt;
  for (int64_t i = 0; i < 120; ++i) prompt.push_back((i * 37) % 500 + 1);
  ref::GenerateOptions go;
  go.steps = 4;
  const ref::Generation want = ref::generate(ref::Model::load(dir), prompt, go);
  FunctionalOptions fo;
  fo.prompt = prompt;
  fo.steps = 4;
  fo.precision = compiler::parse_precision("bf16", *arch);
  fo.forced = want.tokens;
  const FunctionalResult got = run_functional(dir, *arch, fo);
  ASSERT_EQ(got.logits.size(), 4u);
  for (size_t s = 0; s < got.logits.size(); ++s) EXPECT_GE(cosine(got.logits[s], want.logits[s]), 0.999) << s;
}

// tpu-v1 has no L2: activations live in HBM, so a 40-token prefill moves the layer region
// (and the KV pages) against the decode programs; the carried KV cache must follow (compile()
// places it at the new program's KV regions).
TEST(DriverFunctional, TpuV1Int8LongPromptCarriesTheKvCache) {
  ref::TinyModelOptions o;
  o.init.kind = ref::WeightInit::Kind::Normal;
  const std::string dir = model_dir("llama_normal", o);
  std::vector<int64_t> prompt;
  for (int64_t i = 0; i < 40; ++i) prompt.push_back((i * 37) % 500 + 1);
  const config::Arch arch = config::load_arch("tpu-v1");
  FunctionalOptions fo;
  fo.prompt = prompt;
  fo.steps = 4;
  fo.precision = compiler::parse_precision("int8", *arch);
  const FunctionalResult got = run_functional(dir, *arch, fo);
  const ReferenceComparison c = compare_with_reference(dir, fo, got);
  std::printf("tpu-v1 int8, 40-token prompt: cosine to FP32 %.6f, to the quantised reference %.6f\n", c.min_cosine,
              c.min_cosine_quantised);
  EXPECT_GE(c.min_cosine_quantised, 0.999);
  EXPECT_GE(c.min_cosine, 0.99);
}

// With one engine, and with two, where the prefill kernel interleaves two units' sweeps page
// by page on different engines.
TEST(DriverFunctional, LlamaLongPromptLogits) { check_long_prompt(config::load_arch("tiny")); }
TEST(DriverFunctional, LlamaLongPromptTwoEnginesLogits) {
  check_long_prompt(config::load_arch("tiny", {"core.matrix_engines=2"}));
}
// With four engines a unit's scores run on engines 0 and 1, its P V on 2 and 3 (sc_of, pv_of).
TEST(DriverFunctional, LlamaLongPromptFourEnginesLogits) {
  check_long_prompt(config::load_arch("tiny", {"core.matrix_engines=4"}));
}
// With an L1 that holds three units' pages, each unit's first two score pages are computed a
// unit ahead on the idle P V engine (`early`); grouped-query (2 KV heads) and multi-head.
TEST(DriverFunctional, LlamaLongPromptFourEnginesEarlyPagesLogits) {
  check_long_prompt(config::load_arch("tiny", {"core.matrix_engines=4", "l1.bytes=96KiB"}));
}
TEST(DriverFunctional, LlamaLongPromptFourEnginesEarlyPagesMhaLogits) {
  check_long_prompt(config::load_arch("tiny", {"core.matrix_engines=4", "l1.bytes=96KiB"}), 4);
}

// Rows of x padded in HBM (placement.cpp, x_pitch): without L2, x lives in HBM, and with
// DRAM rows of 128 B on one channel of two pseudo-channels every 256-byte row of x would
// start on the same pseudo-channel, so placement puts them 320 B apart; the embedding,
// the norms, the residual epilogues and the head address x by that pitch.
// The IR line of x in the 120-token prefill of check_long_prompt's model on `arch`.
std::string long_prefill_x(const config::Arch& arch) {
  compiler::CompileOptions o;
  o.phase = compiler::Phase::Prefill;
  o.context = 120;
  ref::TinyModelOptions mo;
  mo.dtype = hf::TensorDType::BF16;
  const compiler::Compiled c = compiler::compile(compiler::load_model(model_dir("llama_x", mo)), *arch, o);
  const size_t at = c.ir_text.find("%x : fp32[120x64]");
  EXPECT_NE(at, std::string::npos) << c.ir_text.substr(0, 4000);
  return at == std::string::npos ? "" : c.ir_text.substr(at, c.ir_text.find('\n', at) - at);
}

TEST(DriverFunctional, LlamaPaddedResidualRowsLogits) {
  const config::Arch arch = config::load_arch(
      "tiny", {"l2.bytes=0", "dram.channels=1", "dram.row_bytes=128", "dram.stack_bytes=0"});
  const std::string x = long_prefill_x(arch);
  EXPECT_NE(x.find("rows 320 B apart"), std::string::npos) << x;
  check_long_prompt(arch);
}

// x split between HBM and L2 (placement.cpp): with an L2 too small for the 120-token prefill's
// x beside its other activations, x's last rows live in the L2 they leave free and the rows
// before them in HBM; the embedding, the norms, the residual epilogues and the head address
// each row where it lives (Codegen::x_slice), and a transfer whose rows cross the boundary
// splits in two.
TEST(DriverFunctional, LlamaResidualRowsSplitOverHbmAndL2Logits) {
  const config::Arch arch = config::load_arch("tiny", {"l2.bytes=48KiB"});
  // 78 rows in HBM, 42 in L2: the boundary falls inside core 2's rows 60-89.
  const std::string x = long_prefill_x(arch);
  EXPECT_NE(x.find("last 42 rows in L2 at "), std::string::npos) << x;
  check_long_prompt(arch);
}

// Decode attention split over cores and engines (kernels_attention.cpp): on tiny with 4
// cores of 2 engines, the 2 (sequence, KV head) pairs of a 120-token prompt split their
// 16 KV pages into 2 units each, whose partial outputs a second phase combines, and each
// unit's pages run on both engines.
TEST(DriverFunctional, LlamaSplitDecodeAttentionLogits) {
  check_long_prompt(config::load_arch("tiny", {"chip.cores=4", "core.matrix_engines=2"}));
}

TEST(DriverFunctional, Gpt2Fp8Logits) { check({"gpt2", hf::Architecture::GPT2, "tiny", 8}, "fp8", 0.99, false); }

// Full FP8 (weights, activations, KV) on the MoE model: the router reads a BF16 copy of its
// input (docs/compiler.md, "Precision policy"); with an FP8 input its top-2 choices flip and
// the lowest cosine drops to 0.982.
TEST(DriverFunctional, MixtralFp8Logits) {
  check({"mixtral", hf::Architecture::Mixtral, "tiny"}, "fp8", 0.99, false);
  check({"mixtral", hf::Architecture::Mixtral, "tiny"}, "fp8w", 0.99, false);
}

// ---- FP8 against the FP32 reference on randomly initialised models (issue 13) ----
//
// docs/numerics.md, "Error model": the compiled FP8 program must compute what FP32
// arithmetic on its FP8 values gives, i.e. the reference of the model as the program
// represents it (ref::Model::quantised). Per teacher-forced step the logits' cosine to that
// reference is at least 0.999 and every logit is within kStep * rms(logits) of it, so greedy
// tokens agree wherever the reference's top-1 margin exceeds 2 * kStep * rms(logits). The
// gap to the unquantised FP32 model is E4M3's rounding itself; it is printed, not asserted.

// One E4M3 step relative to the value is at most 2^-3 (3 fraction bits): the most one
// rounding-boundary disagreement between program and reference moves a stored value.
constexpr double kStep = 0x1p-3;

struct RandomCase {
  uint64_t seed;
  double s;
  bool tied;
  uint64_t kv_heads;
};

struct StepFigures {
  double min_cos = 1.0, max_err_rms = 0.0;  // against the quantised reference
  double min_cos_fp32 = 1.0;                // against the unquantised FP32 model
  uint64_t checked = 0, agreed = 0;         // steps with margin above the bound, and of those equal
  uint64_t flips_fp32 = 0;                  // greedy disagreements with the unquantised model
};

ref::Quantisation quantisation_of(const compiler::Precision& p) {
  ref::Quantisation q;
  q.weights = num::DType(uint8_t(p.weights));
  q.activations = num::DType(uint8_t(p.activations));
  q.kv = num::DType(uint8_t(p.kv));
  return q;
}

double rms(const std::vector<float>& v) {
  double ss = 0;
  for (float x : v) ss += double(x) * x;
  return std::sqrt(ss / double(v.size()));
}

StepFigures run_random_case(const RandomCase& c, const char* precision, const char* preset, uint64_t steps) {
  ref::TinyModelOptions o;
  o.seed = c.seed;
  o.init.kind = ref::WeightInit::Kind::Normal;
  o.init.scale = c.s;
  o.tie_embeddings = c.tied;
  o.kv_heads = c.kv_heads;
  const std::string dir = model_dir("random_" + std::to_string(c.seed) + "_s" + std::to_string(int(c.s * 10)) +
                                        (c.tied ? "_tied_kv" : "_untied_kv") + std::to_string(c.kv_heads),
                                    o);
  const config::Arch arch = config::load_arch(preset);
  FunctionalOptions fo;
  fo.prompt = kPrompt;
  fo.steps = steps;
  fo.precision = compiler::parse_precision(precision, *arch);
  const ref::Model fp32 = ref::Model::load(dir);
  const ref::Model quant = fp32.quantised(quantisation_of(*fo.precision));
  ref::GenerateOptions go;
  go.steps = steps;
  const ref::Generation want = ref::generate(quant, kPrompt, go);
  // Teacher forcing with the quantised reference's tokens; the FP32 model sees the same ones.
  go.forced = fo.forced = want.tokens;
  const ref::Generation plain = ref::generate(fp32, kPrompt, go);
  const FunctionalResult got = run_functional(dir, *arch, fo);
  StepFigures f;
  for (uint64_t st = 0; st < steps; ++st) {
    const std::vector<float>& g = got.logits[st];
    const std::vector<float>& w = want.logits[st];
    f.min_cos = std::min(f.min_cos, cosine(g, w));
    f.min_cos_fp32 = std::min(f.min_cos_fp32, cosine(g, plain.logits[st]));
    double me = 0;
    for (size_t i = 0; i < w.size(); ++i) me = std::max(me, std::fabs(double(g[i]) - w[i]));
    const double r = rms(w);
    f.max_err_rms = std::max(f.max_err_rms, me / r);
    if (top2_margin(w) > 2 * kStep * r) {
      ++f.checked;
      if (got.tokens[st] == want.tokens[st]) ++f.agreed;
    }
    if (got.tokens[st] != int64_t(ref::argmax(plain.logits[st]))) ++f.flips_fp32;
  }
  return f;
}

// Seeds: TESSERA_TEST_SEED or 11, and the next two.
uint64_t base_seed() {
  const char* e = std::getenv("TESSERA_TEST_SEED");
  return e ? std::strtoull(e, nullptr, 10) : 11;
}

void check_random_inits(const char* precision, const char* preset, double min_cos) {
  ASSERT_GT(min_cos, 0.0);
  const uint64_t seed0 = base_seed();
  std::printf("%s on %s: seeds %llu..%llu (set TESSERA_TEST_SEED to change)\n", precision, preset,
              (unsigned long long)seed0, (unsigned long long)seed0 + 2);
  constexpr uint64_t kRandomSteps = 6;
  for (uint64_t seed = seed0; seed < seed0 + 3; ++seed) {
    for (double s : {0.5, 1.0, 1.5}) {
      for (bool tied : {false, true}) {
        for (uint64_t kvh : {uint64_t(2), uint64_t(4)}) {  // GQA (4 query heads on 2) and MHA
          const RandomCase c{seed, s, tied, kvh};
          const StepFigures f = run_random_case(c, precision, preset, kRandomSteps);
          const std::string what = "seed " + std::to_string(seed) + " s " + std::to_string(s) +
                                   (tied ? " tied" : " untied") + (kvh == 2 ? " GQA" : " MHA");
          std::printf("  %-34s quantised ref: min cos %.7f, max|e|/rms %.2e, tokens %llu/%llu above the margin bound;"
                      " FP32 model: min cos %.5f, %llu greedy flips\n",
                      what.c_str(), f.min_cos, f.max_err_rms, (unsigned long long)f.agreed,
                      (unsigned long long)f.checked, f.min_cos_fp32, (unsigned long long)f.flips_fp32);
          EXPECT_EQ(f.agreed, f.checked) << what;
          if (s <= 0.5) {
            EXPECT_GE(f.min_cos, min_cos) << what;
            EXPECT_LE(f.max_err_rms, kStep) << what;
          } else {
            // The quantised reference rounds where the page-stationary kernel does (P normalised,
            // then BF16). The flash-style prefill kernel rounds elsewhere (Q x scale and -m in BF16,
            // P unnormalised in BF16, divided by the sum of the rounded P), and at s >= 1 those
            // BF16-level differences cross E4M3 rounding boundaries downstream and cascade
            // (measured up to 0.19 x rms at s = 1, docs/validation.md "Numerics"). What is asserted
            // there: the program's distance to the quantised reference stays below FP8's own
            // distance to the FP32 model (relative logit errors; measured ratio <= 0.8).
            EXPECT_LE(std::sqrt(1.0 - f.min_cos), std::sqrt(1.0 - f.min_cos_fp32)) << what;
          }
        }
      }
    }
  }
}

TEST(DriverFunctionalNumerics, Fp8RandomInitsMatchTheReference) { check_random_inits("fp8", "tiny", 0.999); }

// INT8 weights (per channel) and activations (per token, scales from the vector engine), KV
// and attention BF16. One INT8 step of a row is max|row| / 127 <= sqrt(n) / 127 rms(row),
// 0.063 rms for the 64-wide rows here: inside the same 2^-3 bound.
TEST(DriverFunctionalNumerics, Int8RandomInitsMatchTheReference) { check_random_inits("int8", "tiny", 0.999); }

// The INT8-only TPU v1 preset: INT8 KV cache and attention too (q, K, V per token and head,
// P per row; `--precision int8` picks kv=int8 there).
TEST(DriverFunctionalNumerics, Int8TpuV1RandomInitsMatchTheReference) { check_random_inits("int8", "tpu-v1", 0.999); }

}  // namespace
}  // namespace tessera::driver
