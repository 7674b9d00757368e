#include "common/timing/tokens.h"

namespace tessera::timing {

std::optional<uint64_t> TokenCounter::push(uint64_t e) {
  const uint64_t k = pushes_++;
  pending_.push_back(e);
  // Pop k - depth must happen no later than this push.
  if (k >= depth_) {
    const uint64_t j = k - depth_;
    if (j < pops_) {
      if (pop_ring_[j % (depth_ + 1)] > e) return e;
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> TokenCounter::pop(uint64_t t) {
  const uint64_t j = pops_++;
  pending_.pop_front();
  pop_ring_[j % (depth_ + 1)] = t;
  // Push j + depth, if already scheduled, must not come before this pop.
  const uint64_t k = j + depth_;
  if (k < pushes_) {
    const uint64_t e = pending_[k - pops_];
    if (e < t) return e;
  }
  return std::nullopt;
}

std::optional<uint64_t> TokenCounter::final_check() const {
  if (pending_.size() > depth_) return pending_[depth_];
  return std::nullopt;
}

}  // namespace tessera::timing
