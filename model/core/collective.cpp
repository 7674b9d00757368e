#include "model/core/collective.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "model/core/functional.h"
#include "model/core/system.h"

namespace tessera::model {

using isa::Opcode;
using isa::Space;

// ---- Collective unit ---------------------------------------------------------------------

CollectiveUnit::CollectiveUnit(sc_core::sc_module_name name, Core& c, int unit_id) : Unit(name, c, unit_id) {}

bool CollectiveUnit::step(const isa::Instr& in, uint32_t index, uint64_t arrival) {
  System& sys = core.sys;
  const uint32_t chips = core.p.chips;
  const uint32_t self = core.chip.index;
  const bool sends = in.op == Opcode::csend || in.op == Opcode::creduce;
  const bool recvs = in.op == Opcode::crecv || in.op == Opcode::creduce;
  const bool reduce = in.op == Opcode::creduce;
  auto mem = [this, &in](Space s, uint32_t) -> SparseMemory& { return core.memory(s, uint32_t(in.acc_engine)); };
  if (phase_ == 0) {
    bool done;
    if (!begin(in, index, arrival, T_, done)) return false;
    if (done) return true;
    waits_ = 0;
    send_e_ = T_;
    recv_e_ = T_;
    recv_arrived_ = false;
    const uint64_t mo = dram_outstanding(core.p);
    if (sends) {
      const uint32_t dst = uint32_t((self + in.peer_send) % chips);
      std::vector<uint8_t> payload;
      if (sys.functional()) payload = fn_send_payload(in, mem);
      if (SramTraffic* t = core.traffic(Space(in.send_space), uint32_t(in.acc_engine))) t->read(in.bytes, 1);
      ++waits_;
      auto sent = [this](uint64_t depart_end_fs) {
        send_e_ = core.sys.clock.cycle_at_or_after(depart_end_fs);
        --waits_;
        ev_.notify();
      };
      const uint64_t bytes = in.bytes, tag = in.tag, key = core.key(id);
      if (Space(in.send_space) == Space::hbm) {
        ++waits_;
        auto pl = std::make_shared<std::vector<uint8_t>>(std::move(payload));
        core.chip.dram->request(dram::Pattern3D{in.send_addr, in.bytes, 1, 1, 0, 0}, false, uint32_t(mo), T_, key,
                                [this, self, dst, tag, bytes, key, pl, sent](uint64_t done) {
                                  core.sys.links->send(done, self, dst, uint16_t(tag), bytes, key, std::move(*pl), sent);
                                  --waits_;
                                  ev_.notify();
                                });
      } else {
        sys.links->send(T_ + core.latency(Space(in.send_space)), self, dst, uint16_t(in.tag), in.bytes, key,
                        std::move(payload), sent);
      }
    }
    if (recvs) {
      const uint32_t src = uint32_t((self + in.peer_recv) % chips);
      const Space rs = Space(in.recv_space);
      old_read_done_ = T_;
      if (reduce && rs == Space::hbm) {  // the chunk the received one is added to
        ++waits_;
        core.chip.dram->request(dram::Pattern3D{in.recv_addr, in.bytes, 1, 1, 0, 0}, false, uint32_t(mo), T_,
                                core.key(id), [this](uint64_t done) {
                                  old_read_done_ = done;
                                  --waits_;
                                  ev_.notify();
                                });
      }
      ++waits_;
      sys.links->claim(T_, src, self, uint16_t(in.tag), in.bytes, core.key(id), core.where(index),
                       [this](uint64_t arrival_fs, const std::vector<uint8_t>& payload) {
                         arrival_fs_ = arrival_fs;
                         payload_ = payload;
                         recv_arrived_ = true;
                         --waits_;
                         ev_.notify();
                       });
    }
    phase_ = 1;
  }
  if (phase_ == 1) {
    if (waits_ > 0) {
      waiting_ = recvs && !recv_arrived_ ? "waits for the matching message" : "waits for its link/DRAM transfers";
      next_trigger(ev_);
      return false;
    }
    if (recvs) {
      const Space rs = Space(in.recv_space);
      const uint64_t ac = core.sys.clock.cycle_at_or_after(arrival_fs_);
      uint64_t w = std::max({T_, ac, old_read_done_});
      st.stall_link += w - T_;
      if (sys.functional()) fn_receive(in, payload_, mem, core.numeric);
      payload_.clear();
      payload_.shrink_to_fit();
      if (SramTraffic* t = core.traffic(rs, uint32_t(in.acc_engine))) {
        if (reduce) t->read(in.bytes, 1);
        t->write(in.bytes, 1);
      }
      if (rs == Space::hbm) {
        ++waits_;
        core.chip.dram->request(dram::Pattern3D{in.recv_addr, in.bytes, 1, 1, 0, 0}, true,
                                dram_outstanding(core.p), reduce ? w + 1 : w, core.key(id), [this](uint64_t done) {
                                  recv_e_ = done;
                                  --waits_;
                                  ev_.notify();
                                });
      } else {
        const uint64_t lat = core.latency(rs);
        recv_e_ = reduce ? w + lat + 1 + lat : w + lat;
      }
    }
    phase_ = 2;
  }
  if (waits_ > 0) {
    waiting_ = "waits for its DRAM write";
    next_trigger(ev_);
    return false;
  }
  complete(in, index, T_, std::max(send_e_, recv_e_));
  return true;
}

// ---- LinkFabric --------------------------------------------------------------------------------

LinkFabric::LinkFabric(sc_core::sc_module_name name, System& sys, const timing::ArchParams& p)
    : sc_module(name), sys_(sys), p_(p), free_fs_(p.chips, {0, 0}), stats_(p.chips) {
  SC_METHOD(process);
  sensitive << kick_;
  dont_initialize();
}

namespace {
struct OpLater {
  template <class T>
  bool operator()(const T& a, const T& b) const {
    if (a.t_fs != b.t_fs) return a.t_fs > b.t_fs;
    if (a.key != b.key) return a.key > b.key;
    return a.seq > b.seq;
  }
};
uint64_t mailbox_key(uint32_t src, uint32_t dst, uint16_t tag) {
  return (uint64_t(src) << 32) | (uint64_t(dst) << 16) | tag;
}
}  // namespace

void LinkFabric::enqueue(Op op) {
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  // Acted on half a cycle later, when every request for the same instant is known.
  const uint64_t at = op.t_fs + p_.period_fs / 2;
  if (at <= now) throw std::logic_error("LinkFabric: request registered after its start");
  pending_.push_back(std::move(op));
  std::push_heap(pending_.begin(), pending_.end(), OpLater{});
  kick_.notify(sc_core::sc_time::from_value(at - now));
}

void LinkFabric::send(uint64_t start_cycle, uint32_t src, uint32_t dst, uint16_t tag, uint64_t bytes, uint64_t key,
                      std::vector<uint8_t> payload, SentCallback sent) {
  Op op{start_cycle * p_.period_fs, key, seq_++, true, src, dst, tag, bytes, std::move(payload), std::move(sent), {}, {}};
  enqueue(std::move(op));
}

void LinkFabric::claim(uint64_t cycle, uint32_t src, uint32_t dst, uint16_t tag, uint64_t bytes, uint64_t key,
                       std::string who, RecvCallback recv) {
  Op op{cycle * p_.period_fs, key, seq_++, false, src, dst, tag, bytes, {}, {}, std::move(recv), std::move(who)};
  enqueue(std::move(op));
}

void LinkFabric::match(uint64_t key, Mailbox& mb) {
  while (mb.msg_head < mb.messages.size() && mb.claim_head < mb.claims.size()) {
    Message& m = mb.messages[mb.msg_head++];
    auto& [cb, info] = mb.claims[mb.claim_head++];
    if (info.first != m.bytes) {
      sys_.fail(info.second + ": receives " + std::to_string(info.first) + " bytes but the matching send (chip " +
                std::to_string(key >> 32) + " -> chip " + std::to_string((key >> 16) & 0xffff) + ", tag " +
                std::to_string(key & 0xffff) + ") carries " + std::to_string(m.bytes));
      return;
    }
    RecvCallback f = std::move(cb);
    f(m.arrival_fs, m.payload);
    m.payload.clear();
    m.payload.shrink_to_fit();
  }
}

void LinkFabric::process() {
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  const uint64_t half = p_.period_fs / 2;
  const uint32_t P = p_.chips;
  while (!pending_.empty() && pending_.front().t_fs + half <= now) {
    std::pop_heap(pending_.begin(), pending_.end(), OpLater{});
    Op op = std::move(pending_.back());
    pending_.pop_back();
    const uint64_t key = mailbox_key(op.src, op.dst, op.tag);
    Mailbox& mb = boxes_[key];
    if (!op.is_send) {
      mb.claims.emplace_back(std::move(op.recv), std::make_pair(op.bytes, op.who));
      match(key, mb);
      if (sys_.failed()) return;
      continue;
    }
    uint64_t depart_end = op.t_fs, arrival = op.t_fs;
    if (op.src != op.dst) {
      if (p_.link_count == 0 || p_.link_mbytes_per_s == 0) {
        sys_.fail("csend/creduce from chip " + std::to_string(op.src) + " to chip " + std::to_string(op.dst) +
                  " needs links, but link.count or link.gbytes_per_s is 0");
        return;
      }
      // Bidirectional ring (docs/timing.md, "Collectives and links"): half the links (rounded
      // up) go to the next chip, the rest to the previous; two chips share all links.
      const uint32_t fwd_dist = (op.dst + P - op.src) % P, bwd_dist = P - fwd_dist;
      uint64_t nf = (p_.link_count + 1) / 2, nb = p_.link_count / 2;
      if (P == 2) {
        nf = p_.link_count;
        nb = 0;
      }
      const int dir = (nb == 0 || fwd_dist <= bwd_dist) ? 0 : 1;
      const uint32_t hops = dir == 0 ? fwd_dist : bwd_dist;
      const uint64_t n = dir == 0 ? nf : nb;
      const uint64_t sigma = timing::link_serialize_fs(op.bytes, n, p_.link_mbytes_per_s);
      uint64_t t = op.t_fs, chip = op.src, start = 0;
      for (uint32_t h = 0; h < hops; ++h) {
        start = std::max(t, free_fs_[chip][dir]);
        free_fs_[chip][dir] = start + sigma;
        stats_[chip][dir].bytes_out += op.bytes;
        stats_[chip][dir].messages += 1;
        stats_[chip][dir].busy_fs += sigma;
        if (h == 0) depart_end = start + sigma;
        t = start + p_.link_latency_fs;
        chip = dir == 0 ? (chip + 1) % P : (chip + P - 1) % P;
      }
      arrival = start + sigma + p_.link_latency_fs;
    }
    mb.messages.push_back(Message{arrival, op.bytes, std::move(op.payload)});
    SentCallback sent = std::move(op.sent);
    sent(depart_end);
    match(key, mb);
    if (sys_.failed()) return;
  }
  if (!pending_.empty()) {
    const uint64_t at = pending_.front().t_fs + half;
    kick_.notify(sc_core::sc_time::from_value(at > now ? at - now : 1));
  }
}

std::vector<std::string> LinkFabric::unmatched() const {
  std::vector<std::string> out;
  for (const auto& [key, mb] : boxes_) {
    for (size_t i = mb.claim_head; i < mb.claims.size(); ++i) {
      out.push_back(mb.claims[i].second.second + " waits for a message from chip " + std::to_string(key >> 32) +
                    " with tag " + std::to_string(key & 0xffff) + " that was never sent");
    }
  }
  return out;
}

}  // namespace tessera::model
