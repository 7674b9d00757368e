#pragma once
// The bytes a memory of the model holds in functional mode (L1, L2, accumulators, HBM), and
// the observer through which a co-simulator sees every write to them.
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "common/isa/isa.h"

namespace tessera::model {

// Which memory a write went to: a chip's l2 or hbm, a core's l1, or a matrix engine's acc.
struct MemorySite {
  uint32_t chip = 0, core = 0;
  isa::Space space = isa::Space::hbm;
  uint32_t engine = 0;  // acc: the matrix engine
};

// Sees every functional-mode write of an observed memory as the model makes it: an
// instruction's whole effect when it starts, in the order of its semantics (co-simulation,
// cosim/cosim.cpp). Observing changes no timing and no data.
class WriteObserver {
 public:
  virtual ~WriteObserver() = default;
  virtual void on_write(const MemorySite& site, uint64_t addr, const uint8_t* data, uint64_t n) = 0;
};

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
  // Reports every later write to `o` (null: none) as a write to `site`.
  void observe(WriteObserver* o, const MemorySite& site) {
    observer_ = o;
    site_ = site;
  }

 private:
  uint8_t* page_for_write(uint64_t page);
  const uint8_t* page_for_read(uint64_t page) const;
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages_;
  mutable uint64_t last_page_ = UINT64_MAX;
  mutable uint8_t* last_ptr_ = nullptr;
  WriteObserver* observer_ = nullptr;
  MemorySite site_;
};

}  // namespace tessera::model
