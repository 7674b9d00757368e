// Tensor lists per architecture, following the module trees of transformers'
// modeling_llama / modeling_mistral / modeling_qwen2 / modeling_mixtral / modeling_gpt2.
#include "common/hf/model_tensors.h"

#include <set>

#include "common/hf/json_input.h"
#include "common/util/error.h"

namespace tessera::hf {

namespace {

void linear(std::vector<TensorSpec>& out, const std::string& name, uint64_t in, uint64_t out_dim, bool bias) {
  out.push_back({name + ".weight", {out_dim, in}});
  if (bias) out.push_back({name + ".bias", {out_dim}});
}

void llama_family(const ModelConfig& c, std::vector<TensorSpec>& t) {
  const uint64_t h = c.hidden_size;
  t.push_back({"model.embed_tokens.weight", {c.vocab_size, h}});
  for (uint64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {h}});
    linear(t, p + "self_attn.q_proj", h, c.q_dim(), c.qkv_bias);
    linear(t, p + "self_attn.k_proj", h, c.kv_dim(), c.qkv_bias);
    linear(t, p + "self_attn.v_proj", h, c.kv_dim(), c.qkv_bias);
    linear(t, p + "self_attn.o_proj", c.q_dim(), h, c.o_bias);
    t.push_back({p + "post_attention_layernorm.weight", {h}});
    if (c.is_moe()) {
      linear(t, p + "block_sparse_moe.gate", h, c.num_experts, false);
      for (uint64_t e = 0; e < c.num_experts; ++e) {
        const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
        linear(t, q + "w1", h, c.intermediate_size, false);
        linear(t, q + "w2", c.intermediate_size, h, false);
        linear(t, q + "w3", h, c.intermediate_size, false);
      }
    } else {
      linear(t, p + "mlp.gate_proj", h, c.intermediate_size, c.mlp_bias);
      linear(t, p + "mlp.up_proj", h, c.intermediate_size, c.mlp_bias);
      linear(t, p + "mlp.down_proj", c.intermediate_size, h, c.mlp_bias);
    }
  }
  t.push_back({"model.norm.weight", {h}});
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {c.vocab_size, h}});
}

void gpt2(const ModelConfig& c, std::vector<TensorSpec>& t) {
  const uint64_t h = c.hidden_size;
  t.push_back({"transformer.wte.weight", {c.vocab_size, h}});
  t.push_back({"transformer.wpe.weight", {c.max_position_embeddings, h}});
  for (uint64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    // Conv1D stores its weight [in, out] (the transpose of nn.Linear).
    t.push_back({p + "ln_1.weight", {h}});
    t.push_back({p + "ln_1.bias", {h}});
    t.push_back({p + "attn.c_attn.weight", {h, 3 * h}});
    t.push_back({p + "attn.c_attn.bias", {3 * h}});
    t.push_back({p + "attn.c_proj.weight", {h, h}});
    t.push_back({p + "attn.c_proj.bias", {h}});
    t.push_back({p + "ln_2.weight", {h}});
    t.push_back({p + "ln_2.bias", {h}});
    t.push_back({p + "mlp.c_fc.weight", {h, c.intermediate_size}});
    t.push_back({p + "mlp.c_fc.bias", {c.intermediate_size}});
    t.push_back({p + "mlp.c_proj.weight", {c.intermediate_size, h}});
    t.push_back({p + "mlp.c_proj.bias", {h}});
  }
  t.push_back({"transformer.ln_f.weight", {h}});
  t.push_back({"transformer.ln_f.bias", {h}});
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {c.vocab_size, h}});
}

bool is_expert_tensor(const std::string& name) { return name.find(".block_sparse_moe.experts.") != std::string::npos; }

}  // namespace

std::vector<TensorSpec> model_tensors(const ModelConfig& c) {
  std::vector<TensorSpec> t;
  if (c.architecture == Architecture::GPT2) {
    gpt2(c, t);
  } else {
    llama_family(c, t);
  }
  return t;
}

bool ignorable_checkpoint_tensor(const ModelConfig& c, const std::string& name) {
  if (name.ends_with(".rotary_emb.inv_freq")) return true;
  if (c.architecture == Architecture::GPT2 && (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias"))) {
    return true;
  }
  return c.tie_word_embeddings && name == "lm_head.weight";
}

std::string checkpoint_name(const ModelConfig& c, const TensorStore& store, const std::string& name) {
  const bool strip = c.architecture == Architecture::GPT2 && !store.contains("transformer.wte.weight") &&
                     store.contains("wte.weight");
  return strip && name.starts_with("transformer.") ? name.substr(12) : name;
}

void check_checkpoint(const ModelConfig& c, const TensorStore& store) {
  std::set<std::string> used;
  for (const TensorSpec& spec : model_tensors(c)) {
    const std::string stored = checkpoint_name(c, store, spec.name);
    const TensorInfo* t = store.find(stored);
    if (!t) throw InputError(store.source() + ": missing tensor '" + stored + "' (needed by " + c.source + ")");
    if (t->shape != spec.shape) {
      throw InputError(store.file_of(stored) + ": tensor '" + stored + "' has the wrong shape: expected " +
                       shape_string(spec.shape) + " (from " + c.source + "), got " + shape_string(t->shape));
    }
    used.insert(stored);
  }
  for (const std::string& name : store.names()) {
    if (!used.count(name) && !ignorable_checkpoint_tensor(c, name)) {
      throw InputError(store.file_of(name) + ": unexpected tensor '" + printable(name) + "' (not part of a " +
                       std::string(architecture_name(c.architecture)) + " with the shape of " + c.source + ")");
    }
  }
}

uint64_t parameter_count(const ModelConfig& c) {
  uint64_t n = 0;
  for (const TensorSpec& t : model_tensors(c)) n += shape_numel(t.shape);
  return n;
}

uint64_t active_parameter_count(const ModelConfig& c) {
  uint64_t dense = 0, experts = 0;
  for (const TensorSpec& t : model_tensors(c)) (is_expert_tensor(t.name) ? experts : dense) += shape_numel(t.shape);
  if (!c.is_moe()) return dense;
  // All experts have the same size: keep experts_per_token of num_experts.
  return dense + experts / c.num_experts * c.experts_per_token;
}

uint64_t embedding_parameter_count(const ModelConfig& c) {
  uint64_t n = 0;
  for (const TensorSpec& t : model_tensors(c)) {
    if (t.name == "model.embed_tokens.weight" || t.name == "lm_head.weight" || t.name == "transformer.wte.weight" ||
        t.name == "transformer.wpe.weight") {
      n += shape_numel(t.shape);
    }
  }
  return n;
}

uint64_t parameter_bytes(const ModelConfig& c, unsigned bytes_per_parameter) {
  return parameter_count(c) * bytes_per_parameter;
}

uint64_t kv_cache_bytes_per_token(const ModelConfig& c, unsigned bytes_per_element) {
  return 2 * c.num_layers * c.kv_dim() * bytes_per_element;
}

}  // namespace tessera::hf
