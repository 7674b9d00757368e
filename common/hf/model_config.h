#pragma once
// A decoder-only Transformer's shape and options, read from a Hugging Face config.json.
// One struct for every supported architecture, so the reference Transformer, the
// compiler and the parameter counts switch on properties (norm kind, activation, biases,
// experts) rather than on model names. Fields a config may omit get the defaults of the
// Hugging Face config class (docs/ref.md lists them); the dimensions are required.
// Errors are InputErrors naming the file, the line of the key, the field and what was
// expected; an unsupported architecture names the supported set.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::hf {

enum class Architecture { Llama, Mistral, Qwen2, Mixtral, GPT2 };

// The Hugging Face class name ("LlamaForCausalLM", ...).
std::string_view architecture_name(Architecture);
// The class names of every family, built-in first: "LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, MixtralForCausalLM, GPT2LMHeadModel", then registered ones.
std::string supported_architectures();

// A model family the front end reads: the names config.json gives it and the layout
// (fields, tensor names, operations) it shares with a built-in architecture. A family with
// the layout of an existing one is one register_model_family call (docs/extending.md,
// "Add a model family to the front end"); its configs then parse as that architecture.
struct ModelFamily {
  std::string class_name;  // an "architectures" entry, e.g. "InternLM2ForCausalLM"
  std::string model_type;  // config.json "model_type" (used when "architectures" is absent)
  Architecture layout = Architecture::Llama;
};
// The built-in families, then the registered ones.
const std::vector<ModelFamily>& model_families();
// std::logic_error when the class name or model type is already taken.
void register_model_family(ModelFamily family);

enum class NormKind { RMSNorm, LayerNorm };  // Llama family: RMSNorm; GPT-2: LayerNorm with bias
enum class Activation { SiLU, GeluNew };     // SwiGLU gate (Llama family) / GPT-2 gelu_new MLP
enum class PositionKind { Rope, Learned };   // rotary (Llama family) / learned table (GPT-2)

// rope_scaling {"rope_type": "llama3", ...} (Llama 3.1+); absent or "default" = none.
struct RopeScaling {
  bool llama3 = false;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 1.0;
  uint64_t original_max_position_embeddings = 0;
  bool operator==(const RopeScaling&) const = default;
};

struct ModelConfig {
  std::string source;  // the file it was read from (for messages)
  Architecture architecture = Architecture::Llama;

  uint64_t vocab_size = 0;
  uint64_t hidden_size = 0;
  uint64_t intermediate_size = 0;  // MLP width (per expert for MoE)
  uint64_t num_layers = 0;
  uint64_t num_heads = 0;     // query heads
  uint64_t num_kv_heads = 0;  // key/value heads (GQA when < num_heads)
  uint64_t head_dim = 0;
  uint64_t max_position_embeddings = 0;

  NormKind norm = NormKind::RMSNorm;
  double norm_eps = 1e-5;  // rms_norm_eps / layer_norm_epsilon (applied as FP32, as PyTorch does)
  Activation activation = Activation::SiLU;
  PositionKind position = PositionKind::Rope;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;

  bool tie_word_embeddings = false;  // lm_head shares the token embedding
  bool qkv_bias = false;             // q/k/v projections have biases (Qwen2, Llama attention_bias, GPT-2)
  bool o_bias = false;               // output projection has a bias (Llama attention_bias, GPT-2)
  bool mlp_bias = false;             // MLP projections have biases (Llama mlp_bias, GPT-2)
  // Mistral/Mixtral: position i attends only to positions j with i - j < sliding_window.
  std::optional<uint64_t> sliding_window;

  uint64_t num_experts = 0;        // MoE experts per layer (Mixtral num_local_experts); 0 = dense MLP
  uint64_t experts_per_token = 0;  // top-k (Mixtral num_experts_per_tok)

  bool is_moe() const { return num_experts > 0; }
  uint64_t q_dim() const { return num_heads * head_dim; }
  uint64_t kv_dim() const { return num_kv_heads * head_dim; }

  bool operator==(const ModelConfig&) const = default;
};

// Parses config.json text; source names the file in messages.
ModelConfig parse_model_config(std::string_view json_text, const std::string& source);
// path is a config.json file or a directory holding one.
ModelConfig load_model_config(const std::string& path);

// A Hugging Face style config.json (sorted keys, 2-space indent, trailing newline) that
// parse_model_config reads back to an equal ModelConfig (except source).
std::string model_config_json(const ModelConfig&);

}  // namespace tessera::hf
