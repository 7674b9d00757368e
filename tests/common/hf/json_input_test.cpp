// Hostile JSON in config.json, safetensors headers and shard indexes: nesting deep enough
// to exhaust the stack, numbers beyond binary64, control characters in strings. Each must
// end in an InputError naming the file and the field, never in a crash or an
// "internal error" (issue #17).
#include <gtest/gtest.h>

#include <string>

#include "common/hf/model_config.h"
#include "common/hf/safetensors.h"
#include "tests/common/hf/test_util.h"

namespace tessera::hf {
namespace {

using test::expect_input_error;
using test::TempDir;

using test::file_bytes;
using test::llama;

// A deep enough nest to overflow an 8 MB stack in any recursive walk.
std::string nested_array(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonInput, DeeplyNestedConfigValueNamesFileLineAndField) {
  const std::string text = llama("  \"rope_scaling\": " + nested_array(200'000) + ",\n");
  expect_input_error([&] { parse_model_config(text, "cfg.json"); },
                     {"cfg.json:8", "'rope_scaling'", "nesting deeper than 64 levels"});
}

TEST(JsonInput, DeeplyNestedConfigFileOnDisk) {
  TempDir dir;
  dir.write("m/config.json", "{\"a\": {\"b\": " + std::string(300'000, '{') + "}}");
  expect_input_error([&] { load_model_config(dir.file("m")); },
                     {dir.file("m/config.json") + ":1", "'a.b'", "nesting deeper than 64 levels"});
}

TEST(JsonInput, NestingAtTheLimitIsNotRefusedForDepth) {
  // 63 levels inside the top-level object: accepted by the depth check, refused by the field check.
  const std::string text = llama("  \"rope_scaling\": " + nested_array(63) + ",\n");
  expect_input_error([&] { parse_model_config(text, "cfg.json"); }, {"cfg.json:8", "rope_scaling", "expected an object"});
}

TEST(JsonInput, NumberBeyondDoubleRangeInConfig) {
  expect_input_error([] { parse_model_config(llama("  \"rope_theta\": 1e400,\n"), "cfg.json"); },
                     {"cfg.json:8", "'rope_theta'", "1e400", "out of range"});
  expect_input_error([] { parse_model_config(llama("  \"rope_scaling\": {\"factor\": -2E+999},\n"), "cfg.json"); },
                     {"cfg.json:8", "'rope_scaling.factor'", "-2E+999", "out of range"});
}

TEST(JsonInput, TinyNumbersAreNotOutOfRange) {
  // 1e-400 rounds to zero as in every JSON reader; the field check then refuses zero.
  expect_input_error([] { parse_model_config(llama("  \"rms_norm_eps\": 1e-400,\n"), "cfg.json"); },
                     {"cfg.json:8", "rms_norm_eps", "expected a positive number"});
}

TEST(JsonInput, NulInConfigStringIsEscapedNotCut) {
  expect_input_error([] { parse_model_config(llama("  \"hidden_act\": \"si\\u0000lu\",\n"), "cfg.json"); },
                     {"cfg.json:8", "hidden_act", "\"si\\u0000lu\" is not supported", "(supported: \"silu\")"});
  expect_input_error([] { parse_model_config("{\"model_type\": \"ll\\u0000ama\"}", "cfg.json"); },
                     {"\"ll\\u0000ama\" is not supported", "(supported: llama"});
}

TEST(JsonInput, DeeplyNestedSafetensorsHeader) {
  TempDir dir;
  const std::string p = dir.write("deep.safetensors", file_bytes("{\"w\": " + nested_array(200'000) + "}", ""));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'w'", "nesting deeper than 64 levels"});
}

TEST(JsonInput, NumberBeyondDoubleRangeInSafetensorsHeader) {
  TempDir dir;
  const std::string p =
      dir.write("big.safetensors", file_bytes(R"({"w":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}})", "abcd"));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'w.shape'", "1e400", "out of range"});
}

TEST(JsonInput, NulInTensorNameIsEscapedNotCut) {
  TempDir dir;
  const std::string p =
      dir.write("nul.safetensors", file_bytes(R"({"a\u0000b":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", "ab"));
  expect_input_error([&] { SafetensorsFile f(p); }, {p, "'a\\u0000b'", "unknown dtype 'Q4'"});
}

TEST(JsonInput, DeeplyNestedShardIndex) {
  TempDir dir;
  const std::string p = dir.write("model.safetensors.index.json", "{\"weight_map\": " + nested_array(200'000) + "}");
  expect_input_error([&] { TensorStore::open(p); }, {p, "'weight_map'", "nesting deeper than 64 levels"});
}

TEST(JsonInput, NumberBeyondDoubleRangeInShardIndex) {
  TempDir dir;
  const std::string p = dir.write("model.safetensors.index.json", "{\"metadata\": {\"total_size\": 1e999}}");
  expect_input_error([&] { TensorStore::open(p); }, {p, "'metadata.total_size'", "1e999", "out of range"});
}

}  // namespace
}  // namespace tessera::hf

namespace tessera::hf {
namespace {

// Layers and experts multiply into the tensor list every reader builds first: 2^30 of each
// (the dimension limit) would be 2^60 entries.
TEST(ModelConfigLimits, LayerAndExpertCountsAreBounded) {
  std::string text = llama();
  const std::string from = "\"num_hidden_layers\": 2";
  text.replace(text.find(from), from.size(), "\"num_hidden_layers\": 1073741824");
  expect_input_error([&] { parse_model_config(text, "cfg.json"); },
                     {"cfg.json:5", "'num_hidden_layers'", "up to 1024", "1073741824"});
  const std::string mixtral = "{\"architectures\": [\"MixtralForCausalLM\"], \"vocab_size\": 8, \"hidden_size\": 8,"
                              " \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
                              " \"num_key_value_heads\": 1, \"max_position_embeddings\": 8,"
                              " \"num_local_experts\": 5000, \"num_experts_per_tok\": 2}";
  expect_input_error([&] { parse_model_config(mixtral, "cfg.json"); },
                     {"cfg.json:1", "'num_local_experts'", "up to 1024", "5000"});
}

}  // namespace
}  // namespace tessera::hf
