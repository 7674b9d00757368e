#pragma once
// The bytes a memory of the model holds in functional mode (L1, L2, accumulators, HBM).
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace tessera::model {

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
