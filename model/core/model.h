#pragma once
// The cycle-accurate model of a Tessera system (docs/model.md): run a program on an
// architecture, in timing mode (no data; fastest) or functional mode (memories hold bytes
// and every instruction computes its results with the numerics library), and read back
// cycles, per-instruction timelines, statistics (JSON), a Chrome/Perfetto trace (JSON) and,
// in functional mode, memory contents. Timing is identical in both modes.
//
// SystemC keeps one global simulation context per process; a Simulation installs a fresh
// one and removes it when destroyed, so simulations run one after another in a process
// (never two at once: constructing a second while one exists throws std::logic_error).
#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/isa/isa.h"
#include "common/numerics/fp.h"
#include "common/timing/params.h"
#include "model/core/stats.h"

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::model {

class InstrObserver;
class Core;

// A core of the system whose instructions run on something other than the modelled units:
// the Verilated RTL core of cosim/rtl_core.h (docs/cosim.md, "RTL cores inside the system
// model"). It is a SystemC module built inside the core's Core (model/core/system.h) and
// exchanges with the modelled chip what a modelled core does: L2 and HBM data, DRAM transfers
// through the chip's DramPort, barrier arrivals; it fills the core's instruction records and
// its sequencer's halt.
class StandIn {
 public:
  virtual ~StandIn() = default;
  // For the deadlock report: what the core is doing or waiting for.
  virtual std::string blocked_on() const = 0;
};
using StandInFactory = std::function<std::unique_ptr<StandIn>(Core& core)>;

// DRAM fidelity (docs/model.md, "DRAM fidelity"): Burst is the exact controller model of
// docs/dram.md; Bandwidth serves each pseudo-channel as a calibrated bandwidth server with the
// unloaded latency, orders of magnitude faster for large runs (docs/dram.md, "Bandwidth model").
enum class DramModel { Burst, Bandwidth };

// "burst" or "bandwidth".
std::string_view dram_model_name(DramModel m);
// Parses the value of a `--dram` option; InputError naming --dram and the accepted values.
DramModel parse_dram_model(const std::string& s);

struct RunOptions {
  bool functional = false;
  // Burst by default: the exact model is the reference; Bandwidth trades fidelity for speed.
  DramModel dram = DramModel::Burst;
  // Largest cycle count the run may reach (`--max-cycles`); 0: no limit. Without a limit a
  // run still ends: one that stops making progress is reported (Simulation::run).
  uint64_t max_cycles = 0;
  // Host workers (`--threads`): in timing mode the chips of a multi-chip system are split over
  // this many processes that run in parallel (docs/model.md, "Host parallelism"); the results
  // are the same for every count. Runs that cannot be split (one chip, functional mode,
  // co-simulation, a link latency under one cycle, a message routed over more than one hop)
  // use one; Simulation::workers() says how many ran.
  uint32_t threads = 1;
  // Measure the host time spent in the DRAM model (Simulation::dram_host_ns; model_bench).
  bool time_dram = false;
  // Timing mode has no data, so a predicated DMA (pred_words > 0, spec/isa.yaml load) asks
  // this whether its predicate holds: (chip, core, pred_addr, pred_words) -> moves its data.
  // Unset: every predicated DMA moves its data (the dense worst case). The driver answers
  // from the routing it assumes for a mixture-of-experts step (docs/driver.md, "Routing").
  // Functional mode ignores it and reads the words from L1.
  std::function<bool(uint32_t chip, uint32_t core, uint64_t pred_addr, uint64_t pred_words)> predicate = nullptr;
  // Co-simulation: these cores, (chip, core), run on what `stand_in` builds instead of the
  // modelled units (functional mode only). The rest of the system stays modelled.
  std::vector<std::pair<uint32_t, uint32_t>> stand_in_cores = {};
  StandInFactory stand_in = nullptr;
};

// Totals over the whole system after a run (the `totals` object of the statistics).
// The counts feed the energy model (common/tech/energy.h); DRAM commands are exact with the
// burst model and estimates with the bandwidth model (docs/dram.md).
struct Totals {
  uint64_t macs = 0;
  std::array<std::array<uint64_t, 4>, 4> macs_by_type{};  // [a_type][b_type], ISA dtype order
  std::array<uint64_t, isa::kNumEnergyClasses> vector_elements{};  // by isa::EnergyClass
  uint64_t instructions = 0;
  uint64_t hbm_read = 0, hbm_written = 0;
  uint64_t dram_activates = 0, dram_refreshes = 0, dram_bank_refreshes = 0;
  SramTraffic l1, l2, acc;
  uint64_t link_bytes = 0;
  num::NumericEvents numeric;
};

class Simulation {
 public:
  // Validates the program for the architecture (isa::validate): InputError names the
  // instruction. Builds the SystemC modules. `prog` must outlive the Simulation (its text
  // sections are executed in place).
  Simulation(const config::ArchConfig& cfg, const isa::Program& prog, RunOptions opt = {});
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Runs to completion. InputError for program errors found while running: a deadlock (the
  // message lists every blocked queue with the instruction at its head and what it waits
  // for), a token counter beyond core.token_depth, a barrier id mismatch, a receive whose
  // size differs from the matching send; a livelock (no instruction completes and no DRAM data
  // moves for kStallCycles cycles past the last known completion while events keep coming,
  // e.g. a DRAM that only refreshes); reaching RunOptions::max_cycles. Each names the cycle
  // and lists the cores still running with what they wait for.
  void run();
  // Co-simulation: reports every unit step and every functional-mode write of every memory
  // (L1, L2, HBM, accumulators) to `o` from now on; call before run(). Changes no timing.
  void observe(InstrObserver* o);
  static constexpr uint64_t kStallCycles = uint64_t(1) << 26;
  // Functional mode: the most one vector instruction may buffer (rows x cols x 4 bytes of
  // results); the constructor refuses a program above it, or above the host's memory.
  static constexpr uint64_t kMaxVectorScratchBytes = uint64_t(4) << 30;

  // Cycles of the run: the latest cycle at which a core's halt completed.
  uint64_t cycles() const;
  uint64_t instructions() const;
  // Host workers the run used (RunOptions::threads, or 1 where the run cannot be split).
  uint32_t workers() const;
  const timing::ArchParams& params() const;
  // Timelines of one core's instructions, in program order.
  const std::vector<InstrRecord>& records(uint32_t chip, uint32_t core) const;
  // Functional mode: bytes of a memory after the run (l1/acc of the given core; InputError for
  // the L1 or accumulators of a stand-in core, which the model does not hold).
  std::vector<uint8_t> read_memory(uint32_t chip, uint32_t core, isa::Space space, uint32_t acc_engine, uint64_t addr,
                                   uint64_t n) const;

  Totals totals() const;
  // Host nanoseconds the run spent in the DRAM model (benchmark breakdown; varies run to run;
  // 0 unless RunOptions::time_dram).
  uint64_t dram_host_ns() const;
  // Transfers handed to the DRAM model, over all chips.
  uint64_t dram_transfers() const;
  void write_stats_json(std::ostream& os) const;
  void write_trace_json(std::ostream& os) const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::model
