#pragma once
// SRAM ports and the on-chip network as shared bandwidth (docs/timing.md, "SRAM ports and
// arbitration", "On-chip network"). A port-limited resource moves at most `cap` bytes per cycle
// over all of its clients; each client asks for its bytes at its own rate from a start cycle and
// is served in windows of kPortWindow cycles with what earlier bookings left. The functions are
// pure over their calendars, so tests can replay a booking order and the compiler can read the
// same capacities.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <unordered_map>

#include "common/timing/params.h"

namespace tessera::timing {

// Bookings are kept per window of this many cycles: fine enough that a transfer's end moves by
// at most one window against a cycle-by-cycle arbiter, coarse enough that the bookings of every
// matmul tile, DMA side and vector operand keep model_bench within 10 % of its speed without
// ports (16 cost it about 20 %; docs/validation.md).
inline constexpr uint64_t kPortWindow = 32;

// Bytes per cycle one tier moves through its bank ports: reads alone, writes alone, and reads
// and writes together; 0 = no limit (per_client ports).
struct PortCapacity {
  uint64_t read = 0, write = 0, shared = 0;
};
PortCapacity port_capacity(const BankGeometry& g, Ports ports);

// Bytes per cycle a chip's L2 delivers to its cores in one direction, every limit together: the
// bank ports (a single- or dual-port bank's shared bandwidth counted for one direction), the
// network's L2-side ports and `cores` core ports. per_client banks count one client's
// `banks x bank_width`, the bandwidth each port then has.
uint64_t l2_stream_bytes_per_cycle(const ArchParams& p, uint64_t cores);

// One shared bandwidth of `cap` bytes per cycle (0: unlimited).
class BandwidthCalendar {
 public:
  static constexpr uint64_t kPage = 256;  // windows stored together
  explicit BandwidthCalendar(uint64_t bytes_per_cycle = 0) : cap_(bytes_per_cycle) {}
  bool limited() const { return cap_ != 0; }
  uint64_t cap() const { return cap_; }
  // Bytes still free in window `w`.
  uint64_t left(uint64_t w) const {
    const uint64_t* pg = w / kPage == last_page_ ? last_ : page(w / kPage);
    const uint64_t used = pg ? pg[w % kPage] : 0;
    const uint64_t room = cap_ * kPortWindow;
    return used >= room ? 0 : room - used;
  }
  void take(uint64_t w, uint64_t bytes) {
    if (w / kPage != last_page_) make_current(w / kPage);
    last_[w % kPage] += bytes;
  }

 private:
  // Bookings come in runs of consecutive windows, so they are kept in pages of windows with the last
  // page used at hand (a hash lookup per window cost model_bench a third of its speed); only the
  // pages some booking touched exist.
  const uint64_t* page(uint64_t p) const;
  void make_current(uint64_t p);  // page p, created if no booking touched it yet, becomes the one at hand
  uint64_t cap_;
  std::unordered_map<uint64_t, std::unique_ptr<uint64_t[]>> pages_;  // page -> bytes booked per window
  mutable uint64_t last_page_ = UINT64_MAX;
  mutable uint64_t* last_ = nullptr;
};

// Books `bytes` moving from cycle `start` at up to `rate` bytes per cycle through every
// calendar of `path` at once (nulls and unlimited calendars ignored), first booked first
// served; returns the cycles it ends later than start + ceil(bytes / rate), the uncontended end.
uint64_t book(std::initializer_list<BandwidthCalendar*> path, uint64_t start, uint64_t bytes, uint64_t rate);

// Books `bytes` from cycle `start` at `rate` bytes per cycle whatever is left: a client that is
// never delayed (a matrix engine's operand and result streams) still takes its share from those
// booked after it.
void claim(std::initializer_list<BandwidthCalendar*> path, uint64_t start, uint64_t bytes, uint64_t rate);

}  // namespace tessera::timing
