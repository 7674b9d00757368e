#pragma once
// The Verilated RTL core (rtl/core.sv) inside the system model, in place of modelled cores
// (docs/cosim.md, "RTL cores inside the system model"). model::RunOptions::stand_in builds one
// for each listed core; it runs the core's program cycle by cycle and exchanges with the
// modelled chip what a modelled core does: L2 data after l2.latency, HBM data with each DMA
// transfer handed to the chip's DramPort at its first beat, barrier arrivals and releases.
// The core's instruction records (start, completion, DRAM completion) come from its trace ports,
// so a run's cycles and timelines can be compared with the all-model run's.
#include <cstdint>
#include <memory>

#include "common/config/config.h"
#include "cosim/rtl_arch.h"
#include "model/core/model.h"

namespace tessera::cosim {

// RTL cycles and host seconds spent in RTL cores, summed over every core a factory built.
struct RtlTotals {
  uint64_t cores = 0, cycles = 0;
  double seconds = 0;
};

struct RtlCoreOptions {
  std::shared_ptr<RtlTotals> totals;  // optional: filled as the cores are destroyed
  // Test only (tests/rtl/cosim_rtl_core_test.cpp): L2 answers this many cycles late, a defect
  // the comparison with the all-model run must catch.
  uint64_t test_l2_delay = 0;
};

// The factory of model::RunOptions::stand_in. Checks `arch` (check_rtl_core_arch); each core
// it builds refuses, with InputError naming the core and the instruction, a program the RTL
// core does not implement.
model::StandInFactory rtl_core_factory(const config::ArchConfig& arch, RtlCoreOptions options = {});

}  // namespace tessera::cosim
