// config.json parsing: every model config in configs/models, the per-architecture
// defaults, and one test per diagnostic (file:line, field, what was expected).
#include "common/hf/model_config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/common/hf/test_util.h"

namespace tessera::hf {
namespace {

using test::expect_input_error;

const std::string kModels = std::string(TESSERA_SOURCE_DIR) + "/configs/models/";

ModelConfig parse(const std::string& text) { return parse_model_config(text, "cfg.json"); }

using test::llama;

TEST(ModelConfig, EveryConfigInTheRepositoryParses) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    SCOPED_TRACE(entry.path().string());
    const ModelConfig c = load_model_config(entry.path().string());
    EXPECT_GT(c.num_layers, 0u);
    // The generated config.json reads back to the same config.
    ModelConfig back = parse_model_config(model_config_json(c), c.source);
    EXPECT_EQ(back, c);
    ++n;
  }
  EXPECT_EQ(n, 8);
}

TEST(ModelConfig, PublishedValues) {
  const ModelConfig l3 = load_model_config(kModels + "llama3-8b");
  EXPECT_EQ(l3.architecture, Architecture::Llama);
  EXPECT_EQ(l3.source, kModels + "llama3-8b/config.json");
  EXPECT_EQ(l3.hidden_size, 4096u);
  EXPECT_EQ(l3.num_kv_heads, 8u);
  EXPECT_EQ(l3.head_dim, 128u);
  EXPECT_EQ(l3.vocab_size, 128256u);
  EXPECT_EQ(l3.rope_theta, 500000.0);
  EXPECT_FALSE(l3.rope_scaling.llama3);
  EXPECT_FALSE(l3.tie_word_embeddings);
  EXPECT_FALSE(l3.qkv_bias);

  const ModelConfig l31 = load_model_config(kModels + "llama3.1-8b/config.json");
  EXPECT_EQ(l31.rope_scaling, (RopeScaling{true, 8.0, 1.0, 4.0, 8192}));

  const ModelConfig l2 = load_model_config(kModels + "llama2-7b");
  EXPECT_EQ(l2.rope_theta, 10000.0);  // absent: LlamaConfig's default
  EXPECT_EQ(l2.num_kv_heads, 32u);

  const ModelConfig g = load_model_config(kModels + "gpt2");
  EXPECT_EQ(g.architecture, Architecture::GPT2);
  EXPECT_EQ(g.intermediate_size, 3072u);  // n_inner absent: 4 x n_embd
  EXPECT_EQ(g.norm, NormKind::LayerNorm);
  EXPECT_EQ(g.activation, Activation::GeluNew);
  EXPECT_EQ(g.position, PositionKind::Learned);
  EXPECT_TRUE(g.tie_word_embeddings);
  EXPECT_TRUE(g.qkv_bias && g.o_bias && g.mlp_bias);
  EXPECT_EQ(g.max_position_embeddings, 1024u);

  const ModelConfig m = load_model_config(kModels + "mixtral-8x7b");
  EXPECT_TRUE(m.is_moe());
  EXPECT_EQ(m.num_experts, 8u);
  EXPECT_EQ(m.experts_per_token, 2u);
  EXPECT_FALSE(m.sliding_window.has_value());  // null
  EXPECT_EQ(m.rope_theta, 1e6);

  const ModelConfig q = load_model_config(kModels + "qwen2.5-7b");
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_FALSE(q.o_bias);
  EXPECT_EQ(q.norm_eps, 1e-6);
  EXPECT_EQ(q.num_kv_heads, 4u);

  const ModelConfig mi = load_model_config(kModels + "mistral-7b");
  EXPECT_EQ(mi.sliding_window, std::optional<uint64_t>(4096));
}

TEST(ModelConfig, DefaultsAndOverrides) {
  const ModelConfig c = parse(llama());
  EXPECT_EQ(c.num_kv_heads, 4u);  // LlamaConfig: absent -> num_attention_heads
  EXPECT_EQ(c.head_dim, 16u);
  EXPECT_EQ(c.norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 10000.0);

  const ModelConfig h = parse(llama("  \"head_dim\": 32,\n  \"attention_bias\": true,\n  \"mlp_bias\": true,\n"));
  EXPECT_EQ(h.head_dim, 32u);
  EXPECT_EQ(h.q_dim(), 128u);
  EXPECT_TRUE(h.qkv_bias && h.o_bias && h.mlp_bias);

  // model_type is enough when "architectures" is absent
  std::string no_arch = llama();
  no_arch.replace(no_arch.find("\"architectures\": [\"LlamaForCausalLM\"]"), 37, "\"model_type\": \"llama\"");
  EXPECT_EQ(parse(no_arch).architecture, Architecture::Llama);

  // Mistral: an absent sliding_window is MistralConfig's 4096, null is none
  const std::string mistral = R"({"architectures": ["MistralForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
    "vocab_size": 32)";
  EXPECT_EQ(parse(mistral + "}").sliding_window, std::optional<uint64_t>(4096));
  EXPECT_FALSE(parse(mistral + ", \"sliding_window\": null}").sliding_window.has_value());
  EXPECT_EQ(parse(mistral + ", \"sliding_window\": 8}").sliding_window, std::optional<uint64_t>(8));
  // Qwen2 ignores sliding_window while use_sliding_window is false
  std::string qwen = mistral;
  qwen.replace(qwen.find("MistralForCausalLM"), 18, "Qwen2ForCausalLM");
  EXPECT_FALSE(parse(qwen + ", \"sliding_window\": 8}").sliding_window.has_value());
  EXPECT_EQ(parse(qwen + "}").norm_eps, 1e-6);
  EXPECT_TRUE(parse(qwen + "}").qkv_bias);
}

// ---- diagnostics

TEST(ModelConfigErrors, UnsupportedArchitectureNamesTheSupportedSet) {
  expect_input_error([] { parse("{\n  \"architectures\": [\"BertModel\"]\n}"); },
                     {"cfg.json:2", "architectures", "BertModel", "supported: LlamaForCausalLM, MistralForCausalLM, "
                                                                  "Qwen2ForCausalLM, MixtralForCausalLM, GPT2LMHeadModel"});
  expect_input_error([] { parse(R"({"model_type": "bert"})"); }, {"model_type", "bert", "supported"});
  expect_input_error([] { parse(R"({"hidden_size": 4})"); }, {"cfg.json", "missing field 'architectures'"});
}

TEST(ModelConfigErrors, MissingField) {
  std::string text = llama();
  text.erase(text.find("  \"hidden_size\": 64,\n"), 20);
  expect_input_error([&] { parse(text); }, {"cfg.json", "missing field 'hidden_size'", "LlamaForCausalLM"});
  const std::string mixtral = R"({"architectures": ["MixtralForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
    "vocab_size": 32})";
  expect_input_error([&] { parse(mixtral); }, {"missing field 'num_local_experts'", "MixtralForCausalLM"});
  expect_input_error([] { parse(R"({"architectures": ["MistralForCausalLM"], "hidden_size": 64, "intermediate_size": 1,
    "num_hidden_layers": 1, "num_attention_heads": 4, "max_position_embeddings": 64, "vocab_size": 32})"); },
                     {"missing field 'num_key_value_heads'", "MistralForCausalLM"});
  expect_input_error([] { parse(R"({"architectures": ["GPT2LMHeadModel"], "n_embd": 64, "n_layer": 1,
    "vocab_size": 32, "n_positions": 16})"); }, {"missing field 'n_head'", "GPT2LMHeadModel"});
}

TEST(ModelConfigErrors, WrongTypeNamesFileLineAndField) {
  expect_input_error([] { parse(llama("", "\"4096\"")); },
                     {"cfg.json:3", "field 'hidden_size'", "expected a positive integer", "\"4096\""});
  expect_input_error([] { parse(llama("", "0")); }, {"cfg.json:3", "hidden_size", "positive integer", "got 0"});
  expect_input_error([] { parse(llama("", "64.5")); }, {"cfg.json:3", "hidden_size"});
  expect_input_error([] { parse(llama("  \"rms_norm_eps\": -1,\n")); },
                     {"cfg.json:8", "rms_norm_eps", "expected a positive number"});
  expect_input_error([] { parse(llama("  \"tie_word_embeddings\": 1,\n")); },
                     {"cfg.json:8", "tie_word_embeddings", "expected true or false"});
}

TEST(ModelConfigErrors, InvalidJsonNamesTheLine) {
  expect_input_error([] { parse("{\n  \"hidden_size\": 4,\n  oops\n}"); }, {"cfg.json:3", "invalid JSON"});
  expect_input_error([] { load_model_config("/nonexistent/dir/config.json"); }, {"/nonexistent/dir/config.json"});
}

TEST(ModelConfigErrors, RopeScaling) {
  expect_input_error([] { parse(llama("  \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0},\n")); },
                     {"cfg.json:8", "rope_scaling.rope_type", "\"yarn\" is not supported", "llama3"});
  expect_input_error([] { parse(llama("  \"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0},\n")); },
                     {"rope_scaling.type", "\"linear\""});
  expect_input_error(
      [] { parse(llama("  \"rope_scaling\": {\"rope_type\": \"llama3\", \"low_freq_factor\": 1.0,\n"
                       "    \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192},\n")); },
      {"missing field 'rope_scaling.factor'", "llama3"});
  expect_input_error(
      [] { parse(llama("  \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,\n"
                       "    \"high_freq_factor\": \"4\", \"original_max_position_embeddings\": 8192},\n")); },
      {"cfg.json:9", "rope_scaling.high_freq_factor", "positive number"});
  // 2e+96 was converted to uint64_t before its range was checked (undefined; fuzz_model_config under
  // UBSan), and 1e12 was taken as a context length.
  for (const char* big : {"2e+96", "1000000000000"}) {
    expect_input_error(
        [&] { parse(llama(std::string("  \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,\n"
                                      "    \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": ") + big + "},\n")); },
        {"rope_scaling.original_max_position_embeddings", "up to 1073741824", big});
  }
  // "default" means none
  EXPECT_FALSE(parse(llama("  \"rope_scaling\": {\"rope_type\": \"default\"},\n")).rope_scaling.llama3);
}

TEST(ModelConfigErrors, UnsupportedOptions) {
  expect_input_error([] { parse(llama("  \"hidden_act\": \"gelu\",\n")); },
                     {"cfg.json:8", "hidden_act", "\"gelu\" is not supported", "silu"});
  expect_input_error([] { parse(llama("  \"num_key_value_heads\": 3,\n")); },
                     {"num_key_value_heads", "3 does not divide num_attention_heads 4"});
  expect_input_error([] { parse(llama("  \"head_dim\": 15,\n")); }, {"head_dim", "must be even"});
  expect_input_error([] { parse(llama("", "66")); }, {"num_attention_heads", "not a multiple"});
  expect_input_error([] { parse(R"({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 1,
    "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
    "vocab_size": 32, "use_sliding_window": true})"); }, {"use_sliding_window", "not supported"});
  expect_input_error([] { parse(R"({"architectures": ["GPT2LMHeadModel"], "n_embd": 64, "n_layer": 1, "n_head": 4,
    "vocab_size": 32, "n_positions": 16, "activation_function": "relu"})"); },
                     {"activation_function", "\"relu\" is not supported", "gelu_new"});
  expect_input_error([] { parse(R"({"architectures": ["MixtralForCausalLM"], "hidden_size": 64, "intermediate_size": 1,
    "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
    "vocab_size": 32, "num_local_experts": 2, "num_experts_per_tok": 3})"); },
                     {"num_experts_per_tok", "3 exceeds num_local_experts 2"});
}

}  // namespace
}  // namespace tessera::hf
