#pragma once
// A hash of fixed-length arrays of 64-bit words (FNV-1a over the words), for the caches keyed by
// an instruction's or a transfer's shape in the cycle model.
#include <array>
#include <cstddef>
#include <cstdint>

namespace tessera {

struct WordsHash {
  template <size_t N>
  size_t operator()(const std::array<uint64_t, N>& k) const {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t w : k) h = (h ^ w) * 1099511628211ull;
    return size_t(h);
  }
};

}  // namespace tessera
