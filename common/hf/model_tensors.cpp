// Tensor lists per architecture, following the module trees of transformers'
// modeling_llama / modeling_mistral / modeling_qwen2 / modeling_mixtral / modeling_gpt2.
#include "common/hf/model_tensors.h"

#include <set>

#include "common/hf/json_input.h"
#include "common/util/error.h"

namespace tessera::hf {

namespace {

void linear(std::vector<TensorSpec>& out, const std::string& prefix, uint64_t in, uint64_t out_dim, bool bias) {
  out.push_back({weight_of(prefix), {out_dim, in}});
  if (bias) out.push_back({bias_of(prefix), {out_dim}});
}

void llama_family(const ModelConfig& c, std::vector<TensorSpec>& t) {
  const uint64_t h = c.hidden_size;
  const ModelTensorNames n = model_tensor_names(c);
  t.push_back({n.embed, {c.vocab_size, h}});
  for (uint64_t l = 0; l < c.num_layers; ++l) {
    const LayerTensorNames p = layer_tensor_names(c, l);
    t.push_back({weight_of(p.attn_norm), {h}});
    linear(t, p.q, h, c.q_dim(), c.qkv_bias);
    linear(t, p.k, h, c.kv_dim(), c.qkv_bias);
    linear(t, p.v, h, c.kv_dim(), c.qkv_bias);
    linear(t, p.o, c.q_dim(), h, c.o_bias);
    t.push_back({weight_of(p.mlp_norm), {h}});
    if (c.is_moe()) {
      linear(t, p.router, h, c.num_experts, false);
      for (uint64_t e = 0; e < c.num_experts; ++e) {
        linear(t, p.expert_gate[e], h, c.intermediate_size, false);
        linear(t, p.expert_down[e], c.intermediate_size, h, false);
        linear(t, p.expert_up[e], h, c.intermediate_size, false);
      }
    } else {
      linear(t, p.gate, h, c.intermediate_size, c.mlp_bias);
      linear(t, p.up, h, c.intermediate_size, c.mlp_bias);
      linear(t, p.down, c.intermediate_size, h, c.mlp_bias);
    }
  }
  t.push_back({weight_of(n.final_norm), {h}});
  if (!c.tie_word_embeddings) t.push_back({n.lm_head, {c.vocab_size, h}});
}

void gpt2(const ModelConfig& c, std::vector<TensorSpec>& t) {
  const uint64_t h = c.hidden_size, ff = c.intermediate_size;
  const ModelTensorNames n = model_tensor_names(c);
  t.push_back({n.embed, {c.vocab_size, h}});
  t.push_back({n.pos_embed, {c.max_position_embeddings, h}});
  // Conv1D stores its weight [in, out] (the transpose of nn.Linear).
  auto conv1d = [&](const std::string& prefix, uint64_t in, uint64_t out) {
    t.push_back({weight_of(prefix), {in, out}});
    t.push_back({bias_of(prefix), {out}});
  };
  auto layer_norm = [&](const std::string& prefix) {
    t.push_back({weight_of(prefix), {h}});
    t.push_back({bias_of(prefix), {h}});
  };
  for (uint64_t l = 0; l < c.num_layers; ++l) {
    const LayerTensorNames p = layer_tensor_names(c, l);
    layer_norm(p.attn_norm);
    conv1d(p.qkv, h, 3 * h);
    conv1d(p.o, h, h);
    layer_norm(p.mlp_norm);
    conv1d(p.up, h, ff);
    conv1d(p.down, ff, h);
  }
  layer_norm(n.final_norm);
  if (!c.tie_word_embeddings) t.push_back({n.lm_head, {c.vocab_size, h}});
}

bool is_expert_tensor(const std::string& name) { return name.find(".block_sparse_moe.experts.") != std::string::npos; }

}  // namespace

ModelTensorNames model_tensor_names(const ModelConfig& c) {
  ModelTensorNames n;
  n.lm_head = "lm_head.weight";
  if (c.architecture == Architecture::GPT2) {
    n.embed = "transformer.wte.weight";
    n.pos_embed = "transformer.wpe.weight";
    n.final_norm = "transformer.ln_f";
  } else {
    n.embed = "model.embed_tokens.weight";
    n.final_norm = "model.norm";
  }
  return n;
}

LayerTensorNames layer_tensor_names(const ModelConfig& c, uint64_t layer) {
  LayerTensorNames n;
  if (c.architecture == Architecture::GPT2) {
    const std::string p = "transformer.h." + std::to_string(layer) + ".";
    n.attn_norm = p + "ln_1";
    n.qkv = p + "attn.c_attn";
    n.o = p + "attn.c_proj";
    n.mlp_norm = p + "ln_2";
    n.up = p + "mlp.c_fc";
    n.down = p + "mlp.c_proj";
    return n;
  }
  const std::string p = "model.layers." + std::to_string(layer) + ".";
  n.attn_norm = p + "input_layernorm";
  n.q = p + "self_attn.q_proj";
  n.k = p + "self_attn.k_proj";
  n.v = p + "self_attn.v_proj";
  n.o = p + "self_attn.o_proj";
  n.mlp_norm = p + "post_attention_layernorm";
  if (c.is_moe()) {
    n.router = p + "block_sparse_moe.gate";
    for (uint64_t e = 0; e < c.num_experts; ++e) {
      const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
      n.expert_gate.push_back(q + "w1");
      n.expert_up.push_back(q + "w3");
      n.expert_down.push_back(q + "w2");
    }
  } else {
    n.gate = p + "mlp.gate_proj";
    n.up = p + "mlp.up_proj";
    n.down = p + "mlp.down_proj";
  }
  return n;
}

std::string stored_name(const ModelConfig& c, const TensorStore& store, const std::string& name) {
  const std::string prefix = "transformer.";
  const bool strip = c.architecture == Architecture::GPT2 && !store.contains(prefix + "wte.weight") &&
                     store.contains("wte.weight");
  return strip && name.starts_with(prefix) ? name.substr(prefix.size()) : name;
}

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

void check_checkpoint(const ModelConfig& c, const TensorStore& store) {
  std::set<std::string> used;
  for (const TensorSpec& spec : model_tensors(c)) {
    const std::string stored = stored_name(c, store, spec.name);
    const TensorInfo* t = store.find(stored);
    if (!t) throw InputError(store.source() + ": missing tensor '" + stored + "' (needed by " + c.source + ")");
    if (t->shape != spec.shape) {
      throw InputError(store.file_of(stored) + ": tensor '" + stored + "' has the wrong shape: expected " +
                       shape_string(spec.shape) + ", got " + shape_string(t->shape) + " (shapes from " + c.source +
                       ")");
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
  const ModelTensorNames names = model_tensor_names(c);
  for (const TensorSpec& t : model_tensors(c)) {
    if (t.name == names.embed || t.name == names.lm_head || t.name == names.pos_embed) n += shape_numel(t.shape);
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
