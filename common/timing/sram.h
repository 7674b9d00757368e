#pragma once
// The bank arithmetic of the SRAM tiers (L1 per core, L2 per chip, the accumulator of each
// matrix engine) of docs/timing.md ("SRAM accesses and bank conflicts"), shared by the model,
// the compiler's cost model and the RTL test benches. A tier is a set of `banks` banks
// interleaved every `width` bytes; one access (a "beat": the bytes one client port
// moves in one cycle, possibly several byte ranges) costs as many cycles as the largest
// number of distinct bank lines it needs from one bank. The functions here are pure so
// the unit tests can check them against a brute-force count.
#include <cstdint>
#include <span>
#include <vector>

#include "common/timing/params.h"

namespace tessera::timing {

struct ByteRange {
  uint64_t addr = 0;
  uint64_t bytes = 0;
};

// Cycles one beat of a single contiguous range takes: ceil(lines / banks), where
// lines = the number of `width`-aligned lines the range touches (>= 1; 0 bytes -> 1).
uint64_t contiguous_beat_cycles(const BankGeometry& g, uint64_t addr, uint64_t bytes);

// Cycles one beat of several ranges takes: the largest number of distinct lines
// (line index = addr / width) that map to one bank (bank = line mod banks); 1 at least.
// `scratch` avoids an allocation per call (it is resized to g.banks).
uint64_t multi_range_beat_cycles(const BankGeometry& g, std::span<const ByteRange> ranges,
                                 std::vector<uint32_t>& scratch);

// True when a single contiguous range of at most `max_bytes` bytes can never need
// more than one cycle, whatever its alignment: max_bytes + width - 1 <= banks * width.
inline bool contiguous_never_conflicts(const BankGeometry& g, uint64_t max_bytes) {
  return max_bytes == 0 || max_bytes + g.width - 1 <= g.banks * g.width;
}

}  // namespace tessera::timing
