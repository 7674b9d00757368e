// The roofline inputs of a compiled segment (roofline.h).
#include "compiler/roofline.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/numerics/fp.h"

namespace tessera::compiler {

namespace {

// MACs of the matmuls the program executes (the embedding and head are one copy each).
uint64_t compiled_macs(const Graph& g, Segment::Kind k) {
  uint64_t macs = 0;
  for (const Op& op : g.ops) {
    const bool in = k == Segment::Whole || (k == Segment::Layer && op.per_layer) || (k == Segment::Head && !op.per_layer);
    const uint64_t copies = k == Segment::Whole && op.per_layer ? g.model.num_layers : 1;
    if (in) macs += op.macs * copies * g.tp;
  }
  return macs;
}

// Keys a query at position p sees, summed over this step's queries of one sequence.
uint64_t keys_seen(const Graph& g) {
  const hf::ModelConfig& m = g.model;
  uint64_t sum = 0;
  for (uint64_t t = 0; t < g.tokens; ++t) {
    const uint64_t seen = g.position + t + 1;
    sum += m.sliding_window ? std::min<uint64_t>(seen, *m.sliding_window) : seen;
  }
  return sum;
}

}  // namespace

RooflineInputs roofline_inputs(const Graph& g, Segment::Kind k) {
  const hf::ModelConfig& model = g.model;
  RooflineInputs out;
  out.macs_per_replica = compiled_macs(g, k);
  const uint64_t layers = k == Segment::Whole ? model.num_layers : 1;
  std::vector<char> counted(g.tensors.size(), 0);
  // Weights, biases and scales count once even when several ops read them (a tied head).
  auto bytes_once = [&](int ti) -> uint64_t {
    if (ti < 0 || counted[size_t(ti)]) return 0;
    counted[size_t(ti)] = 1;
    const Tensor& t = g.tensors[size_t(ti)];
    if (t.kind != TensorKind::Weight && t.kind != TensorKind::Bias && t.kind != TensorKind::Scale) return 0;
    return t.bytes;
  };
  const uint64_t hd = model.head_dim, kv_es = num::dtype_bytes(num::DType(g.precision.kv));
  const uint64_t keys = keys_seen(g);
  const uint64_t kv_seen = model.sliding_window ? std::min<uint64_t>(g.position + g.tokens, *model.sliding_window)
                                                : g.position + g.tokens;
  for (const Op& op : g.ops) {
    const bool in = k == Segment::Whole || (k == Segment::Layer && op.per_layer) ||
                    (k == Segment::Head && !op.per_layer && op.kind != OpKind::Embed) ||
                    (k == Segment::Embed && op.kind == OpKind::Embed);
    if (!in) continue;
    const uint64_t copies = op.per_layer ? layers : 1;
    uint64_t macs = 0, bytes = 0;
    if (op.kind == OpKind::Linear) {
      macs = op.macs;
      bytes = bytes_once(op.weight) + bytes_once(op.bias) + bytes_once(op.scale);
      if (model.is_moe() && op.name.find("expert") != std::string::npos) {
        // Each row runs its top-k experts; the step needs the weights of the distinct experts
        // its rows chose (and gate/up's scales of their columns; down's scales belong to its
        // output columns, which every expert shares).
        macs = macs * model.experts_per_token / model.num_experts;
        const double share = g.routed_experts / double(model.num_experts);
        const uint64_t w = g.tensors[size_t(op.weight)].bytes;
        const uint64_t sc = op.epilogue == Epilogue::MoEUp && op.scale >= 0 ? g.tensors[size_t(op.scale)].bytes : 0;
        bytes -= w + sc;
        bytes += uint64_t(std::llround(double(w + sc) * share));
      }
    } else if (op.kind == OpKind::Attention) {
      macs = 2 * g.batch * g.heads * hd * keys;
      // Reads every cached key and value once; the step's own are written once.
      bytes = g.batch * g.kv_heads * 2 * hd * kv_es * (kv_seen - std::min(kv_seen, g.tokens) + 2 * g.tokens);
    } else if (op.kind == OpKind::Embed) {
      for (int ti : op.inputs)
        if (g.tensors[size_t(ti)].kind == TensorKind::Weight)
          bytes += g.rows() * g.tensors[size_t(ti)].bytes / std::max<uint64_t>(1, g.tensors[size_t(ti)].shape[0]);
    } else {
      for (int ti : op.inputs) bytes += bytes_once(ti);
    }
    out.useful_macs_per_replica += macs * copies * g.tp;
    out.min_hbm_bytes_per_chip += bytes * copies;
  }
  return out;
}

}  // namespace tessera::compiler
