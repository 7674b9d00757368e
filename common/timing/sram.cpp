#include "common/timing/sram.h"

#include <algorithm>

namespace tessera::timing {

uint64_t contiguous_beat_cycles(const BankGeometry& g, uint64_t addr, uint64_t bytes) {
  if (bytes == 0) return 1;
  const uint64_t lines = (addr + bytes - 1) / g.width - addr / g.width + 1;
  return (lines + g.banks - 1) / g.banks;
}

uint64_t multi_range_beat_cycles(const BankGeometry& g, std::span<const ByteRange> ranges,
                                 std::vector<uint32_t>& scratch) {
  if (ranges.size() == 1) return contiguous_beat_cycles(g, ranges[0].addr, ranges[0].bytes);
  // A line read for two ranges (a broadcast row, overlapping rows) is one bank access. With
  // the ranges in address order (every caller's order), each range covers consecutive lines
  // and the lines seen so far end at `seen`: only lines beyond it are new.
  bool sorted = true;
  for (size_t i = 1; i < ranges.size(); ++i) sorted &= ranges[i].addr >= ranges[i - 1].addr;
  if (!sorted) {
    std::vector<ByteRange> copy(ranges.begin(), ranges.end());
    std::sort(copy.begin(), copy.end(), [](const ByteRange& a, const ByteRange& b) { return a.addr < b.addr; });
    return multi_range_beat_cycles(g, copy, scratch);
  }
  if (scratch.size() < g.banks) scratch.assign(g.banks, 0);
  static thread_local std::vector<uint32_t> touched;
  touched.clear();
  uint32_t worst = 1;
  bool any = false;
  uint64_t seen = 0;
  for (const ByteRange& r : ranges) {
    if (r.bytes == 0) continue;
    const uint64_t first = r.addr / g.width, last = (r.addr + r.bytes - 1) / g.width;
    const uint64_t from = any ? std::max(first, seen + 1) : first;
    // Consecutive lines are in consecutive banks: one division per range, not per line.
    uint32_t bank = uint32_t(from % g.banks);
    for (uint64_t l = from; l <= last; ++l) {
      uint32_t& c = scratch[bank];
      if (c == 0) touched.push_back(bank);
      worst = std::max(worst, ++c);
      if (++bank == g.banks) bank = 0;
    }
    if (!any || last > seen) seen = last;
    any = true;
  }
  for (uint32_t b : touched) scratch[b] = 0;
  return worst;
}

}  // namespace tessera::timing
