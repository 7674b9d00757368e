#include "model/dram/dram_system.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <ostream>
#include <queue>

#include "common/util/error.h"
#include "model/dram/event_heap.h"
#include "model/dram/trace.h"

namespace tessera::model::dram {

namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr int32_t kNil = -1;
constexpr uint32_t kClosed = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kNoBank = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kMaxBankGroups = 64;  // above the schema's largest dram.bank_groups (16)

enum Outcome : uint8_t { kHit, kMiss, kConflict };

// One burst waiting in a controller queue. Pooled per pseudo-channel; `next` links the
// requests of one bank and direction in arrival order.
struct Request {
  uint64_t arrival;
  uint64_t seq;  // global arrival order: the age FR-FCFS and FCFS compare
  uint32_t row;
  uint32_t col;
  uint32_t transfer;
  uint16_t bank;
  uint8_t outcome;  // decided by the first row command issued on the request's behalf
  int32_t next;
};

struct Bank {
  uint32_t open_row = kClosed;
  uint32_t bg = 0, ba = 0;
  uint64_t act_ready = 0;  // earliest ACT: tRC, tRP, tRFC, tRFCsb
  uint64_t pre_ready = 0;  // earliest PRE: tRAS, tRTP, write recovery
  uint64_t col_ready = 0;  // earliest RD/WR: tRCD
  uint64_t ref_ready = 0;  // earliest REFRESH: tRP after a precharge, tRFC/tRFCsb after a refresh
  Cause act_cause = Cause::RC;
  Cause pre_cause = Cause::RAS;
  int32_t head[2] = {kNil, kNil};
  int32_t tail[2] = {kNil, kNil};
  uint32_t n[2] = {0, 0};
  uint32_t hits[2] = {0, 0};  // queued requests to the open row, so a bank without any is never searched
  uint32_t head_row[2] = {0, 0};  // row and age of the head request, kept here so that the
  uint64_t head_seq[2] = {0, 0};  // common case (the head hits) never touches the request pool
  bool refreshed = false;  // per-bank refresh: already refreshed in the current round
  uint64_t last_use = 0;   // cycle after the bank's last column command (0: never used)
  // The open row's ACT went `late` cycles after its request could have had it but for
  // tFAW, tRRD or the command bus; the first min(late, tRCD) cycles of its tRCD are
  // charged to that cause, since without it the burst would have come that much sooner.
  Cause late_cause = Cause::FAW;
  uint64_t late_until = 0;
};

// Command buses of one channel, shared by its pseudo-channels [JESD235 pseudo-channel
// mode; docs/dram.md]: the first cycle each is free. DDR3 uses `row` for its single bus.
struct CommandBus {
  uint64_t row = 0, col = 0;
};

struct Pending {
  uint64_t time;
  uint64_t arrival;
  uint32_t transfer;
};

// FIFO of column commands whose data has not finished; times are non-decreasing per
// direction because the latency (CL or CWL, plus tBURST) is constant and column commands
// of one direction issue in increasing cycles.
struct PendingRing {
  std::vector<Pending> buf;
  uint32_t head = 0, count = 0, mask = 0;
  void init(uint32_t capacity) {
    const uint32_t c = std::bit_ceil(std::max(capacity, 2u));
    buf.assign(c, Pending{});
    mask = c - 1;
  }
  bool empty() const { return count == 0; }
  const Pending& front() const { return buf[head]; }
  void push(const Pending& c) {
    if (count == buf.size()) {
      std::vector<Pending> nb(buf.size() * 2);
      for (uint32_t i = 0; i < count; ++i) nb[i] = buf[(head + i) & mask];
      buf.swap(nb);
      head = 0;
      mask = uint32_t(buf.size()) - 1;
    }
    buf[(head + count) & mask] = c;
    ++count;
  }
  void pop() {
    head = (head + 1) & mask;
    --count;
  }
};

// What a scheduler evaluation expects for the data bus while nothing changes: idle for
// cause[0] until end[0], then cause[1] until end[1], ... (docs/dram.md, "Lost cycles").
struct Projection {
  bool waiting = false;  // any request queued
  uint8_t n = 0;
  uint64_t end[3] = {0, 0, 0};
  Cause cause[3] = {Cause::CommandBus, Cause::CommandBus, Cause::CommandBus};
  void add(uint64_t e, Cause c) {
    end[n] = e;
    cause[n] = c;
    ++n;
  }
};

struct PcStats {
  uint64_t busy = 0;  // bursts x tBURST
  std::array<uint64_t, kCauseCount> idle{};
};

struct Transfer {
  uint64_t id = 0;
  Pattern3D pat;
  bool write = false;
  bool all_issued = false;
  uint32_t max_out = 0;
  uint32_t outstanding = 0;
  uint64_t request_bytes = 0;  // aligned blocks whose same-row bursts enter together
  uint64_t i1 = 0, i2 = 0;
  uint64_t burst = 0, seg_last = 0;  // next burst of the current pattern row, and its last
  uint64_t last_emitted = kNever;
  AddressMap::Cursor at;  // `burst` decoded (at.loc)
  uint32_t pc = 0;  // its pseudo-channel
  bool blocked = false;  // waiting on pseudo-channel `pc`'s blocked list for a queue slot
  int32_t next_blocked = kNil;
};

// One pseudo-channel controller: banks, queues, timing state shared by its banks.
struct Pc {
  uint32_t stack = 0, channel = 0, pc = 0;
  uint32_t bus = 0;  // index of its channel's CommandBus
  std::vector<Bank> banks;
  std::vector<Request> pool;
  int32_t free_list = kNil;
  uint32_t nq[2] = {0, 0};  // queued reads, writes
  std::vector<uint64_t> active[2];  // bit per bank with queued requests of the direction
  bool drain = false;

  std::vector<uint64_t> col_ready[2];  // per bank group: earliest RD [0] / WR [1]
  std::vector<Cause> col_cause[2];
  std::vector<uint64_t> rrd_ready;     // per bank group: earliest ACT (tRRD_S / tRRD_L)
  uint64_t faw[4] = {0, 0, 0, 0};      // the last four ACTs, oldest at faw_pos
  uint32_t faw_pos = 0, acts = 0;
  uint64_t bus_free = 0;               // end of the last burst's slot (column-command time)

  uint64_t ref_due = 0;
  uint32_t ref_bank = kNoBank;  // per-bank refresh: bank chosen for the pending REFpb
  bool ref_bound = false;       // its PRE has issued, so the choice is final
  uint32_t round_left = 0;      // banks still to refresh in this per-bank round

  PendingRing done[2];
  int32_t blocked_head[2] = {kNil, kNil}, blocked_tail[2] = {kNil, kNil};

  uint64_t next_cmd = 0;  // earliest cycle a command may become legal (kNever: none)
  uint64_t last_eval = 0;
  Projection proj;
  PcStats st;
};

struct Candidate {
  uint64_t time = kNever;
  int kind = 2;  // -1 refresh, 0 column, 1 row command: lower issues first at equal time
  uint64_t age = kNever;
  int32_t req = kNil;
  uint32_t bank = 0;
  Cmd cmd = Cmd::ACT;
  bool better_than(const Candidate& o) const {
    if (time != o.time) return time < o.time;
    if (kind != o.kind) return kind < o.kind;
    return age < o.age;
  }
};

// The latest of several lower bounds, with the cause of the first term that reached it.
struct Bound {
  uint64_t t = 0;
  Cause c = Cause::CommandBus;
  void at_least(uint64_t v, Cause cause) {
    if (v > t) {
      t = v;
      c = cause;
    }
  }
};

// One evaluation's choice: the command to issue first, and which bank can put the next
// burst on the data bus soonest (its causes are worked out only for that bank).
struct Plan {
  Candidate best;
  uint64_t proj_time = kNever;
  uint32_t proj_bank = kNoBank;
  void offer(const Candidate& c) {
    if (c.better_than(best)) best = c;
  }
  void project(uint64_t col_time, uint32_t bank) {
    if (col_time < proj_time) {
      proj_time = col_time;
      proj_bank = bank;
    }
  }
};

// Earliest cycles shared by every bank of one bank group in one evaluation.
struct GroupTimes {
  uint64_t col[kMaxBankGroups];  // t, tCCD / turnaround of the direction, column bus
  uint64_t act[kMaxBankGroups];  // t, tRRD, tFAW, row bus
  uint64_t pre = 0;              // t, row bus
};

}  // namespace

class DramSystem::Impl {
 public:
  Impl(DramParams params, Options opt);

  DramParams p;
  AddressMap map;
  Options opt;
  TraceWriter trace;
  std::vector<Pc> pcs;
  std::vector<CommandBus> buses;
  uint32_t ref_interval = 0;

  std::vector<Transfer> transfers;
  std::vector<int32_t> free_transfers;
  uint64_t next_id = 0;
  uint64_t active = 0;
  uint64_t seq = 0;
  uint64_t now = 0;
  std::vector<Completion> completed;

  // Pseudo-channels keyed by 2 * cycle + phase (phase 0: data completions at that cycle,
  // phase 1: commands).
  EventHeap agenda;
  // Transfers waiting to enter at a future cycle: (cycle, slot), phase 0.
  std::priority_queue<std::pair<uint64_t, uint32_t>, std::vector<std::pair<uint64_t, uint32_t>>, std::greater<>>
      starts;

  uint64_t cnt[kCmdCount] = {};
  uint64_t bytes_rw[2] = {0, 0};
  uint64_t outcomes[3] = {0, 0, 0};
  LatencyHistogram lat;
  mutable Stats snapshot;

  static DramParams derived(DramParams params) {
    params.derive();
    return params;
  }

  uint64_t pc_key(const Pc& pc) const;
  void wake(uint32_t pci, uint64_t t) {
    Pc& pc = pcs[pci];
    if (t < pc.next_cmd) {
      pc.next_cmd = t;
      if (2 * t + 1 < agenda.key(pci)) agenda.set(pci, 2 * t + 1);
    }
  }

  // Transfers.
  void start_row(Transfer& tr);
  void advance_burst(Transfer& tr);
  // Decodes tr.burst; `next`: it is the burst after the one decoded last.
  void locate(Transfer& tr, bool next);
  uint32_t group_size(const Transfer& tr, uint32_t limit);
  void inject(uint32_t slot, uint64_t t, uint32_t front_pc = kNoBank);
  void finish(uint32_t slot, uint64_t t);

  // Controller.
  void enqueue(uint32_t pci, Transfer& tr, uint32_t slot, uint64_t t);
  void complete(uint32_t pci, uint64_t t);
  void eval(uint32_t pci, uint64_t t);
  uint64_t schedule(uint32_t pci, uint64_t t);
  void plan_bank(const Pc& pc, uint32_t bi, int d, bool fcfs, const GroupTimes& g, Plan& plan) const;
  Projection projection(const Pc& pc, uint32_t bi, int d, uint32_t ref_bank, uint64_t t) const;
  uint32_t pick_refresh_bank(const Pc& pc) const;
  void issue(uint32_t pci, const Candidate& c, int d, uint64_t t);
  void issue_column(uint32_t pci, Bank& b, const Candidate& c, int d, uint64_t t);
  void attribute(const Pc& pc, uint64_t from, uint64_t to, PcStats& st) const;
  void emit(const Pc& pc, uint64_t t, Cmd c, const Bank* b, uint32_t row, uint32_t col) {
    ++cnt[int(c)];
    if (trace.enabled()) {
      trace.line(t, c, pc.stack, pc.channel, pc.pc, b ? b->bg : TraceWriter::kNone, b ? b->ba : TraceWriter::kNone,
                 row, col);
    }
  }
  void run(uint64_t until, bool until_idle);
  void build_stats() const;
};

// ---------------------------------------------------------------------------------------

DramSystem::Impl::Impl(DramParams params, Options o)
    : p(derived(std::move(params))), map(p.address_map, p), opt(o), trace(o.trace, p), agenda(p.pcs_total()) {
  ref_interval = p.refresh_interval();
  const uint32_t n = p.pcs_total();
  pcs.resize(n);
  buses.resize(size_t(p.stacks) * p.channels);
  const uint32_t latency = std::max(p.cl, p.cwl) + p.tburst;
  for (uint32_t i = 0; i < n; ++i) {
    Pc& pc = pcs[i];
    pc.pc = i % p.pcs;
    pc.channel = (i / p.pcs) % p.channels;
    pc.stack = i / (p.pcs * p.channels);
    pc.bus = i / p.pcs;
    pc.banks.resize(p.banks());
    for (uint32_t b = 0; b < p.banks(); ++b) {
      pc.banks[b].bg = b / p.banks_per_group;
      pc.banks[b].ba = b % p.banks_per_group;
    }
    pc.pool.resize(size_t(p.read_queue) + p.write_queue);
    for (size_t r = 0; r < pc.pool.size(); ++r) pc.pool[r].next = r + 1 < pc.pool.size() ? int32_t(r + 1) : kNil;
    pc.free_list = 0;
    for (int d = 0; d < 2; ++d) {
      pc.col_ready[d].assign(p.bank_groups, 0);
      pc.col_cause[d].assign(p.bank_groups, Cause::CCD_S);
      pc.done[d].init(latency / p.tburst + 2);
    }
    pc.rrd_ready.assign(p.bank_groups, 0);
    for (int d = 0; d < 2; ++d) pc.active[d].assign((p.banks() + 63) / 64, 0);
    pc.round_left = p.banks();
    pc.ref_due = ref_interval;
    pc.next_cmd = pc.ref_due;
    agenda.set(i, pc_key(pc));
  }
  lat.bin_tck = std::max(1u, opt.latency_bin_tck);
  lat.bins.assign(std::max(2u, opt.latency_bins), 0);
}

uint64_t DramSystem::Impl::pc_key(const Pc& pc) const {
  uint64_t k = pc.next_cmd == kNever ? kNever : 2 * pc.next_cmd + 1;
  for (int d = 0; d < 2; ++d) {
    if (!pc.done[d].empty()) k = std::min(k, 2 * pc.done[d].front().time);
  }
  return k;
}

// ---------------------------------------------------------------------------------------
// Transfers

void DramSystem::Impl::start_row(Transfer& tr) {
  const uint64_t start = tr.pat.base + tr.i1 * tr.pat.stride1 + tr.i2 * tr.pat.stride2;
  tr.burst = start / p.burst_bytes;
  tr.seg_last = (start + tr.pat.len - 1) / p.burst_bytes;
  if (tr.burst == tr.last_emitted) ++tr.burst;  // shared with the previous row: moved once
}

void DramSystem::Impl::locate(Transfer& tr, bool next) {
  if (next) {
    map.step(tr.at);
  } else {
    map.seek(tr.burst, tr.at);
  }
  const Location& l = tr.at.loc;
  tr.pc = (l.stack * p.channels + l.channel) * p.pcs + l.pc;
}

void DramSystem::Impl::advance_burst(Transfer& tr) {
  tr.last_emitted = tr.burst;
  ++tr.burst;
  bool next = true;
  while (tr.burst > tr.seg_last) {
    next = false;
    if (++tr.i1 == tr.pat.n1) {
      tr.i1 = 0;
      if (++tr.i2 == tr.pat.n2) {
        tr.all_issued = true;
        return;
      }
    }
    start_row(tr);
  }
  locate(tr, next || tr.burst == tr.at.burst + 1);
}

// Bursts from the transfer's next one on that lie in the same aligned request block and
// share its pseudo-channel, bank and row, at most `limit`: they enter the controller
// together, as one request does, so that a full queue never splits a request and makes
// its second half open the row again.
uint32_t DramSystem::Impl::group_size(const Transfer& tr, uint32_t limit) {
  if (tr.request_bytes <= p.burst_bytes) return 1;
  const uint64_t block_end = (tr.burst * p.burst_bytes / tr.request_bytes + 1) * tr.request_bytes;  // bytes
  Transfer probe = tr;
  uint32_t n = 1;
  while (n < limit) {
    advance_burst(probe);
    if (probe.all_issued || probe.burst * p.burst_bytes >= block_end || probe.pc != tr.pc ||
        probe.at.loc.bg != tr.at.loc.bg || probe.at.loc.bank != tr.at.loc.bank || probe.at.loc.row != tr.at.loc.row) {
      break;
    }
    ++n;
  }
  return n;
}

// Moves bursts of transfer `slot` into their queues, a same-row group at a time, until it
// runs out of bursts or of outstanding credit (it resumes when a burst completes), or
// meets a queue without room for the group (it waits on that queue's blocked list, at the
// front if that queue is `front_pc`'s, which is retrying it).
void DramSystem::Impl::inject(uint32_t slot, uint64_t t, uint32_t front_pc) {
  for (;;) {
    Transfer& tr = transfers[slot];
    if (tr.all_issued) return;
    const uint32_t pci = tr.pc;
    Pc& pc = pcs[pci];
    const int d = tr.write ? 1 : 0;
    const uint32_t cap = d ? p.write_queue : p.read_queue;
    const uint32_t g = group_size(tr, std::min(cap, tr.max_out));
    if (tr.outstanding + g > tr.max_out) return;
    if (pc.nq[d] + g > cap) {
      tr.blocked = true;
      if (pci == front_pc || pc.blocked_head[d] == kNil) {
        tr.next_blocked = pc.blocked_head[d];
        pc.blocked_head[d] = int32_t(slot);
        if (pc.blocked_tail[d] == kNil) pc.blocked_tail[d] = int32_t(slot);
      } else {
        tr.next_blocked = kNil;
        transfers[size_t(pc.blocked_tail[d])].next_blocked = int32_t(slot);
        pc.blocked_tail[d] = int32_t(slot);
      }
      return;
    }
    for (uint32_t i = 0; i < g; ++i) {
      enqueue(pci, tr, slot, t);
      ++tr.outstanding;
      advance_burst(tr);
    }
  }
}

void DramSystem::Impl::finish(uint32_t slot, uint64_t t) {
  completed.push_back(Completion{transfers[slot].id, t});
  free_transfers.push_back(int32_t(slot));
  --active;
}

void DramSystem::Impl::enqueue(uint32_t pci, Transfer& tr, uint32_t slot, uint64_t t) {
  Pc& pc = pcs[pci];
  const int d = tr.write ? 1 : 0;
  const int32_t ri = pc.free_list;
  Request& r = pc.pool[size_t(ri)];
  pc.free_list = r.next;
  const uint16_t bi = uint16_t(tr.at.loc.bg * p.banks_per_group + tr.at.loc.bank);
  r = Request{t, seq++, tr.at.loc.row, tr.at.loc.col, slot, bi, kHit, kNil};
  Bank& b = pc.banks[bi];
  if (b.tail[d] == kNil) {
    b.head[d] = ri;
    b.head_row[d] = r.row;
    b.head_seq[d] = r.seq;
    pc.active[d][bi / 64] |= uint64_t(1) << (bi % 64);
  } else {
    pc.pool[size_t(b.tail[d])].next = ri;
  }
  b.tail[d] = ri;
  ++b.n[d];
  if (r.row == b.open_row) ++b.hits[d];
  ++pc.nq[d];
  wake(pci, t);
}

void DramSystem::Impl::complete(uint32_t pci, uint64_t t) {
  for (int d = 0; d < 2; ++d) {
    PendingRing& ring = pcs[pci].done[d];
    while (!ring.empty() && ring.front().time == t) {
      const Pending c = ring.front();
      ring.pop();
      if (d == 0) lat.add(t - c.arrival);
      Transfer& tr = transfers[c.transfer];
      --tr.outstanding;
      if (tr.all_issued && tr.outstanding == 0) {
        finish(c.transfer, t);
      } else if (!tr.blocked) {  // a blocked transfer resumes when its queue has room
        inject(c.transfer, t);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Controller

// Charges [from, to) of `pc`'s data bus to the projection made at its last evaluation.
void DramSystem::Impl::attribute(const Pc& pc, uint64_t from, uint64_t to, PcStats& st) const {
  uint64_t a = std::max(from, pc.bus_free);
  if (a >= to) return;
  if (!pc.proj.waiting) {
    st.idle[size_t(Cause::NoRequest)] += to - a;
    return;
  }
  for (uint8_t i = 0; i < pc.proj.n && a < to; ++i) {
    const uint64_t e = std::min(pc.proj.end[i], to);
    if (e > a) {
      st.idle[size_t(pc.proj.cause[i])] += e - a;
      a = e;
    }
  }
  if (a < to) st.idle[size_t(Cause::CommandBus)] += to - a;
}

void DramSystem::Impl::eval(uint32_t pci, uint64_t t) {
  Pc& pc = pcs[pci];
  attribute(pc, pc.last_eval, t, pc.st);
  pc.last_eval = t;
  pc.next_cmd = schedule(pci, t);
  agenda.set(pci, pc_key(pc));
}

// Per-bank refresh may refresh the banks of a round in any order. It takes a bank with
// nothing queued, and among those the one used most recently: a sequential sweep has just
// left it and will not be back for a while, whereas the bank idle the longest is the one
// the sweep reaches next.
uint32_t DramSystem::Impl::pick_refresh_bank(const Pc& pc) const {
  uint32_t best = kNoBank;
  bool best_busy = true;
  uint64_t best_use = 0;
  for (uint32_t bi = 0; bi < pc.banks.size(); ++bi) {
    const Bank& b = pc.banks[bi];
    if (b.refreshed) continue;
    const bool busy = b.n[0] + b.n[1] > 0;
    if (best == kNoBank || (!busy && best_busy) || (busy == best_busy && b.last_use > best_use)) {
      best = bi;
      best_busy = busy;
      best_use = b.last_use;
    }
  }
  return best;
}

// The next command bank `bi` needs for direction `d` (a column command to its open row,
// a PRE, or an ACT), offered to `plan` with the earliest cycle all constraints allow.
// FCFS considers only the bank's oldest request. This runs for every bank with queued
// requests at every evaluation, so the candidate is built only when it wins.
inline void DramSystem::Impl::plan_bank(const Pc& pc, uint32_t bi, int d, bool fcfs, const GroupTimes& g,
                                        Plan& plan) const {
  const Bank& b = pc.banks[bi];
  uint64_t time, col_time;
  uint64_t age = b.head_seq[d];
  int32_t req = b.head[d];
  int kind = 1;
  Cmd cmd;
  if (b.open_row != kClosed) {
    bool hit = b.head_row[d] == b.open_row;
    if (!hit && b.hits[d] && !fcfs) {
      hit = true;
      req = pc.pool[size_t(req)].next;
      while (pc.pool[size_t(req)].row != b.open_row) req = pc.pool[size_t(req)].next;
      age = pc.pool[size_t(req)].seq;
    }
    if (hit) {
      time = std::max(g.col[b.bg], b.col_ready);
      col_time = time;
      kind = 0;
      cmd = d ? Cmd::WR : Cmd::RD;
    } else {
      time = std::max(g.pre, b.pre_ready);
      col_time = time + p.trp + p.trcd;
      cmd = Cmd::PRE;
    }
  } else {
    time = std::max(g.act[b.bg], b.act_ready);
    col_time = time + p.trcd;
    cmd = Cmd::ACT;
  }
  plan.project(col_time, bi);
  const Candidate& best = plan.best;
  if (time < best.time || (time == best.time && (kind < best.kind || (kind == best.kind && age < best.age)))) {
    plan.best = Candidate{time, kind, age, req, bi, cmd};
  }
}

// Why bank `bi`'s next burst cannot reach the data bus before its projected cycle: the
// same bounds as plan_bank and the issue rules, each with its cause.
Projection DramSystem::Impl::projection(const Pc& pc, uint32_t bi, int d, uint32_t ref_bank, uint64_t t) const {
  Projection pr;
  pr.waiting = true;
  const Bank& b = pc.banks[bi];
  const CommandBus& bus = buses[pc.bus];
  if (bi == ref_bank) {
    // Requests wait for the refresh: PRE (if open), tRP, REFpb, tRFCsb, ACT, tRCD.
    const uint64_t ready = b.open_row != kClosed ? std::max(t, b.pre_ready) + p.trp : std::max(t, b.ref_ready);
    pr.add(ready + p.trfcsb, Cause::Refresh);
    pr.add(ready + p.trfcsb + p.trcd, Cause::RCD);
    return pr;
  }
  Bound bd;
  bd.at_least(t, Cause::CommandBus);
  const bool hit = b.open_row != kClosed && (b.head_row[d] == b.open_row || (b.hits[d] && p.sched == Sched::FrFcfs));
  if (hit) {
    bd.at_least(b.col_ready, Cause::RCD);
    bd.at_least(pc.col_ready[d][b.bg], pc.col_cause[d][b.bg]);
    bd.at_least(p.single_command_bus() ? bus.row : bus.col, Cause::CommandBus);
    if (bd.c == Cause::RCD && b.late_until > t) pr.add(std::min(b.late_until, bd.t), b.late_cause);
    pr.add(bd.t, bd.c);
  } else if (b.open_row != kClosed) {
    bd.at_least(b.pre_ready, b.pre_cause);
    bd.at_least(bus.row, Cause::CommandBus);
    pr.add(bd.t, bd.c);
    pr.add(bd.t + p.trp, Cause::RP);
    pr.add(bd.t + p.trp + p.trcd, Cause::RCD);
  } else {
    bd.at_least(b.act_ready, b.act_cause);
    bd.at_least(pc.rrd_ready[b.bg], Cause::RRD);
    bd.at_least(pc.acts >= 4 ? pc.faw[pc.faw_pos] + p.tfaw : 0, Cause::FAW);
    bd.at_least(bus.row, Cause::CommandBus);
    pr.add(bd.t, bd.c);
    pr.add(bd.t + p.trcd, Cause::RCD);
  }
  return pr;
}

// Issues every command that is legal at cycle t, in priority order, and returns the
// earliest cycle at which the next one could become legal (kNever if none can).
uint64_t DramSystem::Impl::schedule(uint32_t pci, uint64_t t) {
  Pc& pc = pcs[pci];
  const CommandBus& bus = buses[pc.bus];
  for (;;) {
    // Write-drain hysteresis; writes also go when no read is waiting.
    if (pc.drain && pc.nq[1] <= p.write_low) pc.drain = false;
    if (!pc.drain && pc.nq[1] >= p.write_high) pc.drain = true;
    const int d = (pc.drain || pc.nq[0] == 0) && pc.nq[1] > 0 ? 1 : 0;

    Plan plan;
    Projection all_bank_wait;
    const bool ref_pending = t >= pc.ref_due;
    const uint32_t nb = uint32_t(pc.banks.size());
    uint32_t ref_bank = kNoBank;

    if (ref_pending && p.refresh == Refresh::AllBank) {
      // Close every bank, then REFab once tRP (and tRC, tRFC) allow it everywhere.
      bool any_open = false;
      uint64_t ref_at = std::max(t, bus.row);
      for (uint32_t bi = 0; bi < nb; ++bi) {
        const Bank& b = pc.banks[bi];
        if (b.open_row != kClosed) {
          any_open = true;
          Candidate c;
          c.time = std::max({t, b.pre_ready, bus.row});
          c.kind = 1;
          c.age = bi;
          c.bank = bi;
          c.cmd = Cmd::PRE;
          plan.offer(c);
        } else {
          ref_at = std::max(ref_at, b.ref_ready);
        }
      }
      if (!any_open) {
        plan.best = Candidate{};
        plan.best.time = ref_at;
        plan.best.kind = -1;
        plan.best.cmd = Cmd::REFab;
      }
      all_bank_wait.waiting = pc.nq[0] + pc.nq[1] > 0;
      all_bank_wait.add(kNever, Cause::Refresh);
    } else {
      if (ref_pending) {
        if (!pc.ref_bound) pc.ref_bank = pick_refresh_bank(pc);
        ref_bank = pc.ref_bank;
        const Bank& b = pc.banks[ref_bank];
        Candidate c;
        c.kind = -1;
        c.age = 0;
        c.bank = ref_bank;
        uint64_t ready;
        if (b.open_row != kClosed) {
          c.time = std::max({t, b.pre_ready, bus.row});
          c.cmd = Cmd::PRE;
          ready = std::max(t, b.pre_ready) + p.trp;
        } else {
          c.time = std::max({t, b.ref_ready, bus.row});
          c.cmd = Cmd::REFpb;
          ready = c.time;
        }
        plan.offer(c);
        if (b.n[d]) plan.project(ready + p.trfcsb + p.trcd, ref_bank);
      }
      if (pc.nq[d] > 0) {
        GroupTimes g;
        const uint64_t faw_ready = pc.acts >= 4 ? pc.faw[pc.faw_pos] + p.tfaw : 0;
        const uint64_t col_bus = p.single_command_bus() ? bus.row : bus.col;
        const uint64_t col_base = std::max(t, col_bus), row_base = std::max(t, bus.row);
        const uint64_t act_base = std::max(row_base, faw_ready);
        g.pre = row_base;
        for (uint32_t bg = 0; bg < p.bank_groups; ++bg) {
          g.col[bg] = std::max(col_base, pc.col_ready[d][bg]);
          g.act[bg] = std::max(act_base, pc.rrd_ready[bg]);
        }
        const bool fcfs = p.sched == Sched::Fcfs;
        uint32_t oldest = kNoBank;
        uint64_t oldest_seq = kNever;
        for (size_t w = 0; w < pc.active[d].size(); ++w) {
          for (uint64_t bits = pc.active[d][w]; bits; bits &= bits - 1) {
            const uint32_t bi = uint32_t(w * 64 + size_t(std::countr_zero(bits)));
            if (bi == ref_bank) continue;
            if (!fcfs) {
              plan_bank(pc, bi, d, false, g, plan);
            } else if (pc.banks[bi].head_seq[d] < oldest_seq) {
              oldest_seq = pc.banks[bi].head_seq[d];
              oldest = bi;
            }
          }
        }
        // FCFS serves only the oldest request; if that waits for the refresh, so does everything.
        if (fcfs && (ref_bank == kNoBank || pc.banks[ref_bank].n[d] == 0 ||
                     pc.banks[ref_bank].head_seq[d] > oldest_seq)) {
          if (oldest != kNoBank) plan_bank(pc, oldest, d, true, g, plan);
        }
      }
    }

    if (plan.best.time != t) {
      if (all_bank_wait.n) {
        pc.proj = all_bank_wait;
      } else if (plan.proj_bank != kNoBank) {
        pc.proj = projection(pc, plan.proj_bank, d, ref_bank, t);
      } else {
        pc.proj = Projection{};
        pc.proj.waiting = pc.nq[0] + pc.nq[1] > 0;
      }
      uint64_t wake = plan.best.time;
      if (!ref_pending) wake = std::min(wake, pc.ref_due);
      return wake;
    }
    issue(pci, plan.best, d, t);
  }
}

void DramSystem::Impl::issue(uint32_t pci, const Candidate& c, int d, uint64_t t) {
  Pc& pc = pcs[pci];
  CommandBus& bus = buses[pc.bus];
  Bank* b = c.cmd == Cmd::REFab ? nullptr : &pc.banks[c.bank];
  switch (c.cmd) {
    case Cmd::ACT: {
      Request& r = pc.pool[size_t(c.req)];
      if (r.outcome == kHit) r.outcome = kMiss;
      const uint64_t free = std::max(r.arrival, b->act_ready);
      if (t > free) {
        const uint64_t faw = pc.acts >= 4 ? pc.faw[pc.faw_pos] + p.tfaw : 0, rrd = pc.rrd_ready[b->bg];
        b->late_cause = faw > free && faw >= rrd ? Cause::FAW : rrd > free ? Cause::RRD : Cause::CommandBus;
        b->late_until = t + std::min<uint64_t>(t - free, p.trcd);
      } else {
        b->late_until = 0;
      }
      b->open_row = r.row;
      for (int dd = 0; dd < 2; ++dd) {
        b->hits[dd] = 0;
        for (int32_t x = b->head[dd]; x != kNil; x = pc.pool[size_t(x)].next) b->hits[dd] += pc.pool[size_t(x)].row == r.row;
      }
      b->col_ready = t + p.trcd;
      b->pre_ready = t + p.tras;
      b->pre_cause = Cause::RAS;
      b->act_ready = t + p.trc;
      b->act_cause = Cause::RC;
      for (uint32_t g = 0; g < p.bank_groups; ++g) {
        pc.rrd_ready[g] = std::max(pc.rrd_ready[g], t + (g == b->bg ? p.trrd_l : p.trrd_s));
      }
      pc.faw[pc.faw_pos] = t;
      pc.faw_pos = (pc.faw_pos + 1) & 3;
      ++pc.acts;
      emit(pc, t, Cmd::ACT, b, r.row, TraceWriter::kNone);
      break;
    }
    case Cmd::PRE: {
      if (c.kind == -1) pc.ref_bound = true;
      if (c.req >= 0) pc.pool[size_t(c.req)].outcome = kConflict;
      b->open_row = kClosed;
      b->hits[0] = b->hits[1] = 0;
      b->ref_ready = std::max(b->ref_ready, t + p.trp);
      if (t + p.trp > b->act_ready) {
        b->act_ready = t + p.trp;
        b->act_cause = Cause::RP;
      }
      emit(pc, t, Cmd::PRE, b, TraceWriter::kNone, TraceWriter::kNone);
      break;
    }
    case Cmd::REFab: {
      for (Bank& bk : pc.banks) {
        bk.ref_ready = t + p.trfc;
        if (t + p.trfc > bk.act_ready) {
          bk.act_ready = t + p.trfc;
          bk.act_cause = Cause::Refresh;
        }
      }
      pc.ref_due += ref_interval;
      emit(pc, t, Cmd::REFab, nullptr, TraceWriter::kNone, TraceWriter::kNone);
      break;
    }
    case Cmd::REFpb: {
      b->ref_ready = t + p.trfcsb;
      if (t + p.trfcsb > b->act_ready) {
        b->act_ready = t + p.trfcsb;
        b->act_cause = Cause::Refresh;
      }
      b->refreshed = true;
      if (--pc.round_left == 0) {
        for (Bank& bk : pc.banks) bk.refreshed = false;
        pc.round_left = uint32_t(pc.banks.size());
      }
      pc.ref_due += ref_interval;
      pc.ref_bank = kNoBank;
      pc.ref_bound = false;
      emit(pc, t, Cmd::REFpb, b, TraceWriter::kNone, TraceWriter::kNone);
      break;
    }
    default:
      issue_column(pci, *b, c, d, t);
      break;
  }
  const bool column = c.cmd == Cmd::RD || c.cmd == Cmd::WR;
  if (p.single_command_bus()) {
    bus.row = t + 1;
  } else if (column) {
    bus.col = t + 1;
  } else {
    bus.row = t + 1;
  }
}

void DramSystem::Impl::issue_column(uint32_t pci, Bank& b, const Candidate& c, int d, uint64_t t) {
  Pc& pc = pcs[pci];
  const int32_t ri = c.req;
  Request& r = pc.pool[size_t(ri)];
  int32_t prev = kNil;
  for (int32_t x = b.head[d]; x != ri; x = pc.pool[size_t(x)].next) prev = x;
  if (prev == kNil) {
    b.head[d] = r.next;
    if (r.next != kNil) {
      b.head_row[d] = pc.pool[size_t(r.next)].row;
      b.head_seq[d] = pc.pool[size_t(r.next)].seq;
    }
  } else {
    pc.pool[size_t(prev)].next = r.next;
  }
  if (b.tail[d] == ri) b.tail[d] = prev;
  if (--b.n[d] == 0) pc.active[d][c.bank / 64] &= ~(uint64_t(1) << (c.bank % 64));
  --b.hits[d];
  --pc.nq[d];

  // Closed page: precharge with this access unless another queued request hits the row.
  const bool auto_pre = p.page == Page::Closed && b.hits[0] + b.hits[1] == 0;
  const Cmd cmd = d ? (auto_pre ? Cmd::WRA : Cmd::WR) : (auto_pre ? Cmd::RDA : Cmd::RD);
  const uint64_t recover = d ? t + p.cwl + p.tburst + p.twr : t + p.trtp;
  if (recover > b.pre_ready) {
    b.pre_ready = recover;
    b.pre_cause = d ? Cause::WR : Cause::RTP;
  }
  for (uint32_t g = 0; g < p.bank_groups; ++g) {
    const bool same = g == b.bg;
    // Same direction: tCCD, and never two bursts on the data bus at once.
    const uint64_t ccd = t + std::max(p.tburst, same ? p.tccd_l : p.tccd_s);
    if (ccd > pc.col_ready[d][g]) {
      pc.col_ready[d][g] = ccd;
      pc.col_cause[d][g] = same ? Cause::CCD_L : Cause::CCD_S;
    }
    // Other direction: a WR's data may start tRTW after this RD's data ends; a RD may
    // issue tWTR after this WR's data ends.
    uint64_t turn;
    if (d == 0) {
      const uint64_t data_end = t + p.cl + p.tburst + p.trtw;
      turn = data_end > t + p.cwl ? data_end - p.cwl : t;
    } else {
      turn = t + p.cwl + p.tburst + (same ? p.twtr_l : p.twtr_s);
    }
    if (turn > pc.col_ready[1 - d][g]) {
      pc.col_ready[1 - d][g] = turn;
      pc.col_cause[1 - d][g] = d ? Cause::WTR : Cause::RTW;
    }
  }
  pc.bus_free = t + p.tburst;
  pc.st.busy += p.tburst;
  b.last_use = t + 1;
  ++outcomes[r.outcome];
  bytes_rw[d] += p.burst_bytes;
  pc.done[d].push(Pending{t + (d ? p.cwl : p.cl) + p.tburst, r.arrival, r.transfer});
  emit(pc, t, cmd, &b, r.row, r.col);
  if (auto_pre) {
    // The device precharges by itself once tRAS, tRTP or write recovery allow.
    b.open_row = kClosed;
    b.hits[0] = b.hits[1] = 0;
    b.ref_ready = std::max(b.ref_ready, b.pre_ready + p.trp);
    if (b.pre_ready + p.trp > b.act_ready) {
      b.act_ready = b.pre_ready + p.trp;
      b.act_cause = Cause::RP;
    }
  }
  r.next = pc.free_list;
  pc.free_list = ri;
  // A queue slot is free: let blocked transfers of this direction in, in blocking order,
  // until the first whose group still does not fit (it stays first).
  while (pc.blocked_head[d] != kNil && pc.nq[d] < (d ? p.write_queue : p.read_queue)) {
    const uint32_t slot = uint32_t(pc.blocked_head[d]);
    pc.blocked_head[d] = transfers[slot].next_blocked;
    if (pc.blocked_head[d] == kNil) pc.blocked_tail[d] = kNil;
    transfers[slot].blocked = false;
    inject(slot, t, pci);
    if (pc.blocked_head[d] == int32_t(slot)) break;
  }
}

void DramSystem::Impl::run(uint64_t until, bool until_idle) {
  bool any = false;
  uint64_t last = 0;
  for (;;) {
    if (until_idle && active == 0) break;
    const uint64_t kp = agenda.top_key();
    const uint64_t ks = starts.empty() ? kNever : 2 * starts.top().first;
    const uint64_t k = std::min(kp, ks);
    if (k == kNever || (k >> 1) >= until) break;
    const uint64_t t = k >> 1;
    any = true;
    last = t;
    if (ks <= kp) {
      const uint32_t slot = starts.top().second;
      starts.pop();
      if (transfers[slot].all_issued) {
        finish(slot, t);  // an empty transfer
      } else {
        inject(slot, t);
      }
      continue;
    }
    const uint32_t pci = agenda.top();
    if (k & 1) {
      eval(pci, t);
    } else {
      complete(pci, t);
      agenda.set(pci, pc_key(pcs[pci]));
    }
  }
  if (until_idle) {
    if (any) now = std::max(now, last + 1);
  } else {
    now = std::max(now, until);
  }
  trace.flush();
}

void DramSystem::Impl::build_stats() const {
  Stats& s = snapshot;
  s = Stats{};
  s.cycles = now;
  s.tck_fs = p.tck_fs;
  s.tburst = p.tburst;
  s.burst_bytes = p.burst_bytes;
  s.pcs = uint32_t(pcs.size());
  s.peak_bytes_per_s = p.peak_bytes_per_s();
  s.bytes_read = bytes_rw[0];
  s.bytes_written = bytes_rw[1];
  for (size_t i = 0; i < kCmdCount; ++i) s.commands[i] = cnt[i];
  s.row_hits = outcomes[kHit];
  s.row_misses = outcomes[kMiss];
  s.row_conflicts = outcomes[kConflict];
  s.read_latency = lat;
  const uint32_t per_channel = p.pcs;
  s.channel_utilisation.assign(pcs.size() / per_channel, 0.0);
  for (size_t i = 0; i < pcs.size(); ++i) {
    const Pc& pc = pcs[i];
    PcStats st = pc.st;
    // A burst still on the bus at the end of the window counts only up to the window.
    st.busy -= pc.bus_free > now ? std::min<uint64_t>(pc.bus_free - now, p.tburst) : 0;
    if (pc.last_eval < now) attribute(pc, pc.last_eval, now, st);
    s.busy_cycles += st.busy;
    for (size_t c = 0; c < kCauseCount; ++c) s.idle_cycles[c] += st.idle[c];
    if (now) s.channel_utilisation[i / per_channel] += double(st.busy) / double(now) / per_channel;
  }
}

// ---------------------------------------------------------------------------------------

DramSystem::DramSystem(DramParams params, Options opt) : impl_(std::make_unique<Impl>(std::move(params), opt)) {}
DramSystem::~DramSystem() = default;

uint64_t DramSystem::submit(const Pattern3D& pat, bool write, uint32_t max_outstanding, uint64_t at_tck,
                            uint64_t request_bytes) {
  Impl& m = *impl_;
  const bool empty = check_submission(m.p, pat, max_outstanding);
  uint32_t slot;
  if (m.free_transfers.empty()) {
    slot = uint32_t(m.transfers.size());
    m.transfers.emplace_back();
  } else {
    slot = uint32_t(m.free_transfers.back());
    m.free_transfers.pop_back();
  }
  Transfer& tr = m.transfers[slot];
  tr = Transfer{};
  tr.id = m.next_id++;
  tr.pat = pat;
  tr.write = write;
  tr.max_out = max_outstanding;
  tr.request_bytes = request_bytes;
  tr.all_issued = empty;
  if (!empty) {
    m.start_row(tr);
    m.locate(tr, false);
  }
  ++m.active;
  m.starts.emplace(std::max(at_tck, m.now), slot);
  return tr.id;
}

void DramSystem::advance(uint64_t until_tck) {
  // Idle pseudo-channels keep refreshing, so there is no last event to stop after.
  if (until_tck == kNever) {
    impl_->run(kNever, true);
  } else {
    impl_->run(until_tck, false);
  }
}
void DramSystem::run_until_idle() { impl_->run(kNever, true); }

uint64_t DramSystem::next_event_tck() const {
  const Impl& m = *impl_;
  if (m.active == 0) return kNever;
  uint64_t k = m.agenda.top_key();
  if (!m.starts.empty()) k = std::min(k, 2 * m.starts.top().first);
  return k == kNever ? kNever : k >> 1;
}

std::vector<Completion> DramSystem::take_completed() {
  std::vector<Completion> out;
  out.swap(impl_->completed);
  return out;
}

uint64_t DramSystem::now_tck() const { return impl_->now; }
uint64_t DramSystem::in_flight() const { return impl_->active; }

const Stats& DramSystem::stats() const {
  impl_->build_stats();
  return impl_->snapshot;
}

const DramParams& DramSystem::params() const { return impl_->p; }
const AddressMap& DramSystem::address_map() const { return impl_->map; }

}  // namespace tessera::model::dram
