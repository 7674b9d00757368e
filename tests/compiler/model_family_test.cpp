// The recipe "Add a model family to the front end" (docs/extending.md) followed on a toy:
// a Llama variant under its own `architectures` name is one register_model_family call,
// after which its config.json loads and compiles to the program its Llama twin compiles to.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/config/config.h"
#include "common/hf/model_config.h"
#include "common/isa/isa.h"
#include "compiler/compiler.h"
#include "tests/compiler/input_error.h"

namespace tessera::compiler {
namespace {

const char* kToyClass = "ToyLlamaForCausalLM";

void register_toy_family() {
  static const bool once = [] {
    hf::register_model_family({kToyClass, "toy_llama", hf::Architecture::Llama});
    return true;
  }();
  (void)once;
}

// A small config.json under the given architectures class name.
std::string write_config(const std::string& name, const std::string& class_name) {
  const std::string dir = std::string(TESSERA_BINARY_DIR) + "/tests/compiler/work/model_family/" + name;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << R"({"architectures": [")" << class_name << R"("], "hidden_size": 64,
    "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "vocab_size": 256, "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "rope_theta": 10000.0})";
  return dir;
}

TEST(ModelFamily, UnregisteredFamilyIsRefusedByName) {
  const std::string dir = write_config("unregistered", "UnregisteredLlamaForCausalLM");
  const std::string e = error_of([&] { load_model(dir); });
  EXPECT_NE(e.find("UnregisteredLlamaForCausalLM"), std::string::npos) << e;
  EXPECT_NE(e.find("is not supported (supported: LlamaForCausalLM"), std::string::npos) << e;
}

TEST(ModelFamily, RegisteredToyFamilyCompilesLikeItsLayout) {
  register_toy_family();
  EXPECT_NE(hf::supported_architectures().find(kToyClass), std::string::npos);
  const hf::ModelConfig toy = load_model(write_config("toy", kToyClass));
  const hf::ModelConfig twin = load_model(write_config("twin", "LlamaForCausalLM"));
  EXPECT_EQ(toy.architecture, hf::Architecture::Llama);
  const config::Arch arch = config::load_arch("tiny");
  CompileOptions o;
  o.batch = 2;
  o.context = 16;
  const Compiled a = compile(toy, *arch, o), b = compile(twin, *arch, o);
  EXPECT_FALSE(a.program.text.empty());
  EXPECT_EQ(isa::write_tbin(a.program), isa::write_tbin(b.program));
}

TEST(ModelFamily, ClassNameTakenTwiceIsALogicError) {
  EXPECT_THROW(hf::register_model_family({"LlamaForCausalLM", "llama_again", hf::Architecture::Llama}),
               std::logic_error);
}

}  // namespace
}  // namespace tessera::compiler
