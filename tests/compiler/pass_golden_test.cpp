// Golden-IR tests of the passes, as compiler projects test theirs: for every pass in
// passes() and every case below, the graph before the pass (the front end and the passes
// ahead of it on a small model, printed by dump()) must equal the previous stage's golden
// file, and the graph after the pass the next one, byte for byte. The input of each pass
// test is therefore readable text checked in beside its expected output.
//
// Goldens live in tests/compiler/golden/<case>/<n>-<stage>.ir (stage 0 is the front end)
// and are written only by scripts/regen_compiler_goldens.sh --write, which runs this test
// with TESSERA_REGEN_GOLDENS=1. A difference fails the test and prints `diff -u golden
// actual`; the actual text stays in the build tree.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "compiler/compiler.h"
#include "compiler/hw.h"
#include "compiler/ir.h"
#include "compiler/passes/passes.h"

namespace tessera::compiler {
namespace {

namespace fs = std::filesystem;

// One small model compiled one way; together the cases reach every branch of the passes
// that changes the IR: FP8 scales, MoE router copy and experts, GPT-2 LayerNorm, biases and
// GELU, QKV biases and a tied head, a tensor-parallel group with all-reduces, prefill and
// decode, L2 and HBM activations.
struct Case {
  const char* name;
  const char* model;  // tests/compiler/golden/models/<model>.json
  const char* arch;
  Phase phase;
  uint64_t batch, context, max_context;
  uint32_t tp, chips;
  const char* precision;
};

const Case kCases[] = {
    {"llama_decode_fp8", "llama", "tiny", Phase::Decode, 2, 16, 32, 0, 0, "fp8"},
    {"gpt2_prefill_bf16", "gpt2", "tiny", Phase::Prefill, 1, 8, 0, 0, 0, "bf16"},
    {"mixtral_decode_fp8", "mixtral", "tiny", Phase::Decode, 1, 8, 0, 0, 0, "fp8"},
    {"qwen2_decode_tp2", "qwen2", "sohu-like", Phase::Decode, 2, 16, 0, 2, 2, "fp8"},
};

std::string golden_root() { return std::string(TESSERA_SOURCE_DIR) + "/tests/compiler/golden"; }

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

bool regenerating() {
  const char* v = std::getenv("TESSERA_REGEN_GOLDENS");
  return v && std::string(v) == "1";
}

// The golden file of stage n (0: the front end; n: after passes()[n - 1]).
std::string stage_file(const Case& c, size_t n) {
  const std::string stage = n == 0 ? "frontend" : std::string(passes()[n - 1].name);
  return golden_root() + "/" + c.name + "/" + std::to_string(n) + "-" + stage + ".ir";
}

// Compares text with the golden file (or writes it when regenerating); on a difference
// prints a unified diff against the actual text, kept under the build tree.
void expect_golden(const std::string& text, const std::string& golden) {
  if (regenerating()) {
    fs::create_directories(fs::path(golden).parent_path());
    std::ofstream(golden, std::ios::binary) << text;
    return;
  }
  const std::string want = read_text(golden);
  if (want == text) return;
  const fs::path rel = fs::relative(golden, golden_root());
  const fs::path actual = fs::path(TESSERA_BINARY_DIR) / "tests/compiler/golden_actual" / rel;
  fs::create_directories(actual.parent_path());
  std::ofstream(actual, std::ios::binary) << text;
  const std::string cmd = "diff -u '" + golden + "' '" + actual.string() + "'";
  std::fflush(stdout);
  if (std::system(cmd.c_str()) == -1) std::printf("(diff could not run)\n");
  ADD_FAILURE() << (want.empty() ? "missing golden " : "IR differs from ") << golden << " (actual: " << actual.string()
                << "); if the change is intended, run scripts/regen_compiler_goldens.sh --write and review the diff";
}

class PassGolden : public ::testing::TestWithParam<std::tuple<size_t, size_t>> {};

TEST_P(PassGolden, InputThenPassGivesExpectedIr) {
  const auto [pass, which] = GetParam();
  const Case& c = kCases[which];
  const config::Arch arch = config::load_arch(c.arch);
  const hf::ModelConfig m = hf::parse_model_config(
      read_text(golden_root() + "/models/" + c.model + ".json"),
      std::string("tests/compiler/golden/models/") + c.model + ".json");
  const Hw hw = hw_of(*arch);
  CompileOptions opt;
  opt.phase = c.phase;
  opt.batch = c.batch;
  opt.context = c.context;
  opt.max_context = c.max_context;
  opt.tp = c.tp;
  opt.chips = c.chips;
  const Precision prec = parse_precision(c.precision, *arch);
  const Parallelism par = choose_parallelism(m, hw, opt, prec);
  opt.batch = par.batch;
  const PassContext ctx{hw, opt, prec};
  Graph g = build_step_graph(m, *arch, ctx, par);
  for (size_t i = 0; i < pass; ++i) passes()[i].run(g, ctx);
  expect_golden(dump(g), stage_file(c, pass));
  passes()[pass].run(g, ctx);
  expect_golden(dump(g), stage_file(c, pass + 1));
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<size_t, size_t>>& info) {
  return std::string(passes()[std::get<0>(info.param)].name) + "_" + kCases[std::get<1>(info.param)].name;
}

INSTANTIATE_TEST_SUITE_P(Passes, PassGolden,
                         ::testing::Combine(::testing::Range<size_t>(0, passes().size()),
                                            ::testing::Range<size_t>(0, std::size(kCases))),
                         case_name);

// The list the goldens are named after is the pipeline compile() runs.
TEST(PassGoldenPipeline, FivePassesInOrder) {
  std::vector<std::string> names;
  for (const PassInfo& p : passes()) names.emplace_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"precision", "partition", "fusion", "tiling", "placement"}));
}

}  // namespace
}  // namespace tessera::compiler
