// Reference Transformer: cases computed by hand, KV cache == full recompute (bit for bit)
// for every family, GQA == MHA with duplicated KV weights, MoE routing (ties,
// renormalisation), sliding windows, teacher forcing, and the loader's diagnostics. The RoPE
// frequencies it uses are tested with their definition (tests/common/hf/rope_test.cpp).
#include "ref/transformer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>

#include "common/hf/model_tensors.h"
#include "common/numerics/fp.h"
#include "ref/tiny_model.h"
#include "tests/common/hf/test_util.h"

namespace tessera::ref {
namespace {

using hf::Architecture;
using test::expect_input_error;
using test::TempDir;

GenerateOptions opts(uint64_t steps, bool kv_cache = true, std::vector<int64_t> forced = {}) {
  GenerateOptions o;
  o.steps = steps;
  o.kv_cache = kv_cache;
  o.forced = std::move(forced);
  return o;
}

// ---------------------------------------------------------------- a model small enough to do by hand
//
// H = 2, one head of dimension 2, one layer, V = 3, MLP width 1, RMSNorm gains 1:
//   embed   = [[1, 0], [0, 1], [1, 1]]        tokens 0, 1, 2
//   q       = 0 or identity, k = v = o = identity
//   gate    = [[1, 0]], up = [[0, 1]], down = [[1], [0]]   so MLP(x) = (silu(x0) * x1, 0)
//   lm_head = [[1, 0], [0, 1], [1, -1]]
hf::ModelConfig hand_config() {
  hf::ModelConfig c;
  c.source = "hand-made config";
  c.architecture = Architecture::Llama;
  c.vocab_size = 3;
  c.hidden_size = 2;
  c.intermediate_size = 1;
  c.num_layers = 1;
  c.num_heads = c.num_kv_heads = 1;
  c.head_dim = 2;
  c.max_position_embeddings = 8;
  c.norm_eps = 1e-6;
  c.rope_theta = 10000.0;  // inv_freq[0] = theta^0 = 1: position p rotates by p radians
  return c;
}

Model hand_model(bool q_identity) {
  const std::vector<float> id = {1, 0, 0, 1};
  Weights w;
  w.embed = {1, 0, 0, 1, 1, 1};
  Layer l;
  l.norm1_w = l.norm2_w = {1, 1};
  l.q = {2, 2, q_identity ? id : std::vector<float>{0, 0, 0, 0}, {}};
  l.k = l.v = l.o = {2, 2, id, {}};
  l.gate = {2, 1, {1, 0}, {}};
  l.up = {2, 1, {0, 1}, {}};
  l.down = {1, 2, {1, 0}, {}};
  w.layers.push_back(l);
  w.final_norm_w = {1, 1};
  w.lm_head = {1, 0, 0, 1, 1, -1};
  return Model(hand_config(), w);
}

// The same arithmetic in double, written out for two dimensions.
struct V2 {
  double a, b;
};
V2 rms(V2 x) {
  const double r = std::sqrt((x.a * x.a + x.b * x.b) / 2 + 1e-6);
  return {x.a / r, x.b / r};
}
double silu(double x) { return x / (1 + std::exp(-x)); }
V2 rotate(V2 x, double angle) {
  return {x.a * std::cos(angle) - x.b * std::sin(angle), x.b * std::cos(angle) + x.a * std::sin(angle)};
}
std::vector<double> head(V2 x) {
  const V2 h = rms(x);
  return {h.a, h.b, h.a - h.b};
}

void expect_logits(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-6) << "logit " << i;
}

TEST(RefByHand, UniformAttentionAndSwiGlu) {
  // q = 0: every score is 0, so attention averages the values of all positions so far.
  const Model m = hand_model(false);
  // Prompt [0, 1]. Position 0: xn0 = rms((1, 0)) = (1.41421, 0).
  const V2 xn0 = rms({1, 0});
  // Position 1: x = (0, 1), xn1 = (0, 1.41421); attention = (xn0 + xn1) / 2 = (0.70711, 0.70711).
  const V2 xn1 = rms({0, 1});
  V2 x = {0 + (xn0.a + xn1.a) / 2, 1 + (xn0.b + xn1.b) / 2};  // (0.70711, 1.70711)
  const V2 n = rms(x);                                          // (0.54120, 1.30656)
  x.a += silu(n.a) * n.b;                                       // (1.15406, 1.70711)
  // logits = lm_head . rms(x) = (0.79205, 1.17161, -0.37956)
  const std::vector<double> want = head(x);
  EXPECT_NEAR(want[0], 0.79205, 1e-5);
  EXPECT_NEAR(want[1], 1.17161, 1e-5);
  const auto logits = forward_sequence(m, {0, 1});
  expect_logits(logits[1], want);
  // Position 0 alone: x = (1, 0) + xn0 = (2.41421, 0); MLP = silu(1.41421) * 0 = 0;
  // logits = (1.41421, 0, 1.41421): tokens 0 and 2 tie exactly, the argmax takes 0.
  expect_logits(logits[0], head({1 + xn0.a, 0}));
  EXPECT_EQ(logits[0][0], logits[0][2]);
  const Generation g = generate(m, {0}, opts(2));
  EXPECT_EQ(g.tokens, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(generate(m, {0, 1}, opts(1)).tokens, std::vector<int64_t>{1});
}

TEST(RefByHand, RotaryAttention) {
  // q = k = identity: position p rotates q and k by p radians (hd = 2, inv_freq = 1), so the
  // score of query i against key j is (R(i) xn_i . R(j) xn_j) / sqrt(2). Prompt [1, 2]:
  // xn = (0, 1.41421) at position 0 and (1, 1) at position 1.
  const Model m = hand_model(true);
  const V2 xn0 = rms({0, 1}), xn1 = rms({1, 1});
  EXPECT_NEAR(xn1.a, 1.0, 1e-6);
  const V2 q1 = rotate(xn1, 1.0), k0 = rotate(xn0, 0.0), k1 = rotate(xn1, 1.0);
  // R(1) (1, 1) = (cos 1 - sin 1, cos 1 + sin 1) = (-0.30117, 1.38177)
  EXPECT_NEAR(q1.a, -0.30117, 1e-5);
  EXPECT_NEAR(q1.b, 1.38177, 1e-5);
  const double s0 = (q1.a * k0.a + q1.b * k0.b) / std::sqrt(2.0);  // (cos 1 + sin 1) = 1.38177
  const double s1 = (q1.a * k1.a + q1.b * k1.b) / std::sqrt(2.0);  // |xn1|^2 / sqrt(2) = 1.41421
  EXPECT_NEAR(s0, std::cos(1.0) + std::sin(1.0), 1e-5);
  const double p0 = std::exp(s0) / (std::exp(s0) + std::exp(s1)), p1 = 1 - p0;
  // values are not rotated
  V2 x = {1 + p0 * xn0.a + p1 * xn1.a, 1 + p0 * xn0.b + p1 * xn1.b};
  const V2 n = rms(x);
  x.a += silu(n.a) * n.b;
  expect_logits(forward_sequence(m, {1, 2})[1], head(x));
}

// ---------------------------------------------------------------- tiny models on disk

struct Tiny {
  TempDir dir;
  Model model;
  explicit Tiny(const TinyModelOptions& o) : model(load(dir, o)) {}
  static Model load(const TempDir& d, const TinyModelOptions& o) {
    write_tiny_model(d.path(), o);
    return Model::load(d.path());
  }
};

TinyModelOptions family(Architecture a) {
  TinyModelOptions o;
  o.architecture = a;
  return o;
}

const std::vector<int64_t> kPrompt = {1, 10, 20, 30};

void expect_bit_equal(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
}

TEST(Ref, KvCacheEqualsFullRecomputeBitForBit) {
  std::vector<TinyModelOptions> cases = {family(Architecture::Llama), family(Architecture::Mistral),
                                         family(Architecture::Qwen2), family(Architecture::Mixtral),
                                         family(Architecture::GPT2)};
  cases[0].llama3_rope = true;  // with Llama-3 scaling
  TinyModelOptions tied = family(Architecture::Llama);
  tied.tie_embeddings = true;
  tied.dtype = hf::TensorDType::BF16;
  cases.push_back(tied);
  for (const TinyModelOptions& o : cases) {
    Tiny t(o);
    const std::string name(hf::architecture_name(o.architecture));
    SCOPED_TRACE(name);
    // 4 + 16 tokens: beyond the default Mistral window of 16
    const Generation cached = generate(t.model, kPrompt, opts(16, true));
    const Generation full = generate(t.model, kPrompt, opts(16, false));
    EXPECT_EQ(cached.tokens, full.tokens);
    for (size_t s = 0; s < cached.logits.size(); ++s) {
      expect_bit_equal(cached.logits[s], full.logits[s], name + " step " + std::to_string(s));
    }
  }
}

TEST(Ref, RunsAreDeterministicAndTokensVary) {
  Tiny t(family(Architecture::Llama));
  const Generation a = generate(t.model, kPrompt, {});
  const Generation b = generate(Model::load(t.dir.path()), kPrompt, {});
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.logits, b.logits);
  // The generator's scales are meant to keep greedy decoding from collapsing.
  std::vector<int64_t> distinct = a.tokens;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  EXPECT_GE(distinct.size(), 8u);
}

TEST(Ref, GqaEqualsMhaWithDuplicatedKvHeads) {
  Tiny t(family(Architecture::Llama));  // 4 query heads, 2 KV heads
  const hf::ModelConfig& c = t.model.config();
  ASSERT_EQ(c.num_heads, 4u);
  ASSERT_EQ(c.num_kv_heads, 2u);
  hf::ModelConfig mha = c;
  mha.num_kv_heads = c.num_heads;
  Weights w = t.model.weights();
  const uint64_t hd = c.head_dim, h = c.hidden_size;
  for (Layer& l : w.layers) {
    for (Linear* p : {&l.k, &l.v}) {
      // MHA head j uses the rows of GQA KV head j / (heads / kv_heads).
      Linear dup{h, c.num_heads * hd, std::vector<float>(c.num_heads * hd * h), {}};
      for (uint64_t j = 0; j < c.num_heads; ++j) {
        const uint64_t g = j / (c.num_heads / c.num_kv_heads);
        std::copy(p->w.begin() + g * hd * h, p->w.begin() + (g + 1) * hd * h, dup.w.begin() + j * hd * h);
      }
      *p = dup;
    }
  }
  const Model m(mha, w);
  const Generation a = generate(t.model, kPrompt, {}), b = generate(m, kPrompt, {});
  EXPECT_EQ(a.tokens, b.tokens);
  for (size_t s = 0; s < a.logits.size(); ++s) expect_bit_equal(a.logits[s], b.logits[s], "step " + std::to_string(s));
}

TEST(Ref, MoeTiesPickTheLowerExpertAndRenormalise) {
  // Router weights 0: softmax gives 1/3 to each of 3 experts, the top-2 tie is broken by
  // the lower index (experts 0 and 1), and renormalised weights are 1/2 each. A dense
  // SwiGLU whose width holds experts 0 and 1 side by side, with down halved, computes the
  // same function (summed in another order, so equal within rounding).
  TinyModelOptions o = family(Architecture::Mixtral);
  o.experts = 3;
  o.layers = 1;
  Tiny t(o);
  const hf::ModelConfig& c = t.model.config();
  Weights moe = t.model.weights();
  for (float& x : moe.layers[0].router.w) x = 0.0f;
  const Model zero_router(c, moe);

  auto dense_of = [&](uint64_t e0, uint64_t e1) {
    hf::ModelConfig d = c;
    d.architecture = Architecture::Mistral;
    d.num_experts = d.experts_per_token = 0;
    d.intermediate_size = 2 * c.intermediate_size;
    Weights w = moe;
    Layer& l = w.layers[0];
    const uint64_t h = c.hidden_size, ff = c.intermediate_size;
    l.gate = {h, 2 * ff, l.experts[e0].w1.w, {}};
    l.gate.w.insert(l.gate.w.end(), l.experts[e1].w1.w.begin(), l.experts[e1].w1.w.end());
    l.up = {h, 2 * ff, l.experts[e0].w3.w, {}};
    l.up.w.insert(l.up.w.end(), l.experts[e1].w3.w.begin(), l.experts[e1].w3.w.end());
    l.down = {2 * ff, h, std::vector<float>(h * 2 * ff), {}};
    for (uint64_t r = 0; r < h; ++r) {
      for (uint64_t i = 0; i < ff; ++i) {
        l.down.w[r * 2 * ff + i] = 0.5f * l.experts[e0].w2.w[r * ff + i];
        l.down.w[r * 2 * ff + ff + i] = 0.5f * l.experts[e1].w2.w[r * ff + i];
      }
    }
    l.router = {};
    l.experts.clear();
    return Model(d, w);
  };
  const auto got = forward_sequence(zero_router, kPrompt);
  const auto want = forward_sequence(dense_of(0, 1), kPrompt);
  const auto other = forward_sequence(dense_of(1, 2), kPrompt);
  double max_diff = 0, max_other = 0;
  for (size_t p = 0; p < got.size(); ++p) {
    for (size_t v = 0; v < got[p].size(); ++v) {
      max_diff = std::max(max_diff, std::fabs(double(got[p][v]) - want[p][v]));
      max_other = std::max(max_other, std::fabs(double(got[p][v]) - other[p][v]));
    }
  }
  EXPECT_LT(max_diff, 1e-4);
  EXPECT_GT(max_other, 1e-2);  // choosing experts 1 and 2 would be visibly different
}

TEST(Ref, SlidingWindowLimitsAttention) {
  TinyModelOptions o = family(Architecture::Mistral);
  o.sliding_window = 4;
  Tiny t(o);
  hf::ModelConfig full = t.model.config();
  full.sliding_window.reset();
  const Model unwindowed(full, t.model.weights());
  const std::vector<int64_t> seq = {1, 10, 20, 30, 40, 50, 60};
  const auto a = forward_sequence(t.model, seq), b = forward_sequence(unwindowed, seq);
  for (size_t p = 0; p < 4; ++p) expect_bit_equal(a[p], b[p], "position " + std::to_string(p));
  for (size_t p = 4; p < seq.size(); ++p) EXPECT_NE(a[p], b[p]) << "position " << p;
}

TEST(Ref, TeacherForcingGivesTheLogitsOfTheForcedSequence) {
  Tiny t(family(Architecture::GPT2));
  const std::vector<int64_t> forced = {5, 6, 7, 8, 9};
  const Generation g = generate(t.model, kPrompt, opts(5, true, forced));
  EXPECT_EQ(g.tokens, forced);
  std::vector<int64_t> seq = kPrompt;
  for (size_t s = 0; s < forced.size(); ++s) {
    expect_bit_equal(g.logits[s], forward_sequence(t.model, seq).back(), "step " + std::to_string(s));
    seq.push_back(forced[s]);
  }
}

TEST(Ref, Bf16CheckpointLoadsTheRoundedWeights) {
  TinyModelOptions o = family(Architecture::Qwen2);
  o.dtype = hf::TensorDType::BF16;
  Tiny t(o);
  const auto f32 = tiny_model_weights(t.model.config(), o.seed, hf::TensorDType::F32);
  ASSERT_EQ(f32.front().name, "model.embed_tokens.weight");
  std::vector<float> rounded = f32.front().values;
  for (float& v : rounded) v = num::bf16_to_f32(num::f32_to_bf16(v));
  EXPECT_EQ(t.model.weights().embed, rounded);
  EXPECT_NE(t.model.weights().embed, f32.front().values);
}

// ---------------------------------------------------------------- Normal init, quantised models

// --init normal: matrices N(0, s^2 / fan_in), embeddings N(0, 1), gains 1 + 0.1 N(0, 1). The
// sample moments of 64 x 176 and 512 x 64 values are within a few percent of those.
TEST(Ref, NormalInitHasTheStatedMoments) {
  TinyModelOptions o;
  o.init.kind = WeightInit::Kind::Normal;
  o.init.scale = 1.5;
  const hf::ModelConfig c = tiny_model_config(o);
  const auto w = tiny_model_weights(c, 7, hf::TensorDType::F32, o.init);
  const auto again = tiny_model_weights(c, 7, hf::TensorDType::F32, o.init);  // a seed is the same values
  ASSERT_EQ(w.size(), again.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(w[i].values, again[i].values) << w[i].name;
  auto moments = [&](const std::string& name) {
    for (const hf::TensorData& t : w)
      if (t.name == name) {
        double m = 0, q = 0;
        for (float v : t.values) m += v;
        m /= double(t.values.size());
        for (float v : t.values) q += (v - m) * (v - m);
        return std::pair<double, double>{m, std::sqrt(q / double(t.values.size()))};
      }
    ADD_FAILURE() << "no tensor " << name;
    return std::pair<double, double>{0, 0};
  };
  const auto [gm, gs] = moments("model.layers.0.mlp.gate_proj.weight");  // [176, 64]: fan_in 64
  EXPECT_NEAR(gm, 0.0, 0.01);
  EXPECT_NEAR(gs, 1.5 / 8.0, 0.01);
  const auto [dm, ds] = moments("model.layers.0.mlp.down_proj.weight");  // fan_in 176
  EXPECT_NEAR(ds, 1.5 / std::sqrt(176.0), 0.005);
  const auto [em, es] = moments("model.embed_tokens.weight");
  EXPECT_NEAR(em, 0.0, 0.02);
  EXPECT_NEAR(es, 1.0, 0.02);
  const auto [nm, ns] = moments("model.norm.weight");
  EXPECT_NEAR(nm, 1.0, 0.04);
  EXPECT_NEAR(ns, 0.1, 0.03);
  (void)dm;
  o.init.scale = 0;
  expect_input_error([&] { tiny_model_weights(c, 7, hf::TensorDType::F32, o.init); }, {"--init-scale"});
}

// quantised(): the default is the plain model, operation for operation; FP8 weights are
// per-channel E4M3 values times max|w| / 448; the logits move by E4M3's rounding, not more.
TEST(Ref, QuantisedModelRoundsWhereTheProgramDoes) {
  TinyModelOptions o = family(Architecture::Llama);
  o.tie_embeddings = true;
  Tiny t(o);
  GenerateOptions g;
  g.steps = 4;
  const Generation plain = generate(t.model, kPrompt, g);
  const Generation same = generate(t.model.quantised(Quantisation{}), kPrompt, g);
  for (size_t s = 0; s < plain.logits.size(); ++s) expect_bit_equal(plain.logits[s], same.logits[s], "FP32");

  Quantisation q;
  q.weights = q.activations = q.kv = num::DType::FP8_E4M3;
  const Model m8 = t.model.quantised(q);
  EXPECT_FALSE(m8.config().tie_word_embeddings);  // the head is a weight matrix of its own
  const Linear& l = m8.weights().layers[0].gate;
  for (uint64_t o2 : {uint64_t(0), uint64_t(7)}) {
    float mx = 0, mq = 0;
    for (uint64_t i = 0; i < l.in; ++i) {
      mx = std::max(mx, std::fabs(t.model.weights().layers[0].gate.w[o2 * l.in + i]));
      mq = std::max(mq, std::fabs(l.w[o2 * l.in + i]));
    }
    const float sc = mx / 448.0f;
    EXPECT_FLOAT_EQ(mq, mx);  // the largest weight of a channel is exact (448 x scale)
    for (uint64_t i = 0; i < l.in; ++i) {
      const float v = l.w[o2 * l.in + i] / sc;
      EXPECT_NEAR(v, num::e4m3_to_f32(num::f32_to_e4m3(v, num::Overflow::Saturate)), 1e-4f * std::fabs(v) + 1e-6f);
    }
  }
  g.forced = plain.tokens;
  const Generation f8 = generate(m8, kPrompt, g);
  for (size_t s = 0; s < plain.logits.size(); ++s) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < plain.logits[s].size(); ++i) {
      ab += double(plain.logits[s][i]) * f8.logits[s][i];
      aa += double(plain.logits[s][i]) * plain.logits[s][i];
      bb += double(f8.logits[s][i]) * f8.logits[s][i];
    }
    const double cs = ab / std::sqrt(aa * bb);
    EXPECT_LT(cs, 1.0 - 1e-7) << "FP8 rounding must change the logits, step " << s;
    EXPECT_GT(cs, 0.98) << "step " << s;
  }
  Quantisation bad;
  bad.activations = num::DType::FP16;
  EXPECT_THROW(t.model.quantised(bad), std::invalid_argument);
}

// ---------------------------------------------------------------- diagnostics

std::vector<hf::TensorData> tiny_tensors(const hf::ModelConfig& c) { return tiny_model_weights(c, 1, hf::TensorDType::F32); }

// Writes config.json of c and the given tensors into dir, then loads.
Model load_with(const TempDir& dir, const hf::ModelConfig& c, const std::vector<hf::TensorData>& t) {
  dir.write("config.json", hf::model_config_json(c));
  hf::write_safetensors(dir.file("model.safetensors"), t);
  return Model::load(dir.path());
}

TEST(RefErrors, CheckpointProblemsNameTheTensor) {
  TempDir dir;
  const hf::ModelConfig c = tiny_model_config(family(Architecture::Llama));
  const std::string file = dir.file("model.safetensors");

  auto t = tiny_tensors(c);
  std::erase_if(t, [](const hf::TensorData& d) { return d.name == "model.layers.1.mlp.up_proj.weight"; });
  expect_input_error([&] { load_with(dir, c, t); }, {file, "missing tensor 'model.layers.1.mlp.up_proj.weight'"});

  t = tiny_tensors(c);
  for (auto& d : t) {
    if (d.name == "model.layers.0.self_attn.k_proj.weight") d.shape = {64, 32};
  }
  expect_input_error([&] { load_with(dir, c, t); },
                     {file, "'model.layers.0.self_attn.k_proj.weight'", "expected [32, 64], got [64, 32]"});

  t = tiny_tensors(c);
  t.push_back({"model.layers.0.mlp.extra.weight", {2}, {1, 2}, hf::TensorDType::F32});
  expect_input_error([&] { load_with(dir, c, t); }, {file, "unexpected tensor 'model.layers.0.mlp.extra.weight'"});

  t = tiny_tensors(c);
  t[3].values[7] = std::numeric_limits<float>::infinity();
  expect_input_error([&] { load_with(dir, c, t); }, {file, "'" + t[3].name + "' element 7 is not finite"});

  // Buffers real checkpoints carry are accepted and ignored.
  t = tiny_tensors(c);
  t.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", {8}, std::vector<float>(8, 1.0f), hf::TensorDType::F32});
  EXPECT_EQ(load_with(dir, c, t).config().num_layers, 2u);
}

TEST(RefErrors, Gpt2CheckpointWithoutPrefixAndWithMaskBuffers) {
  // The original "gpt2" repository was saved from GPT2Model: no "transformer." prefix, and
  // h.N.attn.bias mask buffers. It must load to the same model.
  TempDir a, b;
  const hf::ModelConfig c = tiny_model_config(family(Architecture::GPT2));
  auto t = tiny_tensors(c);
  const Model prefixed = load_with(a, c, t);
  for (auto& d : t) d.name = d.name.substr(std::string("transformer.").size());
  t.push_back({"h.0.attn.bias", {1, 1, 2, 2}, {1, 0, 1, 1}, hf::TensorDType::F32});
  t.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}, std::vector<float>(c.vocab_size * c.hidden_size, 0.0f),
               hf::TensorDType::F32});  // tied: Hugging Face replaces it by wte
  const Model bare = load_with(b, c, t);
  EXPECT_EQ(forward_sequence(prefixed, kPrompt), forward_sequence(bare, kPrompt));
}

TEST(RefErrors, GenerationInputs) {
  TinyModelOptions o = family(Architecture::Llama);
  o.max_positions = 8;
  Tiny t(o);
  expect_input_error([&] { generate(t.model, {}, {}); }, {"at least one token"});
  expect_input_error([&] { generate(t.model, {1, 512}, opts(1)); }, {"token id 512", "[0, 512)"});
  expect_input_error([&] { generate(t.model, {-1}, opts(1)); }, {"token id -1"});
  // 4 prompt tokens + 5 steps feed 8 positions (the last token is not fed): fits.
  EXPECT_EQ(generate(t.model, kPrompt, opts(5)).tokens.size(), 5u);
  expect_input_error([&] { generate(t.model, kPrompt, opts(6)); },
                     {"9 positions exceed max_position_embeddings 8", "config.json"});
  expect_input_error([&] { generate(t.model, kPrompt, opts(2, true, {1})); }, {"1 forced tokens", "2 steps"});
  expect_input_error([&] { generate(t.model, kPrompt, opts(1, true, {9999})); }, {"token id 9999"});
}

TEST(RefErrors, TinyModelOptions) {
  TinyModelOptions o;
  o.heads = 5;
  expect_input_error([&] { tiny_model_config(o); }, {"--heads", "5 does not divide --dim 64"});
  o = {};
  o.kv_heads = 3;
  expect_input_error([&] { tiny_model_config(o); }, {"--kv-heads", "3 does not divide --heads 4"});
  o = family(Architecture::GPT2);
  o.kv_heads = 2;
  expect_input_error([&] { tiny_model_config(o); }, {"--kv-heads", "must equal --heads"});
  o = family(Architecture::Mixtral);
  o.experts_per_token = 5;
  expect_input_error([&] { tiny_model_config(o); }, {"--top-k"});
  o = {};
  o.vocab = 1 << 20;
  o.hidden = 1024;
  o.heads = 8;
  expect_input_error([&] { tiny_model_config(o); }, {"parameters", "limited to 100000000"});
  o = family(Architecture::Qwen2);
  o.llama3_rope = true;
  expect_input_error([&] { tiny_model_config(o); }, {"--llama3-rope", "llama only"});
}

}  // namespace
}  // namespace tessera::ref
