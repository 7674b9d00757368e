#pragma once
// DramSystem: the event-driven model of a chip's DRAM (HBM2E/HBM3/HBM3E, DDR3): one
// controller per pseudo-channel with read and write queues, FR-FCFS or FCFS scheduling,
// open or closed pages, all-bank or per-bank refresh, and every timing constraint of
// docs/dram.md enforced exactly, in integer command clocks (tCK). Requesters hand over
// whole DMA-like transfers; the model splits them into bursts, limits how many are in
// the controllers, and reports when the last burst of each transfer completes.
//
// It never ticks: each pseudo-channel computes the earliest cycle of its next possible
// command and the model jumps there. A SystemC adapter drives it with three calls:
// next_event_tck() (when to wake up), advance(t) (process everything before t) and
// take_completed() (which transfers finished, and when); submit() may be called at any
// time not before now_tck().
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

#include "model/dram/address_map.h"
#include "model/dram/device.h"
#include "model/dram/params.h"
#include "model/dram/stats.h"

namespace tessera::model::dram {

struct Options {
  std::ostream* trace = nullptr;  // command trace (docs/dram.md, "Trace format"); null = none
  uint32_t latency_bins = 4096;   // read-latency histogram bins (the last one collects overflow)
  uint32_t latency_bin_tck = 1;   // width of one bin in tCK
};

class DramSystem : public Device {
 public:
  // Validates `params` (InputError on bad values) and starts at cycle 0 with every bank
  // precharged and the first refresh due one refresh interval later.
  explicit DramSystem(DramParams params, Options opt = {});
  ~DramSystem() override;
  DramSystem(const DramSystem&) = delete;
  DramSystem& operator=(const DramSystem&) = delete;

  // Queues a transfer of the whole bursts covering `pat` (a burst shared by consecutive
  // rows of the pattern is moved once). At most `max_outstanding` of its bursts are
  // between entering a controller queue and completing; bursts enter in pattern order,
  // and a burst whose queue is full holds back the rest of its transfer. The first burst
  // enters at `at_tck`, or at now_tck() if that is later. Returns the transfer id (0, 1,
  // 2, ... in submission order). The transfer is made of requests, the aligned blocks of
  // `request_bytes` (a DMA engine's request size); the bursts of one request that fall in
  // one row of one bank enter the controller together or wait together, as one request
  // does in a controller, so a full queue never splits them. 0 (or a size up to one
  // burst) makes every burst its own request. Throws InputError when the pattern reaches
  // beyond the DRAM or max_outstanding is 0.
  uint64_t submit(const Pattern3D& pat, bool write, uint32_t max_outstanding, uint64_t at_tck,
                  uint64_t request_bytes = 0) override;

  // Processes every event with cycle < until_tck. UINT64_MAX is run_until_idle(): idle
  // pseudo-channels refresh for ever, so "every event" would never end.
  void advance(uint64_t until_tck) override;
  // Processes events until every submitted transfer has completed.
  void run_until_idle() override;
  // Cycle of the next event while transfers are in flight; UINT64_MAX when none is
  // (refresh of idle pseudo-channels is caught up lazily and needs no wake-up).
  uint64_t next_event_tck() const override;
  // Transfers completed since the last call, in completion order. A read completes when
  // its last burst's data has returned (RD + CL + tBURST), a write when its last burst's
  // data has been sent (WR + CWL + tBURST).
  std::vector<Completion> take_completed() override;
  // First cycle not processed yet.
  uint64_t now_tck() const override;
  // Transfers submitted and not yet completed.
  uint64_t in_flight() const override;

  // Counters over [0, now_tck()).
  const Stats& stats() const override;

  const DramParams& params() const override;
  const AddressMap& address_map() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::model::dram
