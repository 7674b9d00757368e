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

// ---- Core ------------------------------------------------------------------------------------

Core::Core(sc_core::sc_module_name name, Chip& c, uint32_t idx, const isa::TextSection* text,
           const StandInFactory* stand_in_factory)
    : sc_module(name), chip(c), sys(c.sys), p(c.sys.p), index(idx), l1("l1", c.sys.p.l1, c.sys.p.l1_ports) {
  for (auto& row : tokens) row.fill(timing::TokenCounter(p.token_depth));
  if (text) code = std::span<const isa::Instr>(text->code);
  records.resize(code.size());
  auto add = [this](std::unique_ptr<Unit> u) {
    units[size_t(u->id)] = u.get();
    owned.push_back(std::move(u));
  };
  if (stand_in_factory) {
    for (uint32_t i = 0; i < code.size(); ++i) {
      records[i].index = i;
      records[i].opcode = uint8_t(code[i].op);
      const bool seq_op = code[i].op == Opcode::halt || code[i].op == Opcode::barrier;
      records[i].unit = uint8_t(seq_op ? kSeqUnit : code[i].unit);
    }
    seq = std::make_unique<Sequencer>("seq", *this);  // idle: it holds the halt and the barrier release
    stand_in = (*stand_in_factory)(*this);
    return;
  }
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
      if (stand_in) throw InputError(where_core() + " is a stand-in core: its L1 is not in the model");
      return l1.mem;
    case Space::acc:
      if (stand_in) throw InputError(where_core() + " is a stand-in core: its accumulators are not in the model");
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
  for (uint32_t e = 0; e < p.engines; ++e)
    if (const Unit* u = units[isa::kUnitsMx.first + e]) t.add(static_cast<const MatrixEngine*>(u)->acc.traffic);
  return t;
}

uint64_t Core::key(int unit) const { return (uint64_t(chip.index) << 24) | (uint64_t(index) << 8) | uint64_t(unit); }

std::string Core::key_owner(uint64_t key) {
  const sc_core::sc_process_handle h = sc_core::sc_get_current_process_handle();
  return "chip " + std::to_string(key >> 24) + " core " + std::to_string((key >> 8) & 0xffff) + " unit " +
         std::string(unit_name(int(key & 0xff))) + " (" + (h.valid() ? h.name() : "no SystemC process") + ")";
}

std::string Core::where_core() const {
  return "chip " + std::to_string(chip.index) + " core " + std::to_string(index);
}

std::string Core::where(uint32_t i) const {
  return "chip " + std::to_string(chip.index) + " core " + std::to_string(index) + " instruction #" +
         std::to_string(i) + " (" + std::string(isa::name(code[i].op)) + ")";
}

// ---- Chip --------------------------------------------------------------------------------

Chip::Chip(sc_core::sc_module_name name, System& s, uint32_t idx, const config::ArchConfig& cfg,
           const std::vector<const isa::TextSection*>& texts, const RunOptions& opt)
    : sc_module(name), sys(s), index(idx), l2("l2", s.p.l2, s.p.l2_ports), l2_fabric(s.p, l2.ports) {
  dram = std::make_unique<DramPort>("hbm", cfg, s.p, s.dram_model);
  dram->time_host = opt.time_dram;
  for (uint32_t c = 0; c < s.p.cores; ++c) {
    const bool stand_in = std::find(opt.stand_in_cores.begin(), opt.stand_in_cores.end(), std::pair(idx, c)) !=
                          opt.stand_in_cores.end();
    // A core without a program does nothing, modelled or not: no stand-in runs for it.
    cores.push_back(std::make_unique<Core>(("core" + std::to_string(c)).c_str(), *this, c, texts[c],
                                           stand_in && texts[c] ? &opt.stand_in : nullptr));
  }
}

Chip::~Chip() = default;

bool Core::predicate_holds(const isa::Instr& in) const {
  if (!in.pred_words) return true;
  if (sys.functional()) {
    for (uint64_t i = 0; i < in.pred_words; ++i) {
      uint8_t b[4] = {0, 0, 0, 0};
      l1.mem.read(in.pred_addr + 4 * i, b, 4);
      if (b[0] | b[1] | b[2] | b[3]) return true;
    }
    return false;
  }
  return !sys.predicate || sys.predicate(chip.index, index, in.pred_addr, in.pred_words);
}

// ---- System ------------------------------------------------------------------------------

System::System(sc_core::sc_module_name name, const config::ArchConfig& cfg, const timing::ArchParams& params,
               const isa::Program& prog, Mode m, const RunOptions& opt)
    : sc_module(name), p(params), mode(m), dram_model(opt.dram) {
  for (const auto& [chip, core] : opt.stand_in_cores) {
    if (chip >= p.chips || core >= p.cores)
      throw InputError("stand-in core: chip " + std::to_string(chip) + " core " + std::to_string(core) +
                       " does not exist (system.chips = " + std::to_string(p.chips) +
                       ", chip.cores = " + std::to_string(p.cores) + ")");
    if (!opt.stand_in) throw std::logic_error("RunOptions::stand_in_cores without a stand_in factory");
    if (m != Mode::Functional) throw InputError("stand-in cores run in functional mode only");
  }
  clock.period_fs = p.period_fs;
  std::vector<std::vector<const isa::TextSection*>> texts(p.chips,
                                                          std::vector<const isa::TextSection*>(p.cores, nullptr));
  for (const isa::TextSection& t : prog.text) texts[t.chip][t.core] = &t;
  cores_with_code_.assign(p.chips, 0);
  for (uint32_t c = 0; c < p.chips; ++c) {
    chips.push_back(std::make_unique<Chip>(("chip" + std::to_string(c)).c_str(), *this, c, cfg, texts[c], opt));
    for (const auto& core : chips.back()->cores) cores_with_code_[c] += core->has_program() ? 1 : 0;
  }
  for (uint32_t c = 1; c < p.chips; ++c) chips[c]->dram->share_splits(*chips[0]->dram);
  links = std::make_unique<LinkFabric>("links", *this, p);
  SC_METHOD(take_arrivals);
  sensitive << arrival_ev_;
  dont_initialize();
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

namespace {
struct ArrivalLater {
  bool operator()(const RemoteArrival& a, const RemoteArrival& b) const {
    if (a.at_fs != b.at_fs) return a.at_fs > b.at_fs;
    if (a.chip != b.chip) return a.chip > b.chip;
    return a.core > b.core;
  }
};
}  // namespace

void System::barrier_arrive(uint32_t chip, uint32_t core, isa::Scope scope, uint32_t id, uint64_t x,
                            const std::string& where) {
  if (scope != isa::Scope::system || p.chips == 1) {
    apply_arrival(chip, core, scope, id, x, where);
    return;
  }
  // Applied by every worker at the claim instant of the cycle a link latency after the one
  // the arrival is made in, in (time, chip, core) order.
  const uint64_t now_cycle = uint64_t(sc_core::sc_time_stamp().value()) / p.period_fs;
  const RemoteArrival a{(now_cycle + clock.cycle_at_or_after(p.link_latency_fs)) * p.period_fs +
                            link_claim_offset_fs(p.period_fs),
                        x, chip, core, id, where};
  if (exchange) exchange->post(a);
  push_arrival(a);
}

void System::arrival_remote(const RemoteArrival& a) {
  if (a.at_fs <= uint64_t(sc_core::sc_time_stamp().value()))
    throw std::logic_error("System: a barrier arrival of chip " + std::to_string(a.chip) +
                           " reaches its worker after the time it is applied");
  push_arrival(a);
}

void System::push_arrival(const RemoteArrival& a) {
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  arrivals_.push_back(a);
  std::push_heap(arrivals_.begin(), arrivals_.end(), ArrivalLater{});
  arrival_ev_.notify(sc_core::sc_time::from_value(a.at_fs - now));
}

void System::take_arrivals() {
  const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
  while (!arrivals_.empty() && arrivals_.front().at_fs <= now) {
    std::pop_heap(arrivals_.begin(), arrivals_.end(), ArrivalLater{});
    const RemoteArrival a = std::move(arrivals_.back());
    arrivals_.pop_back();
    apply_arrival(a.chip, a.core, isa::Scope::system, a.id, a.x, a.where);
    if (failed()) return;
  }
  if (!arrivals_.empty()) arrival_ev_.notify(sc_core::sc_time::from_value(arrivals_.front().at_fs - now));
}

void System::apply_arrival(uint32_t chip, uint32_t core, isa::Scope scope, uint32_t id, uint64_t x,
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
  if (scope == isa::Scope::system && p.chips > 1) {
    // No sooner than the last arrival is known everywhere (now, for an arrival made late in
    // the cycle of its drain).
    r = std::max(r + clock.cycle_at_or_after(p.link_latency_fs),
                 uint64_t(sc_core::sc_time_stamp().value()) / p.period_fs);
  }
  g.open = false;
  for (const auto& [ch, co] : g.members) {
    if (!local(ch)) continue;
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
