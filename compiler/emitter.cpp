#include "compiler/emitter.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "common/util/error.h"

namespace tessera::compiler {

using isa::Opcode;
using isa::Space;

std::vector<Access> footprint(const isa::Instr& in) {
  // Reads before writes, each in the order operand_extents lists them.
  const std::vector<isa::OperandExtent> ops = isa::operand_extents(in);
  std::vector<Access> out;
  for (bool write : {false, true}) {
    for (const isa::OperandExtent& o : ops) {
      if (!o.bytes || !(write ? o.write : o.read)) continue;
      out.push_back(Access{o.space, o.space == Space::acc ? o.acc_engine : 0, o.addr, o.addr + o.bytes, write});
    }
  }
  return out;
}

CoreStream::CoreStream(uint32_t chip, uint32_t core, uint64_t queue_depth, uint64_t token_depth)
    : chip_(chip), core_(core), queue_depth_(queue_depth), token_depth_(token_depth) {
  for (auto& row : synced_) row.fill(-1);
}

bool CoreStream::bounded(int v, int u, int64_t d) const {
  // Dispatch is in order and u's queue holds at most queue_depth_ instructions that have
  // not started, so v's instruction d can complete only once u has started all but
  // queue_depth_ of the u instructions before d in program order: while the new token is
  // outstanding, u has popped every token whose pop comes before index k - queue_depth_.
  const std::vector<size_t>& at = where_[size_t(u)];
  const int64_t k = int64_t(std::lower_bound(at.begin(), at.end(), where_[size_t(v)][size_t(d)]) - at.begin());
  const std::vector<int64_t>& pops = pops_[size_t(v)][size_t(u)];
  const int64_t first = k - int64_t(queue_depth_);
  const int64_t outstanding = int64_t(pops.end() - std::lower_bound(pops.begin(), pops.end(), first)) + 1;
  return outstanding <= int64_t(token_depth_);
}

CoreStream::Map& CoreStream::map_for(Space s, uint32_t engine) {
  switch (s) {
    case Space::hbm: return hbm_;
    case Space::l2: return l2_;
    case Space::l1: return l1_;
    case Space::acc: return acc_.at(engine);
  }
  return l1_;
}

void CoreStream::split_at(Map& m, uint64_t a) {
  auto it = m.upper_bound(a);
  if (it == m.begin()) return;
  --it;
  if (it->first == a || it->second.hi <= a) return;
  Seg right = it->second;
  it->second.hi = a;
  m.emplace(a, right);
}

void CoreStream::access(Map& m, uint64_t lo, uint64_t hi, bool write, int unit, int64_t idx,
                        std::array<int64_t, isa::kNumQueueUnits>& dep) {
  split_at(m, lo);
  split_at(m, hi);
  // Dependencies on the segments inside [lo, hi).
  for (auto it = m.lower_bound(lo); it != m.end() && it->first < hi; ++it) {
    const Seg& s = it->second;
    if (s.writer.unit >= 0) dep[size_t(s.writer.unit)] = std::max(dep[size_t(s.writer.unit)], s.writer.idx);
    if (write) {
      for (size_t u = 0; u < isa::kNumQueueUnits; ++u) dep[u] = std::max(dep[u], s.readers[u]);
    }
  }
  // Fill the gaps so every byte of [lo, hi) has a segment, then record this access.
  uint64_t a = lo;
  auto it = m.lower_bound(lo);
  while (a < hi) {
    if (it == m.end() || it->first > a) {
      const uint64_t b = (it == m.end()) ? hi : std::min(hi, it->first);
      Seg s;
      s.hi = b;
      s.readers.fill(-1);
      it = m.emplace(a, s).first;
    }
    Seg& s = it->second;
    if (write) {
      s.writer = Ref{unit, idx};
      s.readers.fill(-1);
    } else {
      s.readers[size_t(unit)] = std::max(s.readers[size_t(unit)], idx);
    }
    a = s.hi;
    ++it;
  }
  // Merge neighbours written by the same instruction, so repeated writes stay cheap.
  auto first = m.lower_bound(lo);
  if (first != m.begin()) --first;
  for (auto cur = first; cur != m.end() && cur->first < hi;) {
    auto next = std::next(cur);
    if (next == m.end()) break;
    if (cur->second.hi == next->first && cur->second.writer.unit == next->second.writer.unit &&
        cur->second.writer.idx == next->second.writer.idx && cur->second.readers == next->second.readers) {
      cur->second.hi = next->second.hi;
      m.erase(next);
    } else {
      cur = next;
    }
  }
}

size_t CoreStream::emit(isa::Instr in) {
  const int u = in.unit;
  if (u < 0 || u >= int(isa::kNumQueueUnits)) throw std::logic_error("emit: bad unit");
  const int64_t idx = int64_t(count_[size_t(u)]);
  std::array<int64_t, isa::kNumQueueUnits> dep;
  dep.fill(-1);
  for (const Access& a : footprint(in)) access(map_for(a.space, a.engine), a.lo, a.hi, a.write, u, idx, dep);
  in.wait = 0;
  in.signal = 0;
  for (int v = 0; v < int(isa::kNumQueueUnits); ++v) {
    if (v == u || dep[size_t(v)] < 0) continue;
    if (synced_[size_t(v)][size_t(u)] >= dep[size_t(v)]) continue;
    // Token-counter bound: v may run ahead of u and complete every push it has been given
    // before u pops the first. After kTokenWindow tokens v -> u, this instruction waits
    // for v's latest instruction instead (v completes in order, so that covers the one it
    // needs and every earlier one), which starts a new window: at most two windows of
    // pushes are outstanding, below core.token_depth (15 on every preset; isa::validate
    // checks the depth).
    // Before that, for a token to a compute unit (a matrix engine, the vector engine: the
    // consumers of loads issued ahead, e.g. the weight ring), the queue-depth bound
    // (bounded()) is tried on the instruction the token needs, then on v's latest: a wait
    // on the latest instruction would hold u behind v's prefetches. Tokens to a DMA engine
    // follow the window rule alone: mixed with the bound on one pair, a matrix engine's
    // tokens to the DMA engine that refills its slots overflowed the counter
    // (tests/model/core/dram_fidelity_test.cpp, tiny decode layer).
    int64_t& window = window_[size_t(v)][size_t(u)];
    const int64_t latest = int64_t(count_[size_t(v)]) - 1;
    const bool to_compute = u >= int(isa::Unit::mx0);
    if (to_compute && bounded(v, u, dep[size_t(v)])) {
      // stays on the instruction it needs
    } else if (to_compute && bounded(v, u, latest)) {
      dep[size_t(v)] = latest;
    } else if (window >= kTokenWindow) {
      dep[size_t(v)] = latest;
      window = 0;
    }
    ++window;
    pops_[size_t(v)][size_t(u)].push_back(idx);
    isa::Instr& producer = code_[where_[size_t(v)][size_t(dep[size_t(v)])]];
    if (producer.signal & (1u << u)) throw std::logic_error("emit: a push without its own pop");
    producer.signal = uint16_t(producer.signal | (1u << u));
    in.wait = uint16_t(in.wait | (1u << v));
    synced_[size_t(v)][size_t(u)] = dep[size_t(v)];
  }
  code_.push_back(in);
  where_[size_t(u)].push_back(code_.size() - 1);
  ++count_[size_t(u)];
  return code_.size() - 1;
}

void CoreStream::barrier(isa::Scope scope, uint16_t id) {
  isa::Instr b;
  b.op = Opcode::barrier;
  b.unit = uint8_t(isa::Unit::seq);
  b.scope = uint64_t(scope);
  b.id = id;
  code_.push_back(b);
  // Everything before a barrier has completed when anything after it starts.
  for (int v = 0; v < int(isa::kNumQueueUnits); ++v)
    for (int w = 0; w < int(isa::kNumQueueUnits); ++w) {
      synced_[size_t(v)][size_t(w)] = int64_t(count_[size_t(v)]) - 1;
      window_[size_t(v)][size_t(w)] = 0;
      pops_[size_t(v)][size_t(w)].clear();
    }
  hbm_.clear();
  l2_.clear();
  l1_.clear();
  for (Map& m : acc_) m.clear();
}

void CoreStream::halt() {
  isa::Instr h;
  h.op = Opcode::halt;
  h.unit = uint8_t(isa::Unit::seq);
  code_.push_back(h);
}

void check_token_depth(const Hw& hw) {
  if (hw.token_depth < 2 * (uint64_t(CoreStream::kTokenWindow) + 1))
    throw InputError(hw.name + ": core.token_depth " + std::to_string(hw.token_depth) + " is below " +
                     std::to_string(2 * (CoreStream::kTokenWindow + 1)) +
                     ", the dependency tokens the compiler's schedules keep in flight between two units");
}

}  // namespace tessera::compiler
