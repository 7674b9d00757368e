#pragma once
// The reference Transformer: a plain FP32 forward pass of the decoder-only models of
// common/hf/model_config.h (Llama family incl. Mistral, Qwen2 and Mixtral MoE; GPT-2),
// loaded from a Hugging Face config.json + safetensors checkpoint. It is the golden model
// every later part is compared against, so it has no cleverness: std::vector<float>,
// sequential loops, one thread, and a fixed order of every FP32 operation (docs/ref.md
// writes the order down so another implementation can match it bit for bit).
// Greedy generation runs with a KV cache or, for testing, by recomputing the whole
// sequence at every step; the two give identical logits.
#include <cstdint>
#include <string>
#include <vector>

#include "common/hf/model_config.h"
#include "common/hf/safetensors.h"
#include "common/numerics/fp.h"

namespace tessera::ref {

// y = W x + b with W stored [out][in] row-major (GPT-2's Conv1D [in][out] is transposed on load).
struct Linear {
  uint64_t in = 0, out = 0;
  std::vector<float> w;  // [out * in]
  std::vector<float> b;  // [out], empty when the layer has no bias
};

struct Expert {
  Linear w1, w2, w3;  // Mixtral: w2(silu(w1 x) * w3 x)
};

struct Layer {
  std::vector<float> norm1_w, norm1_b;  // [H] before attention (b: LayerNorm only)
  Linear q, k, v, o;                    // q [nh*hd, H], k/v [nkv*hd, H], o [H, nh*hd]
  std::vector<float> norm2_w, norm2_b;  // [H] before the MLP
  Linear gate, up, down;                // SwiGLU: down(silu(gate x) * up x); GPT-2: down(gelu(up x))
  Linear router;                        // MoE: [E, H]
  std::vector<Expert> experts;          // MoE
};

struct Weights {
  std::vector<float> embed;      // [V, H] token embedding
  std::vector<float> pos_embed;  // [P, H] learned positions (GPT-2)
  std::vector<Layer> layers;
  std::vector<float> final_norm_w, final_norm_b;  // [H]
  std::vector<float> lm_head;                     // [V, H]; empty when tied to embed
};

// The formats a compiled low-precision program rounds to (docs/numerics.md, "Error model").
// With everything FP32 (the default) the reference is the plain FP32 model. Otherwise it is
// the FP32 forward pass of the model as that program represents it: weights rounded per
// output channel (FP8/INT8: scale = max|w| / largest finite value, the compiler's scales;
// BF16: RNE), embeddings BF16, and every matrix input rounded where the program stores it:
// the normalised rows, q, the attention output and the MLP hidden rows to `activations`, K
// and V to `kv`, attention probabilities to BF16 when the activations are one byte. INT8
// activations are rounded per row with the scale max|row| / 127 (per-token quantisation).
// Sums, norms, softmax and the residual stay FP32, so what remains between this reference
// and the compiled program is accumulation order and the rare value that lands on the other
// side of a rounding boundary because of it.
struct Quantisation {
  num::DType weights = num::DType::FP32;
  num::DType activations = num::DType::FP32;
  num::DType kv = num::DType::FP32;
  bool operator==(const Quantisation&) const = default;
};

class Model {
 public:
  // Checks every size against the config (std::invalid_argument: a programming error).
  Model(hf::ModelConfig config, Weights weights);
  // dir/config.json + dir/model.safetensors (or its sharded index). InputError on any
  // missing, misshapen, unexpected or non-finite tensor.
  static Model load(const std::string& dir);
  static Model from_store(hf::ModelConfig config, const hf::TensorStore& store);

  const hf::ModelConfig& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const std::vector<float>& lm_head() const { return weights_.lm_head.empty() ? weights_.embed : weights_.lm_head; }
  const Quantisation& quantisation() const { return quant_; }

  // This model as a program with the formats of q represents it (see Quantisation).
  // std::invalid_argument for a format the compiler does not use there (FP16, INT32).
  Model quantised(const Quantisation& q) const;

 private:
  hf::ModelConfig config_;
  Weights weights_;
  Quantisation quant_;
};

// K and V (after RoPE) of every position processed so far, per layer: [length, nkv*hd].
struct KVCache {
  std::vector<std::vector<float>> k, v;
  uint64_t length = 0;
};

// Runs token at position cache.length, appends its K/V, returns the logits [V].
std::vector<float> forward_step(const Model& model, KVCache& cache, int64_t token);
// Logits [n][V] of every position of tokens, every K/V recomputed from the ids (no cache).
std::vector<std::vector<float>> forward_sequence(const Model& model, const std::vector<int64_t>& tokens);

struct GenerateOptions {
  uint64_t steps = 16;
  bool kv_cache = true;
  // Teacher forcing: when non-empty (steps entries), these tokens are fed instead of the
  // argmax, so logits can be compared with another implementation step by step.
  std::vector<int64_t> forced;
};

struct Generation {
  std::vector<int64_t> tokens;              // the steps tokens after the prompt
  std::vector<std::vector<float>> logits;   // logits[s] is what chose tokens[s]
};

// Greedy decoding: logits after the prompt pick token 0 (argmax, lowest index on ties),
// which is fed to pick token 1, and so on. InputError for an empty prompt, a token outside
// the vocabulary, or more positions than max_position_embeddings.
Generation generate(const Model& model, const std::vector<int64_t>& prompt, const GenerateOptions& options);

// ---- Building blocks, public so tests can use the same definitions ----

// Index of the largest value, lowest index on ties. InputError if a value is NaN.
uint64_t argmax(const std::vector<float>& values);

}  // namespace tessera::ref
