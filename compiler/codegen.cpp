#include "compiler/codegen.h"

#include <algorithm>
#include <stdexcept>

#include "common/numerics/fp.h"
#include "common/util/error.h"

namespace tessera::compiler {

using isa::Instr;
using isa::Opcode;
using isa::Space;

uint64_t Arena::take(uint64_t bytes, uint64_t align, const std::string& what) {
  top = (top + align - 1) / align * align;
  const uint64_t a = top;
  if (a + bytes > limit)
    throw InputError("code generation: " + what + " needs " + std::to_string(bytes) + " bytes of " + space + " at " +
                     std::to_string(a) + ", beyond its " + std::to_string(limit) + " bytes");
  top = a + bytes;
  high = std::max(high, top);
  return a;
}

// ---- weight stream -------------------------------------------------------------------

void WeightStream::load(CoreStream& cs, const Hw& hw, size_t i) {
  const WeightChunk& c = chunks_[i];
  const uint64_t dst = ring_base_ + (i % slots_) * slot_;
  cs.emit(Codegen::dma({.load = true,
                        .unit = int(i % hw.dmas),
                        .dst = {Space::l1, dst},
                        .src = {Space::hbm, c.hbm},
                        .len = c.bytes,
                        .pred_addr = c.pred_addr,
                        .pred_words = c.pred_words}));
}

uint64_t WeightStream::next(CoreStream& cs, const Hw& hw) {
  if (next_ >= chunks_.size()) throw std::logic_error("weight stream: read past its end");
  const size_t i = next_++;
  if (!loadable(i)) throw std::logic_error("weight stream: a gated chunk read before its release");
  const size_t end = std::max(i + 1, std::min(i + slots_, limit_));
  while (loadable(loaded_) && loaded_ < end) load(cs, hw, loaded_++);
  return ring_base_ + (i % slots_) * slot_;
}

void WeightStream::prefetch(CoreStream& cs, const Hw& hw) {
  // The slot of the chunk read last stays untouched: its matmuls may still be running.
  const size_t free = slots_ - (next_ || warm_ ? 1 : 0);
  const size_t end = std::min(next_ + free, limit_);
  while (loadable(loaded_) && loaded_ < end) load(cs, hw, loaded_++);
}

void WeightStream::resume(CoreStream& cs, const Hw& hw) {
  const size_t end = std::min(next_ + slots_, limit_);
  while (loadable(loaded_) && loaded_ < end) load(cs, hw, loaded_++);
}

// ---- instruction builders --------------------------------------------------------------

Instr Codegen::dma(const Dma& d) {
  Instr in;
  in.op = d.load ? Opcode::load : Opcode::store;
  in.unit = uint8_t(d.unit);
  in.dst_space = uint64_t(d.dst.space);
  in.src_space = uint64_t(d.src.space);
  in.dst_addr = d.dst.addr;
  in.src_addr = d.src.addr;
  in.len = d.len;
  in.n1 = d.n1;
  in.n2 = d.n2;
  in.dst_stride1 = d.n1 > 1 ? d.dst_stride1 : 0;
  in.src_stride1 = d.n1 > 1 ? d.src_stride1 : 0;
  in.dst_stride2 = d.n2 > 1 ? d.dst_stride2 : 0;
  in.src_stride2 = d.n2 > 1 ? d.src_stride2 : 0;
  in.acc_engine = (d.dst.space == Space::acc || d.src.space == Space::acc) ? d.acc_engine : 0;
  in.pred_words = d.pred_words;
  in.pred_addr = d.pred_words ? d.pred_addr : 0;
  return in;
}

Instr Codegen::vec(Opcode op, uint64_t rows, uint64_t cols) {
  Instr in;
  in.op = op;
  in.unit = uint8_t(isa::Unit::vec);
  in.rows = rows;
  in.cols = cols;
  return in;
}

void Codegen::operand(Instr& in, int which, Space space, uint64_t addr, uint64_t stride, isa::DType type,
                      uint32_t acc_engine) {
  switch (which) {
    case 0:
      in.dst_space = uint64_t(space);
      in.dst_addr = addr;
      in.dst_stride = stride;
      in.dst_type = uint64_t(type);
      break;
    case 1:
      in.src1_space = uint64_t(space);
      in.src1_addr = addr;
      in.src1_stride = stride;
      in.src1_type = uint64_t(type);
      break;
    default:
      in.src2_space = uint64_t(space);
      in.src2_addr = addr;
      in.src2_stride = stride;
      in.src2_type = uint64_t(type);
      break;
  }
  if (space == Space::acc) in.acc_engine = acc_engine;
}

// ---- driver ---------------------------------------------------------------------------------

Codegen::Codegen(const Graph& graph, const Hw& h, const CompileOptions& o, Compiled& c)
    : g(graph), hw(h), opt(o), out(c) {
  group_chips = g.tp;
  // A pipelined whole step has code for every stage; a segment, for the first stage's group.
  const uint32_t chips = opt.segment.kind == Segment::Whole ? g.tp * g.pp : g.tp;
  for (uint32_t chip = 0; chip < chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      streams.emplace_back(chip, core, hw.queue_depth, hw.token_depth);
      wstreams.emplace_back();
      Arena a;
      a.base = a.top = g.ring_slot * g.ring_slots;
      if (g.model.is_moe()) {  // the used words live through the layer's expert phases
        moe_used = a.base;
        a.base = a.top = a.base + (g.model.num_experts * 4 + 63) / 64 * 64;
      }
      a.limit = hw.l1_bytes;
      a.space = "l1";
      l1.push_back(a);
      std::vector<Arena> accs(hw.engines);
      for (Arena& x : accs) {
        x.limit = hw.acc_bytes;
        x.space = "accumulator";
      }
      acc.push_back(accs);
    }
  }
  // Above the activations' L2, while it has room.
  const uint64_t bytes = (g.model.norm == hf::NormKind::LayerNorm ? 2 : 1) * g.model.hidden_size * 4;
  uint64_t top = (g.l2_used + 255) / 256 * 256;
  for (const Op& op : g.ops)
    if (op.per_layer && op.kind == OpKind::Norm && top + bytes <= hw.l2_bytes) {
      norm_l2[&op] = top;
      top += (bytes + 255) / 256 * 256;
    }
}

const Tensor& Codegen::t(const std::string& name) const {
  const int i = g.find_tensor(name);
  if (i < 0) throw std::logic_error("codegen: no tensor " + name);
  return g.tensors[size_t(i)];
}

uint64_t Codegen::es(isa::DType d) const { return num::dtype_bytes(num::DType(d)); }

void Codegen::record_l1(uint32_t chip, uint32_t core, uint64_t a, uint64_t bytes, const std::string& what) {
  if (chip != 0 || core != 0) return;  // core 0 of chip 0 stands for the others in the map
  MemoryRegion r;
  r.chip = 0;
  r.core = 0;
  r.space = Space::l1;
  r.addr = a;
  r.bytes = bytes;
  r.what = what;
  r.live = "phase " + phase_name;
  out.memory.push_back(r);
}

void Codegen::end_phase(const std::string& name) {
  const uint32_t id = next_barrier++;
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      ws_of(chip, core).prefetch(cs(chip, core), hw);
      cs(chip, core).barrier(isa::Scope::chip, uint16_t(id & 0xffff));
      l1_of(chip, core).reset();
      for (Arena& a : acc[at(chip, core)]) a.reset();
    }
  }
  Compiled::PhaseInfo info;
  info.name = name;
  info.barrier_id = id;
  info.macs = phase_macs;
  out.phases.push_back(info);
  phase_macs = 0;
}

std::vector<const Op*> Codegen::ops_where(bool per_layer, bool head) const {
  std::vector<const Op*> v;
  bool after_layer = false;
  for (const Op& op : g.ops) {
    if (op.per_layer) after_layer = true;
    if (op.per_layer != per_layer) continue;
    if (!per_layer && (after_layer != head)) continue;
    v.push_back(&op);
  }
  return v;
}

void Codegen::begin_segment(const std::vector<const Op*>& linears) {
  for (uint32_t chip = 0; chip < group_chips; ++chip)
    for (uint32_t core = 0; core < hw.cores; ++core) ws_of(chip, core).reset(0, g.ring_slot, g.ring_slots);
  collect_weights(linears, false);
}

void Codegen::end_segment() {
  for (WeightStream& w : wstreams)
    if (!w.done()) throw std::logic_error("codegen: weight stream not consumed");
}

void Codegen::emit_segment_embed() {
  for (const Op* op : ops_where(false, false)) {
    phase_name = op->name;
    emit_embed(*op);
  }
}

std::vector<const Op*> Codegen::layer_linears() const {
  std::vector<const Op*> linears;
  for (const Op* op : ops_where(true, false))
    if (op->kind == OpKind::Linear) linears.push_back(op);
  return linears;
}

uint32_t Codegen::deferred() const { return g.tokens == 1 ? 1 : 0; }

uint32_t Codegen::keep_after(const std::vector<const Op*>& ops, size_t i) const {
  // The next layer's first op follows the last one.
  const Op* after = i + 1 < ops.size() ? ops[i + 1] : layer + 1 < g.model.num_layers ? ops.front() : nullptr;
  if (!after) return 0;
  // Decode attention streams little beside its KV pages and is a chain of latencies: one
  // chunk it loads behind its pages. A norm (one row on one core) loads none: a chunk
  // outlasted it and its barrier waited (Llama-3-8B batch 1 layer 40,478 against 40,409
  // cycles). Two slots for attention measured 40,762.
  return deferred() + (deferred() && after->kind == OpKind::Attention ? 1 : 0);
}

void Codegen::bound_phase(const Op* op, uint32_t keep) {
  for (uint32_t chip = 0; chip < group_chips; ++chip)
    for (uint32_t core = 0; core < hw.cores; ++core)
      ws_of(chip, core).bound(op ? linear_chunks(*this, *op, core).size() : 0, keep);
}

bool Codegen::folds_into(const Op& norm, const Op* next, int add_input) const {
  // A decode norm is one row on one core while the other cores idle at its barrier, and so
  // does HBM: the matmul phase after it had the ring's weights but not its input row
  // (Llama-3-8B batch 1: ~305 cycles per norm). Every core of the matmul normalises the
  // rows it reads instead; each loads the gain (16 KiB for Llama-3-8B) where one did.
  // The one row of batch 1 is what was measured; with more rows every core would
  // normalise all of them, where the phase divides them among the cores.
  constexpr uint64_t kFoldRows = 1;
  if (!deferred() || g.rows() > kFoldRows || add_input >= 0 || !norm_l2.count(&norm)) return false;
  if (!next || next->kind != OpKind::Linear || norm.outputs.size() != 1 || norm.row_scale >= 0) return false;
  const int out = norm.outputs[0];
  if (next->inputs.empty() || next->inputs[0] != out || next->plan.dataflow == isa::Dataflow::os) return false;
  for (const Op& o : g.ops)
    if (&o != next && std::find(o.inputs.begin(), o.inputs.end(), out) != o.inputs.end()) return false;
  // Every core must hold its input rows whole (emit_linear's resident A): the norm writes them.
  const Arena& a = l1[0];
  const uint64_t ea = es(t(out).dtype);
  for (uint32_t core = 0; core < hw.cores; ++core) {
    const CoreMatmulWork w = core_work(next->plan, core, hw.engines);
    if (w.active && (w.passes.front().rows != w.rows || w.rows * next->plan.K * ea > (a.limit - a.base) / 3))
      return false;
  }
  return true;
}

const Op* Codegen::norm_to_stage(const std::vector<const Op*>& ops, size_t i) {
  const bool last = i + 1 == ops.size();
  const size_t j = last ? 0 : i + 1;
  const uint64_t l = last ? layer + 1 : layer;
  // The next layer's norm only on this stage's chips (Graph::local_layer).
  if (ops[j]->kind != OpKind::Norm || l >= g.model.num_layers || (last && (g.local_layer(l) == 0 || cold)))
    return nullptr;
  if (!folds_into(*ops[j], j + 1 < ops.size() ? ops[j + 1] : nullptr, -1)) return nullptr;
  staging_layer = l;
  return ops[j];
}

void Codegen::emit_layer_body() {
  int pending_add = -1;  // all-reduced partial sums to add into x before the next norm
  const std::vector<const Op*> ops = ops_where(true, false);
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op* op = ops[i];
    phase_name = op->name;
    switch (op->kind) {
      case OpKind::Norm:
        if (staged == op) {
          staged = nullptr;
          folded_norm = op;
          break;
        }
        bound_phase(nullptr, deferred());
        emit_norm(*op, pending_add, true);
        pending_add = -1;
        break;
      case OpKind::Linear:
        bound_phase(op, keep_after(ops, i));
        staging = norm_to_stage(ops, i);
        emit_linear(*op);
        // One chip's sums with no all-reduce after them (fusion.cpp, row_parallel).
        if (op->epilogue == Epilogue::Partial && g.tp == 1) pending_add = op->outputs[0];
        staged = staging;
        staging = nullptr;
        folded_norm = nullptr;
        break;
      case OpKind::Attention: {
        // A decode attention that reads fewer KV bytes than the cores' rings hold keeps HBM
        // about half busy (a chain of page-load latencies): it loads every free slot, with
        // chunks of o, whose input is ready at its barrier (Llama-3-8B batch 1 layer 40,135
        // -> 39,980 cycles, burst model 41,752 -> 41,358; Llama-3-70B 145,593 -> 145,504). A
        // longer one keeps the slots free (Llama-3-70B batch 64: 207,877 against 208,131). So
        // does a tensor-parallel one: Llama-3-70B batch 1 over 8 chips measured 41,202 -> 40,850
        // cycles under the bandwidth DRAM model but 41,867 -> 41,987 under the burst model.
        const uint64_t kv = g.batch * g.kv_heads * g.pages_per_seq * g.page_bytes;
        const bool fill = g.tp == 1 && kv < uint64_t(hw.cores) * g.ring_slots * g.ring_slot;
        bound_phase(nullptr, fill ? 0 : deferred());
        emit_attention(*op);
        break;
      }
      case OpKind::AllReduce:
        emit_all_reduce(*op);
        pending_add = op->inputs[0];
        break;
      case OpKind::Quantize:
        emit_quantize(*op);
        break;
      default:
        throw std::logic_error("codegen: unexpected layer op " + op->name);
    }
  }
  if (pending_add >= 0) {
    phase_name = "mlp_residual";
    Op res;
    res.kind = OpKind::Residual;
    res.name = "mlp_residual";
    emit_norm(res, pending_add, false);
  }
}

void Codegen::emit_segment_layer(bool steady) {
  const std::vector<const Op*> linears = layer_linears();
  begin_segment(linears);
  cold = !steady;
  if (steady) {
    // The steady-state layer of a continuous weight stream (docs/compiler.md, "Weight
    // stream"): its first chunks are in the ring already, loaded by the previous layer (or
    // the embedding), and it loads the next layer's first chunks before its last barriers.
    // The previous layer's last matmul may have held slots free for this layer's first phase.
    const std::vector<const Op*> ops = layer_ops();
    size_t last = 0;
    for (size_t i = 0; i < ops.size(); ++i)
      if (ops[i]->kind == OpKind::Linear) last = i;
    const uint32_t held = keep_after(ops, last);
    for (WeightStream& w : wstreams) w.preloaded(w.carried(held));
    // ... and staged the gain of this layer's first norm (when it folds).
    if (last + 1 == ops.size() && ops.front()->kind == OpKind::Norm &&
        folds_into(*ops.front(), ops.size() > 1 ? ops[1] : nullptr, -1))
      staged = ops.front();
    if (layer + 1 < g.model.num_layers) {
      ++layer;
      collect_weights(linears, true);
      --layer;
    }
  }
  emit_layer_body();
  end_segment();
}

void Codegen::emit_segment_head() {
  const std::vector<const Op*> ops = ops_where(false, true);
  std::vector<const Op*> linears;
  for (const Op* op : ops)
    if (op->kind == OpKind::Linear) linears.push_back(op);
  begin_segment(linears);
  for (const Op* op : ops) {
    phase_name = op->name;
    if (op->kind == OpKind::Norm) {
      bound_phase(nullptr, deferred());
      emit_norm(*op, -1, true);
    } else if (op->kind == OpKind::Linear) {
      bound_phase(op, 0);
      emit_linear(*op);
    } else if (op->kind == OpKind::TopK) {
      emit_top1(*op);
    }
  }
  end_segment();
}

void Codegen::emit_pipeline() {
  // Stage s runs layers [s L/pp, (s+1) L/pp) on chips s tp .. s tp + tp - 1, with its own
  // weight stream; the residual stream x crosses each stage boundary over the links.
  const uint64_t per_stage = g.layers_on_chip();
  const std::vector<const Op*> linears = layer_linears();
  uint32_t handover_tag = 0;  // of the boundary before stage s
  for (uint32_t s = 0; s < g.pp; ++s) {
    stage_base = s * g.tp;
    begin_segment({});
    for (layer = s * per_stage; layer < (s + 1) * per_stage; ++layer) collect_weights(linears, false);
    if (s == 0) {
      layer = 0;
      emit_segment_embed();
    } else {
      emit_stage_handover(false, handover_tag);
    }
    for (layer = s * per_stage; layer < (s + 1) * per_stage; ++layer) emit_layer_body();
    layer = (s + 1) * per_stage - 1;
    if (s + 1 < g.pp) {
      handover_tag = next_tag;
      next_tag += hw.cores;
      emit_stage_handover(true, handover_tag);
    }
    end_segment();
  }
  layer = 0;
  emit_segment_head();
  stage_base = 0;
}

std::vector<isa::TextSection> Codegen::run() {
  switch (opt.segment.kind) {
    case Segment::Embed:
      begin_segment({});
      emit_segment_embed();
      end_segment();
      break;
    case Segment::Layer:
      layer = opt.segment.layer;
      emit_segment_layer(opt.segment.steady);
      break;
    case Segment::Head:
      emit_segment_head();
      break;
    case Segment::Whole: {
      if (g.pp > 1) {
        emit_pipeline();
        break;
      }
      // One weight stream from the embedding through the last layer, so every barrier
      // (the embedding's and each layer's last ones included) prefetches what follows.
      begin_segment({});
      const std::vector<const Op*> linears = layer_linears();
      for (layer = 0; layer < g.model.num_layers; ++layer) collect_weights(linears, false);
      layer = 0;
      emit_segment_embed();
      for (layer = 0; layer < g.model.num_layers; ++layer) emit_layer_body();
      end_segment();
      layer = 0;
      emit_segment_head();
      break;
    }
      break;
  }
  std::vector<isa::TextSection> text;
  for (CoreStream& s : streams) {
    s.halt();
    isa::TextSection sec;
    sec.chip = s.chip();
    sec.core = s.core();
    sec.code = s.take();
    text.push_back(std::move(sec));
  }
  return text;
}

}  // namespace tessera::compiler
