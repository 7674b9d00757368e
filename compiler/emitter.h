#pragma once
// One core's instruction stream, with its dependency tokens derived from memory
// (docs/compiler.md, "Scheduling"). Kernels append instructions in a valid sequential
// order (the software-pipelined order: the DMA of tile i+1 is appended before the matmul
// of tile i, so its queue runs ahead); the emitter computes what each instruction reads
// and writes from its fields (the operand shapes of spec/isa.yaml) and, for every earlier
// instruction of another unit of the core it conflicts with (read after write, write
// after read or write), makes that instruction signal this unit and this one wait for it.
//
// Only the latest conflicting instruction of each unit needs a token: a unit completes
// its instructions in order. And none is needed when this unit already waited on that
// instruction or a later one of the same unit. Every push therefore has exactly one pop,
// later in program order, and pushes and pops of a pair of units match in order, which
// is the deadlock-freedom rule of docs/architecture.md §2.1. A barrier drains the core,
// so nothing before it needs a token after it.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/isa/isa.h"
#include "compiler/hw.h"

namespace tessera::compiler {

struct Access {
  isa::Space space = isa::Space::l1;
  uint32_t engine = 0;  // acc only
  uint64_t lo = 0, hi = 0;  // byte range [lo, hi)
  bool write = false;
};

// The byte ranges an instruction reads and writes (bounding ranges of strided operands).
std::vector<Access> footprint(const isa::Instr& in);

class CoreStream {
 public:
  // queue_depth and token_depth: core.queue_depth and core.token_depth of the architecture,
  // which bound how far a producer can run ahead of a consumer (emit()).
  CoreStream(uint32_t chip, uint32_t core, uint64_t queue_depth, uint64_t token_depth);

  // Appends `in` with the tokens its memory accesses need; returns its program index.
  size_t emit(isa::Instr in);
  // A barrier of the given scope; `id` must match on every participant.
  void barrier(isa::Scope scope, uint16_t id);
  void halt();

  uint32_t chip() const { return chip_; }
  uint32_t core() const { return core_; }
  const std::vector<isa::Instr>& code() const { return code_; }
  std::vector<isa::Instr> take() { return std::move(code_); }
  bool empty() const { return code_.empty(); }
  size_t size() const { return code_.size(); }
  // Tokens from one unit to another between two waits on the first unit's latest
  // instruction (emit()): bounds the tokens in flight to two windows where the queue-depth
  // bound (emit()) cannot show that a token stays within core.token_depth.
  static constexpr int64_t kTokenWindow = 6;
  // Instructions per unit so far (for choosing the least loaded DMA engine).
  uint64_t queued(int unit) const { return count_[size_t(unit)]; }

 private:
  struct Ref {
    int unit = -1;
    int64_t idx = -1;  // position in that unit's queue
  };
  struct Seg {
    uint64_t hi = 0;
    Ref writer;
    std::array<int64_t, isa::kNumQueueUnits> readers;  // latest reading instruction of each unit, -1 = none
  };
  using Map = std::map<uint64_t, Seg>;
  Map& map_for(isa::Space s, uint32_t engine);
  void split_at(Map& m, uint64_t a);
  void access(Map& m, uint64_t lo, uint64_t hi, bool write, int unit, int64_t idx, std::array<int64_t, isa::kNumQueueUnits>& dep);

  uint32_t chip_, core_;
  std::vector<isa::Instr> code_;
  std::array<uint64_t, isa::kNumQueueUnits> count_{};
  std::array<std::vector<size_t>, isa::kNumQueueUnits> where_;  // program index of each unit's k-th instruction
  std::array<std::array<int64_t, isa::kNumQueueUnits>, isa::kNumQueueUnits> synced_;  // [from][to]: latest from-index `to` has waited on
  // [from][to]: tokens since the last wait on `from`'s latest instruction (emit()).
  std::array<std::array<int64_t, isa::kNumQueueUnits>, isa::kNumQueueUnits> window_{};
  // [from][to]: the consumer-queue index of every pop since the last barrier, in order.
  std::array<std::array<std::vector<int64_t>, isa::kNumQueueUnits>, isa::kNumQueueUnits> pops_;
  uint64_t queue_depth_ = 16, token_depth_ = 15;
  // Whether a token from v's instruction d to u's next instruction keeps every counter
  // v -> u within token_depth_ however the units run (emit()).
  bool bounded(int v, int u, int64_t d) const;
  Map hbm_, l2_, l1_;
  std::array<Map, 8> acc_;
};

// InputError when core.token_depth is below what the emitter keeps in flight between two
// units (two windows of CoreStream::kTokenWindow + 1 tokens); every program writer checks it.
void check_token_depth(const Hw& hw);

}  // namespace tessera::compiler
