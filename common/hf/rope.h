#pragma once
// Rotary position embedding (RoPE) of a Hugging Face config: the inverse frequencies and the
// FP32 cos/sin of one position. The reference Transformer and the compiler's RoPE table
// both take them from here, so the table the chip reads and the oracle it is checked
// against hold the same FP32 values (docs/ref.md, "Order of operations", gives the formula).
#include <cstdint>
#include <vector>

#include "common/hf/model_config.h"

namespace tessera::hf {

// Rotary inverse frequencies inv_freq[i], i < head_dim/2, in double: theta^(-2i/hd), then
// the llama3 rope_scaling bands when configured (transformers' _compute_llama3_parameters).
std::vector<double> rope_inv_freq(const ModelConfig& config);

// cos and sin [hd/2] of position pos: float(cos(pos * inv_freq[i])) computed in double.
void rope_cos_sin(const std::vector<double>& inv_freq, uint64_t pos, std::vector<float>& cos_out,
                  std::vector<float>& sin_out);

}  // namespace tessera::hf
