// The front end: a ModelConfig becomes the unfused graph of one forward step. Every
// operation of the reference Transformer (ref/transformer.cpp) appears once, with the
// model's full shapes; the passes then specialise it (precision, fusion, partition,
// tiling, placement). What the back end cannot lower is refused here, naming the option.
#include <cmath>
#include <string>

#include "common/util/error.h"
#include "compiler/ir.h"

namespace tessera::compiler {

namespace {

struct Builder {
  Graph& g;
  int tensor(const std::string& name, TensorKind kind, std::vector<uint64_t> shape, bool per_layer) {
    Tensor t;
    t.name = name;
    t.kind = kind;
    t.shape = std::move(shape);
    t.per_layer = per_layer;
    return g.add_tensor(std::move(t));
  }
  Op& op(OpKind kind, const std::string& name, std::vector<int> in, std::vector<int> out, bool per_layer) {
    Op o;
    o.kind = kind;
    o.name = name;
    o.inputs = std::move(in);
    o.outputs = std::move(out);
    o.per_layer = per_layer;
    g.ops.push_back(std::move(o));
    return g.ops.back();
  }
  // y = x W (+ b): a Linear, and a Bias op when the layer has one.
  int linear(const std::string& name, int x, uint64_t in, uint64_t out, bool bias, bool per_layer,
             const std::string& out_name) {
    const std::string p = per_layer ? "layer." : "";
    const int w = tensor(p + name + ".w", TensorKind::Weight, {in, out}, per_layer);
    const int y = tensor(out_name, TensorKind::Activation, {g.rows(), out}, per_layer);
    Op& l = op(OpKind::Linear, name, {x}, {y}, per_layer);
    l.weight = w;
    l.macs = g.rows() * in * out;
    if (bias) {
      const int b = tensor(p + name + ".b", TensorKind::Bias, {out}, per_layer);
      Op& bo = op(OpKind::Bias, name + ".bias", {y}, {y}, per_layer);
      bo.bias = b;
    }
    return y;
  }
};

}  // namespace

double uniform_routed_experts(uint64_t experts, uint64_t k, uint64_t rows) {
  // Expert e is missed by one token with probability 1 - k/E (k distinct of E, uniform),
  // by all rows independently with (1 - k/E)^rows.
  if (!experts) return 0;
  const double miss = 1.0 - double(k) / double(experts);
  return double(experts) * (1.0 - std::pow(miss, double(rows)));
}

Graph build_graph(const hf::ModelConfig& m, const config::ArchConfig& arch, const CompileOptions& opt) {
  if (opt.batch == 0) throw InputError("--batch: expected at least 1 sequence, got 0");
  if (opt.context == 0) throw InputError("--context: expected at least 1 token, got 0");
  const uint64_t max_context = opt.max_context ? opt.max_context : opt.context;
  if (max_context < opt.context)
    throw InputError("max context " + std::to_string(max_context) + " is below the context " +
                     std::to_string(opt.context) + " of this step");
  if (max_context > m.max_position_embeddings)
    throw InputError("--context: " + std::to_string(max_context) + " tokens exceed max_position_embeddings " +
                     std::to_string(m.max_position_embeddings) + " of " + m.source);
  if (max_context > 65535)
    throw InputError("--context: " + std::to_string(max_context) +
                     " tokens exceed 65535, the largest position vmask can express (spec/isa.yaml)");
  if (m.position == hf::PositionKind::Rope && m.head_dim % 2)
    throw InputError(m.source + ": head_dim " + std::to_string(m.head_dim) + " is odd; RoPE (vrope) needs an even head_dim");
  if (m.num_heads % m.num_kv_heads)
    throw InputError(m.source + ": num_attention_heads " + std::to_string(m.num_heads) +
                     " is not a multiple of num_key_value_heads " + std::to_string(m.num_kv_heads));
  if (opt.phase == Phase::Prefill && m.sliding_window && opt.context > *m.sliding_window)
    throw InputError("--context: a prefill of " + std::to_string(opt.context) + " tokens exceeds sliding_window " +
                     std::to_string(*m.sliding_window) + " of " + m.source +
                     "; the compiler masks sliding windows in decode only (supported: prompts up to the window)");
  if (m.is_moe() && m.experts_per_token > m.num_experts)
    throw InputError(m.source + ": num_experts_per_tok exceeds num_local_experts");
  if (m.is_moe() && (opt.routed_experts < 0 || opt.routed_experts > double(m.num_experts)))
    throw InputError("routed experts: expected between 0 and num_local_experts " + std::to_string(m.num_experts) +
                     " of " + m.source + ", got " + std::to_string(opt.routed_experts));

  Graph g;
  g.model = m;
  g.arch_name = arch.name;
  g.phase = opt.phase;
  g.batch = opt.batch;
  g.tokens = opt.phase == Phase::Prefill ? opt.context : 1;
  g.position = opt.phase == Phase::Prefill ? 0 : opt.context - 1;
  g.max_context = max_context;
  if (m.is_moe())
    g.routed_experts = opt.routed_experts > 0 ? opt.routed_experts
                                              : uniform_routed_experts(m.num_experts, m.experts_per_token, g.rows());
  Builder b{g};
  const uint64_t H = m.hidden_size, hd = m.head_dim, M = g.rows();
  const bool gpt2 = m.architecture == hf::Architecture::GPT2;
  const bool ln = m.norm == hf::NormKind::LayerNorm;

  // Embedding.
  const int embed = b.tensor("embed.w", TensorKind::Weight, {m.vocab_size, H}, false);
  std::vector<int> emb_in = {embed};
  if (m.position == hf::PositionKind::Learned)
    emb_in.push_back(b.tensor("pos_embed.w", TensorKind::Weight, {m.max_position_embeddings, H}, false));
  const int x = b.tensor("x", TensorKind::Activation, {M, H}, false);
  b.op(OpKind::Embed, "embed", emb_in, {x}, false).note = "token rows gathered by DMA (ids fixed per step)";
  const int rope = m.position == hf::PositionKind::Rope
                       ? b.tensor("rope.table", TensorKind::Constant, {max_context, hd}, false)
                       : -1;

  // The decoder layer template.
  auto norm = [&](const std::string& name, int in, const std::string& out) {
    std::vector<int> ins = {in, b.tensor("layer." + name + ".w", TensorKind::Weight, {H}, true)};
    if (ln) ins.push_back(b.tensor("layer." + name + ".b", TensorKind::Bias, {H}, true));
    const int y = b.tensor(out, TensorKind::Activation, {M, H}, true);
    b.op(OpKind::Norm, name, ins, {y}, true);
    return y;
  };
  const int xn = norm("attn_norm", x, "xn");
  const int q = b.linear("q", xn, H, m.q_dim(), m.qkv_bias, true, "q");
  const int k = b.linear("k", xn, H, m.kv_dim(), m.qkv_bias, true, "k");
  const int v = b.linear("v", xn, H, m.kv_dim(), m.qkv_bias, true, "v");
  if (rope >= 0) b.op(OpKind::Rope, "rope", {q, k, rope}, {q, k}, true);
  const int kc = b.tensor("layer.k_cache", TensorKind::KVCache, {g.batch, m.num_kv_heads, hd, max_context}, true);
  const int vc = b.tensor("layer.v_cache", TensorKind::KVCache, {g.batch, m.num_kv_heads, max_context, hd}, true);
  b.op(OpKind::KVWrite, "kv_write", {k, v}, {kc, vc}, true);
  const int a = b.tensor("attn", TensorKind::Activation, {M, m.q_dim()}, true);
  Op& att = b.op(OpKind::Attention, "attention", {q, kc, vc}, {a}, true);
  att.note = m.sliding_window ? "sliding window " + std::to_string(*m.sliding_window) : "causal";
  const int o = b.linear("o", a, m.q_dim(), H, m.o_bias, true, "attn_out");
  b.op(OpKind::Residual, "attn_residual", {x, o}, {x}, true);
  const int xn2 = norm("mlp_norm", x, "xn2");
  int y;
  if (m.is_moe()) {
    const uint64_t E = m.num_experts, I = m.intermediate_size;
    const int r = b.linear("router", xn2, H, E, false, true, "router_logits");
    const int w = b.tensor("routing", TensorKind::Activation, {M, E}, true);
    b.op(OpKind::Router, "route", {r}, {w}, true).note =
        "softmax, top-" + std::to_string(m.experts_per_token) + ", renormalised";
    // The experts side by side, as one matmul each for gate, up and down: each expert's
    // weight loads and matmul tiles are predicated on whether a row of the step chose the
    // expert (kernels_moe.cpp), so only routed experts' weights move and run.
    const int gate = b.linear("experts.gate", xn2, H, E * I, false, true, "expert_gate");
    const int up = b.linear("experts.up", xn2, H, E * I, false, true, "expert_up");
    const int h = b.tensor("h", TensorKind::Activation, {M, E * I}, true);
    b.op(OpKind::Act, "silu_mul_route", {gate, up, w}, {h}, true).note =
        "unselected experts weighted 0; their weight loads and tiles are predicated off";
    y = b.linear("experts.down", h, E * I, H, false, true, "mlp_out");
  } else {
    const uint64_t I = m.intermediate_size;
    const int up = b.linear("up", xn2, H, I, m.mlp_bias, true, "up");
    int h;
    if (gpt2) {
      h = b.tensor("h", TensorKind::Activation, {M, I}, true);
      b.op(OpKind::Act, "gelu_new", {up}, {h}, true);
    } else {
      const int gate = b.linear("gate", xn2, H, I, m.mlp_bias, true, "gate");
      h = b.tensor("h", TensorKind::Activation, {M, I}, true);
      b.op(OpKind::Act, "silu_mul", {gate, up}, {h}, true);
    }
    y = b.linear("down", h, I, H, m.mlp_bias, true, "mlp_out");
  }
  b.op(OpKind::Residual, "mlp_residual", {x, y}, {x}, true);

  // Head: only the last position of each sequence is needed for the next token.
  const int xf = b.tensor("xf", TensorKind::Activation, {g.batch, H}, false);
  std::vector<int> fin = {x, b.tensor("final_norm.w", TensorKind::Weight, {H}, false)};
  if (ln) fin.push_back(b.tensor("final_norm.b", TensorKind::Bias, {H}, false));
  b.op(OpKind::Norm, "final_norm", fin, {xf}, false).note = "last position of each sequence";
  const int logits = b.linear("lm_head", xf, H, m.vocab_size, false, false, "logits");
  g.tensors[size_t(logits)].kind = TensorKind::Logits;
  g.tensors[size_t(logits)].shape[0] = g.batch;
  g.ops.back().macs = g.batch * H * m.vocab_size;
  if (m.tie_word_embeddings) g.ops.back().note = "tied to embed.w";
  const int top = b.tensor("top1", TensorKind::Activation, {g.batch, 2}, false);
  b.op(OpKind::TopK, "top1", {logits}, {top}, false).note = "greedy: largest logit, lowest index on ties";
  (void)gpt2;
  g.passes_run.push_back("frontend");
  return g;
}

}  // namespace tessera::compiler
