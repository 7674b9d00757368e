#pragma once
// The back end (internal to tessera_compiler): the placed, tiled graph becomes one
// instruction stream per core of every chip of a tensor-parallel group. A segment (the
// embedding, one decoder layer, the head) is a sequence of phases; every core of the
// group takes part in every phase and the phases are separated by chip barriers, because
// the next phase reads what other cores wrote. Inside a phase each core's work is
// software-pipelined and its cross-unit order is carried by tokens (emitter.h).
//
// Weights reach the cores through the weight ring: each core's weight tiles of a whole
// segment form one stream of contiguous HBM runs (chunks), loaded into ring slots in L1
// ahead of the matmuls that read them, across phase barriers (a chunk's slot is reused
// only after the matmuls of the chunk loaded S slots earlier have read it). Their DMA
// requests walk each chunk a quarter DRAM row at a time over every pseudo-channel, which
// keeps several bank groups of each pseudo-channel busy (docs/compiler.md, "Weight
// stream").
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/emitter.h"
#include "compiler/hw.h"
#include "compiler/ir.h"
#include "compiler/schedule.h"

namespace tessera::compiler {

// A bump allocator over one memory range; reset at every phase.
struct Arena {
  uint64_t base = 0, top = 0, limit = 0;
  uint64_t take(uint64_t bytes, uint64_t align, const std::string& what);
  void reset() { top = base; }
  uint64_t high = 0;  // high-water mark (memory map)
  std::string space;  // for messages
};

struct WeightChunk {
  uint64_t hbm = 0, bytes = 0;
  // A mixture-of-experts chunk loads only if one of its experts' used words (L1) is set
  // (kernels_moe.cpp); gate > 0 holds it back until release(gate): the words are written
  // when the step's routing is known.
  uint64_t pred_addr = 0;
  uint32_t pred_words = 0, gate = 0;
};

class WeightStream {
 public:
  void reset(uint64_t ring_base, uint64_t slot, uint32_t slots) {
    ring_base_ = ring_base;
    slot_ = slot;
    slots_ = slots;
    chunks_.clear();
    loaded_ = 0;
    next_ = 0;
    consumed_end_ = 0;
    warm_ = false;
    released_ = 0;
    limit_ = SIZE_MAX;
  }
  // A chunk this segment reads.
  void add(WeightChunk c) {
    chunks_.insert(chunks_.begin() + std::ptrdiff_t(consumed_end_), c);
    ++consumed_end_;
  }
  // A chunk of the next segment: loaded here when the ring has room (the prefetch across
  // the segment's end), read by the next segment.
  void add_tail(WeightChunk c) { chunks_.push_back(c); }
  // The segment starts with the first n chunks already in the ring, loaded by the
  // previous segment's tail (a steady-state layer).
  void preloaded(size_t n) {
    loaded_ = std::min(n, chunks_.size());
    warm_ = true;
  }
  // Chunks the previous segment of a continuous stream leaves in the ring: all slots but
  // the one its last chunk occupies (prefetch()) and the `held` ones it kept free (bound()).
  size_t carried(uint32_t held) const {
    size_t n = std::min<size_t>(slots_ > held + 1 ? slots_ - 1 - held : 0, consumed_end_);
    for (size_t i = 0; i < n; ++i)
      if (chunks_[i].gate) n = i;  // the previous segment stopped at a gated chunk
    return n;
  }
  // Gated chunks up to `gate` may load from now on (their predicate words are written).
  void release(uint32_t gate) { released_ = std::max(released_, gate); }
  size_t size() const { return consumed_end_; }
  // The L1 address of the next chunk in stream order; emits its load and the loads of the
  // following slots - 1 chunks (the prefetch) if not yet emitted.
  uint64_t next(CoreStream& cs, const Hw& hw);
  // Loads every chunk that fits in the ring ahead of the current position (before a
  // barrier, so the next phase's weights arrive while this one drains).
  void prefetch(CoreStream& cs, const Hw& hw);
  bool done() const { return next_ == consumed_end_; }
  // For a phase that reads the next `chunks` chunks: loads stop where `keep` slots of the
  // ring stay free at its barrier (Codegen::keep_after). A phase without weights that
  // follows fills some of them while it computes; the rest are left to resume().
  void bound(size_t chunks, uint32_t keep) {
    limit_ = next_ + chunks + (slots_ ? slots_ - 1 - std::min(keep, slots_ - 1) : 0);
  }
  // Right after a barrier no matmul reads the ring: loads every slot the bound allows
  // (the slot of the chunk read last included), so HBM streams while the phase's first
  // chunk is computed.
  void resume(CoreStream& cs, const Hw& hw);

 private:
  void load(CoreStream& cs, const Hw& hw, size_t i);
  bool loadable(size_t i) const { return i < chunks_.size() && chunks_[i].gate <= released_; }
  std::vector<WeightChunk> chunks_;
  uint32_t released_ = 0;
  uint64_t ring_base_ = 0, slot_ = 0;
  uint32_t slots_ = 0;
  size_t loaded_ = 0, next_ = 0, consumed_end_ = 0;
  bool warm_ = false;  // a previous segment's last chunk holds the slot before chunk 0
  size_t limit_ = SIZE_MAX;  // loads stop before this chunk (bound())
};

// One DMA instruction (load or store), written with designated initialisers at the call
// site: dma({.load = true, .unit = u, .dst = {Space::l1, a}, .src = {x.tier, b}, .len = n}).
// A transfer is n2 x n1 rows of len bytes; the strides step the addresses per row of each
// level and are dropped when their level has one row (spec/isa.yaml, load/store).
struct Dma {
  struct End {
    isa::Space space = isa::Space::hbm;
    uint64_t addr = 0;
  };
  bool load = true;  // false: store
  int unit = 0;      // DMA engine
  End dst, src;
  uint64_t len = 0;
  uint64_t n1 = 1, dst_stride1 = 0, src_stride1 = 0;
  uint64_t n2 = 1, dst_stride2 = 0, src_stride2 = 0;
  uint32_t acc_engine = 0;  // when either end is in the accumulators
  uint64_t pred_addr = 0;   // predicate words in L1 (pred_words > 0; spec/isa.yaml load)
  uint32_t pred_words = 0;
};

class Codegen {
 public:
  Codegen(const Graph& g, const Hw& hw, const CompileOptions& opt, Compiled& out);
  // Emits the requested segment(s) and returns the text sections.
  std::vector<isa::TextSection> run();

  // ---- shared by the kernels ----
  const Graph& g;
  const Hw& hw;
  const CompileOptions& opt;
  Compiled& out;
  uint32_t group_chips = 1;   // chips of the TP group that get code
  // A pipelined whole step (CompileOptions::pp, Segment::Whole): every stage's chips get
  // code; the kernels address the current stage's group through stage_base, the first
  // chip of that stage (docs/compiler.md, "Pipeline stages").
  uint32_t stage_base = 0;
  uint64_t layer = 0;         // layer of the segment being emitted
  std::vector<CoreStream> streams;  // [chip * cores + core]
  std::vector<WeightStream> wstreams;
  std::vector<Arena> l1;      // per core of each chip, phase scratch above the ring
  std::vector<std::vector<Arena>> acc;  // per core, per engine
  uint64_t moe_used = 0;      // L1 of every core: the experts' used words (MoE; kernels_moe.cpp)
  uint32_t next_barrier = 1;
  uint32_t next_tag = 1;
  std::string phase_name;
  uint64_t phase_macs = 0;
  // A decode norm the next matmul computes itself (Codegen::folds_into): nullptr, or that norm
  // while its matmul is emitted.
  const Op* folded_norm = nullptr;
  // A folded norm's gain (and bias) is read by every core: from HBM, 16 copies of the same
  // bytes queue on the few pseudo-channels that hold them (~96 cycles per core on
  // Llama-3-8B). The matmul phase before it copies them to L2, a slice per core
  // (stage_norm): the L2 address of each layer norm's copy, the norm the current matmul
  // phase stages (for layer staging_layer) and the norm a previous phase staged.
  std::map<const Op*, uint64_t> norm_l2;
  const Op* staging = nullptr;
  uint64_t staging_layer = 0;
  const Op* staged = nullptr;
  // A layer segment without the layers around it (CompileOptions' steady false): as it
  // prefetches none of the next layer's weights, it stages none of its norms.
  bool cold = false;

  // By rank in the current stage's group (chip stage_base + chip).
  size_t at(uint32_t chip, uint32_t core) const { return size_t(stage_base + chip) * hw.cores + core; }
  CoreStream& cs(uint32_t chip, uint32_t core) { return streams[at(chip, core)]; }
  Arena& l1_of(uint32_t chip, uint32_t core) { return l1[at(chip, core)]; }
  Arena& acc_of(uint32_t chip, uint32_t core, uint32_t e) { return acc[at(chip, core)][e]; }
  WeightStream& ws_of(uint32_t chip, uint32_t core) { return wstreams[at(chip, core)]; }

  const Tensor& t(int i) const { return g.tensors[size_t(i)]; }
  const Tensor& t(const std::string& name) const;
  // HBM/L2 address of a tensor in the current layer (activations are shared by the layers).
  uint64_t addr(const Tensor& x) const {
    const bool layered = x.per_layer && x.kind != TensorKind::Activation && x.kind != TensorKind::Logits;
    return x.addr + (layered ? g.local_layer(layer) * g.layer_stride : 0);
  }
  uint64_t es(isa::DType d) const;
  // The DMA engine for activation traffic and for weight chunk i.
  int dma_act() const { return hw.dmas > 1 ? int(hw.dmas) - 1 : 0; }
  // Ring slots every barrier of a decode step leaves free, loaded right after it by the
  // next matmul phase (WeightStream::resume): with the ring full at a barrier HBM idled
  // until the phase's first chunk was computed (~900 cycles on sohu-like). One slot
  // measured best on Llama-3-8B batch 1 (40,409 cycles a layer; two 40,552, three 40,614).
  uint32_t deferred() const;

  // Ends the current phase: every core of every chip of the group prefetches weights and
  // waits at a chip barrier; scratch is released.
  void end_phase(const std::string& name);
  void record_l1(uint32_t chip, uint32_t core, uint64_t addr, uint64_t bytes, const std::string& what);

  // Instruction builders.
  static isa::Instr dma(const Dma& d);
  static isa::Instr vec(isa::Opcode op, uint64_t rows, uint64_t cols);
  // Whole rows [first, first + rows) of x to or from a dense block of them in L1: one transfer,
  // or rows a pitch apart when placement padded x's rows in HBM; two when the rows cross from
  // x's rows in HBM to its last rows in L2 (placement).
  void x_rows(CoreStream& s, bool load, int unit, uint64_t first, uint64_t rows, uint64_t l1) const;
  // Bytes [col, col + width) of rows [first, first + rows) of x to or from L1 at l1, its rows
  // l1_stride apart: one strided transfer per part of x the rows lie in (one run of bytes
  // instead when `runs` and the rows are contiguous at both ends).
  void x_slice(CoreStream& s, bool load, int unit, uint64_t first, uint64_t rows, uint64_t col, uint64_t width,
               uint64_t l1, uint64_t l1_stride, bool runs = false) const;
  // Sets an operand of a vector instruction: which = 0 dst, 1 src1, 2 src2.
  static void operand(isa::Instr& in, int which, isa::Space space, uint64_t addr, uint64_t stride, isa::DType type,
                      uint32_t acc_engine = 0);

  // ---- kernels (kernels_*.cpp) ----
  void emit_embed(const Op& op);
  void emit_norm(const Op& op, int add_input, bool norm);
  // Rows [first, first + rows) of norm op, normalised on one core into L1 at dst in the type
  // of its output, with no phase of their own (a folded norm: Codegen::folds_into).
  void emit_folded_norm(const Op& op, uint32_t chip, uint32_t core, uint64_t first, uint64_t rows, uint64_t dst);
  // This core's slice of the gain (and bias) of `staging` to its L2 copy, in the phase of
  // matmul op (the slices are dealt to the cores op keeps busy), through a slice of l1a.
  void stage_norm(const Op& op, uint32_t chip, uint32_t core, Arena& l1a);
  void emit_quantize(const Op& op);
  void emit_linear(const Op& op);
  void emit_attention(const Op& op);
  void emit_attention_decode(const Op& op);
  void emit_all_reduce(const Op& op);
  // The residual stream x from the current stage's group to the next stage's (send) or from
  // the previous stage's into the current one (receive), each core a slice with tag
  // tag0 + core, then a phase end.
  void emit_stage_handover(bool send, uint32_t tag0);
  void emit_top1(const Op& op);

 private:
  // Appends the current layer's chunks of `linears` to every core's stream (as its tail:
  // chunks the next segment reads).
  void collect_weights(const std::vector<const Op*>& linears, bool tail);
  std::vector<const Op*> layer_linears() const;
  std::vector<const Op*> layer_ops() const { return ops_where(true, false); }
  // Ring slots the matmul ops[i] of a layer leaves free at its barrier (WeightStream::bound).
  uint32_t keep_after(const std::vector<const Op*>& ops, size_t i) const;
  // Bounds every core's weight loads for a phase that reads op's chunks (none: nullptr)
  // so that `keep` ring slots are free at its barrier.
  void bound_phase(const Op* op, uint32_t keep);
  // Whether norm (adding add_input into x first when >= 0) can be computed by every core of
  // `next`, the matmul after it, on its own input rows instead of in a phase of its own.
  bool folds_into(const Op& norm, const Op* next, int add_input) const;
  // The norm the phase of matmul ops[i] stages in L2 for its fold (folds_into), the next
  // layer's first when ops[i] is the last op, or nullptr; sets staging_layer.
  const Op* norm_to_stage(const std::vector<const Op*>& ops, size_t i);
  void emit_layer_body();
  void emit_segment_layer(bool steady);
  void emit_segment_embed();
  void emit_segment_head();
  void emit_pipeline();  // a whole step over g.pp stages
  void begin_segment(const std::vector<const Op*>& linears);
  void end_segment();
  std::vector<const Op*> ops_where(bool per_layer, bool head) const;
};

// The weight chunks of a matmul op on one core, in stream order (kernels_matmul.cpp).
std::vector<WeightChunk> linear_chunks(const Codegen& cg, const Op& op, uint32_t core);

// Mixture-of-experts (kernels_moe.cpp): the predicate of the weight chunk of `op` covering
// column group g and reduction rows [k0, k1); and, at the start of the experts' gate/up
// matmul, every core's used words from the routing weights, which releases the layer's
// expert chunks to the weight stream.
void expert_predicate(const Codegen& cg, const Op& op, uint64_t g, uint64_t k0, uint64_t k1, WeightChunk& c);
// ... and of its matmul tile of column group g, k-tile q (the tile runs when its experts were chosen).
void expert_tile_predicate(const Codegen& cg, const Op& op, uint64_t g, uint64_t q, isa::Instr& mm);
void emit_routed_experts(Codegen& cg);

// Per-token INT8 quantisation of rows x cols FP32 values at src (L1) into INT8 rows at dst,
// with the dequantisation scale of each row (max|row| / 127) left at m; tmp holds rows x cols
// FP32, r one FP32 per row (kernels_vector.cpp, docs/numerics.md section 10).
void quantise_rows(CoreStream& s, uint64_t rows, uint64_t cols, uint64_t src, uint64_t src_stride, uint64_t tmp,
                   uint64_t dst, uint64_t dst_stride, uint64_t m, uint64_t r);

}  // namespace tessera::compiler
