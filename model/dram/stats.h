#pragma once
// Stats: what one DramSystem run did and why it fell short of peak. Command counts
// feed the energy model; row outcomes and the read-latency distribution describe the
// traffic; the loss attribution classifies every cycle of every pseudo-channel's data
// bus as busy or idle-because-of-one-named-cause, so the shares add up to 100 % of peak.
#include <array>
#include <cstdint>
#include <iosfwd>
#include <string_view>
#include <vector>

#include "model/dram/command.h"

namespace tessera::model::dram {

// Why a pseudo-channel's data bus was idle (docs/dram.md, "Loss attribution").
enum class Cause : uint8_t {
  NoRequest,   // nothing waiting in either queue
  RCD,         // ACT -> RD/WR of a missed row
  RP,          // PRE -> ACT
  RAS,         // ACT -> PRE
  RC,          // ACT -> ACT same bank
  RTP,         // RD -> PRE
  WR,          // write recovery before PRE
  RRD,         // ACT -> ACT other bank (tRRD_S / tRRD_L)
  FAW,         // four-activate window
  CCD_L,       // column spacing within a bank group
  CCD_S,       // column spacing across bank groups (or tBURST)
  WTR,         // write -> read turnaround
  RTW,         // read -> write turnaround
  Refresh,     // REF pending or tRFC / tRFCsb
  CommandBus,  // a legal burst waited for a command slot or for a higher-priority command
  kCount
};
constexpr size_t kCauseCount = size_t(Cause::kCount);

std::string_view cause_name(Cause);
// Coarse group of a cause for reports: "row", "activation_rate", "turnaround",
// "refresh", "bank_group_spacing", "command_bus", "no_request".
std::string_view cause_group(Cause);

struct LatencyHistogram {
  uint32_t bin_tck = 1;          // width of one bin
  std::vector<uint64_t> bins;    // bins[i] counts latencies in [i*bin_tck, (i+1)*bin_tck); last bin: overflow
  uint64_t count = 0, min = 0, max = 0;
  long double sum = 0;
  double mean() const { return count ? double(sum / count) : 0.0; }
  // Smallest latency L (bin upper edge, exact when bin_tck = 1) with at least q of the samples <= L.
  uint64_t percentile(double q) const;
  void add(uint64_t v);
};

struct Stats {
  // "burst" (DramSystem: every figure exact) or "bandwidth" (BandwidthDram: bytes and
  // bursts exact, commands estimated, no latency histogram or loss attribution).
  std::string_view dram_model = "burst";
  uint64_t cycles = 0;  // window [0, cycles) the figures cover, in tCK
  int64_t tck_fs = 0;
  uint32_t tburst = 0, burst_bytes = 0;
  uint32_t pcs = 0;
  double peak_bytes_per_s = 0;  // theoretical, from the data rate (DramParams::peak_bytes_per_s)
  uint64_t bytes_read = 0, bytes_written = 0;
  std::array<uint64_t, kCmdCount> commands{};  // indexed by Cmd
  uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0;
  LatencyHistogram read_latency;            // tCK from entering the queue to the last data beat
  std::vector<double> channel_utilisation;  // per (stack, channel): busy data-bus share over its PCs
  uint64_t busy_cycles = 0;                 // sum over PCs of bursts x tBURST
  std::array<uint64_t, kCauseCount> idle_cycles{};  // sum over PCs, per cause

  uint64_t count(Cmd c) const { return commands[size_t(c)]; }
  double seconds() const { return double(cycles) * double(tck_fs) * 1e-15; }
  double bytes_per_s() const { return cycles ? double(bytes_read + bytes_written) / seconds() : 0.0; }
  // Achieved share of the theoretical peak.
  double peak_share() const { return peak_bytes_per_s > 0 ? bytes_per_s() / peak_bytes_per_s : 0.0; }
  // Share of all data-bus cycles (pseudo-channels x window) that carried a burst.
  double utilisation() const { return cycles && pcs ? double(busy_cycles) / (double(cycles) * pcs) : 0.0; }
  double share(Cause c) const {
    return cycles && pcs ? double(idle_cycles[size_t(c)]) / (double(cycles) * pcs) : 0.0;
  }
  double row_hit_rate() const {
    const uint64_t n = row_hits + row_misses + row_conflicts;
    return n ? double(row_hits) / double(n) : 0.0;
  }
  void write_json(std::ostream&) const;
};

}  // namespace tessera::model::dram
