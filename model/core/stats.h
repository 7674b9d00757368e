#pragma once
// Counters the model collects while it runs, and the records of every instruction's
// timeline. Busy and stall cycles per unit, instruction counts, SRAM traffic by tier and
// access width, MACs by precision, link bytes and numeric events are what the energy
// model and the reports read; the per-instruction records feed the trace and the tests.
#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "common/numerics/fp.h"
#include "tessera/isa/isa_gen.h"

namespace tessera::model {

// Units are numbered by their ISA ids (spec/isa.yaml enums.unit): the units with a queue,
// then the sequencer.
inline constexpr int kUnits = int(isa::kNumUnits);
inline constexpr int kQueueUnits = int(isa::kNumQueueUnits);
inline constexpr int kSeqUnit = int(isa::kUnitsSeq.first);
inline constexpr int kNoUnit = -1;  // e.g. no token was awaited

// Why a unit was not executing (docs/model.md, "Statistics").
struct UnitStats {
  uint64_t instructions = 0;
  uint64_t busy = 0;             // cycles with an instruction in execution
  uint64_t idle = 0;             // ready for the next instruction, none dispatched yet
  uint64_t stall_order = 0;      // matrix engine: instruction waiting for the engine (Q after arrival)
  std::array<uint64_t, kUnits> stall_token{};  // waiting for a token from unit u
  uint64_t stall_dram = 0;       // completion later than the SRAM side because of DRAM
  uint64_t stall_link = 0;       // collective: waiting for the link or the matching message
  uint64_t stall_credit = 0;     // collective: send cycles lost to links without receive-buffer credit
  uint64_t bank_conflict = 0;    // cycles added by SRAM bank conflicts
  uint64_t throttle = 0;         // DMA: cycles lost to dma.max_outstanding
  // DMA, vector: cycles lost to other clients of a tier's bank ports (and, for L2, its network)
  uint64_t l1_contention = 0, l2_contention = 0, acc_contention = 0;
  uint64_t skipped = 0;          // DMA, matrix engine: predicated instructions whose predicate was false
  std::array<uint64_t, 256> opcodes{};  // instructions by opcode code
  uint64_t covered_until = 0;    // busy accounting: cycles before this are counted
};

struct SeqStats {
  uint64_t dispatched = 0;
  std::array<uint64_t, kUnits> stall_queue_full{};  // dispatch held by the target unit's full queue
  uint64_t barrier_wait = 0;   // from the core being drained to the barrier's release
  uint64_t drain = 0;          // halt/barrier waiting for the core's units to finish
  uint64_t barriers = 0;
  uint64_t halt_cycle = 0;
};

// Accesses of one SRAM tier, split by width in bytes (the energy of an access depends on it).
struct SramTraffic {
  uint64_t read_bytes = 0, write_bytes = 0, read_accesses = 0, write_accesses = 0;
  std::map<uint64_t, uint64_t> read_widths, write_widths;  // width in bytes -> accesses
  void read(uint64_t width, uint64_t count) {
    if (!count || !width) return;
    read_bytes += width * count;
    read_accesses += count;
    read_widths[width] += count;
  }
  void write(uint64_t width, uint64_t count) {
    if (!count || !width) return;
    write_bytes += width * count;
    write_accesses += count;
    write_widths[width] += count;
  }
  void add(const SramTraffic& o);
};

// One instruction's timeline. For matmul: Q/W/S/D/E of docs/timing.md (W = S in os,
// D = 0 in ws); for every other instruction start = T (tokens popped) and E = completion;
// a DMA with an hbm side also records D, the first core cycle at or after its DRAM
// transfer completed (co-simulation's outside memory answers with it, docs/cosim.md).
struct InstrRecord {
  uint32_t index = 0;
  uint8_t unit = 0;
  uint8_t opcode = 0;
  uint64_t dispatch = 0;
  uint64_t start = 0;
  uint64_t W = 0, S = 0, D = 0;
  uint64_t E = 0;
  uint64_t m = 0, k = 0;  // matmul streamed extents, for the trace
  bool os = false;
  bool done = false;
};

// The ISA name of a unit id; "none" for kNoUnit.
std::string_view unit_name(int unit);

}  // namespace tessera::model
