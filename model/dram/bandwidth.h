#pragma once
// BandwidthDram: the fast DRAM fidelity (docs/dram.md, "Bandwidth model"). Each
// pseudo-channel is a first-come-first-served server that moves bursts back to back at the
// data-bus rate times a stream efficiency derived from the timing parameters (row switches,
// activation rate, bank-group spacing, refresh); a first burst on an idle pseudo-channel sees
// the unloaded latency of the burst model. A transfer enters the servers in chunks of a
// quarter of its max_outstanding window, in address order, each once the chunk a window
// earlier has returned its credit, so concurrent transfers interleave as the burst model's
// windows make them. Chunks are split over the pseudo-channels by the address map run by
// run (a whole map period at a time where a chunk covers one), so the cost grows with chunks
// and pattern rows, not bursts. Bank conflicts and bank-group spacing delay a chunk's data
// but do not occupy the server; read/write turnarounds and queue occupancy are ignored
// (docs/dram.md says which figures it gets right and which it only estimates).
#include <cstdint>
#include <memory>
#include <vector>

#include "model/dram/address_map.h"
#include "model/dram/device.h"

namespace tessera::model::dram {

// The arithmetic behind the efficiency of one saturating sequential stream on a
// pseudo-channel, every time in tCK (docs/dram.md, "Bandwidth model").
struct StreamCalibration {
  uint32_t bursts_per_row = 0;    // C: row_bytes / burst bytes
  uint32_t groups_in_view = 0;    // g: fewest bank groups in a read queue's worth of one PC's stream
  uint32_t banks_before_reuse = 0;  // k: rows a PC's stream opens before it returns to a bank
  bool same_group_rows = false;   // two consecutive rows of a PC's stream share a bank group
  double column_time = 0;   // C bursts at the bank-group-limited column rate
  double activate_time = 0; // tRRD, tFAW / 4, tRC / k: the activation-rate bound per row
  double exposed_rcd = 0;   // part of tRCD the read queue cannot hide
  double row_time = 0;      // max(column_time, activate_time) + exposed_rcd
  double refresh_loss = 0;  // data-bus tCK lost per refresh interval
  double refresh_interval = 0;
  double row_efficiency = 0;  // C * tBURST / row_time: the share of the bus between refreshes
  double efficiency = 0;    // row_efficiency * (1 - refresh_loss / refresh_interval)
};

// Derives the calibration from validated parameters (walks the address map once).
StreamCalibration calibrate_stream(const DramParams& p, const AddressMap& map);

class BandwidthDram : public Device {
 public:
  // Validates `params` (InputError on bad values) and calibrates.
  explicit BandwidthDram(DramParams params);
  ~BandwidthDram() override;
  BandwidthDram(const BandwidthDram&) = delete;
  BandwidthDram& operator=(const BandwidthDram&) = delete;

  // request_bytes is accepted for the interface and ignored (no queues to split).
  // max_outstanding bounds the transfer by Little's law: at most that many bursts per
  // unloaded latency. InputError as DramSystem::submit.
  uint64_t submit(const Pattern3D& pat, bool write, uint32_t max_outstanding, uint64_t at_tck,
                  uint64_t request_bytes = 0) override;
  void advance(uint64_t until_tck) override;
  void run_until_idle() override;
  uint64_t next_event_tck() const override;
  std::vector<Completion> take_completed() override;
  uint64_t now_tck() const override;
  uint64_t in_flight() const override;
  // Bytes and bursts are exact; ACT/PRE (one per row of data), REFRESH (one per interval
  // and pseudo-channel) are estimates, and there is no latency histogram or loss
  // attribution; Stats::dram_model is "bandwidth".
  const Stats& stats() const override;
  const DramParams& params() const override;

  const StreamCalibration& calibration() const;
  // Devices with the same parameters may share the transfer splits they work out (the chips of
  // one system): `with` keeps its own, this one uses them from now on.
  void share_splits(const BandwidthDram& with);
  // false: no split is kept, every transfer is split as it is served (what happens past the
  // kept splits' memory bound); the results are the same either way.
  void keep_splits(bool keep);
  // Bursts served by each pseudo-channel so far (index as Location's pc_index).
  const std::vector<uint64_t>& bursts_per_pc() const;
  const AddressMap& address_map() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::model::dram
