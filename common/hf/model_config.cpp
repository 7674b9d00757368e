// config.json -> ModelConfig. Defaults are those of the Hugging Face config classes
// (transformers LlamaConfig, MistralConfig, Qwen2Config, MixtralConfig, GPT2Config);
// docs/ref.md has the table. Options that change the computation in ways the reference
// does not implement (another activation, another RoPE scaling, Qwen2 sliding windows,
// GPT-2 attention-scaling switches) are refused rather than ignored.
#include "common/hf/model_config.h"

#include "common/hf/json_input.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "common/util/error.h"

namespace tessera::hf {

namespace {

using nlohmann::json;

// Dimensions above this are refused: products such as vocab x hidden stay far below 2^64
// and every index the reference computes fits an int64.
constexpr uint64_t kMaxDim = uint64_t(1) << 30;
// Layers and experts multiply into the tensor list every reader builds before reading a
// byte; the largest published models have 126 layers and a few hundred experts.
constexpr uint64_t kMaxLayers = 1024;
constexpr uint64_t kMaxExperts = 1024;

std::vector<ModelFamily>& families() {
  static std::vector<ModelFamily> list = {
      {"LlamaForCausalLM", "llama", Architecture::Llama},
      {"MistralForCausalLM", "mistral", Architecture::Mistral},
      {"Qwen2ForCausalLM", "qwen2", Architecture::Qwen2},
      {"MixtralForCausalLM", "mixtral", Architecture::Mixtral},
      {"GPT2LMHeadModel", "gpt2", Architecture::GPT2},
  };
  return list;
}

std::string supported_model_types() {
  std::string out;
  for (const ModelFamily& f : families()) out += (out.empty() ? "" : ", ") + f.model_type;
  return out;
}

// Line of every object key in the text, by dotted path ("rope_scaling.factor"), so that
// messages can say file:line. A small scanner: strings (with escapes), nesting, ':'.
std::map<std::string, int> key_lines(std::string_view text) {
  std::map<std::string, int> out;
  std::vector<std::string> prefix;  // key that opened each enclosing container
  std::vector<char> kinds;          // '{' or '['
  std::string cur_key, last_string;
  int line = 1, last_string_line = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
    } else if (c == '"') {
      last_string.clear();
      last_string_line = line;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        if (text[i] == '\n') ++line;
        last_string.push_back(text[i]);
      }
    } else if (c == ':' && !kinds.empty() && kinds.back() == '{') {
      cur_key = last_string;
      std::string path;
      for (size_t k = 1; k < prefix.size(); ++k) path += prefix[k] + ".";
      out.emplace(path + cur_key, last_string_line);
    } else if (c == '{' || c == '[') {
      prefix.push_back(cur_key);
      kinds.push_back(c);
      cur_key.clear();
    } else if ((c == '}' || c == ']') && !kinds.empty()) {
      cur_key = prefix.back();
      prefix.pop_back();
      kinds.pop_back();
    }
  }
  return out;
}

class Reader {
 public:
  Reader(const json& j, std::string source, std::map<std::string, int> lines, std::string arch)
      : j_(j), source_(std::move(source)), lines_(std::move(lines)), arch_(std::move(arch)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    auto it = lines_.find(field);
    const std::string where = it != lines_.end() ? source_ + ":" + std::to_string(it->second) : source_;
    throw InputError(where + ": field '" + field + "': " + what);
  }
  [[noreturn]] void missing(const std::string& field) const {
    throw InputError(source_ + ": missing field '" + field + "' (required for " + arch_ + ")");
  }

  const json* get(const std::string& key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  bool present(const std::string& key) const { return get(key) != nullptr; }
  bool has_key(const std::string& key) const { return j_.contains(key); }

  uint64_t uint_value(const std::string& field, const json& v, uint64_t max = kMaxDim) const {
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<uint64_t>() > max) {
      fail(field, "expected a positive integer up to " + std::to_string(max) + ", got " + json_excerpt(v));
    }
    return v.get<uint64_t>();
  }
  uint64_t req_uint(const std::string& key, uint64_t max = kMaxDim) const {
    const json* v = get(key);
    if (!v) missing(key);
    return uint_value(key, *v, max);
  }
  uint64_t opt_uint(const std::string& key, uint64_t dflt) const {
    const json* v = get(key);
    return v ? uint_value(key, *v) : dflt;
  }
  double positive_number(const std::string& field, const json& v) const {
    if (!v.is_number() || !(v.get<double>() > 0.0) || !std::isfinite(v.get<double>())) {
      fail(field, "expected a positive number, got " + json_excerpt(v));
    }
    return v.get<double>();
  }
  double opt_positive(const std::string& key, double dflt) const {
    const json* v = get(key);
    return v ? positive_number(key, *v) : dflt;
  }
  bool opt_bool(const std::string& key, bool dflt) const {
    const json* v = get(key);
    if (!v) return dflt;
    if (!v->is_boolean()) fail(key, "expected true or false, got " + json_excerpt(*v));
    return v->get<bool>();
  }
  std::string opt_string(const std::string& key, const std::string& dflt) const {
    const json* v = get(key);
    if (!v) return dflt;
    if (!v->is_string()) fail(key, "expected a string, got " + json_excerpt(*v));
    return v->get<std::string>();
  }

  RopeScaling rope_scaling() const {
    RopeScaling rs;
    const json* v = get("rope_scaling");
    if (!v) return rs;
    if (!v->is_object()) fail("rope_scaling", "expected an object or null, got " + json_excerpt(*v));
    const char* type_key = v->contains("rope_type") ? "rope_type" : "type";
    if (!v->contains(type_key) || !(*v)[type_key].is_string()) {
      fail("rope_scaling", "expected a string \"rope_type\" (supported: \"default\", \"llama3\")");
    }
    const std::string type = (*v)[type_key].get<std::string>();
    if (type == "default") return rs;
    if (type != "llama3") {
      fail(std::string("rope_scaling.") + type_key,
           "RoPE scaling \"" + printable(type) + "\" is not supported (supported: \"default\", \"llama3\")");
    }
    auto num = [&](const char* key) {
      const std::string path = std::string("rope_scaling.") + key;
      if (!v->contains(key) || (*v)[key].is_null()) {
        throw InputError(source_ + ": missing field '" + path + "' (required for rope_type llama3)");
      }
      return positive_number(path, (*v)[key]);
    };
    rs.llama3 = true;
    rs.factor = num("factor");
    rs.low_freq_factor = num("low_freq_factor");
    rs.high_freq_factor = num("high_freq_factor");
    const double orig = num("original_max_position_embeddings");
    // The range first: converting a double beyond uint64_t to it is undefined (2e+96 passed the
    // integer check below; found by fuzz_model_config under UBSan).
    if (orig > static_cast<double>(kMaxDim) || orig != static_cast<double>(static_cast<uint64_t>(orig))) {
      fail("rope_scaling.original_max_position_embeddings",
           "expected a positive integer up to " + std::to_string(kMaxDim) + ", got " + json_excerpt((*v)["original_max_position_embeddings"]));
    }
    rs.original_max_position_embeddings = static_cast<uint64_t>(orig);
    if (!(rs.high_freq_factor > rs.low_freq_factor)) {
      fail("rope_scaling.high_freq_factor", "must be greater than low_freq_factor (" +
                                                std::to_string(rs.low_freq_factor) + ")");
    }
    return rs;
  }

 private:
  const json& j_;
  std::string source_;
  std::map<std::string, int> lines_;
  std::string arch_;
};

Architecture detect_architecture(const json& j, const std::string& source, const std::map<std::string, int>& lines) {
  auto line_of = [&](const char* key) {
    auto it = lines.find(key);
    return it == lines.end() ? source : source + ":" + std::to_string(it->second);
  };
  if (j.contains("architectures") && !j["architectures"].is_null()) {
    const json& a = j["architectures"];
    if (!a.is_array() || a.empty()) {
      throw InputError(line_of("architectures") + ": field 'architectures': expected a non-empty list of class names");
    }
    for (const json& name : a) {
      for (const ModelFamily& f : families()) {
        if (name.is_string() && name.get<std::string>() == f.class_name) return f.layout;
      }
    }
    throw InputError(line_of("architectures") + ": field 'architectures': " + json_excerpt(a) +
                     " is not supported (supported: " + supported_architectures() + ")");
  }
  if (j.contains("model_type") && j["model_type"].is_string()) {
    for (const ModelFamily& f : families()) {
      if (j["model_type"].get<std::string>() == f.model_type) return f.layout;
    }
    throw InputError(line_of("model_type") + ": field 'model_type': \"" + printable(j["model_type"].get<std::string>()) +
                     "\" is not supported (supported: " + supported_model_types() + ")");
  }
  throw InputError(source + ": missing field 'architectures' (supported: " + supported_architectures() + ")");
}

void parse_llama_family(const Reader& r, ModelConfig& c) {
  const Architecture a = c.architecture;
  c.vocab_size = r.req_uint("vocab_size");
  c.hidden_size = r.req_uint("hidden_size");
  c.intermediate_size = r.req_uint("intermediate_size");
  c.num_layers = r.req_uint("num_hidden_layers", kMaxLayers);
  c.num_heads = r.req_uint("num_attention_heads");
  c.max_position_embeddings = r.req_uint("max_position_embeddings");
  // LlamaConfig alone fills a missing KV-head count with the query-head count (Llama 1);
  // the others have unrelated class defaults, so a config must say it.
  c.num_kv_heads = a == Architecture::Llama ? r.opt_uint("num_key_value_heads", c.num_heads)
                                            : r.req_uint("num_key_value_heads");
  if (!r.present("head_dim") && c.hidden_size % c.num_heads != 0) {
    r.fail("num_attention_heads", "hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of " +
                                      std::to_string(c.num_heads) + " heads (and no head_dim is given)");
  }
  c.head_dim = r.opt_uint("head_dim", c.hidden_size / c.num_heads);
  c.norm = NormKind::RMSNorm;
  c.norm_eps = r.opt_positive("rms_norm_eps", a == Architecture::Mixtral ? 1e-5 : 1e-6);
  const std::string act = r.opt_string("hidden_act", "silu");
  if (act != "silu") r.fail("hidden_act", "\"" + printable(act) + "\" is not supported (supported: \"silu\")");
  c.activation = Activation::SiLU;
  c.position = PositionKind::Rope;
  c.rope_theta = r.opt_positive("rope_theta", a == Architecture::Mixtral ? 1e6 : 10000.0);
  c.rope_scaling = r.rope_scaling();
  c.tie_word_embeddings = r.opt_bool("tie_word_embeddings", false);
  switch (a) {
    case Architecture::Llama:
      c.qkv_bias = c.o_bias = r.opt_bool("attention_bias", false);
      c.mlp_bias = r.opt_bool("mlp_bias", false);
      break;
    case Architecture::Qwen2:
      c.qkv_bias = true;  // Qwen2Attention: q/k/v with bias, o_proj without
      if (r.opt_bool("use_sliding_window", false)) {
        r.fail("use_sliding_window", "true is not supported (the reference attends over the whole context)");
      }
      break;
    case Architecture::Mistral:
    case Architecture::Mixtral:
      // MistralConfig defaults to a 4096-token window, MixtralConfig to none; null = none.
      if (r.present("sliding_window")) {
        c.sliding_window = r.req_uint("sliding_window");
      } else if (a == Architecture::Mistral && !r.has_key("sliding_window")) {
        c.sliding_window = 4096;
      }
      break;
    case Architecture::GPT2: break;
  }
  if (a == Architecture::Mixtral) {
    c.num_experts = r.req_uint("num_local_experts", kMaxExperts);
    c.experts_per_token = r.req_uint("num_experts_per_tok");
    if (c.experts_per_token > c.num_experts) {
      r.fail("num_experts_per_tok", std::to_string(c.experts_per_token) + " exceeds num_local_experts " +
                                        std::to_string(c.num_experts));
    }
  }
  if (c.num_heads % c.num_kv_heads != 0) {
    r.fail("num_key_value_heads", std::to_string(c.num_kv_heads) + " does not divide num_attention_heads " +
                                      std::to_string(c.num_heads));
  }
  if (c.head_dim % 2 != 0) {
    r.fail(r.present("head_dim") ? "head_dim" : "num_attention_heads",
           "head dimension " + std::to_string(c.head_dim) + " must be even for rotary embeddings");
  }
}

void parse_gpt2(const Reader& r, ModelConfig& c) {
  c.vocab_size = r.req_uint("vocab_size");
  c.hidden_size = r.req_uint("n_embd");
  c.num_layers = r.req_uint("n_layer", kMaxLayers);
  c.num_heads = r.req_uint("n_head");
  c.max_position_embeddings = r.req_uint("n_positions");
  if (c.hidden_size % c.num_heads != 0) {
    r.fail("n_head", "n_embd " + std::to_string(c.hidden_size) + " is not a multiple of " +
                         std::to_string(c.num_heads) + " heads");
  }
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
  c.intermediate_size = r.opt_uint("n_inner", 4 * c.hidden_size);
  c.norm = NormKind::LayerNorm;
  c.norm_eps = r.opt_positive("layer_norm_epsilon", 1e-5);
  const std::string act = r.opt_string("activation_function", "gelu_new");
  if (act != "gelu_new") r.fail("activation_function", "\"" + printable(act) + "\" is not supported (supported: \"gelu_new\")");
  c.activation = Activation::GeluNew;
  c.position = PositionKind::Learned;
  c.rope_theta = 0.0;
  c.tie_word_embeddings = r.opt_bool("tie_word_embeddings", true);
  c.qkv_bias = c.o_bias = c.mlp_bias = true;
  if (!r.opt_bool("scale_attn_weights", true)) {
    r.fail("scale_attn_weights", "false is not supported (the reference scales scores by 1/sqrt(head_dim))");
  }
  if (r.opt_bool("scale_attn_by_inverse_layer_idx", false)) {
    r.fail("scale_attn_by_inverse_layer_idx", "true is not supported");
  }
}

}  // namespace

std::string_view architecture_name(Architecture a) {
  for (const ModelFamily& f : families()) {
    if (f.layout == a) return f.class_name;
  }
  return "?";
}

std::string supported_architectures() {
  std::string out;
  for (const ModelFamily& f : families()) out += (out.empty() ? "" : ", ") + f.class_name;
  return out;
}

const std::vector<ModelFamily>& model_families() { return families(); }

void register_model_family(ModelFamily family) {
  for (const ModelFamily& f : families()) {
    if (f.class_name == family.class_name || f.model_type == family.model_type) {
      throw std::logic_error("model family " + family.class_name + " (" + family.model_type + ") is already registered");
    }
  }
  families().push_back(std::move(family));
}

ModelConfig parse_model_config(std::string_view text, const std::string& source) {
  json j;
  try {
    j = parse_json_input(text);
  } catch (const JsonInputProblem& p) {
    const std::string where = source + ":" + std::to_string(p.line) + ": ";
    if (p.syntax) throw InputError(where + "invalid JSON: " + p.what());
    throw InputError(where + (p.field.empty() ? "" : "field '" + p.field + "': ") + p.what());
  }
  if (!j.is_object()) throw InputError(source + ": expected a JSON object at the top level");
  auto lines = key_lines(text);
  ModelConfig c;
  c.source = source;
  c.architecture = detect_architecture(j, source, lines);
  Reader r(j, source, std::move(lines), std::string(architecture_name(c.architecture)));
  if (c.architecture == Architecture::GPT2) {
    parse_gpt2(r, c);
  } else {
    parse_llama_family(r, c);
  }
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string file = fs::is_directory(path, ec) ? (fs::path(path) / "config.json").string() : path;
  std::ifstream in(file);
  if (!in) throw InputError("cannot open model config " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_model_config(ss.str(), file);
}

std::string model_config_json(const ModelConfig& c) {
  json j;
  j["architectures"] = {std::string(architecture_name(c.architecture))};
  for (const ModelFamily& f : families()) {
    if (f.layout == c.architecture) {
      j["model_type"] = f.model_type;
      break;
    }
  }
  j["vocab_size"] = c.vocab_size;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.architecture == Architecture::GPT2) {
    j["n_embd"] = c.hidden_size;
    j["n_layer"] = c.num_layers;
    j["n_head"] = c.num_heads;
    j["n_positions"] = c.max_position_embeddings;
    j["n_inner"] = c.intermediate_size;
    j["layer_norm_epsilon"] = c.norm_eps;
    j["activation_function"] = "gelu_new";
  } else {
    j["hidden_size"] = c.hidden_size;
    j["intermediate_size"] = c.intermediate_size;
    j["num_hidden_layers"] = c.num_layers;
    j["num_attention_heads"] = c.num_heads;
    j["num_key_value_heads"] = c.num_kv_heads;
    j["head_dim"] = c.head_dim;
    j["max_position_embeddings"] = c.max_position_embeddings;
    j["rms_norm_eps"] = c.norm_eps;
    j["hidden_act"] = "silu";
    j["rope_theta"] = c.rope_theta;
    if (c.rope_scaling.llama3) {
      j["rope_scaling"] = {{"rope_type", "llama3"},
                           {"factor", c.rope_scaling.factor},
                           {"low_freq_factor", c.rope_scaling.low_freq_factor},
                           {"high_freq_factor", c.rope_scaling.high_freq_factor},
                           {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
    } else {
      j["rope_scaling"] = nullptr;
    }
    if (c.architecture == Architecture::Llama) {
      j["attention_bias"] = c.qkv_bias;
      j["mlp_bias"] = c.mlp_bias;
    }
    if (c.architecture == Architecture::Qwen2) j["use_sliding_window"] = false;
    if (c.architecture == Architecture::Mistral || c.architecture == Architecture::Mixtral) {
      j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
    }
    if (c.architecture == Architecture::Mixtral) {
      j["num_local_experts"] = c.num_experts;
      j["num_experts_per_tok"] = c.experts_per_token;
    }
  }
  return j.dump(2) + "\n";
}

}  // namespace tessera::hf
