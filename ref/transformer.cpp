// The reference Transformer, in one file: loading, the forward pass, greedy generation.
//
// Notation: H hidden size, V vocabulary, nh query heads, nkv key/value heads, hd head
// dimension, I MLP width, E experts, P learned positions, n sequence length.
//
// Numerics (docs/ref.md, "Order of operations"): every tensor is FP32; every add and
// multiply is one IEEE FP32 operation (the build forbids FMA contraction); every sum
// runs sequentially from index 0 starting at +0.0f; exp, tanh, sqrt, cos and sin are
// evaluated in double precision from the FP32 argument and rounded once to FP32.
#include "ref/transformer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <stdexcept>

#include "common/hf/model_tensors.h"
#include "common/hf/rope.h"
#include "common/util/error.h"

namespace tessera::ref {

namespace {

using hf::Architecture;
using hf::ModelConfig;

// ---------------------------------------------------------------- scalar functions

float exp_f(float x) { return static_cast<float>(std::exp(static_cast<double>(x))); }
float inv_sqrt_f(float x) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(x))); }

// SiLU(x) = x * sigmoid(x) = x / (1 + e^-x)
float silu(float x) {
  const double d = x;
  return static_cast<float>(d / (1.0 + std::exp(-d)));
}

// GPT-2 gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
float gelu_new(float x) {
  const double d = x;
  const double k = std::sqrt(2.0 / std::numbers::pi);
  return static_cast<float>(0.5 * d * (1.0 + std::tanh(k * (d + 0.044715 * d * d * d))));
}

// ---------------------------------------------------------------- rounding (Quantisation)

// x as stored in format t by the compiled program: RNE, FP8 saturating (the vector engine's
// store rule, docs/numerics.md). FP32 leaves x unchanged.
float round_to(num::DType t, float x) {
  if (t == num::DType::FP32) return x;
  const num::Overflow o =
      t == num::DType::FP8_E4M3 || t == num::DType::FP8_E5M2 ? num::Overflow::Saturate : num::Overflow::NonSaturating;
  return num::decode(t, num::encode(t, x, o));
}

// INT8 per-token quantisation of one row: s = max|x| / 127, x = round(x / s) * s.
void round_row_int8(float* x, uint64_t n) {
  float mx = 0.0f;
  for (uint64_t i = 0; i < n; ++i) mx = std::fabs(x[i]) > mx ? std::fabs(x[i]) : mx;
  if (mx == 0.0f) return;
  const float s = mx / 127.0f;
  for (uint64_t i = 0; i < n; ++i) x[i] = static_cast<float>(num::f32_to_int8(x[i] / s)) * s;
}

// A matrix input row of n values in format t (rows of one token: per-token INT8 scale).
void round_row(num::DType t, float* x, uint64_t n) {
  if (t == num::DType::INT8) {
    round_row_int8(x, n);
    return;
  }
  for (uint64_t i = 0; i < n; ++i) x[i] = round_to(t, x[i]);
}

// ---------------------------------------------------------------- vector functions

// y[o] = (sum_i w[o][i] * x[i]) + b[o]     x [in], y [out]
void linear(const Linear& l, const float* x, float* y) {
  for (uint64_t o = 0; o < l.out; ++o) {
    const float* row = &l.w[o * l.in];
    float acc = 0.0f;
    for (uint64_t i = 0; i < l.in; ++i) acc = acc + row[i] * x[i];
    y[o] = l.b.empty() ? acc : acc + l.b[o];
  }
}

float dot(const float* a, const float* b, uint64_t n) {
  float acc = 0.0f;
  for (uint64_t i = 0; i < n; ++i) acc = acc + a[i] * b[i];
  return acc;
}

// RMSNorm (Llama family): y = (x * 1/sqrt(mean(x^2) + eps)) * w     x, y, w [H]
void rms_norm(const float* x, const std::vector<float>& w, float eps, float* y) {
  const uint64_t n = w.size();
  float ss = 0.0f;
  for (uint64_t i = 0; i < n; ++i) ss = ss + x[i] * x[i];
  const float inv = inv_sqrt_f(ss / static_cast<float>(n) + eps);
  for (uint64_t i = 0; i < n; ++i) y[i] = (x[i] * inv) * w[i];
}

// LayerNorm (GPT-2): y = ((x - mean) * 1/sqrt(var + eps)) * w + b, var = mean((x - mean)^2)
void layer_norm(const float* x, const std::vector<float>& w, const std::vector<float>& b, float eps, float* y) {
  const uint64_t n = w.size();
  float s = 0.0f;
  for (uint64_t i = 0; i < n; ++i) s = s + x[i];
  const float mean = s / static_cast<float>(n);
  float v = 0.0f;
  for (uint64_t i = 0; i < n; ++i) v = v + (x[i] - mean) * (x[i] - mean);
  const float inv = inv_sqrt_f(v / static_cast<float>(n) + eps);
  for (uint64_t i = 0; i < n; ++i) y[i] = ((x[i] - mean) * inv) * w[i] + b[i];
}

void norm(const ModelConfig& c, const float* x, const std::vector<float>& w, const std::vector<float>& b, float* y) {
  const float eps = static_cast<float>(c.norm_eps);
  if (c.norm == hf::NormKind::RMSNorm) {
    rms_norm(x, w, eps, y);
  } else {
    layer_norm(x, w, b, eps, y);
  }
}

// In place: p[j] = exp(s[j] - max s) / sum_j exp(s[j] - max s)
void softmax(std::vector<float>& s) {
  float m = s[0];
  for (float v : s) m = v > m ? v : m;
  float sum = 0.0f;
  for (float& v : s) {
    v = exp_f(v - m);
    sum = sum + v;
  }
  for (float& v : s) v = v / sum;
}

// Hugging Face rotate_half on each head of x [heads * hd]:
//   y[i]        = x[i] * cos[i] - x[i + hd/2] * sin[i]
//   y[i + hd/2] = x[i + hd/2] * cos[i] + x[i] * sin[i]          i < hd/2
void apply_rope(float* x, uint64_t heads, uint64_t hd, const std::vector<float>& cos, const std::vector<float>& sin) {
  const uint64_t half = hd / 2;
  for (uint64_t h = 0; h < heads; ++h) {
    float* v = x + h * hd;
    for (uint64_t i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      v[i] = a * cos[i] - b * sin[i];
      v[i + half] = b * cos[i] + a * sin[i];
    }
  }
}

// ---------------------------------------------------------------- the blocks

struct Rope {
  std::vector<double> inv_freq;
  std::vector<float> cos, sin;
};

// Input of the first layer at position pos: token embedding (+ learned position). [H]
std::vector<float> embed(const Model& m, int64_t token, uint64_t pos) {
  const ModelConfig& c = m.config();
  const uint64_t h = c.hidden_size;
  std::vector<float> x(m.weights().embed.begin() + token * h, m.weights().embed.begin() + (token + 1) * h);
  if (c.position == hf::PositionKind::Learned) {
    for (uint64_t i = 0; i < h; ++i) x[i] = x[i] + m.weights().pos_embed[pos * h + i];
  }
  return x;
}

// q is stored in the activations' format, except under INT8 activations, where attention
// runs in the KV cache's format (the compiler's precision pass).
num::DType query_format(const Quantisation& q) { return q.activations == num::DType::INT8 ? q.kv : q.activations; }

// The format of the attention probabilities: BF16 next to a one-byte FP query (the attention
// kernel's choice), otherwise the query's format.
num::DType probability_format(const Quantisation& q) {
  const num::DType f = query_format(q);
  return f == num::DType::FP8_E4M3 || f == num::DType::FP8_E5M2 ? num::DType::BF16 : f;
}

// q [nh*hd], k and v [nkv*hd] of the normalised input xn [H] at position pos, RoPE applied.
void project_qkv(const Model& m, const Layer& l, const float* xn, uint64_t pos, Rope& rope, float* q, float* k,
                 float* v) {
  const ModelConfig& c = m.config();
  linear(l.q, xn, q);
  linear(l.k, xn, k);
  linear(l.v, xn, v);
  if (c.position == hf::PositionKind::Rope) {
    hf::rope_cos_sin(rope.inv_freq, pos, rope.cos, rope.sin);
    apply_rope(q, c.num_heads, c.head_dim, rope.cos, rope.sin);
    apply_rope(k, c.num_kv_heads, c.head_dim, rope.cos, rope.sin);
  }
  const Quantisation& qz = m.quantisation();
  for (uint64_t h = 0; h < c.num_heads; ++h) round_row(query_format(qz), q + h * c.head_dim, c.head_dim);
  for (uint64_t h = 0; h < c.num_kv_heads; ++h) {
    round_row(qz.kv, k + h * c.head_dim, c.head_dim);
    round_row(qz.kv, v + h * c.head_dim, c.head_dim);
  }
}



// Causal attention of query position pos over K, V [>pos, nkv*hd] (rows 0..pos are used,
// or the last sliding_window of them). Query head h reads KV head h / (nh / nkv).
//   s[j] = (q_h . k_j) * hd^-0.5 (GPT-2: / sqrt(hd)); p = softmax(s); out_h = sum_j p[j] v_j
void attend(const ModelConfig& c, const float* q, const std::vector<float>& K, const std::vector<float>& V, uint64_t pos,
            num::DType pt, float* out) {
  const uint64_t hd = c.head_dim, kvd = c.kv_dim(), rep = c.num_heads / c.num_kv_heads;
  const uint64_t first = c.sliding_window && pos + 1 > *c.sliding_window ? pos + 1 - *c.sliding_window : 0;
  const float scale = static_cast<float>(std::pow(static_cast<double>(hd), -0.5));
  const float divisor = static_cast<float>(std::sqrt(static_cast<double>(hd)));
  std::vector<float> p(pos + 1 - first);
  for (uint64_t h = 0; h < c.num_heads; ++h) {
    const uint64_t g = h / rep;
    for (uint64_t j = first; j <= pos; ++j) {
      const float s = dot(q + h * hd, &K[j * kvd + g * hd], hd);
      p[j - first] = c.architecture == Architecture::GPT2 ? s / divisor : s * scale;
    }
    softmax(p);
    if (pt == num::DType::INT8) {
      // INT8 V (a scale s_j per key, recovered as max|V_j| / 127): the program multiplies
      // P'_j = p_j s_j, quantised per row, with the INT8 values V_j / s_j.
      std::vector<float> sv(p.size());
      for (uint64_t j = first; j <= pos; ++j) {
        float mx = 0.0f;
        for (uint64_t d = 0; d < hd; ++d) mx = std::max(mx, std::fabs(V[j * kvd + g * hd + d]));
        sv[j - first] = mx > 0.0f ? mx / 127.0f : 1.0f;
        p[j - first] = p[j - first] * sv[j - first];
      }
      round_row(pt, p.data(), p.size());
      for (uint64_t d = 0; d < hd; ++d) {
        float acc = 0.0f;
        for (uint64_t j = first; j <= pos; ++j)
          acc = acc + p[j - first] * std::nearbyint(V[j * kvd + g * hd + d] / sv[j - first]);
        out[h * hd + d] = acc;
      }
      continue;
    }
    round_row(pt, p.data(), p.size());
    for (uint64_t d = 0; d < hd; ++d) {
      float acc = 0.0f;
      for (uint64_t j = first; j <= pos; ++j) acc = acc + p[j - first] * V[j * kvd + g * hd + d];
      out[h * hd + d] = acc;
    }
  }
}

// SwiGLU: down(silu(gate xn) * up xn); GPT-2: down(gelu_new(up xn)).      xn, out [H]
void dense_mlp(const ModelConfig& c, const Linear& gate, const Linear& up, const Linear& down, const float* xn,
               num::DType ht, float* out) {
  std::vector<float> u(up.out), g(gate.out);
  linear(up, xn, u.data());
  if (c.activation == hf::Activation::GeluNew) {
    for (float& x : u) x = gelu_new(x);
  } else {
    linear(gate, xn, g.data());
    for (uint64_t i = 0; i < u.size(); ++i) u[i] = silu(g[i]) * u[i];
  }
  round_row(ht, u.data(), u.size());
  linear(down, u.data(), out);
}

// Mixtral sparse MoE: p = softmax(router xn) [E]; the experts_per_token largest p (lowest
// index first on ties), weights p_e / (sum of the selected p in selection order);
// out = sum over the selected experts in ascending index of expert_e(xn) * weight_e.
// Quantised (Quantisation): the router reads xn in BF16 (the compiler's router input), the
// experts xn in the activation format.
void moe(const ModelConfig& c, const Layer& l, const float* xn, num::DType at, float* out) {
  std::vector<float> p(c.num_experts), xr(xn, xn + c.hidden_size), xa(xr);
  if (at != num::DType::FP32) round_row(num::DType::BF16, xr.data(), xr.size());
  round_row(at, xa.data(), xa.size());
  linear(l.router, xr.data(), p.data());
  softmax(p);
  std::vector<uint64_t> chosen;
  std::vector<bool> taken(c.num_experts, false);
  for (uint64_t k = 0; k < c.experts_per_token; ++k) {
    uint64_t best = c.num_experts;
    for (uint64_t e = 0; e < c.num_experts; ++e) {
      if (!taken[e] && (best == c.num_experts || p[e] > p[best])) best = e;
    }
    taken[best] = true;
    chosen.push_back(best);
  }
  float sum = 0.0f;
  for (uint64_t e : chosen) sum = sum + p[e];
  std::vector<float> y(c.hidden_size);
  for (uint64_t i = 0; i < c.hidden_size; ++i) out[i] = 0.0f;
  for (uint64_t e = 0; e < c.num_experts; ++e) {
    if (!taken[e]) continue;
    const float weight = p[e] / sum;
    const Expert& x = l.experts[e];
    dense_mlp(c, x.w1, x.w3, x.w2, xa.data(), at, y.data());
    for (uint64_t i = 0; i < c.hidden_size; ++i) out[i] = out[i] + y[i] * weight;
  }
}

// x [H] += MLP(norm2(x))
void mlp_sublayer(const Model& m, const Layer& l, std::vector<float>& x) {
  const ModelConfig& c = m.config();
  std::vector<float> xn(c.hidden_size), y(c.hidden_size);
  norm(c, x.data(), l.norm2_w, l.norm2_b, xn.data());
  const num::DType at = m.quantisation().activations;
  if (c.is_moe()) {
    moe(c, l, xn.data(), at, y.data());
  } else {
    round_row(at, xn.data(), xn.size());
    dense_mlp(c, l.gate, l.up, l.down, xn.data(), at, y.data());
  }
  for (uint64_t i = 0; i < c.hidden_size; ++i) x[i] = x[i] + y[i];
}

// x [H] += o_proj(attention output a [nh*hd])
void attention_residual(const Model& m, const Layer& l, std::vector<float>& a, std::vector<float>& x) {
  std::vector<float> y(m.config().hidden_size);
  round_row(m.quantisation().activations, a.data(), a.size());
  linear(l.o, a.data(), y.data());
  for (uint64_t i = 0; i < y.size(); ++i) x[i] = x[i] + y[i];
}

// logits [V] = lm_head . final_norm(x)
std::vector<float> logits(const Model& m, const std::vector<float>& x) {
  const ModelConfig& c = m.config();
  std::vector<float> h(c.hidden_size), out(c.vocab_size);
  norm(c, x.data(), m.weights().final_norm_w, m.weights().final_norm_b, h.data());
  round_row(m.quantisation().activations, h.data(), h.size());
  const std::vector<float>& head = m.lm_head();
  for (uint64_t t = 0; t < c.vocab_size; ++t) out[t] = dot(&head[t * c.hidden_size], h.data(), c.hidden_size);
  return out;
}

void check_token(const ModelConfig& c, int64_t token) {
  if (token < 0 || static_cast<uint64_t>(token) >= c.vocab_size) {
    throw InputError("token id " + std::to_string(token) + " is outside the vocabulary [0, " +
                     std::to_string(c.vocab_size) + ") of " + c.source);
  }
}

void check_positions(const ModelConfig& c, uint64_t n) {
  if (n > c.max_position_embeddings) {
    throw InputError(std::to_string(n) + " positions exceed max_position_embeddings " +
                     std::to_string(c.max_position_embeddings) + " of " + c.source);
  }
}

// ---------------------------------------------------------------- loading

class Loader {
 public:
  Loader(const ModelConfig& c, const hf::TensorStore& store) : c_(c) {
    // Names and shapes from the headers first: a missing, misshapen or extra tensor (weights for
    // more layers than the config has) is refused before any data is read.
    hf::check_checkpoint(c, store);
    for (const hf::TensorSpec& spec : hf::model_tensors(c)) {
      const std::string stored = hf::stored_name(c, store, spec.name);
      std::vector<float> values = store.read(stored, spec.shape);
      for (size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
          throw InputError(store.file_of(stored) + ": tensor '" + stored + "' element " + std::to_string(i) +
                           " is not finite");
        }
      }
      tensors_[spec.name] = std::move(values);
    }
  }

  std::vector<float> take(const std::string& name) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::logic_error("reference loader: tensor not listed: " + name);
    std::vector<float> v = std::move(it->second);
    tensors_.erase(it);
    return v;
  }

  // nn.Linear: weight [out, in] as stored.
  Linear linear(const std::string& prefix, uint64_t in, uint64_t out, bool bias) {
    Linear l{in, out, take(hf::weight_of(prefix)), {}};
    if (bias) l.b = take(hf::bias_of(prefix));
    return l;
  }

  // GPT-2 Conv1D: weight [in, cols], bias [cols]; columns [first, first + out) become an
  // nn.Linear layout [out, in].
  static Linear conv1d(const std::vector<float>& w, const std::vector<float>& b, uint64_t in, uint64_t cols,
                       uint64_t first, uint64_t out) {
    Linear l{in, out, std::vector<float>(out * in), std::vector<float>(b.begin() + first, b.begin() + first + out)};
    for (uint64_t o = 0; o < out; ++o) {
      for (uint64_t i = 0; i < in; ++i) l.w[o * in + i] = w[i * cols + first + o];
    }
    return l;
  }

  Weights llama_family() {
    const uint64_t h = c_.hidden_size, ff = c_.intermediate_size;
    const hf::ModelTensorNames n = hf::model_tensor_names(c_);
    Weights w;
    w.embed = take(n.embed);
    for (uint64_t i = 0; i < c_.num_layers; ++i) {
      const hf::LayerTensorNames p = hf::layer_tensor_names(c_, i);
      Layer l;
      l.norm1_w = take(hf::weight_of(p.attn_norm));
      l.q = linear(p.q, h, c_.q_dim(), c_.qkv_bias);
      l.k = linear(p.k, h, c_.kv_dim(), c_.qkv_bias);
      l.v = linear(p.v, h, c_.kv_dim(), c_.qkv_bias);
      l.o = linear(p.o, c_.q_dim(), h, c_.o_bias);
      l.norm2_w = take(hf::weight_of(p.mlp_norm));
      if (c_.is_moe()) {
        l.router = linear(p.router, h, c_.num_experts, false);
        for (uint64_t e = 0; e < c_.num_experts; ++e) {
          l.experts.push_back({linear(p.expert_gate[e], h, ff, false), linear(p.expert_down[e], ff, h, false),
                               linear(p.expert_up[e], h, ff, false)});
        }
      } else {
        l.gate = linear(p.gate, h, ff, c_.mlp_bias);
        l.up = linear(p.up, h, ff, c_.mlp_bias);
        l.down = linear(p.down, ff, h, c_.mlp_bias);
      }
      w.layers.push_back(std::move(l));
    }
    w.final_norm_w = take(hf::weight_of(n.final_norm));
    if (!c_.tie_word_embeddings) w.lm_head = take(n.lm_head);
    return w;
  }

  Weights gpt2() {
    const uint64_t h = c_.hidden_size, ff = c_.intermediate_size;
    const hf::ModelTensorNames n = hf::model_tensor_names(c_);
    Weights w;
    w.embed = take(n.embed);
    w.pos_embed = take(n.pos_embed);
    using hf::bias_of, hf::weight_of;
    for (uint64_t i = 0; i < c_.num_layers; ++i) {
      const hf::LayerTensorNames p = hf::layer_tensor_names(c_, i);
      Layer l;
      l.norm1_w = take(weight_of(p.attn_norm));
      l.norm1_b = take(bias_of(p.attn_norm));
      const std::vector<float> qkv_w = take(weight_of(p.qkv)), qkv_b = take(bias_of(p.qkv));
      l.q = conv1d(qkv_w, qkv_b, h, 3 * h, 0, h);
      l.k = conv1d(qkv_w, qkv_b, h, 3 * h, h, h);
      l.v = conv1d(qkv_w, qkv_b, h, 3 * h, 2 * h, h);
      l.o = conv1d(take(weight_of(p.o)), take(bias_of(p.o)), h, h, 0, h);
      l.norm2_w = take(weight_of(p.mlp_norm));
      l.norm2_b = take(bias_of(p.mlp_norm));
      l.up = conv1d(take(weight_of(p.up)), take(bias_of(p.up)), h, ff, 0, ff);
      l.down = conv1d(take(weight_of(p.down)), take(bias_of(p.down)), ff, h, 0, h);
      w.layers.push_back(std::move(l));
    }
    w.final_norm_w = take(weight_of(n.final_norm));
    w.final_norm_b = take(bias_of(n.final_norm));
    if (!c_.tie_word_embeddings) w.lm_head = take(n.lm_head);
    return w;
  }

 private:
  const ModelConfig& c_;
  std::map<std::string, std::vector<float>> tensors_;
};

void check_size(const std::vector<float>& v, uint64_t n, const char* what) {
  if (v.size() != n) {
    throw std::invalid_argument(std::string("reference model: ") + what + " has " + std::to_string(v.size()) +
                                " values, expected " + std::to_string(n));
  }
}

void check_linear(const Linear& l, uint64_t in, uint64_t out, bool bias, const char* what) {
  if (l.in != in || l.out != out) throw std::invalid_argument(std::string("reference model: ") + what + " has the wrong shape");
  check_size(l.w, in * out, what);
  check_size(l.b, bias ? out : 0, what);
}

}  // namespace

// ---------------------------------------------------------------- public API

Model::Model(hf::ModelConfig config, Weights weights) : config_(std::move(config)), weights_(std::move(weights)) {
  const ModelConfig& c = config_;
  const Weights& w = weights_;
  const uint64_t h = c.hidden_size;
  const bool gpt2 = c.architecture == Architecture::GPT2;
  const bool ln = c.norm == hf::NormKind::LayerNorm;
  check_size(w.embed, c.vocab_size * h, "embedding");
  check_size(w.pos_embed, gpt2 ? c.max_position_embeddings * h : 0, "position embedding");
  check_size(w.final_norm_w, h, "final norm");
  check_size(w.final_norm_b, ln ? h : 0, "final norm bias");
  check_size(w.lm_head, c.tie_word_embeddings ? 0 : c.vocab_size * h, "lm_head");
  if (w.layers.size() != c.num_layers) throw std::invalid_argument("reference model: wrong number of layers");
  for (const Layer& l : w.layers) {
    check_size(l.norm1_w, h, "norm1");
    check_size(l.norm1_b, ln ? h : 0, "norm1 bias");
    check_size(l.norm2_w, h, "norm2");
    check_size(l.norm2_b, ln ? h : 0, "norm2 bias");
    check_linear(l.q, h, c.q_dim(), c.qkv_bias, "q");
    check_linear(l.k, h, c.kv_dim(), c.qkv_bias, "k");
    check_linear(l.v, h, c.kv_dim(), c.qkv_bias, "v");
    check_linear(l.o, c.q_dim(), h, c.o_bias, "o");
    if (c.is_moe()) {
      check_linear(l.router, h, c.num_experts, false, "router");
      if (l.experts.size() != c.num_experts) throw std::invalid_argument("reference model: wrong number of experts");
      for (const Expert& e : l.experts) {
        check_linear(e.w1, h, c.intermediate_size, false, "w1");
        check_linear(e.w2, c.intermediate_size, h, false, "w2");
        check_linear(e.w3, h, c.intermediate_size, false, "w3");
      }
    } else {
      if (!gpt2) check_linear(l.gate, h, c.intermediate_size, c.mlp_bias, "gate");
      check_linear(l.up, h, c.intermediate_size, c.mlp_bias, "up");
      check_linear(l.down, c.intermediate_size, h, c.mlp_bias, "down");
    }
  }
}

namespace {

// Per output channel (row o of W [out][in]): s = max|w| / largest finite value of t,
// w = decode(encode(w / s)) * s; BF16: RNE.
void quantise_linear(num::DType t, Linear& l) {
  if (t == num::DType::BF16) {
    for (float& w : l.w) w = round_to(t, w);
    return;
  }
  const float maxfin = t == num::DType::INT8 ? 127.0f : t == num::DType::FP8_E4M3 ? 448.0f : 57344.0f;
  for (uint64_t o = 0; o < l.out; ++o) {
    float* row = &l.w[o * l.in];
    float mx = 0.0f;
    for (uint64_t i = 0; i < l.in; ++i) mx = std::fabs(row[i]) > mx ? std::fabs(row[i]) : mx;
    const float s = mx > 0.0f ? mx / maxfin : 1.0f;
    for (uint64_t i = 0; i < l.in; ++i) {
      const float v = row[i] / s;
      row[i] = (t == num::DType::INT8 ? static_cast<float>(num::f32_to_int8(v)) : round_to(t, v)) * s;
    }
  }
}

bool compiler_format(num::DType t) {
  return t == num::DType::FP32 || t == num::DType::BF16 || t == num::DType::FP8_E4M3 || t == num::DType::FP8_E5M2 ||
         t == num::DType::INT8;
}

}  // namespace

Model Model::quantised(const Quantisation& q) const {
  for (num::DType t : {q.weights, q.activations, q.kv})
    if (!compiler_format(t))
      throw std::invalid_argument("reference quantisation: " + std::string(num::dtype_name(t)) + " is not a format the "
                                  "compiler stores matrix inputs in");
  hf::ModelConfig c = config_;
  Weights w = weights_;
  if (!(q == Quantisation{})) {
    // The program gathers BF16 embeddings, and a tied head is a weight matrix of its own.
    if (c.tie_word_embeddings) {
      w.lm_head = w.embed;
      c.tie_word_embeddings = false;
    }
    for (float& e : w.embed) e = round_to(num::DType::BF16, e);
    for (float& e : w.pos_embed) e = round_to(num::DType::BF16, e);
    for (Layer& l : w.layers) {
      for (Linear* x : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down})
        if (!x->w.empty()) quantise_linear(q.weights, *x);
      if (!l.router.w.empty()) quantise_linear(num::DType::BF16, l.router);
      for (Expert& e : l.experts)
        for (Linear* x : {&e.w1, &e.w2, &e.w3}) quantise_linear(q.weights, *x);
    }
    Linear head{c.hidden_size, c.vocab_size, std::move(w.lm_head), {}};
    quantise_linear(q.weights, head);
    w.lm_head = std::move(head.w);
  }
  Model out(std::move(c), std::move(w));
  out.quant_ = q;
  return out;
}

Model Model::from_store(hf::ModelConfig config, const hf::TensorStore& store) {
  Loader loader(config, store);
  Weights w = config.architecture == Architecture::GPT2 ? loader.gpt2() : loader.llama_family();
  return Model(std::move(config), std::move(w));
}

Model Model::load(const std::string& dir) {
  hf::ModelConfig config = hf::load_model_config(dir);
  const hf::TensorStore store = hf::TensorStore::open_dir(dir);
  return from_store(std::move(config), store);
}

uint64_t argmax(const std::vector<float>& values) {
  uint64_t best = 0;
  for (uint64_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      throw InputError("logit " + std::to_string(i) + " is NaN: the model's activations overflow FP32");
    }
    if (values[i] > values[best]) best = i;
  }
  return best;
}

std::vector<float> forward_step(const Model& m, KVCache& cache, int64_t token) {
  const ModelConfig& c = m.config();
  check_token(c, token);
  const uint64_t pos = cache.length;
  check_positions(c, pos + 1);
  if (cache.k.size() != c.num_layers) {
    cache.k.assign(c.num_layers, {});
    cache.v.assign(c.num_layers, {});
  }
  Rope rope{hf::rope_inv_freq(c), {}, {}};
  std::vector<float> x = embed(m, token, pos);                       // [H]
  std::vector<float> xn(c.hidden_size), q(c.q_dim()), k(c.kv_dim()), v(c.kv_dim()), a(c.q_dim());
  for (uint64_t li = 0; li < c.num_layers; ++li) {
    const Layer& l = m.weights().layers[li];
    norm(c, x.data(), l.norm1_w, l.norm1_b, xn.data());
    round_row(m.quantisation().activations, xn.data(), xn.size());
    project_qkv(m, l, xn.data(), pos, rope, q.data(), k.data(), v.data());
    cache.k[li].insert(cache.k[li].end(), k.begin(), k.end());       // [pos + 1, nkv*hd]
    cache.v[li].insert(cache.v[li].end(), v.begin(), v.end());
    attend(c, q.data(), cache.k[li], cache.v[li], pos, probability_format(m.quantisation()), a.data());
    attention_residual(m, l, a, x);
    mlp_sublayer(m, l, x);
  }
  cache.length = pos + 1;
  return logits(m, x);
}

std::vector<std::vector<float>> forward_sequence(const Model& m, const std::vector<int64_t>& tokens) {
  const ModelConfig& c = m.config();
  const uint64_t n = tokens.size();
  for (int64_t t : tokens) check_token(c, t);
  check_positions(c, n);
  Rope rope{hf::rope_inv_freq(c), {}, {}};
  std::vector<std::vector<float>> x(n);                              // [n][H]
  for (uint64_t p = 0; p < n; ++p) x[p] = embed(m, tokens[p], p);
  std::vector<float> xn(c.hidden_size), a(c.q_dim());
  for (const Layer& l : m.weights().layers) {
    std::vector<float> Q(n * c.q_dim()), K(n * c.kv_dim()), V(n * c.kv_dim());
    for (uint64_t p = 0; p < n; ++p) {
      norm(c, x[p].data(), l.norm1_w, l.norm1_b, xn.data());
      round_row(m.quantisation().activations, xn.data(), xn.size());
      project_qkv(m, l, xn.data(), p, rope, &Q[p * c.q_dim()], &K[p * c.kv_dim()], &V[p * c.kv_dim()]);
    }
    for (uint64_t p = 0; p < n; ++p) {
      attend(c, &Q[p * c.q_dim()], K, V, p, probability_format(m.quantisation()), a.data());
      attention_residual(m, l, a, x[p]);
      mlp_sublayer(m, l, x[p]);
    }
  }
  std::vector<std::vector<float>> out;
  for (uint64_t p = 0; p < n; ++p) out.push_back(logits(m, x[p]));
  return out;
}

Generation generate(const Model& m, const std::vector<int64_t>& prompt, const GenerateOptions& opt) {
  const ModelConfig& c = m.config();
  if (prompt.empty()) throw InputError("the prompt needs at least one token");
  if (!opt.forced.empty() && opt.forced.size() != opt.steps) {
    throw InputError(std::to_string(opt.forced.size()) + " forced tokens given for " + std::to_string(opt.steps) +
                     " steps");
  }
  for (int64_t t : prompt) check_token(c, t);
  for (int64_t t : opt.forced) check_token(c, t);
  // The last generated token is never fed back, so prompt + steps - 1 positions are run.
  check_positions(c, prompt.size() + (opt.steps > 0 ? opt.steps - 1 : 0));

  Generation g;
  KVCache cache;
  std::vector<int64_t> seq = prompt;
  std::vector<float> last;
  if (opt.kv_cache) {
    for (int64_t t : prompt) last = forward_step(m, cache, t);
  }
  for (uint64_t s = 0; s < opt.steps; ++s) {
    if (!opt.kv_cache) last = forward_sequence(m, seq).back();
    const int64_t next = opt.forced.empty() ? static_cast<int64_t>(argmax(last)) : opt.forced[s];
    g.tokens.push_back(next);
    g.logits.push_back(last);
    seq.push_back(next);
    if (opt.kv_cache && s + 1 < opt.steps) last = forward_step(m, cache, next);
  }
  return g;
}

}  // namespace tessera::ref
