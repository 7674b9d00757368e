// Compiled programs run on the functional model with real (fixed-seed, generated)
// weights, against the FP32 reference Transformer (docs/compiler.md, "Validation"):
// greedy tokens identical for 16 steps with BF16 weights, and every step's logits with a
// cosine similarity of at least 0.999 (BF16) or 0.99 (FP8) under teacher forcing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "common/config/config.h"
#include "driver/functional.h"
#include "ref/tiny_model.h"
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

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
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

double top2_margin(const std::vector<float>& v) {
  float a = -INFINITY, b = -INFINITY;
  for (float x : v) {
    if (x > a) {
      b = a;
      a = x;
    } else if (x > b) {
      b = x;
    }
  }
  return double(a) - double(b);
}

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

// Teacher-forced logits of 4 steps after a 120-token prompt against the reference.
void check_long_prompt(const config::Arch& arch) {
  ref::TinyModelOptions o;
  o.dtype = hf::TensorDType::BF16;
  const std::string dir = model_dir("llama_long", o);
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

// A 120-token prompt on the tiny preset: attention's query blocks no longer fit three
// buffer sets, so prefill takes the one-set schedule (kernels_attention.cpp).
TEST(DriverFunctional, LlamaLongPromptLogits) { check_long_prompt(config::load_arch("tiny")); }

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

}  // namespace
}  // namespace tessera::driver
