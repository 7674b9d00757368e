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

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/isa/isa.h"
#include "common/numerics/fp.h"
#include "common/timing/params.h"
#include "common/timing/sram.h"
#include "common/timing/timing.h"
#include "common/timing/tokens.h"
#include "model/core/clock.h"
#include "model/core/memory.h"
#include "model/core/model.h"
#include "model/core/stats.h"
#include "model/dram/dram_system.h"

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::model {

class System;
class Chip;
class Core;

enum class Mode { Timing, Functional };

// ---- DRAM port: the chip's DRAM (either fidelity) driven in time order -----------------

class DramPort : public sc_core::sc_module {
 public:
  using Callback = std::function<void(uint64_t done_core_cycle)>;
  SC_HAS_PROCESS(DramPort);
  // `model` picks the DRAM fidelity (RunOptions::dram).
  DramPort(sc_core::sc_module_name name, const config::ArchConfig& cfg, const timing::ArchParams& p, DramModel model);

  // Queues a transfer that enters the DRAM at the first tCK edge at or after the start of
  // core cycle `core_cycle`. Requests entering at the same edge are submitted in `key`
  // order. `done` runs with the first core cycle at or after the transfer's completion.
  void request(const dram::Pattern3D& pat, bool write, uint32_t max_outstanding_bursts, uint64_t core_cycle,
               uint64_t key, Callback done);
  const dram::Device& dram() const { return *dram_; }
  uint64_t requests() const { return requests_; }
  // Host time spent inside the DRAM model (for the speed benchmark; not deterministic).
  uint64_t host_ns() const { return host_ns_; }

 private:
  struct Pending {
    uint64_t x, key, seq;
    dram::Pattern3D pat;
    bool write;
    uint32_t max_out;
    Callback done;
  };
  void pump();
  void collect();
  ClockCrossing xing_;
  uint64_t request_bytes_;  // dma.burst_bytes: a DMA engine's request (docs/timing.md, "DMA")
  std::unique_ptr<dram::Device> dram_;
  std::vector<Pending> pending_;  // min-heap on (x, key, seq)
  std::vector<std::pair<uint64_t, Callback>> inflight_;  // (transfer id, callback), ids ascending
  size_t inflight_head_ = 0;
  uint64_t seq_ = 0, requests_ = 0, host_ns_ = 0;
  sc_core::sc_event kick_;
};

// ---- Links between chips -----------------------------------------------------------------

class LinkFabric : public sc_core::sc_module {
 public:
  // arrival_fs: when the last byte reaches the receiver; payload empty in timing mode.
  using SentCallback = std::function<void(uint64_t depart_end_fs)>;
  using RecvCallback = std::function<void(uint64_t arrival_fs, const std::vector<uint8_t>& payload)>;
  SC_HAS_PROCESS(LinkFabric);
  LinkFabric(sc_core::sc_module_name name, System& sys, const timing::ArchParams& p);

  void send(uint64_t start_cycle, uint32_t src, uint32_t dst, uint16_t tag, uint64_t bytes, uint64_t key,
            std::vector<uint8_t> payload, SentCallback sent);
  void claim(uint64_t cycle, uint32_t src, uint32_t dst, uint16_t tag, uint64_t bytes, uint64_t key,
             std::string who, RecvCallback recv);

  struct LinkStats {
    uint64_t bytes_out = 0, messages = 0, busy_fs = 0;
  };
  const std::vector<std::array<LinkStats, 2>>& link_stats() const { return stats_; }
  // Claims still waiting for a message, for the deadlock report.
  std::vector<std::string> unmatched() const;

 private:
  struct Op {
    uint64_t t_fs, key, seq;
    bool is_send;
    uint32_t src, dst;
    uint16_t tag;
    uint64_t bytes;
    std::vector<uint8_t> payload;
    SentCallback sent;
    RecvCallback recv;
    std::string who;
  };
  struct Message {
    uint64_t arrival_fs, bytes;
    std::vector<uint8_t> payload;
  };
  struct Mailbox {
    std::vector<Message> messages;
    size_t msg_head = 0;
    std::vector<std::pair<RecvCallback, std::pair<uint64_t, std::string>>> claims;  // (cb, (bytes, who))
    size_t claim_head = 0;
  };
  void enqueue(Op op);
  void process();
  void match(uint64_t key, Mailbox& mb);
  System& sys_;
  const timing::ArchParams& p_;
  std::vector<Op> pending_;  // min-heap on (t_fs, key, seq)
  uint64_t seq_ = 0;
  std::vector<std::array<uint64_t, 2>> free_fs_;  // per chip, per direction (0 forward, 1 backward)
  std::vector<std::array<LinkStats, 2>> stats_;
  std::map<uint64_t, Mailbox> boxes_;
  sc_core::sc_event kick_;
};

// ---- SRAM tiers ---------------------------------------------------------------------------

// One SRAM instance (a core's L1, a chip's L2, an engine's accumulator): its bank geometry
// (docs/timing.md, "SRAM accesses and bank conflicts"), its bytes in functional mode and
// the accesses made to it by width. It has no process: the units time their accesses with
// the bank arithmetic of sram.h when they schedule an instruction.
class Sram : public sc_core::sc_module {
 public:
  Sram(sc_core::sc_module_name name, const timing::BankGeometry& g) : sc_module(name), geometry(g) {}
  const timing::BankGeometry& geometry;
  SparseMemory mem;
  SramTraffic traffic;
};

// ---- Units -------------------------------------------------------------------------------

class Unit : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Unit);
  Unit(sc_core::sc_module_name name, Core& core, int id);

  Core& core;
  const int id;
  std::vector<uint32_t> instrs;  // program indices of this unit's instructions (static)
  std::vector<uint64_t> disp;    // dispatch cycle of each, appended by the sequencer
  std::vector<uint64_t> leave;   // cycle each left the queue (started)
  uint64_t completed = 0;        // instructions whose completion cycle is known
  uint64_t last_e = 0;           // latest completion cycle
  sc_core::sc_event dispatch_ev, progress_ev;
  UnitStats st;

  // Deadlock report: what the head instruction waits for.
  virtual std::string blocked_on() const;

 protected:
  void run();
  // Processes instrs[head]; true when it has been scheduled to completion, false when
  // blocked (the unit has called next_trigger).
  virtual bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) = 0;

  // Waits for the tokens of `mask`; on success `visible` is the first cycle they all are
  // and `latest` the unit whose token came last (kNoUnit when none).
  bool tokens_ready(uint16_t mask, uint64_t& visible, int& latest);
  void pop_tokens(uint16_t mask, uint64_t t, uint32_t index);
  void push_tokens(uint16_t mask, uint64_t e, uint32_t index);
  // Idle/token stall accounting between the unit becoming free at `free` and starting at `t`.
  void account_wait(uint64_t free, uint64_t arrival, uint64_t t, uint64_t token_visible, int latest);
  void account_busy(uint64_t from, uint64_t to);  // [from, to] inclusive, union with earlier
  void started(uint64_t t);
  void finished(uint64_t e);
  // The start of an instruction on a unit that runs one at a time (DMA, vector, collective):
  // waits for its tokens, T = max(arrival, previous E + 1, tokens), pops them. tpush and tpop
  // complete at T (`done`).
  bool begin(const isa::Instr& in, uint32_t index, uint64_t arrival, uint64_t& t, bool& done);
  // Records completion at `e`: busy cycles from `start`, signal tokens, progress.
  void complete(const isa::Instr& in, uint32_t index, uint64_t start, uint64_t e);

  size_t head_ = 0;
  int phase_ = 0;
  std::string waiting_;  // description of the current block, for the deadlock report
};

class MatrixEngine : public Unit {
 public:
  MatrixEngine(sc_core::sc_module_name name, Core& core, int id);
  Sram acc;  // this engine's accumulator
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  timing::MatmulTimer timer_;
};

class VectorEngine : public Unit {
 public:
  VectorEngine(sc_core::sc_module_name name, Core& core, int id);
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  // Multi-phase state for hbm operands.
  uint64_t T_ = 0, tokvis_ = 0, reads_left_ = 0, read_done_ = 0, write_done_ = 0;
  bool write_pending_ = false;
  sc_core::sc_event dram_ev_;
};

class DmaEngine : public Unit {
 public:
  DmaEngine(sc_core::sc_module_name name, Core& core, int id);
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  uint64_t T_ = 0, sram_e_ = 0, dram_done_ = 0;
  int dram_left_ = 0;
  sc_core::sc_event dram_ev_;
};

class CollectiveUnit : public Unit {
 public:
  CollectiveUnit(sc_core::sc_module_name name, Core& core, int id);
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  uint64_t T_ = 0, send_e_ = 0, recv_e_ = 0, ready_ = 0;
  int waits_ = 0;  // outstanding callbacks of the current phase
  bool recv_arrived_ = false;
  uint64_t arrival_fs_ = 0, old_read_done_ = 0;
  std::vector<uint8_t> payload_;
  sc_core::sc_event ev_;
};

class Sequencer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Sequencer);
  Sequencer(sc_core::sc_module_name name, Core& core);
  SeqStats st;
  bool halted = false;
  uint64_t halt_cycle = 0;
  std::string blocked_on() const;
  sc_core::sc_event release_ev;  // barrier release
  std::optional<uint64_t> release;  // set by the system when the current barrier releases

 private:
  void run();
  bool drained(uint64_t& e_max, int& busy_unit) const;
  Core& core_;
  size_t pc_ = 0;
  uint64_t d_prev_ = 0;
  uint64_t floor_ = 0;      // earliest next dispatch after a barrier
  bool barrier_arrived_ = false;
  uint64_t barrier_x_ = 0;
  std::string waiting_;
};

// ---- Core, chip, system --------------------------------------------------------------------

class Core : public sc_core::sc_module {
 public:
  Core(sc_core::sc_module_name name, Chip& chip, uint32_t index, const isa::TextSection* text);
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
  std::array<std::array<sc_core::sc_event*, kQueueUnits>, kQueueUnits> token_ev{};
  std::vector<std::unique_ptr<sc_core::sc_event>> token_ev_owned;
  Sram l1;
  std::vector<InstrRecord> records;
  num::NumericEvents numeric;
  uint64_t macs_by_type[4][4] = {};  // [a_type][b_type] for the matrix input formats

  bool has_program() const { return !code.empty(); }
  SparseMemory& memory(isa::Space s, uint32_t acc_engine);
  MatrixEngine& engine(uint32_t e) { return *static_cast<MatrixEngine*>(units[isa::kUnitsMx.first + e]); }
  const timing::BankGeometry* tier(isa::Space s) const;  // null for hbm
  uint64_t latency(isa::Space s) const;
  SramTraffic* traffic(isa::Space s, uint32_t acc_engine);
  SramTraffic acc_traffic() const;  // over the core's accumulators
  // Key ordering same-cycle requests to shared resources: chip, core, unit.
  uint64_t key(int unit) const;
  std::string where(uint32_t index) const;  // "chip C core K instruction #I (op)"
};

class Chip : public sc_core::sc_module {
 public:
  Chip(sc_core::sc_module_name name, System& sys, uint32_t index, const config::ArchConfig& cfg,
       const std::vector<const isa::TextSection*>& texts);
  ~Chip() override;
  System& sys;
  const uint32_t index;
  Sram l2;
  SparseMemory hbm;
  std::unique_ptr<DramPort> dram;
  std::vector<std::unique_ptr<Core>> cores;
};

class System : public sc_core::sc_module {
 public:
  System(sc_core::sc_module_name name, const config::ArchConfig& cfg, const timing::ArchParams& p, const isa::Program& prog,
         Mode mode, DramModel dram_model = DramModel::Burst);
  ~System() override;

  const timing::ArchParams& p;
  const Mode mode;
  const DramModel dram_model;
  Clock clock;
  std::vector<std::unique_ptr<Chip>> chips;
  std::unique_ptr<LinkFabric> links;
  bool functional() const { return mode == Mode::Functional; }

  // First error of the run (token overflow, barrier mismatch, message size): stops the run.
  void fail(const std::string& msg);
  bool failed() const { return !error.empty(); }
  std::string error;

  // Barrier rendezvous: `done` runs with the release cycle.
  void barrier_arrive(uint32_t chip, uint32_t core, isa::Scope scope, uint32_t id, uint64_t x, const std::string& where);
  std::vector<std::string> barrier_waiters() const;

 private:
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
