#pragma once
// The SRAM tiers of the model (L1 per core, L2 per chip, the accumulator of each matrix
// engine): the bank arithmetic of docs/timing.md ("SRAM accesses and bank conflicts")
// and, in functional mode, the bytes they hold. A tier is a set of `banks` banks
// interleaved every `width` bytes; one access (a "beat": the bytes one client port
// moves in one cycle, possibly several byte ranges) costs as many cycles as the largest
// number of distinct bank lines it needs from one bank. The functions here are pure so
// the unit tests can check them against a brute-force count.
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/core/params.h"

namespace tessera::model {

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

// Byte-addressed memory that allocates 64 KiB pages on first write; unwritten bytes
// read as zero. Used for every space in functional mode (an HBM of 144 GB costs only
// what the program touches).
class SparseMemory {
 public:
  static constexpr uint64_t kPageBits = 16;
  static constexpr uint64_t kPageBytes = uint64_t(1) << kPageBits;

  void read(uint64_t addr, uint8_t* out, uint64_t n) const;
  void write(uint64_t addr, const uint8_t* in, uint64_t n);
  uint64_t pages() const { return pages_.size(); }

 private:
  uint8_t* page_for_write(uint64_t page);
  const uint8_t* page_for_read(uint64_t page) const;
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages_;
  mutable uint64_t last_page_ = UINT64_MAX;
  mutable uint8_t* last_ptr_ = nullptr;
};

}  // namespace tessera::model
