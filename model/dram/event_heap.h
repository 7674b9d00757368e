#pragma once
// EventHeap: the DRAM model's agenda, an indexed min-heap holding one key per
// pseudo-channel (the next cycle it needs attention). Ties are broken by index so that
// the order of events, and therefore every result, never depends on anything but the
// inputs. Four children per node and keys stored inline keep the sift loops short and in
// cache: the heap is updated after every scheduler evaluation.
#include <cstdint>
#include <limits>
#include <vector>

namespace tessera::model::dram {

class EventHeap {
 public:
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

  // `n` items 0..n-1, every key kNever.
  explicit EventHeap(uint32_t n) : slots_(n), pos_(n) {
    for (uint32_t i = 0; i < n; ++i) {
      slots_[i] = Slot{kNever, i};
      pos_[i] = i;
    }
  }

  uint64_t top_key() const { return slots_.empty() ? kNever : slots_[0].key; }
  uint32_t top() const { return slots_[0].item; }
  uint64_t key(uint32_t item) const { return slots_[pos_[item]].key; }

  void set(uint32_t item, uint64_t k) {
    const uint32_t i = pos_[item];
    const uint64_t old = slots_[i].key;
    slots_[i].key = k;
    if (k < old) {
      up(i);
    } else if (k > old) {
      down(i);
    }
  }

 private:
  struct Slot {
    uint64_t key;
    uint32_t item;
  };
  static bool less(const Slot& a, const Slot& b) { return a.key != b.key ? a.key < b.key : a.item < b.item; }

  void place(uint32_t i, const Slot& s) {
    slots_[i] = s;
    pos_[s.item] = i;
  }
  void up(uint32_t i) {
    const Slot s = slots_[i];
    while (i > 0) {
      const uint32_t parent = (i - 1) / 4;
      if (!less(s, slots_[parent])) break;
      place(i, slots_[parent]);
      i = parent;
    }
    place(i, s);
  }
  void down(uint32_t i) {
    const Slot s = slots_[i];
    const uint32_t n = uint32_t(slots_.size());
    for (;;) {
      const uint32_t first = 4 * i + 1;
      if (first >= n) break;
      uint32_t best = first;
      const uint32_t last = first + 4 < n ? first + 4 : n;
      for (uint32_t c = first + 1; c < last; ++c) {
        if (less(slots_[c], slots_[best])) best = c;
      }
      if (!less(slots_[best], s)) break;
      place(i, slots_[best]);
      i = best;
    }
    place(i, s);
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> pos_;
};

}  // namespace tessera::model::dram
