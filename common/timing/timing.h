#pragma once
// The cycle formulas of docs/timing.md as pure functions, so each unit of the SystemC
// model computes an instruction's whole timeline from a few integers when the
// instruction starts (no per-cycle stepping), and the tests check the same functions
// against independently written formulas. Nothing here knows about SystemC, memories
// or the instruction encoding.
#include <cstdint>
#include <vector>

#include "common/timing/params.h"
#include "common/timing/sram.h"
#include "tessera/isa/isa_gen.h"

namespace tessera::timing {

// ---- Matrix engine: matmul (docs/timing.md, "Matrix engine: matmul") ----------------

struct MatmulTile {
  bool os = false;
  uint64_t m = 1, k = 1, n = 1;
};

struct MatmulTimes {
  uint64_t Q = 0, W = 0, S = 0, D = 0, E = 0;  // W = S for os; D = 0 for ws
};

// The per-engine state the formulas refer to (previous tile's S, E, stream length, the
// tile before it, the dataflow of the current run). Sync instructions (tpush/tpop) take
// a Q slot and retire in order but are not tiles.
class MatmulTimer {
 public:
  MatmulTimer(uint64_t rows, bool double_buffer) : R_(rows), db_(double_buffer) {}
  // Earliest Q the engine allows for its next instruction: max(Q_{i-1} + 1, S_{i-1}).
  uint64_t earliest_q() const { return next_q_; }
  // Schedules a tile taken at cycle Q (Q >= earliest_q()).
  MatmulTimes tile(uint64_t Q, const MatmulTile& t);
  // A tpop (completes at Q) or tpush (completes when every earlier instruction has).
  uint64_t sync(uint64_t Q, bool is_push);
  uint64_t last_e() const { return e_last_; }

 private:
  uint64_t R_;
  bool db_;
  uint64_t next_q_ = 0;
  bool have_prev_ = false;     // a previous tile exists
  bool prev_os_ = false;
  uint64_t prev_s_ = 0;        // S of the previous tile
  uint64_t prev_len_ = 0;      // its streamed extent (m in ws, k in os)
  uint64_t prev_e_ = 0;        // its E
  uint64_t prev2_e_ = 0;       // E of the tile before it (os double buffering)
  uint64_t e_last_ = 0;        // E of the latest instruction (tiles retire in order)
};

// ---- Vector engine (docs/timing.md, "Vector engine") ---------------------------------

// The timing class of an opcode and the shape of its operands come from spec/isa.yaml
// (isa::info(op).vector_class and .shapes): the generated header is used for these enums
// only, so this library does not link the ISA library.
using VecClass = isa::VectorClass;
using OperandShape = isa::OperandShape;

struct VecOperand {
  const BankGeometry* tier = nullptr;  // null: not an SRAM operand (hbm, or absent)
  uint64_t addr = 0, stride = 0, elem_bytes = 4;
};

struct VecShape {
  VecClass cls = VecClass::elementwise;
  OperandShape src2_shape = OperandShape::none;
  bool has_src1 = true;
  uint64_t rows = 1, cols = 1, iarg = 1;
  VecOperand src1, src2, dst;
};

struct VecTiming {
  uint64_t beats = 0;        // lane-groups issued
  uint64_t issue = 0;        // cycles from the first to one past the last issue (>= beats)
  uint64_t conflicts = 0;    // issue - beats * issue cost: cycles lost to bank conflicts
  uint64_t tail = 0;         // reduction tree: ceil(log2 lanes) for Reduce/TopK, else 0
};

VecTiming vector_timing(const VecShape& s, uint32_t lanes, uint32_t special_cycles);
// The same figures found by costing every beat: the reference vector_timing's periodic sum
// is tested against, and what it uses for the beats a period does not cover.
VecTiming vector_timing_stepped(const VecShape& s, uint32_t lanes, uint32_t special_cycles);

// ---- DMA (docs/timing.md, "DMA") ---------------------------------------------------------

struct DmaSide {
  const BankGeometry* tier = nullptr;  // null: the hbm side (no bank model)
  uint64_t addr = 0, stride1 = 0, stride2 = 0;
};

struct DmaShape {
  DmaSide src, dst;
  uint64_t len = 1, n1 = 1, n2 = 1;
};

struct DmaTiming {
  uint64_t beats = 0;       // row pieces of at most bytes_per_cycle bytes
  uint64_t last_issue = 0;  // cycles from the first beat's issue to the last beat's issue
  uint64_t conflicts = 0;   // cycles lost to bank conflicts
  uint64_t throttle = 0;    // cycles lost to the max_outstanding limit on L2 requests
};

// Beat schedule of the SRAM side(s) of a copy. `outstanding_latency` is the latency of
// an L2 side (0 when neither side is L2): a beat then waits until fewer than
// `max_outstanding` earlier beats are within their latency.
DmaTiming dma_timing(const DmaShape& s, uint64_t bytes_per_cycle, uint64_t max_outstanding,
                     uint64_t outstanding_latency);

// The same schedule by stepping every beat (the reference the closed forms are tested
// against; also used when the closed form does not apply).
DmaTiming dma_timing_stepped(const DmaShape& s, uint64_t bytes_per_cycle, uint64_t max_outstanding,
                             uint64_t outstanding_latency);

// ---- Links (docs/timing.md, "Collectives and links") -----------------------------------

// Femtoseconds a bundle of `links` links at `mbytes_per_s` MB/s each needs for `bytes`.
uint64_t link_serialize_fs(uint64_t bytes, uint64_t links, uint64_t mbytes_per_s);

// ceil(log2(x)) for x >= 1.
uint64_t ceil_log2(uint64_t x);

}  // namespace tessera::timing
