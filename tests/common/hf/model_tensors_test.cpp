// Tensor lists and parameter counts: the counts of configs/models against the published
// sizes (docs/models.md cites them), one count redone by hand, names and shapes as Hugging
// Face writes them.
#include "common/hf/model_tensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/hf/safetensors.h"
#include "tests/common/hf/test_util.h"

namespace tessera::hf {
namespace {

const std::string kModels = std::string(TESSERA_SOURCE_DIR) + "/configs/models/";

ModelConfig model(const std::string& name) { return load_model_config(kModels + name); }

// Published sizes are rounded to three significant digits, so at most 0.5% off.
void expect_near_published(uint64_t ours, double published, const std::string& what) {
  EXPECT_LE(std::fabs(static_cast<double>(ours) / published - 1.0), 0.005)
      << what << ": ours " << ours << ", published " << published;
}

TEST(ModelTensors, ParameterCountsMatchPublishedSizes) {
  // Sources: docs/models.md.
  expect_near_published(parameter_count(model("llama3-8b")), 8.03e9, "llama3-8b");
  expect_near_published(parameter_count(model("llama3.1-8b")), 8.03e9, "llama3.1-8b");
  expect_near_published(parameter_count(model("llama3-70b")), 70.6e9, "llama3-70b");
  expect_near_published(parameter_count(model("llama2-7b")), 6.74e9, "llama2-7b");
  expect_near_published(parameter_count(model("gpt2")), 124e6, "gpt2");
  expect_near_published(parameter_count(model("mixtral-8x7b")), 46.7e9, "mixtral total");
  expect_near_published(active_parameter_count(model("mixtral-8x7b")), 12.9e9, "mixtral active");
  expect_near_published(parameter_count(model("qwen2.5-7b")), 7.61e9, "qwen2.5-7b");
  const ModelConfig q = model("qwen2.5-7b");
  expect_near_published(parameter_count(q) - embedding_parameter_count(q), 6.53e9, "qwen2.5-7b non-embedding");
  expect_near_published(parameter_count(model("mistral-7b")), 7.24e9, "mistral-7b");
}

TEST(ModelTensors, Llama3_8bCountByHand) {
  // V = 128256, H = 4096, L = 32, q = 32 x 128 = 4096, kv = 8 x 128 = 1024, I = 14336.
  const uint64_t embed_and_head = 2ull * 128256 * 4096;                         // 1,050,673,152
  const uint64_t attn = 4096ull * 4096 + 2 * 1024ull * 4096 + 4096ull * 4096;   // 41,943,040
  const uint64_t mlp = 3ull * 4096 * 14336;                                     // 176,160,768
  const uint64_t per_layer = attn + mlp + 2 * 4096;                             // 218,112,000
  const uint64_t expected = embed_and_head + 32 * per_layer + 4096;
  EXPECT_EQ(expected, 8'030'261'248ull);
  EXPECT_EQ(parameter_count(model("llama3-8b")), expected);
  EXPECT_EQ(parameter_bytes(model("llama3-8b"), 2), 2 * expected);
  // GPT-2: the well-known 124,439,808 (tied head counted once).
  EXPECT_EQ(parameter_count(model("gpt2")), 124'439'808ull);
}

TEST(ModelTensors, KvCacheBytesMatchTheHardwareNumbersTable) {
  // ../shared/reference/hardware-numbers.md §6: BF16 KV bytes per token.
  EXPECT_EQ(kv_cache_bytes_per_token(model("llama3-70b"), 2), 320u * 1024);
  EXPECT_EQ(kv_cache_bytes_per_token(model("llama3-8b"), 2), 128u * 1024);
  EXPECT_EQ(kv_cache_bytes_per_token(model("llama2-7b"), 2), 512u * 1024);
  EXPECT_EQ(kv_cache_bytes_per_token(model("gpt2"), 2), 36u * 1024);
  EXPECT_EQ(kv_cache_bytes_per_token(model("qwen2.5-7b"), 2), 56u * 1024);
}

const TensorSpec* find(const std::vector<TensorSpec>& t, const std::string& name) {
  auto it = std::find_if(t.begin(), t.end(), [&](const TensorSpec& s) { return s.name == name; });
  return it == t.end() ? nullptr : &*it;
}

TEST(ModelTensors, NamesAndShapesAsHuggingFaceWritesThem) {
  const auto l = model_tensors(model("llama3-8b"));
  EXPECT_EQ(l.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(l.back().name, "lm_head.weight");
  ASSERT_NE(find(l, "model.layers.31.self_attn.k_proj.weight"), nullptr);
  EXPECT_EQ(find(l, "model.layers.0.self_attn.k_proj.weight")->shape, (Shape{1024, 4096}));  // [out, in]
  EXPECT_EQ(find(l, "model.layers.0.mlp.down_proj.weight")->shape, (Shape{4096, 14336}));
  EXPECT_EQ(find(l, "model.layers.0.self_attn.q_proj.bias"), nullptr);
  EXPECT_EQ(l.size(), 2 + 32 * 9 + 1u);

  const auto q = model_tensors(model("qwen2.5-7b"));
  EXPECT_EQ(find(q, "model.layers.0.self_attn.k_proj.bias")->shape, (Shape{512}));
  EXPECT_EQ(find(q, "model.layers.0.self_attn.o_proj.bias"), nullptr);

  const auto m = model_tensors(model("mixtral-8x7b"));
  EXPECT_EQ(find(m, "model.layers.0.block_sparse_moe.gate.weight")->shape, (Shape{8, 4096}));
  EXPECT_EQ(find(m, "model.layers.3.block_sparse_moe.experts.7.w2.weight")->shape, (Shape{4096, 14336}));
  EXPECT_EQ(find(m, "model.layers.0.mlp.gate_proj.weight"), nullptr);

  const auto g = model_tensors(model("gpt2"));
  EXPECT_EQ(find(g, "transformer.h.0.attn.c_attn.weight")->shape, (Shape{768, 2304}));  // Conv1D [in, out]
  EXPECT_EQ(find(g, "transformer.h.11.mlp.c_proj.weight")->shape, (Shape{3072, 768}));
  EXPECT_EQ(find(g, "transformer.wpe.weight")->shape, (Shape{1024, 768}));
  EXPECT_EQ(find(g, "lm_head.weight"), nullptr);  // tied
}

// The names by role are the names of the list: every role of every layer is a listed tensor.
TEST(ModelTensors, NamesByRoleAreListed) {
  for (const char* name : {"llama3-8b", "qwen2.5-7b", "mixtral-8x7b", "gpt2"}) {
    const ModelConfig c = model(name);
    const auto list = model_tensors(c);
    const ModelTensorNames n = model_tensor_names(c);
    EXPECT_NE(find(list, n.embed), nullptr) << name;
    EXPECT_NE(find(list, weight_of(n.final_norm)), nullptr) << name;
    const LayerTensorNames l = layer_tensor_names(c, c.num_layers - 1);
    for (const std::string& prefix : {l.attn_norm, l.o, l.mlp_norm}) {
      EXPECT_NE(find(list, weight_of(prefix)), nullptr) << prefix;
    }
    for (const std::string& prefix : {l.q, l.k, l.v, l.qkv, l.gate, l.up, l.down, l.router}) {
      if (!prefix.empty()) {
        EXPECT_NE(find(list, weight_of(prefix)), nullptr) << prefix;
      }
    }
    EXPECT_EQ(l.expert_gate.size(), c.num_experts) << name;
    for (const std::string& prefix : l.expert_down) EXPECT_NE(find(list, weight_of(prefix)), nullptr) << prefix;
  }
}

// GPT-2 checkpoints saved from GPT2Model carry no "transformer." prefix; others keep it.
TEST(ModelTensors, StoredNameDropsAMissingGpt2Prefix) {
  const ModelConfig c = model("gpt2");
  const test::TempDir dir;  // one per test: two would share a path
  const std::string bare = dir.file("bare"), prefixed = dir.file("prefixed");
  std::filesystem::create_directories(bare);
  std::filesystem::create_directories(prefixed);
  write_safetensors(bare + "/model.safetensors", {{"wte.weight", {1}, {0.0f}}});
  write_safetensors(prefixed + "/model.safetensors", {{"transformer.wte.weight", {1}, {0.0f}}});
  EXPECT_EQ(stored_name(c, TensorStore::open_dir(bare), "transformer.h.0.ln_1.weight"), "h.0.ln_1.weight");
  EXPECT_EQ(stored_name(c, TensorStore::open_dir(prefixed), "transformer.h.0.ln_1.weight"),
            "transformer.h.0.ln_1.weight");
  EXPECT_EQ(stored_name(model("llama3-8b"), TensorStore::open_dir(bare), "model.norm.weight"), "model.norm.weight");
}

}  // namespace
}  // namespace tessera::hf

namespace tessera::hf {
namespace {

// A checkpoint holding exactly model_tensors(c) (zeros), plus `extra` names of shape [1].
std::string write_checkpoint(const test::TempDir& dir, const ModelConfig& c, const std::vector<std::string>& extra = {}) {
  std::vector<TensorData> tensors;
  for (const TensorSpec& t : model_tensors(c)) tensors.push_back({t.name, t.shape, std::vector<float>(shape_numel(t.shape))});
  for (const std::string& name : extra) tensors.push_back({name, {1}, {0.0f}});
  const std::string path = dir.file("model.safetensors");
  write_safetensors(path, tensors);
  return path;
}

ModelConfig tiny_llama(uint64_t layers) {
  std::string text = test::llama();
  const std::string from = "\"num_hidden_layers\": 2";
  text.replace(text.find(from), from.size(), "\"num_hidden_layers\": " + std::to_string(layers));
  return parse_model_config(text, "config.json");
}

TEST(CheckCheckpoint, MatchingCheckpointAndIgnorableBuffersPass) {
  test::TempDir dir;
  const ModelConfig c = tiny_llama(2);
  const std::string p = write_checkpoint(dir, c, {"model.layers.0.self_attn.rotary_emb.inv_freq"});
  EXPECT_NO_THROW(check_checkpoint(c, TensorStore::open(p)));
}

TEST(CheckCheckpoint, MoreLayersThanTheConfigAreRefused) {
  test::TempDir dir;
  const std::string p = write_checkpoint(dir, tiny_llama(3));
  test::expect_input_error([&] { check_checkpoint(tiny_llama(2), TensorStore::open(p)); },
                           {p, "unexpected tensor 'model.layers.2.", "LlamaForCausalLM", "config.json"});
}

TEST(CheckCheckpoint, MissingTensorAndWrongShapeAreRefused) {
  test::TempDir dir;
  const std::string p = write_checkpoint(dir, tiny_llama(1));
  test::expect_input_error([&] { check_checkpoint(tiny_llama(2), TensorStore::open(p)); },
                           {p, "missing tensor 'model.layers.1.input_layernorm.weight'"});
  ModelConfig wide = tiny_llama(1);
  wide.vocab_size = 1024;
  test::expect_input_error([&] { check_checkpoint(wide, TensorStore::open(p)); },
                           {p, "'model.embed_tokens.weight'", "expected [1024, 64]", "got [512, 64]"});
}

}  // namespace
}  // namespace tessera::hf
