#pragma once
// The SystemC structure of the model (internal to tessera_model; the public entry point is
// model/core/model.h). One sc_module per unit of docs/architecture.md: a System of Chips,
// each with an L2, a DramPort (the chip's DRAM, model/dram) and Cores; a Core has a
// Sequencer, matrix engines, a vector engine, DMA engines, a collective unit and an L1.
// The LinkFabric joins the chips.
//
// Event-driven by construction: every unit is one SC_METHOD that, when it runs, computes
// the whole timeline of each instruction it can start (docs/timing.md formulas, from
// timing.h) and records its start and completion cycles, which may lie far ahead of the
// SystemC time. It only waits on a SystemC event when information it needs is not yet
// known: an instruction not yet dispatched, a token whose producer has not been scheduled,
// a DRAM transfer, a message. Shared resources whose outcome depends on the order of
// requests (DRAM, links, barriers) are resolved in time order by their own processes, which
// act on a request only once SystemC time has passed it, with ties broken by (chip, core,
// unit): the result never depends on the order in which SystemC happens to run processes.
#include <systemc>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/isa/isa.h"
#include "common/numerics/fp.h"
#include "common/timing/params.h"
#include "common/timing/tokens.h"
#include "common/util/hash.h"
#include "model/core/clock.h"
#include "model/core/collective.h"
#include "model/core/dma_engine.h"
#include "model/core/dram_port.h"
#include "model/core/matrix_engine.h"
#include "model/core/memory.h"
#include "model/core/model.h"
#include "model/core/parallel.h"
#include "model/core/sequencer.h"
#include "model/core/sram.h"
#include "model/core/stats.h"
#include "model/core/unit.h"
#include "model/core/vector_engine.h"

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::model {

class System;
class Chip;
class Core;

enum class Mode { Timing, Functional };

// ---- Core, chip, system --------------------------------------------------------------------

class Core : public sc_core::sc_module {
 public:
  // With `stand_in` set the core has no modelled units: what it builds runs the core's
  // instructions (RunOptions::stand_in); the sequencer object only holds the halt and the
  // barrier release.
  Core(sc_core::sc_module_name name, Chip& chip, uint32_t index, const isa::TextSection* text,
       const StandInFactory* stand_in = nullptr);
  ~Core() override;

  Chip& chip;
  System& sys;
  const timing::ArchParams& p;
  const uint32_t index;
  std::span<const isa::Instr> code;  // the program's text section (owned by the caller)
  std::vector<uint32_t> pos;  // position of each instruction in its unit's queue
  std::array<Unit*, kQueueUnits> units{};  // by ISA unit id; null where the configuration has no such unit
  std::vector<std::unique_ptr<Unit>> owned;
  std::unique_ptr<Sequencer> seq;
  std::array<std::array<timing::TokenCounter, kQueueUnits>, kQueueUnits> tokens;  // [from][to]
  // The event a unit waiting on counter [from][to] waits for, made when first waited on: most of
  // a core's 196 counters are never used, and making an sc_event costs a name in SystemC's
  // object registry. A counter nobody waited on has no event, and its pushes notify nothing.
  std::array<std::array<std::unique_ptr<sc_core::sc_event>, kQueueUnits>, kQueueUnits> token_ev;
  sc_core::sc_event& token_event(int from, int to) {
    auto& e = token_ev[size_t(from)][size_t(to)];
    if (!e) e = std::make_unique<sc_core::sc_event>();
    return *e;
  }
  Sram l1;
  std::vector<InstrRecord> records;
  std::unique_ptr<StandIn> stand_in;  // null for a modelled core
  num::NumericEvents numeric;
  uint64_t macs_by_type[4][4] = {};  // [a_type][b_type] for the matrix input formats
  std::array<uint64_t, isa::kNumEnergyClasses> vector_elements{};  // by isa::EnergyClass

  bool has_program() const { return !code.empty(); }
  // A predicated load, store or matmul (pred_words > 0) runs when one of its words is not
  // zero: functional mode reads the L1 words, timing mode asks System::predicate (runs when
  // unset). Unpredicated instructions always run.
  bool predicate_holds(const isa::Instr& in) const;
  SparseMemory& memory(isa::Space s, uint32_t acc_engine);
  MatrixEngine& engine(uint32_t e) { return *static_cast<MatrixEngine*>(units[isa::kUnitsMx.first + e]); }
  const timing::BankGeometry* tier(isa::Space s) const;  // null for hbm
  uint64_t latency(isa::Space s) const;
  SramTraffic* traffic(isa::Space s, uint32_t acc_engine);
  SramTraffic acc_traffic() const;  // over the core's accumulators
  // Key ordering same-cycle requests to shared resources: chip, core, unit.
  uint64_t key(int unit) const;
  // Who made a request with `key`, and from which SystemC process, for the internal errors of
  // the shared resources ("chip 1 core 0 unit coll (system.chip1.core0.coll.run)").
  static std::string key_owner(uint64_t key);
  std::string where(uint32_t index) const;  // "chip C core K instruction #I (op)"
  std::string where_core() const;           // "chip C core K"
};

class Chip : public sc_core::sc_module {
 public:
  Chip(sc_core::sc_module_name name, System& sys, uint32_t index, const config::ArchConfig& cfg,
       const std::vector<const isa::TextSection*>& texts, const RunOptions& opt);
  ~Chip() override;
  System& sys;
  const uint32_t index;
  Sram l2;
  L2Fabric l2_fabric;
  SparseMemory hbm;
  std::unique_ptr<DramPort> dram;
  std::vector<std::unique_ptr<Core>> cores;
};

class System : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(System);
  System(sc_core::sc_module_name name, const config::ArchConfig& cfg, const timing::ArchParams& p, const isa::Program& prog,
         Mode mode, const RunOptions& opt = {});
  // Timing mode: the outcome of predicated DMAs (RunOptions::predicate); empty = they move.
  std::function<bool(uint32_t, uint32_t, uint64_t, uint64_t)> predicate;
  ~System() override;

  const timing::ArchParams& p;
  const Mode mode;
  const DramModel dram_model;
  Clock clock;
  std::vector<std::unique_ptr<Chip>> chips;
  std::unique_ptr<LinkFabric> links;
  bool functional() const { return mode == Mode::Functional; }
  // Co-simulation: told of every unit step and every memory write (Simulation::observe).
  InstrObserver* observer = nullptr;

  // Progress, watched by Simulation::run to tell a livelock from a long run: instructions
  // completed so far and the latest completion cycle any unit has computed (units schedule
  // ahead of SystemC time, so a long instruction is known work, not a stall).
  uint64_t completions = 0, horizon = 0;
  void completed(uint64_t e) {
    ++completions;
    horizon = std::max(horizon, e);
  }

  // First error of the run (token overflow, barrier mismatch, message size): stops the run.
  void fail(const std::string& msg);
  bool failed() const { return !error.empty(); }
  std::string error;

  // Vector instruction timings by shape: the cores of a tensor-parallel system run the same
  // instructions on the same addresses, so most shapes repeat (VectorEngine::step).
  std::unordered_map<std::array<uint64_t, 18>, timing::VecTiming, WordsHash> vec_timings;

  // Parallel runs (model/core/parallel.h): this worker's end of the exchange; null when one
  // process simulates every chip.
  Exchange* exchange = nullptr;
  bool local(uint32_t chip) const { return !exchange || exchange->local(chip); }

  // Barrier rendezvous: the cores of the group wake with the release cycle (Sequencer::release).
  // A core's arrival at a system barrier of several chips crosses the links: every chip learns
  // of it a link latency after the cycle it was made in (docs/timing.md, "Barrier").
  void barrier_arrive(uint32_t chip, uint32_t core, isa::Scope scope, uint32_t id, uint64_t x, const std::string& where);
  // Parallel runs: an arrival made on another worker's chip.
  void arrival_remote(const RemoteArrival& a);
  std::vector<std::string> barrier_waiters() const;

 private:
  void take_arrivals();
  void apply_arrival(uint32_t chip, uint32_t core, isa::Scope scope, uint32_t id, uint64_t x, const std::string& where);
  void push_arrival(const RemoteArrival& a);
  std::vector<RemoteArrival> arrivals_;  // system-barrier arrivals in flight: min-heap on (at_fs, chip, core)
  sc_core::sc_event arrival_ev_;
  struct Group {
    bool open = false;
    uint32_t id = 0;
    uint64_t max_x = 0;
    std::vector<std::pair<uint32_t, uint32_t>> members;  // (chip, core)
    std::string first_where;
  };
  Group& group_for(uint32_t chip, isa::Scope scope);
  uint64_t participants(uint32_t chip, isa::Scope scope) const;
  std::vector<Group> chip_groups_;
  Group system_group_;
  std::vector<uint32_t> cores_with_code_;  // per chip
};

}  // namespace tessera::model
