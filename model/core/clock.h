#pragma once
// Exact time arithmetic of the model. Every time is an integer: core cycles for the
// units, DRAM command clocks (tCK) for the DRAM, femtoseconds for SystemC time and the
// links. Periods are rounded to whole femtoseconds once, when the configuration is read
// (config::core_period_fs, config::dram_tck_fs); after that no floating point touches
// time, so a DRAM or link event lands on the same core cycle on every host.
#include <cstdint>

namespace tessera::model {

// Ceiling of a / b for b > 0, computed without overflow for the ranges the model uses
// (a up to 2^64 - 1 after a 128-bit product).
inline uint64_t ceil_div_u128(unsigned __int128 a, uint64_t b) {
  return uint64_t((a + b - 1) / b);
}

struct Clock {
  uint64_t period_fs = 1;  // one core cycle

  uint64_t fs(uint64_t cycle) const { return cycle * period_fs; }
  // First core cycle whose start is at or after `t_fs` (a later event becomes visible there).
  uint64_t cycle_at_or_after(uint64_t t_fs) const { return ceil_div_u128(t_fs, period_fs); }
};

// Conversion between the core clock and the DRAM command clock of one chip.
struct ClockCrossing {
  uint64_t core_fs = 1;
  uint64_t tck_fs = 1;
  // First DRAM command clock edge at or after the start of core cycle c.
  uint64_t tck_of_core(uint64_t c) const { return ceil_div_u128((unsigned __int128)c * core_fs, tck_fs); }
  // First core cycle edge at or after DRAM cycle t.
  uint64_t core_of_tck(uint64_t t) const { return ceil_div_u128((unsigned __int128)t * tck_fs, core_fs); }
};

// When the processes that resolve shared resources act on an instant (a core cycle's start or
// a tCK edge), in femtoseconds after it. Each waits until every request for the instant can be
// known, and a zero-time chain between them must run forwards: a receive matched with a
// message that is already there (+P/2) may write to the DRAM at its own start cycle, so the
// DramPort takes the transfers of a tCK edge after that (+P/2 + 1); a read completing at an
// edge may start a send at the core cycle beginning there, so sends are reserved after the
// DramPort (+P/2 + 2). P >= 5 fs keeps all three inside the cycle. docs/model.md.
inline uint64_t link_claim_offset_fs(uint64_t period_fs) { return period_fs / 2; }
inline uint64_t dram_offset_fs(uint64_t period_fs) { return period_fs / 2 + 1; }
inline uint64_t link_send_offset_fs(uint64_t period_fs) { return period_fs / 2 + 2; }

}  // namespace tessera::model
