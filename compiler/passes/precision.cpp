// Precision policy: the element type of every tensor. Matrix inputs (normalised
// activations, attention operands, weights, KV cache) take the policy's formats; the
// residual stream, matmul results, biases, norm gains, scales and logits stay FP32; the
// embedding tables are BF16 (a gather, not a matmul input). FP8 and INT8 weights are
// stored with one FP32 scale per output channel (max |w| of the column / largest finite
// value of the format), applied to the FP32 sums in the epilogue. INT8 activations are
// quantised per row (per token) on the vector engine with a dynamic scale max|row| / 127,
// applied to the INT32 sums in the epilogue; attention then runs in the KV cache's format
// (q is stored in it), so an INT8 policy needs a floating-point KV format on the array.
#include <map>
#include <stdexcept>

#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "compiler/passes/passes.h"

namespace tessera::compiler {

namespace {

bool scaled(isa::DType t) { return t != isa::DType::bf16; }

}  // namespace

void run_precision(Graph& g, const Hw& hw, const Precision& p) {
  auto need = [&](isa::DType t, const char* what) {
    if (!hw.supports(t))
      throw InputError(std::string("precision: ") + what + " format " +
                       std::string(num::dtype_name(num::DType(t))) + " is not in matrix.precisions of " + hw.name);
  };
  need(p.weights, "weight");
  need(p.activations, "activation");
  if ((p.weights == isa::DType::int8) != (p.activations == isa::DType::int8))
    throw InputError("precision: int8 multiplies only with int8 (spec/isa.yaml matmul_types); use int8 for both "
                     "weights and activations");
  if (p.kv == isa::DType::int8 && p.activations != isa::DType::int8)
    throw InputError("precision: an int8 KV cache needs int8 activations (q K^T and P V multiply int8 with int8); "
                     "the KV cache is otherwise stored in bf16 or fp8");
  if (p.activations == isa::DType::int8 && !hw.supports(p.kv))
    throw InputError("precision: with int8 activations, attention (q K^T and P V) runs in the KV cache format " +
                     std::string(num::dtype_name(num::DType(p.kv))) + ", which is not in matrix.precisions of " +
                     hw.name + " (use kv=int8: K and V with a scale per token and head)");
  need(p.kv, "KV cache");
  if (p.activations == isa::DType::int8 && g.model.is_moe())
    throw InputError("precision: int8 activations are not implemented for mixture-of-experts models (the expert "
                     "rows would need a scale per token and expert)");
  g.precision = p;
  for (Tensor& t : g.tensors) {
    switch (t.kind) {
      case TensorKind::Weight:
        if (t.name == "embed.w" || t.name == "pos_embed.w") {
          t.dtype = isa::DType::bf16;
        } else if (t.shape.size() == 1) {
          t.dtype = isa::DType::fp32;  // norm gains
        } else if (t.name == "layer.router.w") {
          t.dtype = isa::DType::bf16;  // routing decisions are sensitive; the router is tiny
        } else {
          t.dtype = p.weights;
        }
        break;
      case TensorKind::Bias:
      case TensorKind::Scale:
      case TensorKind::Constant:
      case TensorKind::Logits:
        t.dtype = isa::DType::fp32;
        break;
      case TensorKind::KVCache:
        t.dtype = p.kv;
        break;
      case TensorKind::Activation:
        if (t.name == "q" && p.activations == isa::DType::int8) {
          t.dtype = p.kv;  // q K^T runs in the KV format
        } else if (t.name == "xn" || t.name == "xn2" || t.name == "xf" || t.name == "q" || t.name == "attn" ||
                   t.name == "h") {
          t.dtype = p.activations;
        } else {
          t.dtype = isa::DType::fp32;
        }
        break;
    }
  }
  // The MoE router reads its own BF16 copy of the normalised rows (a second output of
  // mlp_norm) when the activations are narrower: FP8 rounding of the router's input moves
  // near-tie router logits enough to change the top-k choice, and a changed choice replaces
  // a whole expert's output, not a rounding of it. The router is E columns of H, so the
  // extra bytes and MACs are negligible next to the experts.
  if (g.model.is_moe() && p.activations != isa::DType::bf16) {
    const int xn2 = g.find_tensor("xn2");
    if (xn2 < 0) throw std::logic_error("precision: MoE graph without xn2");
    Tensor r = g.tensors[size_t(xn2)];
    r.name = "xr";
    r.dtype = isa::DType::bf16;
    r.note = "router input: BF16 copy of the normalised rows";
    const int xr = g.add_tensor(std::move(r));
    for (Op& op : g.ops) {
      if (op.name == "mlp_norm") op.outputs.push_back(xr);
      if (op.name == "router") op.inputs[0] = xr;
    }
  }
  // Per-channel scales of FP8/INT8 weights.
  for (size_t i = 0; i < g.ops.size(); ++i) {
    Op& op = g.ops[i];
    if (op.kind != OpKind::Linear || op.weight < 0) continue;
    const Tensor w = g.tensors[size_t(op.weight)];
    if (!scaled(w.dtype)) continue;
    Tensor s;
    s.name = w.name.substr(0, w.name.size() - 2) + ".scale";
    s.kind = TensorKind::Scale;
    s.shape = {w.shape[1]};
    s.dtype = isa::DType::fp32;
    s.per_layer = w.per_layer;
    s.note = "per output channel: max|w| / max finite";
    g.ops[i].scale = g.add_tensor(std::move(s));
  }
  g.passes_run.push_back("precision");
}

void add_activation_row_scales(Graph& g) {
  if (g.precision.activations != isa::DType::int8) return;
  auto scale_of = [&](int t) {
    Tensor s = g.tensors[size_t(t)];
    s.name += ".row_scale";
    s.shape = {s.shape[0], 1};
    s.dtype = isa::DType::fp32;
    s.note = "per row (token): max|row| / 127";
    return g.add_tensor(std::move(s));
  };
  std::map<int, int> scale;     // INT8 tensor -> its row scales
  std::map<int, size_t> maker;  // tensor -> the op writing it
  std::vector<Op> out;
  for (Op op : g.ops) {
    if (op.kind == OpKind::Norm && g.tensors[size_t(op.outputs[0])].dtype == isa::DType::int8) {
      op.row_scale = scale[op.outputs[0]] = scale_of(op.outputs[0]);
    } else if (op.kind == OpKind::Linear && !op.inputs.empty() &&
               g.tensors[size_t(op.inputs[0])].dtype == isa::DType::int8) {
      const int in = op.inputs[0];
      if (!scale.count(in)) {
        // Written by an epilogue or attention, which see only part of a row: they write FP32
        // rows, and a quantize op makes the INT8 rows and their scales.
        auto it = maker.find(in);
        if (it == maker.end()) throw std::logic_error("precision: no op writes " + g.tensors[size_t(in)].name);
        Tensor f = g.tensors[size_t(in)];
        f.name += ".f32";
        f.dtype = isa::DType::fp32;
        f.note = "FP32 rows before per-token quantisation";
        const int fi = g.add_tensor(std::move(f));
        for (int& o : out[it->second].outputs)
          if (o == in) o = fi;
        Op q;
        q.kind = OpKind::Quantize;
        q.name = g.tensors[size_t(in)].name + "_quantize";
        q.per_layer = op.per_layer;
        q.inputs = {fi};
        q.outputs = {in};
        q.row_scale = scale[in] = scale_of(in);
        q.note = "INT8 rows and per-token scales on the vector engine";
        out.push_back(q);
      }
      op.row_scale = scale[in];
    }
    for (int o : op.outputs) maker[o] = out.size();
    out.push_back(std::move(op));
  }
  g.ops = std::move(out);
  // An INT8 q (INT8 KV cache): one scale per (token, query head), in the attention layout of q.
  const int q = g.find_tensor("q");
  if (q >= 0 && g.tensors[size_t(q)].dtype == isa::DType::int8) {
    Tensor s = g.tensors[size_t(q)];
    s.name = "q.row_scale";
    s.shape = {s.shape[0] * g.heads, 1};
    s.dtype = isa::DType::fp32;
    s.note = "per (token, query head): max|q| / 127";
    const int si = g.add_tensor(std::move(s));
    for (Op& op : g.ops) {
      if (op.name == "qkv") op.outputs.push_back(si);
      if (op.kind == OpKind::Attention) op.inputs.push_back(si);
    }
  }
}

}  // namespace tessera::compiler
