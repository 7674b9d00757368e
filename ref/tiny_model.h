#pragma once
// Fixed-seed tiny models in Hugging Face format (config.json + model.safetensors), the
// test inputs of the reference Transformer, the compiler and the functional model. The
// weights come from our own splitmix64 stream (one stream per tensor, seeded by the seed
// and the tensor's name), never from <random> distributions, whose output differs between
// standard libraries; so a seed gives the same bytes on every machine. Scales are chosen
// so the logits are spread out (a standard deviation of a few units) and greedy decoding
// does not collapse to one token.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/hf/model_config.h"
#include "common/hf/safetensors.h"

namespace tessera::ref {

// How the weights are drawn. Uniform (the default) is the scheme described at init_of() in
// tiny_model.cpp. Normal is the usual random initialisation of numerics studies (issue 13):
// every matrix, the output head included, N(0, scale^2 / fan_in); token embeddings N(0, 1);
// norm gains 1 + 0.1 N(0, 1); biases and learned positions 0.1 N(0, 1). Normal samples come
// from the same splitmix64 stream by Box-Muller in double, rounded once to FP32.
struct WeightInit {
  enum class Kind { Uniform, Normal };
  Kind kind = Kind::Uniform;
  double scale = 1.0;  // Normal: s of N(0, s^2 / fan_in); must be positive
};

struct TinyModelOptions {
  hf::Architecture architecture = hf::Architecture::Llama;
  uint64_t seed = 1;
  hf::TensorDType dtype = hf::TensorDType::F32;
  uint64_t hidden = 64;
  uint64_t layers = 2;
  uint64_t heads = 4;
  std::optional<uint64_t> kv_heads;      // default: 2 (GPT-2: heads)
  uint64_t vocab = 512;
  std::optional<uint64_t> intermediate;  // default: 176 (about 8/3 x 64), GPT-2: 4 x hidden
  uint64_t max_positions = 256;
  uint64_t experts = 4;                  // Mixtral
  uint64_t experts_per_token = 2;        // Mixtral
  bool tie_embeddings = false;           // GPT-2 is always tied
  double rope_theta = 10000.0;
  bool llama3_rope = false;              // Llama: rope_scaling llama3 (factor 8, 1, 4, original 32)
  std::optional<uint64_t> sliding_window;  // Mistral/Mixtral; Mistral default: 16
  WeightInit init;
};

// The config the options describe. InputError naming the option for an impossible
// combination (heads not dividing the width, ...) or a model above 100 M parameters.
hf::ModelConfig tiny_model_config(const TinyModelOptions& options);

// Every tensor of model_tensors(config) with fixed-seed values, in checkpoint order.
std::vector<hf::TensorData> tiny_model_weights(const hf::ModelConfig& config, uint64_t seed, hf::TensorDType dtype,
                                               const WeightInit& init = {});

// Writes dir/config.json and dir/model.safetensors (creating dir). Returns the config.
hf::ModelConfig write_tiny_model(const std::string& dir, const TinyModelOptions& options);

}  // namespace tessera::ref
