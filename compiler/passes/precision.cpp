// Precision policy: the element type of every tensor. Matrix inputs (normalised
// activations, attention operands, weights, KV cache) take the policy's formats; the
// residual stream, matmul results, biases, norm gains, scales and logits stay FP32; the
// embedding tables are BF16 (a gather, not a matmul input). FP8 and INT8 weights are
// stored with one FP32 scale per output channel (max |w| of the column / largest finite
// value of the format), applied to the FP32 sums in the epilogue.
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
  need(p.kv, "KV cache");
  if ((p.weights == isa::DType::int8) != (p.activations == isa::DType::int8))
    throw InputError("precision: int8 multiplies only with int8 (spec/isa.yaml matmul_types); use int8 for both "
                     "weights and activations");
  if (p.weights == isa::DType::int8)
    throw InputError("precision: int8 needs per-token activation scales, which this compiler does not generate yet "
                     "(supported: bf16, fp8_e4m3, fp8_e5m2)");
  if (p.kv == isa::DType::int8) throw InputError("precision: the KV cache is stored in bf16 or fp8, not int8");
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
        if (t.name == "xn" || t.name == "xn2" || t.name == "xf" || t.name == "q" || t.name == "attn" || t.name == "h") {
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

}  // namespace tessera::compiler
