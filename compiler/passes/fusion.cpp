// Fusion: the unfused graph becomes the kernels the back end has. Each matmul keeps its
// results in the accumulators and finishes them there (an epilogue on the vector engine)
// instead of writing FP32 tensors out and reading them back:
//   q, k, v (+ biases) + RoPE + KV-cache write  -> qkv       epilogue QKV
//   gate, up (+ biases) + silu(gate)*up          -> gate_up   epilogue SwiGLU
//   up (+ bias) + gelu_new (GPT-2)               -> up        epilogue GeluUp
//   router + softmax/top-k                       -> router    epilogue Router
//   expert gate, up + silu*up*routing weight     -> experts.gate_up  epilogue MoEUp
//   o / down (+ bias) + residual add             -> o / down  epilogue Residual
// In a tensor-parallel group, o and down produce FP32 partial sums instead (epilogue
// Partial) and an all_reduce op, which also does the residual add, follows them.
#include <map>
#include <set>
#include <stdexcept>

#include "compiler/passes/passes.h"

namespace tessera::compiler {

namespace {

struct Fuser {
  Graph& g;
  std::map<std::string, Op> old;  // unfused ops by name
  std::vector<Op> out;

  Op take(const std::string& name) {
    auto it = old.find(name);
    if (it == old.end()) throw std::logic_error("fusion: no op " + name);
    return it->second;
  }
  bool has(const std::string& name) const { return old.count(name) > 0; }
  int t(const std::string& name) { return g.find_tensor(name); }

  // A weight (or bias, scale) made of the column blocks of `parts` side by side.
  int concat(const std::string& name, const std::vector<int>& parts, TensorKind kind) {
    if (parts.empty() || parts[0] < 0) return -1;
    Tensor c = g.tensors[size_t(parts[0])];
    c.name = name;
    uint64_t cols = 0;
    for (int p : parts) cols += g.tensors[size_t(p)].shape.back();
    c.shape.back() = cols;
    c.kind = kind;
    return g.add_tensor(std::move(c));
  }

  // A Linear op reading `in` with the given weight/bias/scale.
  Op linear(const std::string& name, std::vector<int> in, std::vector<int> outputs, int w, int b, int s, Epilogue e,
            std::vector<std::string> fused, bool per_layer, uint64_t macs) {
    Op op;
    op.kind = OpKind::Linear;
    op.name = name;
    op.inputs = std::move(in);
    op.outputs = std::move(outputs);
    op.weight = w;
    op.bias = b;
    op.scale = s;
    op.epilogue = e;
    op.fused = std::move(fused);
    op.per_layer = per_layer;
    op.macs = macs;
    return op;
  }

  // o / down with their residual add, or partial sums and an all_reduce. With add_later
  // (one chip), the sums are written out and the norm that follows adds them into x.
  void row_parallel(const std::string& name, const std::string& residual, const std::string& partial_out,
                    bool add_later = false) {
    Op l = take(name);
    std::vector<std::string> fused;
    if (has(name + ".bias")) fused.push_back(name + ".bias");
    if (g.tp == 1 && !add_later) {
      fused.push_back(residual);
      l.epilogue = Epilogue::Residual;
      l.outputs = {t("x")};
      l.inputs.push_back(t("x"));
    } else {
      l.epilogue = Epilogue::Partial;
      l.outputs = {t(partial_out)};
    }
    l.bias = has(name + ".bias") ? old[name + ".bias"].bias : -1;
    l.fused = fused;
    const std::string note = l.note;
    out.push_back(l);
    if (g.tp > 1) {
      Op ar;
      ar.kind = OpKind::AllReduce;
      ar.name = name + "_all_reduce";
      ar.inputs = {t(partial_out), t("x")};
      ar.outputs = {t("x")};
      ar.per_layer = true;
      ar.fused = {residual};
      ar.note = "sum of " + std::to_string(g.tp) + " chips' partial sums, then x += sum";
      out.push_back(ar);
    }
  }
};

}  // namespace

void run_fusion(Graph& g) {
  Fuser f{g, {}, {}};
  for (const Op& op : g.ops) f.old[op.name] = op;
  const hf::ModelConfig& m = g.model;
  const bool gpt2 = m.architecture == hf::Architecture::GPT2;

  f.out.push_back(f.take("embed"));
  f.out.push_back(f.take("attn_norm"));
  {
    // qkv: columns [q heads | k heads | v heads] of this chip.
    const Op q = f.take("q"), k = f.take("k"), v = f.take("v");
    const int w = f.concat("layer.qkv.w", {q.weight, k.weight, v.weight}, TensorKind::Weight);
    int b = -1;
    std::vector<std::string> fused = {"q", "k", "v"};
    if (f.has("q.bias")) {
      b = f.concat("layer.qkv.b", {f.old["q.bias"].bias, f.old["k.bias"].bias, f.old["v.bias"].bias}, TensorKind::Bias);
      for (const char* n : {"q.bias", "k.bias", "v.bias"}) fused.push_back(n);
    }
    const int s = q.scale >= 0 ? f.concat("layer.qkv.scale", {q.scale, k.scale, v.scale}, TensorKind::Scale) : -1;
    if (f.has("rope")) fused.push_back("rope");
    fused.push_back("kv_write");
    std::vector<int> in = {f.t("xn")};
    if (f.t("rope.table") >= 0) in.push_back(f.t("rope.table"));
    std::vector<int> outs = {f.t("q"), f.t("layer.k_cache"), f.t("layer.v_cache")};
    f.out.push_back(f.linear("qkv", in, outs, w, b, s, Epilogue::QKV, fused, true, q.macs + k.macs + v.macs));
  }
  f.out.push_back(f.take("attention"));
  // Prefill on one chip: x (FP32, every token) is too large for L2 next to the layer's
  // activations, while o's FP32 sums, live from o to mlp_norm only, fit. o then writes its sums
  // to L2 and mlp_norm, which reads x anyway, adds them: x crosses HBM three times instead of
  // four, and o's last pass no longer ends on a read and a write of x (Llama-3-70B: o's
  // residual rows were 14,000 cycles after its last matmul).
  const bool o_sums = g.tokens > 1 || g.tp > 1;
  f.row_parallel("o", "attn_residual", "attn_out", g.tokens > 1);
  {
    // The norm that adds o's sums into x reads them: their live range reaches it.
    Op n = f.take("mlp_norm");
    if (o_sums) n.inputs.push_back(f.t("attn_out"));
    f.out.push_back(n);
  }
  if (m.is_moe()) {
    Op r = f.take("router");
    r.epilogue = Epilogue::Router;
    r.outputs = {f.t("routing")};
    r.fused = {"route"};
    f.out.push_back(r);
    const Op gt = f.take("experts.gate"), up = f.take("experts.up");
    const int w = f.concat("layer.experts.gate_up.w", {gt.weight, up.weight}, TensorKind::Weight);
    const int s =
        gt.scale >= 0 ? f.concat("layer.experts.gate_up.scale", {gt.scale, up.scale}, TensorKind::Scale) : -1;
    f.out.push_back(f.linear("experts.gate_up", {f.t("xn2"), f.t("routing")}, {f.t("h")}, w, -1, s, Epilogue::MoEUp,
                             {"experts.gate", "experts.up", "silu_mul_route"}, true, gt.macs + up.macs));
    f.row_parallel("experts.down", "mlp_residual", "mlp_out");
  } else if (gpt2) {
    Op up = f.take("up");
    up.epilogue = Epilogue::GeluUp;
    up.bias = f.has("up.bias") ? f.old["up.bias"].bias : -1;
    up.outputs = {f.t("h")};
    up.fused = {"up.bias", "gelu_new"};
    f.out.push_back(up);
    f.row_parallel("down", "mlp_residual", "mlp_out");
  } else {
    const Op gt = f.take("gate"), up = f.take("up");
    const int w = f.concat("layer.gate_up.w", {gt.weight, up.weight}, TensorKind::Weight);
    int b = -1;
    std::vector<std::string> fused = {"gate", "up"};
    if (f.has("gate.bias")) {
      b = f.concat("layer.gate_up.b", {f.old["gate.bias"].bias, f.old["up.bias"].bias}, TensorKind::Bias);
      fused.push_back("gate.bias");
      fused.push_back("up.bias");
    }
    fused.push_back("silu_mul");
    const int s = gt.scale >= 0 ? f.concat("layer.gate_up.scale", {gt.scale, up.scale}, TensorKind::Scale) : -1;
    f.out.push_back(f.linear("gate_up", {f.t("xn2")}, {f.t("h")}, w, b, s, Epilogue::SwiGLU, fused, true,
                             gt.macs + up.macs));
    f.row_parallel("down", "mlp_residual", "mlp_out");
  }
  f.out.push_back(f.take("final_norm"));
  Op head = f.take("lm_head");
  head.epilogue = Epilogue::Logits;
  f.out.push_back(head);
  f.out.push_back(f.take("top1"));

  // Drop the tensors no op uses any more, keeping the order of the rest.
  std::set<int> used;
  for (const Op& op : f.out) {
    for (int i : op.inputs) used.insert(i);
    for (int i : op.outputs) used.insert(i);
    for (int i : {op.weight, op.bias, op.scale})
      if (i >= 0) used.insert(i);
  }
  std::vector<int> remap(g.tensors.size(), -1);
  std::vector<Tensor> kept;
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    if (!used.count(int(i))) continue;
    remap[i] = int(kept.size());
    kept.push_back(g.tensors[i]);
  }
  auto fix = [&](int& i) {
    if (i >= 0) i = remap[size_t(i)];
  };
  for (Op& op : f.out) {
    for (int& i : op.inputs) fix(i);
    for (int& i : op.outputs) fix(i);
    fix(op.weight);
    fix(op.bias);
    fix(op.scale);
  }
  g.tensors = std::move(kept);
  g.ops = std::move(f.out);
  add_activation_row_scales(g);
  g.passes_run.push_back("fusion");
}

}  // namespace tessera::compiler
