#include "model/core/collective.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "common/timing/sram.h"
#include "model/core/clock.h"
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
    send_waits_ = 0;
    recv_waits_ = 0;
    credit_wait_fs_ = 0;
    send_e_ = T_;
    recv_e_ = T_;
    recv_arrived_ = false;
    const uint64_t mo = dram_outstanding(core.p);
    if (sends) {
      const uint32_t dst = uint32_t((self + in.peer_send) % chips);
      std::vector<uint8_t> payload;
      if (sys.functional()) payload = fn_send_payload(in, mem);
      if (SramTraffic* t = core.traffic(Space(in.send_space), uint32_t(in.acc_engine))) t->read(in.bytes, 1);
      ++send_waits_;
      auto sent = [this](uint64_t depart_end_fs, uint64_t credit_wait_fs) {
        send_e_ = core.sys.clock.cycle_at_or_after(depart_end_fs);
        credit_wait_fs_ += credit_wait_fs;
        --send_waits_;
        ev_.notify();
      };
      const uint64_t bytes = in.bytes, tag = in.tag, key = core.key(id);
      if (Space(in.send_space) == Space::hbm) {
        ++send_waits_;
        auto pl = std::make_shared<std::vector<uint8_t>>(std::move(payload));
        core.chip.dram->request(dram::Pattern3D{in.send_addr, in.bytes, 1, 1, 0, 0}, false, uint32_t(mo), T_, key,
                                [this, self, dst, tag, bytes, key, pl, sent](uint64_t done) {
                                  core.sys.links->send(done, self, dst, uint16_t(tag), bytes, key, std::move(*pl), sent);
                                  --send_waits_;
                                  ev_.notify();
                                });
      } else {
        // The payload is read through the tier's ports at the link's rate; cycles lost to other
        // clients hold the departure back.
        const uint64_t lost = contend(Space(in.send_space), uint32_t(in.acc_engine), false, T_, in.bytes, link_rate());
        sys.links->send(T_ + core.latency(Space(in.send_space)) + lost, self, dst, uint16_t(in.tag), in.bytes, key,
                        std::move(payload), sent);
      }
    }
    if (recvs) {
      const uint32_t src = uint32_t((self + in.peer_recv) % chips);
      const Space rs = Space(in.recv_space);
      old_read_done_ = T_;
      if (reduce && rs == Space::hbm) {  // the chunk the received one is added to
        ++recv_waits_;
        core.chip.dram->request(dram::Pattern3D{in.recv_addr, in.bytes, 1, 1, 0, 0}, false, uint32_t(mo), T_,
                                core.key(id), [this](uint64_t done) {
                                  old_read_done_ = done;
                                  --recv_waits_;
                                  ev_.notify();
                                });
      }
      ++recv_waits_;
      sys.links->claim(T_, src, self, uint16_t(in.tag), in.bytes, core.key(id), core, index,
                       [this](const std::vector<uint64_t>& arrivals, const std::vector<uint8_t>& payload) {
                         packet_arrivals_fs_ = arrivals;
                         payload_ = payload;
                         recv_arrived_ = true;
                         --recv_waits_;
                         ev_.notify();
                       });
    }
    phase_ = 1;
  }
  // The receive side goes on as soon as its own inputs are known, whatever the send side
  // still waits for: its HBM write enters at W or X (docs/timing.md), a cycle the DRAM port
  // must not have taken yet, which it may have if the send's read or departure came later.
  if (phase_ == 1) {
    if (recv_waits_ > 0) {
      waiting_ = recv_arrived_ ? "waits for its DRAM read" : "waits for the matching message";
      next_trigger(ev_);
      return false;
    }
    if (recvs) {
      const Space rs = Space(in.recv_space);
      const Clock& clk = core.sys.clock;
      const uint64_t ac = clk.cycle_at_or_after(packet_arrivals_fs_.back());
      const uint64_t w = std::max({T_, ac, old_read_done_});
      st.stall_link += w - T_;
      if (sys.functional()) fn_receive(in, payload_, mem, core.numeric);
      payload_.clear();
      payload_.shrink_to_fit();
      if (SramTraffic* t = core.traffic(rs, uint32_t(in.acc_engine))) {
        if (reduce) t->read(in.bytes, 1);
        t->write(in.bytes, 1);
      }
      // A reduce adds the message into place in beats of vector.lanes FP32 values, each
      // issued once the packet holding its last byte has arrived (docs/timing.md).
      uint64_t x = w;
      if (reduce) {
        const uint64_t start = std::max(T_, old_read_done_);
        const uint64_t beat = 4 * core.p.lanes, pk = core.p.link_packet_bytes;
        const timing::BankGeometry* g = core.tier(rs);
        uint64_t issue = 0, cost = 0;
        for (uint64_t k = 0, off = 0; off < in.bytes || k == 0; ++k, off += beat) {
          const uint64_t len = std::min(beat, in.bytes - std::min(in.bytes, off));
          const uint64_t last = off + std::max<uint64_t>(len, 1) - 1;
          const size_t j = std::min<size_t>(packet_arrivals_fs_.size() - 1, size_t(last / pk));
          const uint64_t ready = std::max(start, clk.cycle_at_or_after(packet_arrivals_fs_[j]));
          issue = k == 0 ? ready : std::max(issue + cost, ready);
          cost = g && len ? timing::contiguous_beat_cycles(*g, in.recv_addr + off, len) : 1;
          st.bank_conflict += cost - 1;
          if (len == 0) break;
        }
        x = issue + cost;
        // The old chunk's reads and the sums' writes go through the tier's ports at the beats' rate.
        const uint64_t rate = beat;
        x += std::max(contend(rs, uint32_t(in.acc_engine), false, start, in.bytes, rate),
                      contend(rs, uint32_t(in.acc_engine), true, start, in.bytes, rate));
      } else {
        // The message is written as its packets arrive, at the link's rate.
        const uint64_t first = std::max(T_, clk.cycle_at_or_after(packet_arrivals_fs_.front()));
        x += contend(rs, uint32_t(in.acc_engine), true, first, in.bytes, link_rate());
      }
      packet_arrivals_fs_.clear();
      if (rs == Space::hbm) {
        ++recv_waits_;
        core.chip.dram->request(dram::Pattern3D{in.recv_addr, in.bytes, 1, 1, 0, 0}, true,
                                dram_outstanding(core.p), x, core.key(id), [this](uint64_t done) {
                                  recv_e_ = done;
                                  --recv_waits_;
                                  ev_.notify();
                                });
      } else {
        const uint64_t lat = core.latency(rs);
        recv_e_ = reduce ? x - 1 + lat + 1 + lat : x + lat;
      }
    }
    phase_ = 2;
  }
  if (send_waits_ > 0 || recv_waits_ > 0) {
    waiting_ = recv_waits_ > 0 ? "waits for its DRAM write" : "waits for its send's DRAM read and departure";
    next_trigger(ev_);
    return false;
  }
  if (sends) st.stall_credit += core.sys.clock.cycle_at_or_after(credit_wait_fs_);
  complete(in, index, T_, std::max(send_e_, recv_e_));
  return true;
}

uint64_t CollectiveUnit::link_rate() const {
  // MB/s x fs per cycle / 1e9 = bytes per core cycle, rounded up.
  const uint64_t num = core.p.link_mbytes_per_s * core.p.period_fs;
  return std::max<uint64_t>(1, (num + 999'999'999) / 1'000'000'000);
}

// ---- LinkFabric --------------------------------------------------------------------------------

LinkFabric::LinkFabric(sc_core::sc_module_name name, System& sys, const timing::ArchParams& p)
    : sc_module(name), sys_(sys), p_(p), free_fs_(p.chips, {0, 0}), credits_in_use_(p.chips), stats_(p.chips) {
  SC_METHOD(process);
  sensitive << kick_;
  dont_initialize();
}

namespace {
struct OpLater {
  template <class T>
  bool operator()(const T& a, const T& b) const {
    if (a.at_fs != b.at_fs) return a.at_fs > b.at_fs;
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
  // Acted on once every request for the same instant is known: receives before the DRAM port
  // takes the instant, sends after it (clock.h).
  op.at_fs = op.t_fs + (op.is_send ? link_send_offset_fs(p_.period_fs) : link_claim_offset_fs(p_.period_fs));
  if (op.at_fs <= now) {
    // A scheduling bug of the requesting unit, like DramPort's late request: name it.
    throw std::logic_error("LinkFabric: " + Core::key_owner(op.key) + " registers a " +
                           (op.is_send ? "send" : "receive") + " (chip " + std::to_string(op.src) + " -> chip " +
                           std::to_string(op.dst) + ", tag " + std::to_string(op.tag) + ") for core cycle " +
                           std::to_string(op.t_fs / p_.period_fs) + " at " + std::to_string(now) +
                           " fs, after the fabric acted on that instant (" + std::to_string(op.at_fs) + " fs)");
  }
  push(std::move(op));
}

void LinkFabric::push(Op op) {
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  const uint64_t at = op.at_fs;
  uint32_t slot;
  if (free_ops_.empty()) {
    slot = uint32_t(ops_.size());
    ops_.push_back(std::move(op));
  } else {
    slot = free_ops_.back();
    free_ops_.pop_back();
    ops_[slot] = std::move(op);
  }
  const Op& o = ops_[slot];
  pending_.push_back(Pending{o.at_fs, o.key, o.seq, slot});
  std::push_heap(pending_.begin(), pending_.end(), OpLater{});
  kick_.notify(sc_core::sc_time::from_value(at - now));
}

void LinkFabric::deliver_remote(RemoteMessage m) {
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  if (m.at_fs <= now)
    throw std::logic_error("LinkFabric: a message from chip " + std::to_string(m.src) + " to chip " +
                           std::to_string(m.dst) + " reaches its worker after its delivery time");
  Op op{m.at_fs, m.at_fs, m.key, seq_++, false, m.src, m.dst, m.tag, m.bytes, {}, {}, {}, {}};
  op.is_delivery = true;
  op.arrivals = std::move(m.arrivals_fs);
  push(std::move(op));
}

std::pair<int, uint32_t> LinkFabric::route(uint32_t src, uint32_t dst, uint32_t P, uint32_t link_count) {
  if (src == dst) return {0, 0};
  const uint32_t fwd_dist = (dst + P - src) % P, bwd_dist = P - fwd_dist;
  const uint64_t nb = P == 2 ? 0 : link_count / 2;
  const int dir = (nb == 0 || fwd_dist <= bwd_dist) ? 0 : 1;
  return {dir, dir == 0 ? fwd_dist : bwd_dist};
}

void LinkFabric::send(uint64_t start_cycle, uint32_t src, uint32_t dst, uint16_t tag, uint64_t bytes, uint64_t key,
                      std::vector<uint8_t> payload, SentCallback sent) {
  Op op{0, start_cycle * p_.period_fs, key, seq_++, true, src, dst, tag, bytes, std::move(payload), std::move(sent), {}, {}};
  enqueue(std::move(op));
}

void LinkFabric::claim(uint64_t cycle, uint32_t src, uint32_t dst, uint16_t tag, uint64_t bytes, uint64_t key,
                       const Core& who, uint32_t index, RecvCallback recv) {
  Op op{0, cycle * p_.period_fs, key, seq_++, false, src, dst, tag, bytes, {}, {}, std::move(recv), &who, index};
  enqueue(std::move(op));
}

void LinkFabric::match(uint64_t key, Mailbox& mb) {
  while (mb.msg_head < mb.messages.size() && mb.claim_head < mb.claims.size()) {
    Message& m = mb.messages[mb.msg_head++];
    auto& claim = mb.claims[mb.claim_head++];
    if (claim.bytes != m.bytes) {
      sys_.fail(claim.who->where(claim.index) + ": receives " + std::to_string(claim.bytes) + " bytes but the matching send (chip " +
                std::to_string(key >> 32) + " -> chip " + std::to_string((key >> 16) & 0xffff) + ", tag " +
                std::to_string(key & 0xffff) + ") carries " + std::to_string(m.bytes));
      return;
    }
    RecvCallback f = std::move(claim.cb);
    f(m.packet_arrivals_fs, m.payload);
    m.payload.clear();
    m.payload.shrink_to_fit();
    m.packet_arrivals_fs.clear();
    m.packet_arrivals_fs.shrink_to_fit();
  }
}

void LinkFabric::process() {
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  const uint32_t P = p_.chips;
  while (!pending_.empty() && pending_.front().at_fs <= now) {
    std::pop_heap(pending_.begin(), pending_.end(), OpLater{});
    const uint32_t slot = pending_.back().op;
    pending_.pop_back();
    Op op = std::move(ops_[slot]);
    free_ops_.push_back(slot);
    const uint64_t key = mailbox_key(op.src, op.dst, op.tag);
    Mailbox& mb = boxes_[key];
    if (op.is_delivery) {
      mb.messages.push_back(Message{std::move(op.arrivals), op.bytes, std::move(op.payload)});
      match(key, mb);
      if (sys_.failed()) return;
      continue;
    }
    if (!op.is_send) {
      mb.claims.push_back(Mailbox::Claim{std::move(op.recv), op.bytes, op.who, op.index});
      match(key, mb);
      if (sys_.failed()) return;
      continue;
    }
    uint64_t depart_end = op.t_fs, credit_wait = 0;
    std::vector<uint64_t> arrivals;
    if (op.src == op.dst) {
      arrivals.push_back(op.t_fs);
    } else {
      if (p_.link_count == 0 || p_.link_mbytes_per_s == 0) {
        sys_.fail("csend/creduce from chip " + std::to_string(op.src) + " to chip " + std::to_string(op.dst) +
                  " needs links, but link.count or link.gbytes_per_s is 0");
        return;
      }
      // Bidirectional ring (docs/timing.md, "Collectives and links"): half the links (rounded
      // up) go to the next chip, the rest to the previous; two chips share all links.
      uint64_t nf = (p_.link_count + 1) / 2, nb = p_.link_count / 2;
      if (P == 2) {
        nf = p_.link_count;
        nb = 0;
      }
      const std::pair<int, uint32_t> rt = route(op.src, op.dst, P, p_.link_count);
      const int dir = rt.first;
      const uint32_t hops = rt.second;
      const uint64_t n = dir == 0 ? nf : nb;
      const uint64_t credits = n * p_.link_credits;
      const uint64_t lambda = p_.link_latency_fs, back = p_.link_latency_fs + p_.link_credit_return_fs;
      const uint64_t pk = p_.link_packet_bytes;
      const uint64_t packets = std::max<uint64_t>(1, (op.bytes + pk - 1) / pk);
      auto next = [&](uint64_t chip) { return dir == 0 ? (chip + 1) % P : (chip + P - 1) % P; };
      std::vector<uint64_t> start(hops);
      arrivals.reserve(packets);
      // Packet by packet, each through every hop (cut-through): a packet takes a credit of
      // the bundle's receive buffer when it starts, and gives it back when it leaves that
      // buffer (forwarded on the next bundle, or at its arrival at the destination), the
      // credit returning over the link after lambda + credit_return_ns.
      // Every packet but the last is full: its serialisation time is worked out once.
      const uint64_t sigma_full = timing::link_serialize_fs(pk, n, p_.link_mbytes_per_s);
      for (uint64_t j = 0; j < packets; ++j) {
        const uint64_t b = std::min(pk, op.bytes - std::min(op.bytes, j * pk));
        const uint64_t sigma = b == pk ? sigma_full : timing::link_serialize_fs(b, n, p_.link_mbytes_per_s);
        uint64_t t = op.t_fs, chip = op.src;
        for (uint32_t h = 0; h < hops; ++h) {
          const uint64_t ready = std::max(t, free_fs_[chip][dir]);
          // Bundle starts are nondecreasing, so credits returned by `ready` are free for good.
          std::deque<uint64_t>& used = credits_in_use_[chip][dir];
          while (!used.empty() && used.front() <= ready) used.pop_front();
          uint64_t st = ready;
          if (used.size() >= credits) {
            st = used.front();
            used.pop_front();
          }
          start[h] = st;
          free_fs_[chip][dir] = st + sigma;
          LinkStats& ls = stats_[chip][dir];
          ls.bytes_out += b;
          ls.packets += 1;
          ls.messages += j == 0 ? 1 : 0;
          ls.busy_fs += sigma;
          ls.credit_stall_fs += st - ready;
          if (h == 0) {
            depart_end = st + sigma;
            credit_wait += st - ready;
          }
          t = st + lambda;
          chip = next(chip);
        }
        const uint64_t arrival = start[hops - 1] + sigma + lambda;
        arrivals.push_back(arrival);
        chip = op.src;
        for (uint32_t h = 0; h < hops; ++h) {
          const uint64_t leaves = h + 1 < hops ? start[h + 1] : arrival;
          // Kept sorted: a single hop returns its credits in order (a bundle's packets start
          // no sooner than the previous one ends), so this is almost always an append.
          std::deque<uint64_t>& used = credits_in_use_[chip][dir];
          const uint64_t ret = leaves + back;
          if (used.empty() || used.back() <= ret) {
            used.push_back(ret);
          } else {
            used.insert(std::upper_bound(used.begin(), used.end(), ret), ret);
          }
          chip = next(chip);
        }
      }
    }
    SentCallback sent = std::move(op.sent);
    sent(depart_end, credit_wait);
    if (op.src == op.dst) {
      mb.messages.push_back(Message{std::move(arrivals), op.bytes, std::move(op.payload)});
      match(key, mb);
      if (sys_.failed()) return;
      continue;
    }
    // The receiver learns of the message when its first packet arrives (at the instant a
    // claim of that cycle is taken), never earlier: this is what lets host workers simulate
    // chips apart, a link latency at a time (model/core/parallel.h), and it gives one worker
    // the same results as many.
    const uint64_t deliver = sys_.clock.cycle_at_or_after(arrivals.front()) * p_.period_fs +
                             link_claim_offset_fs(p_.period_fs);
    if (deliver <= now) {  // a link latency below one cycle
      mb.messages.push_back(Message{std::move(arrivals), op.bytes, std::move(op.payload)});
      match(key, mb);
      if (sys_.failed()) return;
      continue;
    }
    if (sys_.exchange && !sys_.exchange->local(op.dst)) {
      sys_.exchange->post(RemoteMessage{deliver, op.key, op.bytes, op.src, op.dst, op.tag, std::move(arrivals)});
      continue;
    }
    Op d{deliver, deliver, op.key, seq_++, false, op.src, op.dst, op.tag, op.bytes, std::move(op.payload), {}, {}, {}};
    d.is_delivery = true;
    d.arrivals = std::move(arrivals);
    push(std::move(d));
  }
  if (!pending_.empty()) {
    const uint64_t at = pending_.front().at_fs;
    kick_.notify(sc_core::sc_time::from_value(at > now ? at - now : 1));
  }
}

std::vector<std::string> LinkFabric::unmatched() const {
  std::vector<std::string> out;
  for (const auto& [key, mb] : boxes_) {
    for (size_t i = mb.claim_head; i < mb.claims.size(); ++i) {
      out.push_back(mb.claims[i].who->where(mb.claims[i].index) + " waits for a message from chip " + std::to_string(key >> 32) +
                    " with tag " + std::to_string(key & 0xffff) + " that was never sent");
    }
  }
  return out;
}

}  // namespace tessera::model
