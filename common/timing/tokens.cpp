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
  if (++head_ == pending_.size()) {
    pending_.clear();
    head_ = 0;
  } else if (head_ >= 64 && 2 * head_ >= pending_.size()) {
    pending_.erase(pending_.begin(), pending_.begin() + long(head_));
    head_ = 0;
  }
  if (pop_ring_.empty()) pop_ring_.assign(depth_ + 1, 0);
  pop_ring_[j % (depth_ + 1)] = t;
  // Push j + depth, if already scheduled, must not come before this pop.
  const uint64_t k = j + depth_;
  if (k < pushes_) {
    const uint64_t e = pending_[head_ + (k - pops_)];
    if (e < t) return e;
  }
  return std::nullopt;
}

std::optional<uint64_t> TokenCounter::final_check() const {
  if (pending_.size() - head_ > depth_) return pending_[head_ + depth_];
  return std::nullopt;
}

}  // namespace tessera::timing
