// The all-reduce of a row-parallel matmul's FP32 partial sums over the chips of a
// tensor-parallel group: a ring all-reduce [Patarasuk 2009] with the collective units.
// The partial-sum tensor is cut into one slice per core (the cores' collective units run
// in parallel), and each slice into one chunk per chip. Reduce-scatter: P-1 creduce
// steps, step k sending chunk (r - k) to the next chip and adding the previous chip's
// chunk (r - k - 1) into place; chip r then holds the sum of chunk r + 1. All-gather: P-1
// steps passing the summed chunks on (csend, crecv). Peers are relative (next and previous
// chip of the group, modulo system.chips), chunk
// addresses depend on the chip, so each chip has its own program. Also the hand-over of the
// residual stream between pipeline stages.
#include <algorithm>
#include <stdexcept>

#include "compiler/codegen.h"

namespace tessera::compiler {

using isa::Instr;
using isa::Opcode;
using isa::Space;

void Codegen::emit_all_reduce(const Op& op) {
  const Tensor& y = t(op.inputs[0]);
  const uint64_t P = group_chips;
  const uint64_t elems = y.bytes / 4;
  // Slices per core and chunks per chip in whole elements, every chunk of a slice the same
  // size (a creduce sends and receives the same bytes); partition.cpp checks P | hidden.
  if (elems % P) throw std::logic_error("all-reduce: elements not divisible by the group");
  const uint64_t per_core = (elems + hw.cores * P - 1) / (hw.cores * P) * P;
  for (uint32_t core = 0; core < hw.cores; ++core) {
    const uint64_t e0 = uint64_t(core) * per_core;
    if (e0 >= elems) break;
    const uint64_t ne = std::min(per_core, elems - e0);
    const uint64_t chunk = (ne + P - 1) / P;
    auto range = [&](uint64_t c, uint64_t& a, uint64_t& bytes) {
      const uint64_t f = std::min(ne, c * chunk), l = std::min(ne, (c + 1) * chunk);
      a = addr(y) + (e0 + f) * 4;
      bytes = (l - f) * 4;
    };
    const uint32_t tag0 = next_tag;
    for (uint32_t r = 0; r < P; ++r) {
      CoreStream& s = cs(r, core);
      // Peers are relative modulo system.chips (spec/isa.yaml), the ring is over the group's
      // P chips: the next chip of the group and the previous one, as offsets.
      const uint64_t N = hw.chips;
      const uint64_t to_next = ((r + 1) % P + N - r) % N, from_prev = ((r + P - 1) % P + N - r) % N;
      uint32_t tag = tag0;
      for (uint64_t k = 0; k + 1 < P; ++k, ++tag) {
        uint64_t sa, sb, ra, rb;
        range((r + P - k) % P, sa, sb);
        range((r + 2 * P - k - 1) % P, ra, rb);
        if (!sb || !rb) continue;
        Instr in;
        in.op = Opcode::creduce;
        in.unit = uint8_t(isa::Unit::coll);
        in.send_space = in.recv_space = uint64_t(y.tier);
        in.dtype = uint64_t(isa::DType::fp32);
        in.peer_send = to_next;
        in.peer_recv = from_prev;
        in.send_addr = sa;
        in.recv_addr = ra;
        in.bytes = sb;
        in.tag = tag & 0xffff;
        s.emit(in);
      }
      for (uint64_t k = 0; k + 1 < P; ++k, ++tag) {
        uint64_t sa, sb, ra, rb;
        range((r + 1 + P - k) % P, sa, sb);
        range((r + P - k) % P, ra, rb);
        if (!sb) continue;
        Instr snd;
        snd.op = Opcode::csend;
        snd.unit = uint8_t(isa::Unit::coll);
        snd.send_space = uint64_t(y.tier);
        snd.peer_send = to_next;
        snd.send_addr = sa;
        snd.bytes = sb;
        snd.tag = tag & 0xffff;
        s.emit(snd);
        Instr rcv;
        rcv.op = Opcode::crecv;
        rcv.unit = uint8_t(isa::Unit::coll);
        rcv.recv_space = uint64_t(y.tier);
        rcv.peer_recv = from_prev;
        rcv.recv_addr = ra;
        rcv.bytes = rb;
        rcv.tag = tag & 0xffff;
        s.emit(rcv);
      }
    }
    next_tag = tag0 + 2 * uint32_t(P);
  }
  end_phase(op.name);
}

void Codegen::emit_stage_handover(bool send, uint32_t tag0) {
  // Rank i of this stage's group sends its copy of x (replicated over the group) to rank i of
  // the next stage, tp chips on: peers are relative offsets modulo system.chips. Each core
  // moves one slice with its own collective unit and tag.
  // Padding between x's rows (placement) travels with them: both stages share the layout.
  const Tensor& x = t("x");
  const uint64_t bytes = footprint(x);
  const uint64_t N = hw.chips, per_core = (bytes + hw.cores - 1) / hw.cores;
  const uint64_t slice = (per_core + 63) / 64 * 64;
  for (uint32_t chip = 0; chip < group_chips; ++chip) {
    for (uint32_t core = 0; core < hw.cores; ++core) {
      const uint64_t off = uint64_t(core) * slice;
      if (off >= bytes) break;
      Instr in;
      in.op = send ? Opcode::csend : Opcode::crecv;
      in.unit = uint8_t(isa::Unit::coll);
      in.bytes = std::min(slice, bytes - off);
      in.tag = (tag0 + core) & 0xffff;
      if (send) {
        in.send_space = uint64_t(x.tier);
        in.send_addr = addr(x) + off;
        in.peer_send = group_chips % N;
      } else {
        in.recv_space = uint64_t(x.tier);
        in.recv_addr = addr(x) + off;
        in.peer_recv = (N - group_chips % N) % N;
      }
      cs(chip, core).emit(in);
    }
  }
  end_phase(send ? "stage_send" : "stage_receive");
}

}  // namespace tessera::compiler
