#include "compiler/ir.h"

#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "common/numerics/fp.h"
#include "common/util/units.h"

namespace tessera::compiler {

std::string_view tensor_kind_name(TensorKind k) {
  switch (k) {
    case TensorKind::Weight: return "weight";
    case TensorKind::Bias: return "bias";
    case TensorKind::Scale: return "scale";
    case TensorKind::Activation: return "activation";
    case TensorKind::KVCache: return "kv-cache";
    case TensorKind::Constant: return "constant";
    case TensorKind::Logits: return "logits";
  }
  return "?";
}

std::string_view space_name(isa::Space s) {
  switch (s) {
    case isa::Space::hbm: return "hbm";
    case isa::Space::l2: return "l2";
    case isa::Space::l1: return "l1";
    case isa::Space::acc: return "acc";
  }
  return "?";
}

std::string_view op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::Embed: return "embed";
    case OpKind::Norm: return "norm";
    case OpKind::Linear: return "linear";
    case OpKind::Bias: return "bias";
    case OpKind::Rope: return "rope";
    case OpKind::KVWrite: return "kv_write";
    case OpKind::Attention: return "attention";
    case OpKind::Act: return "act";
    case OpKind::Router: return "router";
    case OpKind::Residual: return "residual";
    case OpKind::AllReduce: return "all_reduce";
    case OpKind::TopK: return "top1";
    case OpKind::Quantize: return "quantize";
  }
  return "?";
}

std::string_view epilogue_name(Epilogue e) {
  switch (e) {
    case Epilogue::None: return "none";
    case Epilogue::QKV: return "bias+rope+kv_write";
    case Epilogue::SwiGLU: return "silu(gate)*up";
    case Epilogue::GeluUp: return "bias+gelu_new";
    case Epilogue::MoEUp: return "silu(gate)*up*routing_weight";
    case Epilogue::Router: return "softmax+top_k+normalise";
    case Epilogue::Residual: return "bias+residual";
    case Epilogue::Partial: return "fp32 sums (added into x later)";
    case Epilogue::Logits: return "fp32 logits";
  }
  return "?";
}

std::string_view split_name(EngineSplit s) {
  switch (s) {
    case EngineSplit::M: return "rows";
    case EngineSplit::N: return "columns";
    case EngineSplit::K: return "reduction";
  }
  return "?";
}

int Graph::add_tensor(Tensor t) {
  if (find_tensor(t.name) >= 0) throw std::logic_error("graph: duplicate tensor " + t.name);
  tensors.push_back(std::move(t));
  return int(tensors.size()) - 1;
}

int Graph::find_tensor(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) return int(i);
  return -1;
}

const Tensor& Graph::tensor(const std::string& name) const {
  const int i = find_tensor(name);
  if (i < 0) throw std::logic_error("graph: no tensor " + name);
  return tensors[size_t(i)];
}

Tensor& Graph::tensor(const std::string& name) {
  return const_cast<Tensor&>(static_cast<const Graph&>(*this).tensor(name));
}

std::string shape_text(const std::vector<uint64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out + "]";
}

namespace {

std::string tensor_ref(const Graph& g, int i) {
  const Tensor& t = g.tensors[size_t(i)];
  return "%" + t.name + ":" + std::string(num::dtype_name(num::DType(t.dtype))) + shape_text(t.shape);
}

}  // namespace

std::string dump(const Graph& g) {
  std::ostringstream os;
  const hf::ModelConfig& m = g.model;
  os << "# tessera graph IR\n";
  os << "model " << hf::architecture_name(m.architecture) << " (" << m.source << "): hidden " << m.hidden_size
     << ", layers " << m.num_layers << ", heads " << m.num_heads << "/" << m.num_kv_heads << " x " << m.head_dim
     << ", ffn " << m.intermediate_size;
  if (m.is_moe()) {
    char routed[32];
    std::snprintf(routed, sizeof routed, "%.2f", g.routed_experts);
    os << " x " << m.num_experts << " experts (top-" << m.experts_per_token << ", " << routed
       << " distinct expected per layer and step)";
  }
  os << ", vocab " << m.vocab_size << "\n";
  os << "arch " << g.arch_name << "; phase " << phase_name(g.phase) << "; batch " << g.batch << " per replica x "
     << g.tokens << " token(s) at position " << g.position << "; KV cache holds " << g.max_context
     << " tokens per sequence\n";
  os << "precision: weights " << num::dtype_name(num::DType(g.precision.weights)) << ", activations "
     << num::dtype_name(num::DType(g.precision.activations)) << ", kv " << num::dtype_name(num::DType(g.precision.kv))
     << ", accumulation " << (g.precision.weights == isa::DType::int8 ? "int32" : "fp32") << "\n";
  os << "parallelism: tensor-parallel group of " << g.tp << " chip(s), " << g.replicas
     << " data-parallel replica(s); per chip: " << g.heads << " query heads, " << g.kv_heads << " KV heads, ffn "
     << g.inter << ", vocab slice " << g.vocab << "\n";
  os << "passes:";
  for (const std::string& p : g.passes_run) os << " " << p;
  os << "\n";
  if (g.ring_slots)
    os << "weight ring: " << g.ring_slots << " slots x " << g.ring_slot << " B at the bottom of every core's L1\n";
  if (g.layer_stride)
    os << "hbm: layer stride " << g.layer_stride << " B; KV pages of " << g.page_tokens << " tokens, "
       << g.pages_per_seq << " per (sequence, KV head), " << g.page_bytes << " B; used " << bytes_text(g.hbm_used)
       << " of hbm, " << bytes_text(g.l2_used) << " of l2\n";
  os << "\ntensors (per chip; per-layer tensors repeat for every layer, addresses of layer 0):\n";
  for (const Tensor& t : g.tensors) {
    char addr[64];
    std::snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)t.addr);
    os << "  %" << t.name << " : " << num::dtype_name(num::DType(t.dtype)) << shape_text(t.shape) << " "
       << tensor_kind_name(t.kind) << (t.per_layer ? " per-layer" : "");
    if (t.bytes) os << "  @" << space_name(t.tier) << ":" << addr << " " << bytes_text(t.bytes);  // placed
    if (t.pitch) os << ", rows " << t.pitch << " B apart";
    if (t.first_op >= 0) os << " live ops " << t.first_op << ".." << t.last_op;
    if (!t.note.empty()) os << "  (" << t.note << ")";
    os << "\n";
  }
  os << "\nops:\n";
  bool in_layer = false;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (op.per_layer && !in_layer) os << "  layer x " << m.num_layers << " {\n";
    if (!op.per_layer && in_layer) os << "  }\n";
    in_layer = op.per_layer;
    os << (in_layer ? "    " : "  ") << i << ": ";
    for (size_t k = 0; k < op.outputs.size(); ++k) os << (k ? ", " : "") << tensor_ref(g, op.outputs[k]);
    if (!op.outputs.empty()) os << " = ";
    os << op_kind_name(op.kind) << " " << op.name << "(";
    for (size_t k = 0; k < op.inputs.size(); ++k) os << (k ? ", " : "") << tensor_ref(g, op.inputs[k]);
    if (op.weight >= 0) os << (op.inputs.empty() ? "" : ", ") << tensor_ref(g, op.weight);
    if (op.bias >= 0) os << ", " << tensor_ref(g, op.bias);
    if (op.scale >= 0) os << ", " << tensor_ref(g, op.scale);
    os << ")";
    if (op.kind == OpKind::Linear && op.epilogue != Epilogue::None) os << " epilogue " << epilogue_name(op.epilogue);
    if (!op.fused.empty()) {
      os << " fused{";
      for (size_t k = 0; k < op.fused.size(); ++k) os << (k ? ", " : "") << op.fused[k];
      os << "}";
    }
    os << "\n";
    const std::string ind = in_layer ? "        " : "      ";
    if (op.macs) os << ind << "macs " << op.macs << "\n";
    if (op.kind == OpKind::Linear && op.plan.n_t) {
      const MatmulPlan& p = op.plan;
      os << ind << "tiling: M " << p.M << " K " << p.K << " N " << p.N << "; tiles " << p.m_t << "x" << p.k_t << "x"
         << p.n_t << " (m x k x n), " << p.group_blocks << " tile(s) per column group, " << p.groups
         << " groups; cores " << p.m_groups << " row group(s) x " << p.n_groups << " column group(s); engines split "
         << split_name(p.split) << "; " << p.groups_per_pass << " group(s) per pass; weight DMA runs of " << p.k_block
         << " k-tile(s)\n";
      os << ind << "cost: compute " << p.est_compute << ", hbm " << p.est_hbm << " (" << bytes_text(p.hbm_bytes)
         << "), l2 " << p.est_l2 << " (" << bytes_text(p.l2_bytes) << ") -> " << p.est_cycles << " cycles\n";
      if (!p.why.empty()) os << ind << "candidates: " << p.why << "\n";
      if (!p.chunk_offset.empty()) {
        os << ind << "weight stream: " << p.chunk_offset.size() - 1 << " chunk(s), " << p.chunk_offset.back()
           << " B packed";
        if (p.acc_reserve) os << "; " << p.acc_reserve << " B of each accumulator reserved";
        os << "\n";
      }
    }
    if (!op.note.empty()) os << ind << op.note << "\n";
  }
  if (in_layer) os << "  }\n";
  return os.str();
}

}  // namespace tessera::compiler
