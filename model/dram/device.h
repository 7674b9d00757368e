#pragma once
// Device: what a requester sees of a chip's DRAM, whatever its fidelity. DramSystem
// (dram_system.h) is the exact burst-level controller model; BandwidthDram (bandwidth.h)
// serves each pseudo-channel as a calibrated bandwidth server. Both take whole DMA-like
// transfers and report when each completes, and a SystemC adapter drives either with the
// same three calls: next_event_tck(), advance(t) and take_completed() (docs/dram.md, §2).
#include <cstdint>
#include <vector>

#include "model/dram/params.h"
#include "model/dram/stats.h"

namespace tessera::model::dram {

// A 3-D byte pattern, as in a DMA instruction: n2 planes of n1 rows of `len` bytes;
// row (i1, i2) starts at base + i1 * stride1 + i2 * stride2.
struct Pattern3D {
  uint64_t base = 0, len = 0, n1 = 1, n2 = 1, stride1 = 0, stride2 = 0;
};

struct Completion {
  uint64_t id = 0;   // as returned by submit()
  uint64_t tck = 0;  // cycle at which the transfer's last burst completed
};

// The checks every Device::submit makes: InputError when max_outstanding is 0 or the
// pattern reaches beyond the DRAM. Returns whether the pattern moves no byte.
bool check_submission(const DramParams& p, const Pattern3D& pat, uint32_t max_outstanding);

class Device {
 public:
  virtual ~Device() = default;
  // Queues a transfer of the whole bursts covering `pat`, entering at `at_tck` or now_tck()
  // if that is later; returns its id (0, 1, 2, ... in submission order). The meaning of
  // max_outstanding and request_bytes is DramSystem::submit's.
  virtual uint64_t submit(const Pattern3D& pat, bool write, uint32_t max_outstanding, uint64_t at_tck,
                          uint64_t request_bytes = 0) = 0;
  // Processes every event with cycle < until_tck; UINT64_MAX: until nothing is in flight.
  virtual void advance(uint64_t until_tck) = 0;
  virtual void run_until_idle() = 0;
  // Cycle of the next event while transfers are in flight; UINT64_MAX when none is.
  virtual uint64_t next_event_tck() const = 0;
  // Transfers completed since the last call, in completion order.
  virtual std::vector<Completion> take_completed() = 0;
  virtual uint64_t now_tck() const = 0;
  virtual uint64_t in_flight() const = 0;
  // Counters over [0, now_tck()).
  virtual const Stats& stats() const = 0;
  virtual const DramParams& params() const = 0;
};

}  // namespace tessera::model::dram
