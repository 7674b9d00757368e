#pragma once
// The collective unit of a core (csend, crecv, creduce) and the LinkFabric that carries its
// messages between chips; docs/timing.md "Collectives and links".
#include <systemc>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/timing/params.h"
#include "model/core/parallel.h"
#include "model/core/unit.h"

namespace tessera::model {

class System;

class CollectiveUnit : public Unit {
 public:
  CollectiveUnit(sc_core::sc_module_name name, Core& core, int id);
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  // Bytes per core cycle of one link direction: the rate a message's SRAM side moves at.
  uint64_t link_rate() const;
  uint64_t T_ = 0, send_e_ = 0, recv_e_ = 0;
  int send_waits_ = 0, recv_waits_ = 0;  // outstanding callbacks of each side of the instruction
  bool recv_arrived_ = false;
  uint64_t old_read_done_ = 0, credit_wait_fs_ = 0;
  std::vector<uint64_t> packet_arrivals_fs_;  // of the received message, for a reduce streaming it in
  std::vector<uint8_t> payload_;
  sc_core::sc_event ev_;
};

// ---- Links between chips -----------------------------------------------------------------

class LinkFabric : public sc_core::sc_module {
 public:
  // depart_end_fs: when the last byte has left the sender; credit_wait_fs: how much of that
  // the first bundle waited for receive-buffer credits. packet_arrivals_fs: when the last
  // byte of each packet reaches the receiver (the last entry is the message's arrival);
  // payload empty in timing mode.
  using SentCallback = std::function<void(uint64_t depart_end_fs, uint64_t credit_wait_fs)>;
  using RecvCallback =
      std::function<void(const std::vector<uint64_t>& packet_arrivals_fs, const std::vector<uint8_t>& payload)>;
  SC_HAS_PROCESS(LinkFabric);
  LinkFabric(sc_core::sc_module_name name, System& sys, const timing::ArchParams& p);

  void send(uint64_t start_cycle, uint32_t src, uint32_t dst, uint16_t tag, uint64_t bytes, uint64_t key,
            std::vector<uint8_t> payload, SentCallback sent);
  void claim(uint64_t cycle, uint32_t src, uint32_t dst, uint16_t tag, uint64_t bytes, uint64_t key,
             const Core& who, uint32_t index, RecvCallback recv);

  struct LinkStats {
    uint64_t bytes_out = 0, messages = 0, packets = 0, busy_fs = 0;
    uint64_t credit_stall_fs = 0;  // time packets ready to go waited for a receive-buffer credit
  };
  const std::vector<std::array<LinkStats, 2>>& link_stats() const { return stats_; }
  // Parallel runs: the statistics of a chip another worker simulated.
  void set_link_stats(uint32_t chip, const std::array<LinkStats, 2>& s) { stats_[chip] = s; }
  // Parallel runs: a message another worker's chip sent to one of this worker's chips.
  void deliver_remote(RemoteMessage m);
  // Direction (0 forward, 1 backward) and hop count of the route from chip src to chip dst.
  static std::pair<int, uint32_t> route(uint32_t src, uint32_t dst, uint32_t chips, uint32_t link_count);
  // Claims still waiting for a message, for the deadlock report.
  std::vector<std::string> unmatched() const;

 private:
  struct Op {
    uint64_t at_fs, t_fs, key, seq;  // at_fs: when process() acts on it (clock.h)
    bool is_send;
    uint32_t src, dst;
    uint16_t tag;
    uint64_t bytes;
    std::vector<uint8_t> payload;
    SentCallback sent;
    RecvCallback recv;
    const Core* who = nullptr;  // a claim's core and instruction, named in reports
    uint32_t index = 0;
    bool is_delivery = false;  // a sent message reaching its receiver (arrivals in `arrivals`)
    std::vector<uint64_t> arrivals = {};
  };
  struct Message {
    std::vector<uint64_t> packet_arrivals_fs;
    uint64_t bytes;
    std::vector<uint8_t> payload;
  };
  struct Mailbox {
    std::vector<Message> messages;
    size_t msg_head = 0;
    struct Claim {
      RecvCallback cb;
      uint64_t bytes;
      const Core* who;
      uint32_t index;
    };
    std::vector<Claim> claims;
    size_t claim_head = 0;
  };
  void enqueue(Op op);
  void push(Op op);  // op.at_fs set
  void process();
  void match(uint64_t key, Mailbox& mb);
  System& sys_;
  const timing::ArchParams& p_;
  // Ops waiting for their instant: a min-heap on (at_fs, key, seq) of small entries naming
  // their Op in ops_ (an Op, with its callbacks and payload, is costly to move in a heap).
  struct Pending {
    uint64_t at_fs, key, seq;
    uint32_t op;
  };
  std::vector<Pending> pending_;
  std::vector<Op> ops_;
  std::vector<uint32_t> free_ops_;
  uint64_t seq_ = 0;
  // Per chip, per direction (0 forward, 1 backward): when the bundle is free, and the
  // return times of its credits in use (ascending; at most credits per bundle entries).
  std::vector<std::array<uint64_t, 2>> free_fs_;
  std::vector<std::array<std::deque<uint64_t>, 2>> credits_in_use_;
  std::vector<std::array<LinkStats, 2>> stats_;
  std::map<uint64_t, Mailbox> boxes_;
  sc_core::sc_event kick_;
};

}  // namespace tessera::model
