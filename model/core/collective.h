#pragma once
// The collective unit of a core (csend, crecv, creduce) and the LinkFabric that carries its
// messages between chips; docs/timing.md "Collectives and links".
#include <systemc>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/timing/params.h"
#include "model/core/unit.h"

namespace tessera::model {

class System;

class CollectiveUnit : public Unit {
 public:
  CollectiveUnit(sc_core::sc_module_name name, Core& core, int id);
 private:
  bool step(const isa::Instr& in, uint32_t index, uint64_t arrival) override;
  uint64_t T_ = 0, send_e_ = 0, recv_e_ = 0;
  int waits_ = 0;  // outstanding callbacks of the current phase
  bool recv_arrived_ = false;
  uint64_t arrival_fs_ = 0, old_read_done_ = 0;
  std::vector<uint8_t> payload_;
  sc_core::sc_event ev_;
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

}  // namespace tessera::model
