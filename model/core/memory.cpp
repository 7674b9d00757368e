#include "model/core/memory.h"

#include <algorithm>
#include <cstring>

namespace tessera::model {

uint8_t* SparseMemory::page_for_write(uint64_t page) {
  if (page == last_page_) return last_ptr_;
  auto& slot = pages_[page];
  if (!slot) {
    slot = std::make_unique<uint8_t[]>(kPageBytes);
    std::memset(slot.get(), 0, kPageBytes);
  }
  last_page_ = page;
  last_ptr_ = slot.get();
  return last_ptr_;
}

const uint8_t* SparseMemory::page_for_read(uint64_t page) const {
  if (page == last_page_) return last_ptr_;
  auto it = pages_.find(page);
  if (it == pages_.end()) return nullptr;
  last_page_ = page;
  last_ptr_ = it->second.get();
  return last_ptr_;
}

void SparseMemory::read(uint64_t addr, uint8_t* out, uint64_t n) const {
  while (n > 0) {
    const uint64_t page = addr >> kPageBits, off = addr & (kPageBytes - 1);
    const uint64_t chunk = std::min(n, kPageBytes - off);
    const uint8_t* p = page_for_read(page);
    if (p) {
      std::memcpy(out, p + off, chunk);
    } else {
      std::memset(out, 0, chunk);
    }
    addr += chunk;
    out += chunk;
    n -= chunk;
  }
}

void SparseMemory::write(uint64_t addr, const uint8_t* in, uint64_t n) {
  if (observer_) observer_->on_write(site_, addr, in, n);
  while (n > 0) {
    const uint64_t page = addr >> kPageBits, off = addr & (kPageBytes - 1);
    const uint64_t chunk = std::min(n, kPageBytes - off);
    std::memcpy(page_for_write(page) + off, in, chunk);
    addr += chunk;
    in += chunk;
    n -= chunk;
  }
}

}  // namespace tessera::model
