// Fixed-seed tiny models (see tiny_model.h).
#include "ref/tiny_model.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/hf/model_tensors.h"
#include "common/util/error.h"

namespace tessera::ref {

namespace {

using hf::Architecture;

// About 400 MB of FP32: far beyond "tiny", and a typo (--vocab 5120000) should not fill a disk.
constexpr uint64_t kMaxParameters = 100'000'000;

// splitmix64 (Steele, Lea, Flood, OOPSLA 2014): a 64-bit state advanced by a constant, mixed.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform on [-1, 1) in steps of 2^-23 from the top 24 bits: exact in FP32.
  float uniform() { return static_cast<float>(static_cast<int64_t>(next() >> 40) - (int64_t(1) << 23)) * 0x1p-23f; }
  // Standard normal by Box-Muller from two 53-bit uniforms (u1 in (0, 1], so log is finite).
  double normal() {
    const double u1 = static_cast<double>((next() >> 11) + 1) * 0x1p-53;
    const double u2 = static_cast<double>(next() >> 11) * 0x1p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
  }
};

// FNV-1a of the tensor name: each tensor has its own stream, whatever the others' sizes.
uint64_t name_hash(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001B3ull;
  return h;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct Init {
  float offset, scale;
};

// Projections: sqrt(3 / fan_in), so a unit-variance input gives unit-variance outputs; the
// untied output head 4x that (logits with a spread of a few units); the MoE router 2x
// (experts clearly preferred); norm gains 1 +- 0.25; biases +- 0.1; learned positions
// +- 0.1; token embeddings +- 1, or +- 0.25 when tied to the output head: a tied head scores
// each token by its embedding, and a large input embedding in the residual stream makes the
// model repeat its input. GPT-2's output projections (attn.c_proj, mlp.c_proj) get 2x for
// the same reason. (Measured: with +- 1 and 1x, tiny GPT-2 models emit one token 16 times.)
Init init_of(const hf::ModelConfig& c, const hf::TensorSpec& t) {
  const auto fan = [](uint64_t in) { return static_cast<float>(std::sqrt(3.0 / static_cast<double>(in))); };
  const hf::ModelTensorNames names = hf::model_tensor_names(c);
  if (t.name == names.embed) return {0.0f, c.tie_word_embeddings ? 0.25f : 1.0f};
  if (t.name == names.pos_embed) return {0.0f, 0.1f};
  if (t.shape.size() == 1) return ends_with(t.name, ".bias") ? Init{0.0f, 0.1f} : Init{1.0f, 0.25f};
  if (t.name == names.lm_head) return {0.0f, 4.0f * fan(c.hidden_size)};
  if (ends_with(t.name, "block_sparse_moe.gate.weight")) return {0.0f, 2.0f * fan(c.hidden_size)};
  // GPT-2 Conv1D weights are [in, out]; nn.Linear weights [out, in].
  const uint64_t in = c.architecture == Architecture::GPT2 ? t.shape[0] : t.shape[1];
  const float gain = c.architecture == Architecture::GPT2 && ends_with(t.name, ".c_proj.weight") ? 2.0f : 1.0f;
  return {0.0f, gain * fan(in)};
}

// Normal initialisation (WeightInit::Kind::Normal): {offset, standard deviation}.
Init normal_init_of(const hf::ModelConfig& c, const hf::TensorSpec& t, double s) {
  const hf::ModelTensorNames names = hf::model_tensor_names(c);
  if (t.name == names.embed) return {0.0f, 1.0f};
  if (t.name == names.pos_embed) return {0.0f, 0.1f};
  if (t.shape.size() == 1) return ends_with(t.name, ".bias") ? Init{0.0f, 0.1f} : Init{1.0f, 0.1f};
  const uint64_t in = c.architecture == Architecture::GPT2 && t.name != names.lm_head ? t.shape[0] : t.shape[1];
  return {0.0f, static_cast<float>(s / std::sqrt(static_cast<double>(in)))};
}

[[noreturn]] void bad_option(const std::string& option, const std::string& what) {
  throw InputError("gen-model " + option + ": " + what);
}

}  // namespace

hf::ModelConfig tiny_model_config(const TinyModelOptions& o) {
  const Architecture a = o.architecture;
  const bool gpt2 = a == Architecture::GPT2;
  hf::ModelConfig c;
  c.source = "gen-model options";
  c.architecture = a;
  for (auto [name, v] : {std::pair<const char*, uint64_t>{"--dim", o.hidden}, {"--layers", o.layers},
                         {"--heads", o.heads}, {"--vocab", o.vocab}, {"--max-positions", o.max_positions}}) {
    if (v == 0 || v > (uint64_t(1) << 24)) bad_option(name, "must be between 1 and 2^24, got " + std::to_string(v));
  }
  c.vocab_size = o.vocab;
  c.hidden_size = o.hidden;
  c.num_layers = o.layers;
  c.num_heads = o.heads;
  c.max_position_embeddings = o.max_positions;
  if (o.hidden % o.heads != 0) {
    bad_option("--heads", std::to_string(o.heads) + " does not divide --dim " + std::to_string(o.hidden));
  }
  c.head_dim = o.hidden / o.heads;
  c.num_kv_heads = o.kv_heads.value_or(gpt2 ? o.heads : 2);
  if (c.num_kv_heads == 0 || o.heads % c.num_kv_heads != 0) {
    bad_option("--kv-heads", std::to_string(c.num_kv_heads) + " does not divide --heads " + std::to_string(o.heads));
  }
  if (gpt2 && c.num_kv_heads != o.heads) bad_option("--kv-heads", "GPT-2 has multi-head attention: must equal --heads");
  if (!gpt2 && c.head_dim % 2 != 0) {
    bad_option("--heads", "head dimension " + std::to_string(c.head_dim) + " must be even for rotary embeddings");
  }
  c.intermediate_size = o.intermediate.value_or(gpt2 ? 4 * o.hidden : 176);
  if (c.intermediate_size == 0 || c.intermediate_size > (uint64_t(1) << 24)) bad_option("--ffn", "must be between 1 and 2^24");
  if (gpt2) {
    c.norm = hf::NormKind::LayerNorm;
    c.norm_eps = 1e-5;
    c.activation = hf::Activation::GeluNew;
    c.position = hf::PositionKind::Learned;
    c.rope_theta = 0.0;
    c.tie_word_embeddings = true;
    c.qkv_bias = c.o_bias = c.mlp_bias = true;
  } else {
    c.norm = hf::NormKind::RMSNorm;
    c.norm_eps = 1e-5;
    c.activation = hf::Activation::SiLU;
    c.position = hf::PositionKind::Rope;
    if (!(o.rope_theta > 1.0) || !std::isfinite(o.rope_theta)) bad_option("--rope-theta", "must be a number above 1");
    c.rope_theta = o.rope_theta;
    c.tie_word_embeddings = o.tie_embeddings;
    c.qkv_bias = a == Architecture::Qwen2;
  }
  if (o.llama3_rope) {
    if (a != Architecture::Llama) bad_option("--llama3-rope", "applies to --family llama only");
    c.rope_scaling = {true, 8.0, 1.0, 4.0, 32};
  }
  if (o.sliding_window && a != Architecture::Mistral && a != Architecture::Mixtral) {
    bad_option("--sliding-window", "applies to --family mistral and mixtral only");
  }
  if (a == Architecture::Mistral || a == Architecture::Mixtral) {
    const uint64_t w = o.sliding_window.value_or(a == Architecture::Mistral ? 16 : 0);
    if (w > 0) c.sliding_window = w;
  }
  if (a == Architecture::Mixtral) {
    if (o.experts == 0 || o.experts > 256) bad_option("--experts", "must be between 1 and 256");
    if (o.experts_per_token == 0 || o.experts_per_token > o.experts) {
      bad_option("--top-k", "must be between 1 and --experts " + std::to_string(o.experts));
    }
    c.num_experts = o.experts;
    c.experts_per_token = o.experts_per_token;
  }
  // Sizes first (the checks above bound every factor by 2^24, so these products fit).
  const uint64_t n = hf::parameter_count(c);
  if (n > kMaxParameters) {
    throw InputError("gen-model: the options describe " + std::to_string(n) + " parameters; tiny models are limited to " +
                     std::to_string(kMaxParameters));
  }
  // The written config.json must read back to this config.
  hf::ModelConfig back = hf::parse_model_config(hf::model_config_json(c), c.source);
  if (!(back == c)) throw std::logic_error("gen-model: config.json does not read back to the generated config");
  return c;
}

std::vector<hf::TensorData> tiny_model_weights(const hf::ModelConfig& c, uint64_t seed, hf::TensorDType dtype,
                                               const WeightInit& wi) {
  if (!(wi.scale > 0.0) || !std::isfinite(wi.scale)) bad_option("--init-scale", "must be a positive number");
  const bool normal = wi.kind == WeightInit::Kind::Normal;
  std::vector<hf::TensorData> out;
  for (const hf::TensorSpec& t : hf::model_tensors(c)) {
    SplitMix64 rng{seed ^ name_hash(t.name)};
    const Init init = normal ? normal_init_of(c, t, wi.scale) : init_of(c, t);
    hf::TensorData d{t.name, t.shape, std::vector<float>(hf::shape_numel(t.shape)), dtype};
    for (float& v : d.values)
      v = normal ? static_cast<float>(init.offset + init.scale * rng.normal()) : init.offset + init.scale * rng.uniform();
    out.push_back(std::move(d));
  }
  return out;
}

hf::ModelConfig write_tiny_model(const std::string& dir, const TinyModelOptions& o) {
  namespace fs = std::filesystem;
  const hf::ModelConfig c = tiny_model_config(o);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec)) throw InputError("gen-model --out: cannot create directory " + dir);
  const std::string config_path = (fs::path(dir) / "config.json").string();
  std::ofstream cfg(config_path, std::ios::binary | std::ios::trunc);
  cfg << hf::model_config_json(c);
  cfg.close();
  if (!cfg) throw InputError("gen-model: cannot write " + config_path);
  hf::write_safetensors((fs::path(dir) / "model.safetensors").string(), tiny_model_weights(c, o.seed, o.dtype, o.init),
                        {{"format", "pt"}, {"generator", "tessera gen-model, seed " + std::to_string(o.seed)}});
  return c;
}

}  // namespace tessera::ref
