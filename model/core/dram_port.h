#pragma once
// DramPort: a chip's DRAM (model/dram, either fidelity) driven in time order for the units of
// the chip's cores (docs/model.md). The RTL's counterpart is the outside port of rtl/core.sv.
#include <systemc>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/timing/params.h"
#include "model/core/clock.h"
#include "model/core/model.h"
#include "model/dram/dram_system.h"

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::model {

// DRAM bursts one engine may have in flight: dma.max_outstanding requests of
// dma.burst_bytes each (docs/timing.md, "DMA").
uint32_t dram_outstanding(const timing::ArchParams& p);

class DramPort : public sc_core::sc_module {
 public:
  using Callback = std::function<void(uint64_t done_core_cycle)>;
  SC_HAS_PROCESS(DramPort);
  // `model` picks the DRAM fidelity (RunOptions::dram).
  DramPort(sc_core::sc_module_name name, const config::ArchConfig& cfg, const timing::ArchParams& p, DramModel model);

  // Queues a transfer that enters the DRAM at the first tCK edge at or after the start of
  // core cycle `core_cycle`. Requests entering at the same edge are submitted in `key`
  // order (Core::key: chip, core, unit; the error of a late request decodes it). `done`
  // runs with the first core cycle at or after the transfer's completion. A request must
  // come before the port takes its edge, dram_offset_fs after it (clock.h); a later one is a
  // bug of the requesting unit and throws std::logic_error.
  void request(const dram::Pattern3D& pat, bool write, uint32_t max_outstanding_bursts, uint64_t core_cycle,
               uint64_t key, Callback done);
  const dram::Device& dram() const { return *dram_; }
  // The bandwidth model: use `with`'s transfer splits (the chips of one system move the same
  // patterns; BandwidthDram::share_splits). Nothing for the burst model.
  void share_splits(const DramPort& with);
  // The DRAM's statistics: its device's, or what adopt() was given.
  const dram::Stats& stats() const { return adopted_ ? *adopted_ : dram_->stats(); }
  uint64_t requests() const { return requests_; }
  // Host time spent inside the DRAM model (for the speed benchmark; not deterministic), measured
  // when time_host is set (RunOptions::time_dram; reading the clock costs about 1 % of a run).
  uint64_t host_ns() const { return host_ns_; }
  bool time_host = false;
  // Parallel runs: the chip was simulated by another worker, which sent these (model/core/parallel.h).
  void adopt(dram::Stats s, uint64_t requests, uint64_t host_ns) {
    adopted_ = std::make_unique<dram::Stats>(std::move(s));
    requests_ = requests;
    host_ns_ = host_ns;
  }

 private:
  struct Pending {
    uint64_t x, key, seq;
    dram::Pattern3D pat;
    bool write;
    uint32_t max_out;
    Callback done;
  };
  void pump();
  uint64_t first_open(uint64_t now) const;  // the earliest DRAM cycle not yet taken at `now`
  std::string late_request_message(uint64_t key, uint64_t core_cycle, uint64_t x, uint64_t now) const;
  void collect();
  ClockCrossing xing_;
  uint64_t offset_fs_;  // the port takes DRAM cycle x at x * tCK + offset_fs_ (dram_offset_fs)
  uint64_t request_bytes_;  // dma.burst_bytes: a DMA engine's request (docs/timing.md, "DMA")
  std::unique_ptr<dram::Device> dram_;
  std::vector<Pending> pending_;  // min-heap on (x, key, seq)
  std::vector<std::pair<uint64_t, Callback>> inflight_;  // (transfer id, callback), ids ascending
  size_t inflight_head_ = 0;
  uint64_t seq_ = 0, requests_ = 0, host_ns_ = 0;
  std::unique_ptr<dram::Stats> adopted_;
  sc_core::sc_event kick_;
};

}  // namespace tessera::model
