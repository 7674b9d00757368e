#pragma once
// TokenCounter: one dependency-token counter tokens[u][v] of a core (docs/architecture.md
// §2.1, docs/timing.md "Tokens"). The model knows each push's cycle as soon as the
// producer has scheduled the instruction, which may be long before the simulation reaches
// it, so the counter keeps the push cycles rather than a number: the k-th pop is matched by
// the k-th push and may start from cycle push_k + 1. The counter limit (core.token_depth)
// is checked exactly on these timestamps: the value after cycle c is
// #pushes(<= c) - #pops(<= c), and it exceeds D iff some push k happens before pop k - D.
#include <cstdint>
#include <optional>
#include <vector>

namespace tessera::timing {

class TokenCounter {
 public:
  explicit TokenCounter(uint32_t depth = 15) : depth_(depth) {}

  uint64_t pushes() const { return pushes_; }
  uint64_t pops() const { return pops_; }
  // True when the next pop's push has been scheduled.
  bool next_available() const { return pops_ < pushes_; }
  // First cycle the next pop may happen (its push cycle + 1). Requires next_available().
  uint64_t next_visible() const { return pending_[head_] + 1; }

  // Records a push at cycle `e`. Returns the cycle at which the counter first exceeds the
  // depth because of it, if the pop that would have kept it in range is known to come later.
  std::optional<uint64_t> push(uint64_t e);
  // Records the next pop at cycle `t` (t >= next_visible()). Returns the overflow cycle if a
  // push already scheduled happens before this pop and leaves more than `depth` tokens.
  std::optional<uint64_t> pop(uint64_t t);
  // After the run: the overflow cycle if more than `depth` pushes were never popped.
  std::optional<uint64_t> final_check() const;

 private:
  uint32_t depth_;
  uint64_t pushes_ = 0, pops_ = 0;
  // Push cycles of pushes not yet popped, in order, from pending_[head_]. A vector and a head
  // rather than a deque, and the pop ring sized at the first pop: a core has a counter for every
  // pair of units, most never used, and a deque allocates when it is constructed.
  std::vector<uint64_t> pending_;
  size_t head_ = 0;
  std::vector<uint64_t> pop_ring_;  // cycles of the last depth + 1 pops, by pop index mod (depth + 1)
};

}  // namespace tessera::timing
