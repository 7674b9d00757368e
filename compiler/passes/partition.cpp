// Partitioning across chips. A tensor-parallel group of `tp` chips splits every layer as
// Megatron-LM does (docs/architecture.md §2.8): q/k/v and gate/up column-parallel by heads
// and FFN columns, o and down row-parallel (their partial sums are all-reduced), the LM
// head by vocabulary; norms, the router and the embedding are replicated. The system's
// remaining chips hold data-parallel replicas of the group, each with its share of the
// batch. The group size is the smallest that holds the weights and the KV cache, unless
// the user fixes it: the links then carry nothing, which is what throughput wants.
#include <cstdio>
#include <string>

#include "common/hf/model_tensors.h"
#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "common/util/units.h"
#include "compiler/passes/passes.h"

namespace tessera::compiler {

namespace {

// A huge --batch makes the KV estimate exceed uint64_t; the message then shows the largest count.
std::string size_text(double bytes) { return bytes_text(bytes < 1.8e19 ? uint64_t(bytes) : UINT64_MAX); }

uint64_t es(isa::DType t) { return num::dtype_bytes(num::DType(t)); }

}  // namespace

Parallelism choose_parallelism(const hf::ModelConfig& m, const Hw& hw, const CompileOptions& opt, const Precision& p) {
  const uint32_t chips = opt.chips ? opt.chips : hw.chips;
  if (chips > hw.chips)
    throw InputError("--chips: " + std::to_string(chips) + " exceeds system.chips = " + std::to_string(hw.chips) +
                     " of " + hw.name);
  if (chips == 0) throw InputError("--chips: expected at least 1");
  const uint32_t pp = opt.pp ? opt.pp : 1;
  if (m.num_layers % pp)
    throw InputError("pipeline stages pp=" + std::to_string(pp) + " do not divide the " +
                     std::to_string(m.num_layers) + " layers of " + m.source);
  const uint64_t max_context = opt.max_context ? opt.max_context : opt.context;
  // Bytes per chip at group size tp (weights, their scales, the KV cache). A pipeline stage
  // holds 1/pp of the layers; every chip is laid out with the embedding and the head (the
  // placement pass does so), which over-counts a middle stage by those two tensors.
  const uint64_t total_params = hf::parameter_count(m);
  const uint64_t embed_params = m.vocab_size * m.hidden_size +
                                (m.position == hf::PositionKind::Learned ? m.max_position_embeddings * m.hidden_size : 0);
  const uint64_t head_params = m.tie_word_embeddings ? m.vocab_size * m.hidden_size : 0;  // lm_head read from a copy
  const uint64_t untied_head = m.tie_word_embeddings ? 0 : m.vocab_size * m.hidden_size;
  auto fits = [&](uint32_t tp, std::string* why) {
    const uint32_t replicas = chips / (tp * pp);
    const uint64_t batch = opt.batch / replicas;
    // Layer parameters split over tp x pp chips; the untied head over tp (vocabulary slices).
    const double layer_params = double(total_params - embed_params - untied_head);
    const double sharded =
        pp == 1 ? double(total_params - embed_params) / tp : layer_params / tp / pp + double(untied_head) / tp;
    const double weights = sharded * double(es(p.weights)) + double(embed_params) * 2.0 +
                           double(head_params) / tp * double(es(p.weights));
    const double kv = 2.0 * double(m.num_layers / pp) * double(m.num_kv_heads / tp) * double(m.head_dim) *
                      double(max_context) * double(batch) * double(es(p.kv));
    const double cap = double(hw.hbm_bytes);
    if (weights + kv <= cap * 0.98) return true;  // 2 %: activations, scales, tables, page rounding
    if (why) {
      const std::string stages = pp > 1 ? ", " + std::to_string(pp) + " pipeline stages" : "";
      if (weights > cap * 0.98) {
        *why = "the model does not fit: " + size_text(weights) + " of weights per chip (" + std::to_string(tp) +
               "-chip tensor-parallel group" + stages + ", " +
               std::string(num::dtype_name(num::DType(p.weights))) + ") exceed the HBM of " + size_text(cap) +
               " per chip of " + hw.name;
      } else {
        *why = "the KV cache cannot hold " + std::to_string(batch) + " sequences x " + std::to_string(max_context) +
               " tokens: " + size_text(kv) + " per chip (" + std::to_string(tp) + "-chip group" + stages + ") on top of " +
               size_text(weights) +
               " of weights exceeds the HBM of " + size_text(cap) + " per chip of " + hw.name;
      }
    }
    return false;
  };
  auto divides = [&](uint32_t tp, std::string* why) {
    auto bad = [&](const std::string& what, uint64_t v) {
      if (why) *why = what + " " + std::to_string(v) + " is not divisible by a tensor-parallel group of " + std::to_string(tp);
      return false;
    };
    if (chips % (tp * pp)) {
      if (why)
        *why = "--chips " + std::to_string(chips) + " is not divisible by a tensor-parallel group of " +
               std::to_string(tp) + (pp > 1 ? " x " + std::to_string(pp) + " pipeline stages" : "");
      return false;
    }
    if (m.num_kv_heads % tp) return bad("num_key_value_heads", m.num_kv_heads);
    if (m.hidden_size % tp) return bad("hidden_size", m.hidden_size);
    if (m.intermediate_size % tp) return bad("intermediate_size", m.intermediate_size);
    if (m.vocab_size % tp) return bad("vocab_size", m.vocab_size);
    const uint32_t replicas = chips / (tp * pp);
    if (opt.batch % replicas) {
      if (why)
        *why = "--batch " + std::to_string(opt.batch) + " does not divide over " + std::to_string(replicas) +
               " data-parallel replicas (" + std::to_string(chips) + " chips / group of " + std::to_string(tp) +
               (pp > 1 ? " x " + std::to_string(pp) + " stages" : "") + ")";
      return false;
    }
    return true;
  };
  Parallelism out;
  if (opt.tp) {
    std::string why;
    if (!divides(opt.tp, &why) || !fits(opt.tp, &why)) throw InputError(why);
    out.tp = opt.tp;
  } else {
    std::string last_why;
    for (uint32_t tp = 1; tp * pp <= chips; ++tp) {
      std::string why;
      if (!divides(tp, &why)) {
        if (last_why.empty()) last_why = why;
        continue;
      }
      if (fits(tp, &why)) {
        out.tp = tp;
        break;
      }
      last_why = why;
    }
    if (!out.tp) throw InputError(last_why.empty() ? "--chips " + std::to_string(chips) + " cannot hold " +
                                                         std::to_string(pp) + " pipeline stages"
                                                   : last_why);
  }
  out.chips = chips;
  out.pp = pp;
  out.replicas = chips / (out.tp * pp);
  out.batch = opt.batch / out.replicas;
  return out;
}

void run_partition(Graph& g, const Hw&, const CompileOptions&) {
  const hf::ModelConfig& m = g.model;
  const uint64_t tp = g.tp;
  g.heads = m.num_heads / tp;
  g.kv_heads = m.num_kv_heads / tp;
  g.inter = m.intermediate_size / tp;
  g.vocab = m.vocab_size / tp;
  const uint64_t hd = m.head_dim, H = m.hidden_size;
  const uint64_t E = m.is_moe() ? m.num_experts : 1;
  auto set_cols = [&](const std::string& name, uint64_t cols) {
    const int i = g.find_tensor(name);
    if (i < 0) return;
    Tensor& t = g.tensors[size_t(i)];
    t.shape.back() = cols;
  };
  auto set_rows = [&](const std::string& name, uint64_t rows) {
    const int i = g.find_tensor(name);
    if (i >= 0) g.tensors[size_t(i)].shape[0] = rows;
  };
  for (const char* n : {"layer.q.w", "q", "layer.q.b", "layer.q.scale"}) set_cols(n, g.heads * hd);
  for (const char* n : {"layer.k.w", "k", "layer.k.b", "layer.k.scale", "layer.v.w", "v", "layer.v.b", "layer.v.scale"})
    set_cols(n, g.kv_heads * hd);
  set_cols("attn", g.heads * hd);
  set_rows("layer.o.w", g.heads * hd);
  for (const char* n : {"layer.gate.w", "gate", "layer.gate.b", "layer.gate.scale", "layer.up.w", "up", "layer.up.b",
                        "layer.up.scale"})
    set_cols(n, g.inter);
  for (const char* n : {"layer.experts.gate.w", "expert_gate", "layer.experts.gate.scale", "layer.experts.up.w",
                        "expert_up", "layer.experts.up.scale", "h"})
    set_cols(n, E * g.inter);
  set_rows("layer.down.w", g.inter);
  set_rows("layer.experts.down.w", E * g.inter);
  for (const char* n : {"lm_head.w", "logits", "lm_head.scale"}) set_cols(n, g.vocab);
  if (const int ti = g.find_tensor("top1"); ti >= 0)  // (value, index) per 32768-column run (emit_top1)
    g.tensors[size_t(ti)].shape = {g.batch, 2 * ((g.vocab + 32767) / 32768)};
  for (const char* n : {"layer.k_cache", "layer.v_cache"}) {
    const int i = g.find_tensor(n);
    if (i >= 0) g.tensors[size_t(i)].shape[1] = g.kv_heads;
  }
  for (Op& op : g.ops) {
    if (op.kind != OpKind::Linear) continue;
    const Tensor& w = g.tensors[size_t(op.weight)];
    op.macs = (op.name == "lm_head" ? g.batch : g.rows()) * w.shape[0] * w.shape[1];
    if (op.name == "o" || op.name == "down" || op.name == "experts.down")
      op.note = tp > 1 ? "row-parallel over " + std::to_string(tp) + " chips" : "";
    else if (op.name != "router")
      op.note = tp > 1 ? "column-parallel over " + std::to_string(tp) + " chips" : "";
  }
  (void)H;
  g.passes_run.push_back("partition");
}

}  // namespace tessera::compiler
