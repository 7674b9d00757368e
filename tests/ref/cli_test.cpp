// `tessera gen-model` and `tessera ref` as a user runs them: byte-identical models for a
// seed, identical output on every run and with or without the KV cache, the output
// format, and exit status 2 with a message for bad arguments and inputs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/common/hf/test_util.h"

namespace {

using tessera::test::TempDir;

const std::string kTessera = std::string(TESSERA_BINARY_DIR) + "/bin/tessera";

struct Result {
  int status;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result run(const TempDir& dir, const std::string& args) {
  const std::string out = dir.file("stdout"), err = dir.file("stderr");
  const int rc = std::system((kTessera + " " + args + " >" + out + " 2>" + err).c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out), slurp(err)};
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

TEST(RefCli, GenModelIsByteIdenticalForASeed) {
  TempDir dir;
  ASSERT_EQ(run(dir, "gen-model --family mixtral --dtype bf16 --out " + dir.file("a")).status, 0);
  ASSERT_EQ(run(dir, "gen-model --family mixtral --dtype bf16 --out " + dir.file("b")).status, 0);
  ASSERT_EQ(run(dir, "gen-model --family mixtral --dtype bf16 --seed 2 --out " + dir.file("c")).status, 0);
  const std::string a = slurp(dir.file("a/model.safetensors"));
  EXPECT_GT(a.size(), 100000u);
  EXPECT_EQ(a, slurp(dir.file("b/model.safetensors")));
  EXPECT_EQ(slurp(dir.file("a/config.json")), slurp(dir.file("b/config.json")));
  EXPECT_NE(a, slurp(dir.file("c/model.safetensors")));
}

TEST(RefCli, RefIsDeterministicWithAndWithoutKvCache) {
  TempDir dir;
  const Result gen = run(dir, "gen-model --family llama --out " + dir.file("m"));
  ASSERT_EQ(gen.status, 0) << gen.err;
  EXPECT_NE(gen.out.find("LlamaForCausalLM"), std::string::npos);
  const std::string args = "ref --model " + dir.file("m") + " --prompt 1,10,20,30 --steps 16 --logits";
  const Result a = run(dir, args), b = run(dir, args), c = run(dir, args + " --no-kv-cache");
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out, c.out);
  // Line 1: 16 comma-separated ids; then one line per step with 512 logits.
  const auto l = lines(a.out);
  ASSERT_EQ(l.size(), 17u);
  EXPECT_EQ(std::count(l[0].begin(), l[0].end(), ','), 15);
  const std::string first = l[0].substr(0, l[0].find(','));
  EXPECT_EQ(l[1].rfind("step 0 token " + first + " logits ", 0), 0u) << l[1];
  EXPECT_EQ(std::count(l[16].begin(), l[16].end(), ' '), 5 + 512 - 1);
  // Without --logits: just the ids.
  EXPECT_EQ(run(dir, "ref --model " + dir.file("m") + " --prompt 1,10,20,30 --steps 16").out, l[0] + "\n");
}

TEST(RefCli, BadArgumentsExitWith2) {
  TempDir dir;
  ASSERT_EQ(run(dir, "gen-model --family gpt2 --out " + dir.file("m")).status, 0);
  const std::string model = " --model " + dir.file("m");
  struct Case {
    std::string args, message;
  } cases[] = {
      {"ref" + model + " --prompt 1,x,3", "'x' in '1,x,3' is not a token id"},
      {"ref" + model + " --prompt 1,,3", "'' in '1,,3' is not a token id"},
      {"ref" + model + " --prompt 1,600", "token id 600 is outside the vocabulary [0, 512)"},
      {"ref" + model + " --prompt 1 --steps 0", "--steps must be at least 1"},
      {"ref" + model + " --prompt 1 --steps 2000", "positions exceed max_position_embeddings 256"},
      {"ref --model " + dir.file("none") + " --prompt 1", "cannot open model config"},
      {"ref --model " + dir.path() + " --prompt 1", "cannot open model config"},
      {"ref" + model, "--prompt is required"},
      {"ref" + model + " --prompt 1 --steps 2 --force 3", "1 forced tokens given for 2 steps"},
      {"gen-model --family bert --out " + dir.file("x"), "bert"},
      {"gen-model --family llama --heads 3 --out " + dir.file("x"), "--heads: 3 does not divide --dim 64"},
      {"gen-model --family llama --dtype f64 --out " + dir.file("x"), "f64"},
  };
  for (const Case& c : cases) {
    const Result r = run(dir, c.args);
    EXPECT_EQ(r.status, 2) << c.args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
  }
  // A model directory without weights: config.json alone.
  dir.write("cfgonly/config.json", slurp(dir.file("m/config.json")));
  const Result r = run(dir, "ref --model " + dir.file("cfgonly") + " --prompt 1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("neither model.safetensors nor model.safetensors.index.json"), std::string::npos) << r.err;
}

}  // namespace
