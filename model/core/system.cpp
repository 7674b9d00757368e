// Core, chip and system assembly, the DRAM port, the link fabric and barriers.
#include "model/core/system.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "common/config/config.h"
#include "common/util/error.h"
#include "model/dram/bandwidth.h"

namespace tessera::model {

using isa::Opcode;
using isa::Space;

std::string_view unit_name(int unit) {
  if (unit < 0 || unit >= kUnits) return "none";
  return isa::name(isa::Unit(unit));
}

void SramTraffic::add(const SramTraffic& o) {
  read_bytes += o.read_bytes;
  write_bytes += o.write_bytes;
  read_accesses += o.read_accesses;
  write_accesses += o.write_accesses;
  for (const auto& [w, c] : o.read_widths) read_widths[w] += c;
  for (const auto& [w, c] : o.write_widths) write_widths[w] += c;
}

// ---- DramPort ----------------------------------------------------------------------------------

DramPort::DramPort(sc_core::sc_module_name name, const config::ArchConfig& cfg, const timing::ArchParams& p,
                   DramModel model)
    : sc_module(name), request_bytes_(p.dma_burst) {
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

void DramPort::request(const dram::Pattern3D& pat, bool write, uint32_t max_out, uint64_t core_cycle, uint64_t key,
                       Callback done) {
  const uint64_t x = xing_.tck_of_core(core_cycle);
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  // The pump handles DRAM cycle x at x * tCK + 1 fs; a request must be known before then.
  const uint64_t at = x * xing_.tck_fs + 1;
  if (at <= now) throw std::logic_error("DramPort: request for a DRAM cycle already processed");
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
  const auto host_start = std::chrono::steady_clock::now();
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  // Every DRAM cycle t with t * tCK < now can be processed: no request can still arrive for it.
  const uint64_t until = now == 0 ? 0 : (now - 1) / xing_.tck_fs + 1;
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
  host_ns_ += uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - host_start).count());
  uint64_t next = dram_->next_event_tck();
  if (!pending_.empty()) next = std::min(next, pending_.front().x);
  if (next != UINT64_MAX) {
    const uint64_t at = next * xing_.tck_fs + 1;
    kick_.notify(sc_core::sc_time::from_value(at > now ? at - now : 1));
  }
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

// ---- Core ------------------------------------------------------------------------------------

Core::Core(sc_core::sc_module_name name, Chip& c, uint32_t idx, const isa::TextSection* text)
    : sc_module(name), chip(c), sys(c.sys), p(c.sys.p), index(idx), l1("l1", c.sys.p.l1) {
  for (auto& row : tokens) row.fill(timing::TokenCounter(p.token_depth));
  for (int u = 0; u < kQueueUnits; ++u) {
    for (int v = 0; v < kQueueUnits; ++v) {
      token_ev_owned.push_back(std::make_unique<sc_core::sc_event>());
      token_ev[u][v] = token_ev_owned.back().get();
    }
  }
  if (text) code = std::span<const isa::Instr>(text->code);
  records.resize(code.size());
  auto add = [this](std::unique_ptr<Unit> u) {
    units[size_t(u->id)] = u.get();
    owned.push_back(std::move(u));
  };
  for (uint32_t e = 0; e < p.dmas; ++e) {
    const int id = int(isa::kUnitsDma.first + e);
    add(std::make_unique<DmaEngine>(std::string(unit_name(id)).c_str(), *this, id));
  }
  for (uint32_t e = 0; e < p.engines; ++e) {
    const int id = int(isa::kUnitsMx.first + e);
    add(std::make_unique<MatrixEngine>(std::string(unit_name(id)).c_str(), *this, id));
  }
  add(std::make_unique<VectorEngine>("vec", *this, int(isa::Unit::vec)));
  add(std::make_unique<CollectiveUnit>("coll", *this, int(isa::Unit::coll)));
  seq = std::make_unique<Sequencer>("seq", *this);

  pos.resize(code.size(), 0);
  for (uint32_t i = 0; i < code.size(); ++i) {
    const isa::Instr& in = code[i];
    records[i].index = i;
    records[i].opcode = uint8_t(in.op);
    if (in.op == Opcode::halt || in.op == Opcode::barrier) {
      records[i].unit = uint8_t(kSeqUnit);
      continue;
    }
    records[i].unit = uint8_t(in.unit);
    Unit* u = units[in.unit];
    if (!u) throw InputError(where(i) + ": unit " + std::string(unit_name(in.unit)) + " does not exist");
    pos[i] = uint32_t(u->instrs.size());
    u->instrs.push_back(i);
  }
}

Core::~Core() = default;

SparseMemory& Core::memory(Space s, uint32_t acc_engine) {
  switch (s) {
    case Space::hbm:
      return chip.hbm;
    case Space::l2:
      return chip.l2.mem;
    case Space::l1:
      return l1.mem;
    case Space::acc:
      return engine(acc_engine).acc.mem;
  }
  throw std::logic_error("Core::memory: bad space");
}

const timing::BankGeometry* Core::tier(Space s) const {
  switch (s) {
    case Space::l1:
      return &p.l1;
    case Space::l2:
      return &p.l2;
    case Space::acc:
      return &p.acc;
    default:
      return nullptr;
  }
}

uint64_t Core::latency(Space s) const {
  switch (s) {
    case Space::l1:
      return p.l1.latency;
    case Space::l2:
      return p.l2.latency;
    case Space::acc:
      return p.acc.latency;
    default:
      return 0;
  }
}

SramTraffic* Core::traffic(Space s, uint32_t acc_engine) {
  switch (s) {
    case Space::l1:
      return &l1.traffic;
    case Space::l2:
      return &chip.l2.traffic;
    case Space::acc:
      return &engine(acc_engine).acc.traffic;
    default:
      return nullptr;
  }
}

SramTraffic Core::acc_traffic() const {
  SramTraffic t;
  for (uint32_t e = 0; e < p.engines; ++e) t.add(static_cast<const MatrixEngine*>(units[isa::kUnitsMx.first + e])->acc.traffic);
  return t;
}

uint64_t Core::key(int unit) const { return (uint64_t(chip.index) << 24) | (uint64_t(index) << 8) | uint64_t(unit); }

std::string Core::where(uint32_t i) const {
  return "chip " + std::to_string(chip.index) + " core " + std::to_string(index) + " instruction #" +
         std::to_string(i) + " (" + std::string(isa::name(code[i].op)) + ")";
}

// ---- Chip --------------------------------------------------------------------------------

Chip::Chip(sc_core::sc_module_name name, System& s, uint32_t idx, const config::ArchConfig& cfg,
           const std::vector<const isa::TextSection*>& texts)
    : sc_module(name), sys(s), index(idx), l2("l2", s.p.l2) {
  dram = std::make_unique<DramPort>("hbm", cfg, s.p, s.dram_model);
  for (uint32_t c = 0; c < s.p.cores; ++c) {
    cores.push_back(std::make_unique<Core>(("core" + std::to_string(c)).c_str(), *this, c, texts[c]));
  }
}

Chip::~Chip() = default;

// ---- System ------------------------------------------------------------------------------

System::System(sc_core::sc_module_name name, const config::ArchConfig& cfg, const timing::ArchParams& params,
               const isa::Program& prog, Mode m, DramModel dm)
    : sc_module(name), p(params), mode(m), dram_model(dm) {
  clock.period_fs = p.period_fs;
  std::vector<std::vector<const isa::TextSection*>> texts(p.chips,
                                                          std::vector<const isa::TextSection*>(p.cores, nullptr));
  for (const isa::TextSection& t : prog.text) texts[t.chip][t.core] = &t;
  cores_with_code_.assign(p.chips, 0);
  for (uint32_t c = 0; c < p.chips; ++c) {
    chips.push_back(std::make_unique<Chip>(("chip" + std::to_string(c)).c_str(), *this, c, cfg, texts[c]));
    for (const auto& core : chips.back()->cores) cores_with_code_[c] += core->has_program() ? 1 : 0;
  }
  links = std::make_unique<LinkFabric>("links", *this, p);
  chip_groups_.resize(p.chips);
  if (functional()) {
    for (const isa::DataSection& d : prog.data) {
      SparseMemory& mem = d.space == Space::hbm ? chips[d.chip]->hbm : chips[d.chip]->l2.mem;
      mem.write(d.addr, d.bytes.data(), d.bytes.size());
    }
  }
}

System::~System() = default;

void System::fail(const std::string& msg) {
  if (error.empty()) {
    error = msg;
    sc_core::sc_stop();
  }
}

uint64_t System::participants(uint32_t chip, isa::Scope scope) const {
  if (scope == isa::Scope::chip) return cores_with_code_[chip];
  uint64_t n = 0;
  for (uint32_t c : cores_with_code_) n += c;
  return n;
}

System::Group& System::group_for(uint32_t chip, isa::Scope scope) {
  return scope == isa::Scope::chip ? chip_groups_[chip] : system_group_;
}

void System::barrier_arrive(uint32_t chip, uint32_t core, isa::Scope scope, uint32_t id, uint64_t x,
                            const std::string& where) {
  Group& g = group_for(chip, scope);
  if (!g.open) {
    g.open = true;
    g.id = id;
    g.max_x = x;
    g.members.clear();
    g.first_where = where;
  } else if (g.id != id) {
    fail(where + " reaches barrier id " + std::to_string(id) + " while " + g.first_where + " waits at barrier id " +
         std::to_string(g.id) + " of the same scope");
    return;
  }
  g.max_x = std::max(g.max_x, x);
  g.members.emplace_back(chip, core);
  if (g.members.size() < participants(chip, scope)) return;
  // A system barrier's release crosses the links once (docs/timing.md, "Barrier").
  uint64_t r = g.max_x;
  if (scope == isa::Scope::system && p.chips > 1) r += clock.cycle_at_or_after(p.link_latency_fs);
  g.open = false;
  for (const auto& [ch, co] : g.members) {
    Sequencer& s = *chips[ch]->cores[co]->seq;
    s.release = r;
    s.release_ev.notify();
  }
}

std::vector<std::string> System::barrier_waiters() const {
  std::vector<std::string> out;
  auto describe = [&](const Group& g, const std::string& scope) {
    if (!g.open) return;
    out.push_back(scope + " barrier id " + std::to_string(g.id) + ": " + std::to_string(g.members.size()) +
                  " core(s) arrived, first " + g.first_where);
  };
  for (uint32_t c = 0; c < chip_groups_.size(); ++c) describe(chip_groups_[c], "chip " + std::to_string(c));
  describe(system_group_, "system");
  return out;
}

}  // namespace tessera::model
