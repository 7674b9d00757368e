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

// Checkpoint order: embeddings, then layer by layer, then the final norm and lm_head.
// A tied lm_head is not listed (Hugging Face does not save it). GPT-2 names carry the
// "transformer." prefix that GPT2LMHeadModel.save_pretrained writes.
std::vector<TensorSpec> model_tensors(const ModelConfig&);

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
