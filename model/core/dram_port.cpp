#include "model/core/dram_port.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "common/config/config.h"
#include "model/core/system.h"
#include "model/dram/bandwidth.h"

namespace tessera::model {

uint32_t dram_outstanding(const timing::ArchParams& p) {
  const uint64_t per = std::max<uint64_t>(1, p.dma_burst / p.dram_burst_bytes);
  return uint32_t(std::min<uint64_t>(uint64_t(p.dma_max_outstanding) * per, UINT32_MAX));
}

DramPort::DramPort(sc_core::sc_module_name name, const config::ArchConfig& cfg, const timing::ArchParams& p,
                   DramModel model)
    : sc_module(name), offset_fs_(dram_offset_fs(p.period_fs)), request_bytes_(p.dma_burst) {
  if (model == DramModel::Bandwidth) {
    dram_ = std::make_unique<dram::BandwidthDram>(dram::params_from_config(cfg));
  } else {
    dram_ = std::make_unique<dram::DramSystem>(dram::params_from_config(cfg));
  }
  xing_.core_fs = p.period_fs;
  xing_.tck_fs = p.tck_fs;
  SC_METHOD(pump);
  sensitive << kick_;
  dont_initialize();
}

namespace {
template <class T>
bool later(const T& a, const T& b) {  // heap comparator: the smallest (x, key, seq) on top
  if (a.x != b.x) return a.x > b.x;
  if (a.key != b.key) return a.key > b.key;
  return a.seq > b.seq;
}
}  // namespace

uint64_t DramPort::first_open(uint64_t now) const {
  return now < offset_fs_ ? 0 : (now - offset_fs_) / xing_.tck_fs + 1;
}

std::string DramPort::late_request_message(uint64_t key, uint64_t core_cycle, uint64_t x, uint64_t now) const {
  // A request must reach the port before the pump takes its DRAM cycle; a later one is a
  // scheduling bug of the requesting unit, whatever the DRAM fidelity, so the message names
  // everything needed to find that unit and the cycle it computed.
  const uint64_t open = first_open(now);
  return "DramPort " + std::string(name()) + ": " + Core::key_owner(key) + " requests a transfer at core cycle " +
         std::to_string(core_cycle) + " (DRAM cycle " + std::to_string(x) + "), but at " + std::to_string(now) +
         " fs the port has processed every DRAM cycle before " + std::to_string(open) + " (core cycle " +
         std::to_string(xing_.core_of_tck(open)) + ")";
}

void DramPort::request(const dram::Pattern3D& pat, bool write, uint32_t max_out, uint64_t core_cycle, uint64_t key,
                       Callback done) {
  const uint64_t x = xing_.tck_of_core(core_cycle);
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  const uint64_t at = x * xing_.tck_fs + offset_fs_;
  if (at <= now) throw std::logic_error(late_request_message(key, core_cycle, x, now));
  pending_.push_back(Pending{x, key, seq_++, pat, write, max_out, std::move(done)});
  std::push_heap(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) { return later(a, b); });
  ++requests_;
  kick_.notify(sc_core::sc_time::from_value(at - now));
}

void DramPort::collect() {
  for (const dram::Completion& c : dram_->take_completed()) {
    // Transfers complete out of order; find the callback by id.
    auto it = std::lower_bound(inflight_.begin() + long(inflight_head_), inflight_.end(), c.id,
                               [](const std::pair<uint64_t, Callback>& a, uint64_t id) { return a.first < id; });
    if (it == inflight_.end() || it->first != c.id) throw std::logic_error("DramPort: unknown completion id");
    Callback cb = std::move(it->second);
    it->second = nullptr;
    while (inflight_head_ < inflight_.size() && !inflight_[inflight_head_].second) ++inflight_head_;
    if (inflight_head_ > 1024 && inflight_head_ * 2 > inflight_.size()) {
      inflight_.erase(inflight_.begin(), inflight_.begin() + long(inflight_head_));
      inflight_head_ = 0;
    }
    cb(xing_.core_of_tck(c.tck));
  }
}

void DramPort::pump() {
  const auto host_start = time_host ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  // Every DRAM cycle t with t * tCK + offset <= now can be processed: no request can still
  // arrive for it.
  const uint64_t until = first_open(now);
  auto cmp = [](const Pending& a, const Pending& b) { return later(a, b); };
  while (!pending_.empty() && pending_.front().x < until) {
    const uint64_t x = pending_.front().x;
    dram_->advance(x);
    collect();
    while (!pending_.empty() && pending_.front().x == x) {
      std::pop_heap(pending_.begin(), pending_.end(), cmp);
      Pending r = std::move(pending_.back());
      pending_.pop_back();
      const uint64_t id = dram_->submit(r.pat, r.write, r.max_out, x, request_bytes_);
      inflight_.emplace_back(id, std::move(r.done));
    }
  }
  dram_->advance(until);
  collect();
  if (time_host)
    host_ns_ += uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - host_start).count());
  uint64_t next = dram_->next_event_tck();
  if (!pending_.empty()) next = std::min(next, pending_.front().x);
  if (next != UINT64_MAX) {
    const uint64_t at = next * xing_.tck_fs + offset_fs_;
    kick_.notify(sc_core::sc_time::from_value(at > now ? at - now : 1));
  }
}

void DramPort::share_splits(const DramPort& with) {
  auto* mine = dynamic_cast<dram::BandwidthDram*>(dram_.get());
  const auto* theirs = dynamic_cast<const dram::BandwidthDram*>(with.dram_.get());
  if (mine && theirs) mine->share_splits(*theirs);
}

}  // namespace tessera::model
