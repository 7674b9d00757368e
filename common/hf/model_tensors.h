#pragma once
// The tensors a Hugging Face checkpoint of a ModelConfig holds: names exactly as the
// transformers library writes them and shapes as stored (nn.Linear weights [out, in];
// GPT-2 Conv1D weights [in, out]). The one list behind the reference loader, the tiny-model
// generator and the parameter counts, so the three cannot disagree.
#include <cstdint>
#include <string>
#include <vector>

#include "common/hf/model_config.h"
#include "common/hf/safetensors.h"

namespace tessera::hf {

struct TensorSpec {
  std::string name;
  Shape shape;
};

// The Hugging Face names of a model's tensors by role: the one place they are spelled, for
// model_tensors below, the reference loader (ref/transformer.cpp) and the compiler's weight
// packer (compiler/weights.cpp). A linear is "<prefix>.weight" and "<prefix>.bias"
// (whether the bias exists is the config's qkv_bias / o_bias / mlp_bias, or always for
// GPT-2); a LayerNorm has ".weight" and ".bias", an RMSNorm ".weight" only.
struct ModelTensorNames {
  std::string embed;       // token embedding [vocab, hidden]
  std::string pos_embed;   // GPT-2 learned positions [positions, hidden]; empty otherwise
  std::string final_norm;  // prefix
  std::string lm_head;     // "lm_head.weight" (absent from a checkpoint with tied embeddings)
};
struct LayerTensorNames {
  std::string attn_norm, mlp_norm;  // prefixes
  // Llama family (nn.Linear, weight [out, in]): q, k, v, o; dense MLP gate, up, down; MoE
  // router and per-expert gate (w1), up (w3), down (w2).
  // GPT-2 (Conv1D, weight [in, out]): qkv = c_attn [hidden, 3 x hidden], o = attn.c_proj,
  // up = mlp.c_fc, down = mlp.c_proj; no gate.
  std::string q, k, v, qkv, o;
  std::string gate, up, down;
  std::string router;
  std::vector<std::string> expert_gate, expert_up, expert_down;
};
ModelTensorNames model_tensor_names(const ModelConfig&);
LayerTensorNames layer_tensor_names(const ModelConfig&, uint64_t layer);
inline std::string weight_of(const std::string& prefix) { return prefix + ".weight"; }
inline std::string bias_of(const std::string& prefix) { return prefix + ".bias"; }

// The name under which `store` holds tensor `name` of model_tensors(c): GPT-2 checkpoints
// saved from GPT2Model (the original "gpt2" repository) have no "transformer." prefix.
std::string stored_name(const ModelConfig& c, const TensorStore& store, const std::string& name);

// Checkpoint order: embeddings, then layer by layer, then the final norm and lm_head.
// A tied lm_head is not listed (Hugging Face does not save it). GPT-2 names carry the
// "transformer." prefix that GPT2LMHeadModel.save_pretrained writes.
std::vector<TensorSpec> model_tensors(const ModelConfig&);

// Tensors real checkpoints carry that are not weights of c: Llama's cached
// rotary_emb.inv_freq (old checkpoints), GPT-2's causal-mask buffers (attn.bias,
// attn.masked_bias), and an lm_head that Hugging Face replaces by the embedding when the
// config ties them.
bool ignorable_checkpoint_tensor(const ModelConfig& c, const std::string& stored_name);
// Checks a checkpoint against c from its headers alone, before any data is read: every
// tensor of model_tensors(c) present with its shape, and no other tensor but the
// ignorable ones, so a checkpoint for more layers or experts than the config says is
// refused. InputError naming the file and the tensor.
void check_checkpoint(const ModelConfig& c, const TensorStore& store);

// Number of weights counted once (tied embeddings once), as Hugging Face's num_parameters().
uint64_t parameter_count(const ModelConfig&);
// Weights one token's forward pass reads: all but the unselected experts of each MoE layer.
uint64_t active_parameter_count(const ModelConfig&);
// Token embedding + untied lm_head + learned position table.
uint64_t embedding_parameter_count(const ModelConfig&);
// parameter_count x bytes per weight (2 for BF16, 1 for FP8).
uint64_t parameter_bytes(const ModelConfig&, unsigned bytes_per_parameter);
// K and V of every layer for one token: 2 x layers x kv_heads x head_dim x bytes.
uint64_t kv_cache_bytes_per_token(const ModelConfig&, unsigned bytes_per_element);

}  // namespace tessera::hf
