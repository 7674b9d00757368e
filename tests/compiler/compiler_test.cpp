// Front-end and compile errors (each an InputError naming what is wrong, with the sizes) and
// the precision policy. Programs run on the model in tests/driver.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/config/config.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "compiler/gemm.h"
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
  EXPECT_NE(e.find("7.97 GiB"), std::string::npos) << e;  // FP8 weights of Llama-3-8B (8.56e9 B)
  EXPECT_NE(e.find("1.00 GiB"), std::string::npos) << e;  // the tiny preset's HBM slice
}

// Both program writers (a model step and a GEMM) refuse a token depth below what the emitter
// keeps in flight, with the same message (compiler/emitter.h, check_token_depth).
TEST(CompilerErrors, TokenDepthBelowTheEmittersWindow) {
  const config::Arch tiny = config::load_arch("tiny", {"core.token_depth=4"});
  const std::string expected = "tiny: core.token_depth 4 is below 14";
  CompileOptions o;
  o.context = 16;
  const std::string e = error_of([&] { compile(load_model("gpt2"), *tiny, o); });
  EXPECT_NE(e.find(expected), std::string::npos) << e;
  const std::string g = error_of([&] { compile_gemm(*tiny, GemmSpec{64, 64, 64}); });
  EXPECT_NE(g.find(expected), std::string::npos) << g;
}

TEST(CompilerErrors, KvCacheThatCannotHoldTheBatch) {
  const config::Arch a = config::load_arch("sohu-like");
  CompileOptions o;
  o.chips = 1;
  o.batch = 2048;
  o.context = 8192;
  const std::string e = error_of([&] { compile(load_model("llama3-8b"), *a, o); });
  EXPECT_NE(e.find("KV cache cannot hold 2048 sequences x 8192 tokens"), std::string::npos) << e;
  EXPECT_NE(e.find("GiB"), std::string::npos) << e;
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

}  // namespace
}  // namespace tessera::compiler
