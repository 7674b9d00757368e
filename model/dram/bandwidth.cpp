#include "model/dram/bandwidth.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <queue>
#include <unordered_map>

#include "common/util/error.h"
#include "common/util/hash.h"

namespace tessera::model::dram {

namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
// Server time is kept in 1/2^16 tCK so that an efficiency just below 1 still adds up over
// millions of bursts, in integers (deterministic, no drift between runs).
constexpr uint64_t kScale = uint64_t(1) << 16;

bool is_pc_field(Field f) { return f == Field::Stack || f == Field::Channel || f == Field::PseudoChannel; }

uint32_t pc_of(const DramParams& p, const Location& l) { return (l.stack * p.channels + l.channel) * p.pcs + l.pc; }

}  // namespace

StreamCalibration calibrate_stream(const DramParams& p, const AddressMap& map) {
  StreamCalibration c;
  const uint32_t tb = p.tburst;
  c.bursts_per_row = p.cols();
  // Walk one sequential stream from address 0 and keep what pseudo-channel 0 sees: enough
  // bursts for two read queues and for every bank to be opened once more than there are banks.
  const uint64_t total_bursts = p.capacity_bytes() / p.burst_bytes;
  const uint64_t want = std::max<uint64_t>(2ull * p.read_queue, uint64_t(p.banks() + 1) * c.bursts_per_row);
  std::vector<uint32_t> bg_seq;  // bank group of each of PC 0's bursts
  std::vector<uint32_t> act_bank;  // bank of each ACT PC 0 needs (open-page: a new row in a bank)
  std::vector<uint32_t> open(p.banks(), std::numeric_limits<uint32_t>::max());
  AddressMap::Cursor cur;
  map.seek(0, cur);
  for (uint64_t b = 0; b < total_bursts && bg_seq.size() < want; ++b) {
    if (b) map.step(cur);
    const Location& l = cur.loc;
    if (pc_of(p, l) != 0) continue;
    const uint32_t bank = l.bg * p.banks_per_group + l.bank;
    bg_seq.push_back(l.bg);
    if (open[bank] != l.row) {
      open[bank] = l.row;
      act_bank.push_back(bank);
    }
  }
  // g: the fewest bank groups in any read queue's worth of consecutive bursts.
  const size_t window = std::min<size_t>(p.read_queue, bg_seq.size());
  std::vector<uint32_t> in_window(p.bank_groups, 0);
  uint32_t distinct = 0, g = p.bank_groups;
  for (size_t i = 0; i < bg_seq.size(); ++i) {
    if (in_window[bg_seq[i]]++ == 0) ++distinct;
    if (i >= window && --in_window[bg_seq[i - window]] == 0) --distinct;
    if (i + 1 >= window) g = std::min(g, distinct);
  }
  c.groups_in_view = std::max(1u, g);
  // k: ACTs between two ACTs of the same bank; and whether consecutive ACTs share a group.
  uint32_t k = uint32_t(act_bank.size());
  std::vector<int64_t> last_act(p.banks(), -1);
  for (size_t i = 0; i < act_bank.size(); ++i) {
    const uint32_t bank = act_bank[i];
    if (last_act[bank] >= 0) k = std::min<uint32_t>(k, uint32_t(int64_t(i) - last_act[bank]));
    last_act[bank] = int64_t(i);
    if (i && bank / p.banks_per_group == act_bank[i - 1] / p.banks_per_group) c.same_group_rows = true;
  }
  c.banks_before_reuse = std::max(1u, k);
  const double bursts_per_act =
      act_bank.empty() ? double(c.bursts_per_row) : double(bg_seq.size()) / double(act_bank.size());

  // Column rate: tCCD_S between bank groups, tCCD_L within one, g groups taken in turn.
  const double ccd_s = std::max(p.tccd_s, tb), ccd_l = std::max(p.tccd_l, tb);
  c.column_time = bursts_per_act * std::max(ccd_s, ccd_l / c.groups_in_view);
  // Activation rate: one ACT per row of data, tRRD after the previous one, four per tFAW,
  // and the same bank again only tRC after its last ACT, k rows earlier.
  const double rrd = c.same_group_rows ? p.trrd_l : p.trrd_s;
  c.activate_time = std::max({rrd, p.tfaw / 4.0, double(p.trc) / c.banks_before_reuse});
  // A row's bursts enter the queue (read_queue - 1) bursts before their turn: its ACT has
  // that long to be tRCD ahead of the first RD.
  c.exposed_rcd = std::max(0.0, double(p.trcd) - double(p.read_queue - 1) * tb);
  c.row_time = std::max(c.column_time, c.activate_time) + c.exposed_rcd;
  // Refresh. All-bank: the last RD, tRTP to the PRE, tRP, REFab, tRFC, ACT, tRCD to the
  // next RD; the bus is idle that long less the last burst. Per-bank: the refreshed bank is
  // the one the stream has just left; it is needed again k - 1 rows later, so only what
  // tRTP + tRP + tRFCsb exceeds of that shows.
  c.refresh_interval = p.refresh_interval();
  if (p.refresh == Refresh::AllBank) {
    c.refresh_loss = double(p.trtp) + p.trp + p.trfc + p.trcd - tb;
  } else {
    c.refresh_loss = std::max(0.0, double(p.trtp) + p.trp + p.trfcsb - double(c.banks_before_reuse - 1) * c.row_time);
  }
  c.refresh_loss = std::min(c.refresh_loss, c.refresh_interval);
  c.row_efficiency = std::clamp(bursts_per_act * tb / c.row_time, 1e-6, 1.0);
  c.efficiency = c.row_efficiency * (1.0 - c.refresh_loss / c.refresh_interval);
  return c;
}

class BandwidthDram::Impl {
 public:
  explicit Impl(DramParams params)
      : p(derived(std::move(params))), map(p.address_map, p), cal(calibrate_stream(p, map)) {
    npcs = p.pcs_total();
    free_fp.assign(npcs, 0);
    bursts_pc.assign(npcs, 0);
    group_free_fp.assign(size_t(npcs) * p.bank_groups, 0);
    ccd_l_fp = uint64_t(std::max(p.tccd_l, p.tburst)) * kScale;
    open_row.assign(size_t(npcs) * p.banks(), std::numeric_limits<uint32_t>::max());
    share_of_pc.assign(npcs, kNoShare);
    cols = p.cols();
    bank_ready_fp.assign(size_t(npcs) * p.banks(), 0);
    trc_fp = uint64_t(p.trc) * kScale;
    front_fp[0] = p.unloaded_front_tck(false) * kScale;
    front_fp[1] = p.unloaded_front_tck(true) * kScale;
    // Data end to the next ACT of the bank: back to the last RD (CL + tBURST), tRTP to the PRE,
    // tRP; for writes back to the WR (CWL + tBURST), then the data, tWR, tRP.
    auto gap = [&](int64_t v) { return uint64_t(std::max<int64_t>(0, v)) * kScale; };
    pre_after_data_fp[0] = gap(int64_t(p.trtp) + p.trp - p.cl - p.tburst);
    pre_after_data_fp[1] = gap(int64_t(p.twr) + p.trp);
    act_fp = uint64_t(std::ceil(std::max(cal.same_group_rows ? double(p.trrd_l) : double(p.trrd_s), p.tfaw / 4.0) *
                                double(kScale)));
    // All-bank refresh is a blackout of the bus, [j * tREFI, j * tREFI + loss) for j >= 1
    // (every PC's first refresh falls due one interval after cycle 0, as in the burst
    // model), so that windows of a few intervals lose what the burst model loses; per-bank
    // refresh, which costs nothing or little, is spread over the bursts.
    const double per_burst_eff = p.refresh == Refresh::AllBank ? cal.row_efficiency : cal.efficiency;
    cost_fp = uint64_t(std::ceil(double(p.tburst) * double(kScale) / std::max(per_burst_eff, 1e-6)));
    if (p.refresh == Refresh::AllBank && cal.refresh_loss > 0) {
      blackout_fp = uint64_t(std::llround(cal.refresh_loss)) * kScale;
      interval_fp = uint64_t(p.trefi) * kScale;
    }
    // Runs of `run` consecutive bursts share a pseudo-channel (the pieces below the lowest
    // PC piece); every `period` bursts each pseudo-channel has had period / npcs of them.
    const auto& pieces = map.pieces();
    for (const auto& piece : pieces) {
      Location probe;
      uint32_t* f = &field_ref(probe, piece.field);
      for (uint32_t Location::*m : {&Location::stack, &Location::channel, &Location::pc, &Location::bg, &Location::bank,
                                    &Location::row, &Location::col})
        if (&(probe.*m) == f) piece_member.push_back(m);
    }
    size_t hi = 0;
    lo = pieces.size();
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (!is_pc_field(pieces[i].field)) continue;
      lo = std::min(lo, i);
      hi = i;
    }
    run = 1;
    period = 1;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (i < lo) run *= pieces[i].size;
      if (i <= hi) period *= pieces[i].size;
    }
  }

  static DramParams derived(DramParams params) {
    params.derive();
    return params;
  }

  // To the start of the next run: the digits below piece `lo` become 0 and piece `lo` counts
  // up with carry, so walking a row run by run costs no division.
  void next_run(AddressMap::Cursor& c) {
    const auto& pieces = map.pieces();
    for (size_t i = 0; i < lo; ++i) {
      c.loc.*piece_member[i] -= uint32_t(c.digit[i] * pieces[i].field_mul);
      c.digit[i] = 0;
    }
    for (size_t i = lo; i < pieces.size(); ++i) {
      uint32_t& f = c.loc.*piece_member[i];
      if (++c.digit[i] < pieces[i].size) {
        f += uint32_t(pieces[i].field_mul);
        break;
      }
      f -= uint32_t((pieces[i].size - 1) * pieces[i].field_mul);
      c.digit[i] = 0;
    }
    c.burst = c.burst - c.burst % run + run;
  }
  // The Location member of each piece's field (field_ref without its switch, for the hot loops).
  std::vector<uint32_t Location::*> piece_member;

  // c += the burst count whose digits `d` holds (AddressMap::seek of it): mixed-radix
  // addition with carry, so the rows of a strided pattern cost no division.
  void add_digits(AddressMap::Cursor& c, const AddressMap::Cursor& d) {
    const auto& pieces = map.pieces();
    uint32_t carry = 0;
    c.loc = Location{};
    for (size_t i = 0; i < pieces.size(); ++i) {
      uint32_t v = c.digit[i] + d.digit[i] + carry;
      carry = v >= pieces[i].size ? 1 : 0;
      if (carry) v -= pieces[i].size;
      c.digit[i] = v;
      c.loc.*piece_member[i] += uint32_t(v * pieces[i].field_mul);
    }
    c.burst += d.burst;
  }

  // Adds bursts [b0, b1] to the per-PC counts: a map period at a time where it can.
  // `hint`, when not null, is a cursor at burst b0 or b0 - 1.
  void add_range(uint64_t b0, uint64_t b1, const AddressMap::Cursor* hint) {
    bool placed = false;  // cur holds b0
    cur_holds_last_run = false;
    while (b0 <= b1) {
      if (b0 % period == 0 && b1 - b0 + 1 >= period) {
        const uint64_t k = (b1 - b0 + 1) / period;
        raw_periods += k;
        b0 += k * period;
        placed = false;
        continue;
      }
      // Only a range's first run can start mid-run; later ones start at run boundaries.
      const uint64_t end = std::min(b1, (placed ? b0 : b0 - b0 % run) + run - 1);
      if (!placed) {
        if (hint && hint->burst == b0) {
          cur = *hint;
        } else if (hint && hint->burst + 1 == b0) {
          cur = *hint;
          map.step(cur);
        } else {
          map.seek(b0, cur);
        }
        placed = true;
      }
      const Location& l = cur.loc;
      raw.push_back(RawRun{pc_of(p, l), l.bg * p.banks_per_group + l.bank, l.row, end - b0 + 1});
      b0 = end + 1;
      if (b0 <= b1) next_run(cur);
      cur_holds_last_run = b0 > b1;
    }
  }
  bool cur_holds_last_run = false;  // after add_range: cur is at the run holding its last burst

  // One run of bursts on one bank, as add_range finds it from the address map, in split order.
  struct RawRun {
    uint32_t pc, bank;  // bank: bg * banks_per_group + bank in the group
    uint32_t row;
    uint64_t n;
  };
  std::vector<RawRun> raw;   // the runs of the chunk being split
  uint64_t raw_periods = 0;  // and its whole address-map periods

  // How a transfer's pattern splits into chunks and runs depends on the pattern, the chunk size
  // and the address map only, not on the DRAM's state: the chips of a tensor-parallel system
  // move the same patterns, so a split is worked out once and replayed (serve_chunk applies the
  // state: open rows, server and bank times). Shared by the chips of a system
  // (BandwidthDram::share_splits). A chunk is kept as its pseudo-channels' shares, in the order
  // the split first reaches each (the order they are served in, which fixes the credit's
  // floating-point sum), each with its runs in split order and its bursts per bank group.
  struct ShareRun {
    uint32_t bank, row;
    uint64_t n;
  };
  struct GroupBursts {
    uint32_t bg;
    uint64_t n;
  };
  struct Share {
    uint32_t pc = 0;
    uint32_t runs_begin = 0, runs_end = 0, groups_begin = 0, groups_end = 0;  // into the split's runs and groups
    uint64_t n = 0;                       // bursts of its runs
    uint64_t long_acts = 0;               // rows opened beyond a run's first: (n - 1) / cols per run
  };
  struct ChunkRec {
    uint64_t bursts = 0, periods = 0;  // periods: whole address-map periods (every PC's share of them)
    size_t shares_end = 0;             // its shares: [previous chunk's shares_end, shares_end)
    bool last = false;                 // the split ended with this chunk
  };
  struct SplitRec {
    std::vector<ChunkRec> chunks;
    std::vector<Share> shares;
    std::vector<ShareRun> runs;
    std::vector<GroupBursts> groups;
  };
  static constexpr uint32_t kNoShare = std::numeric_limits<uint32_t>::max();
  std::vector<uint32_t> share_of_pc;  // per PC, while a chunk is grouped or served: its share, or kNoShare
  std::array<uint64_t, 64> group_n{};  // per bank group, while a share's runs are summed (zero between)
  SplitRec scratch;                   // the one chunk of a transfer whose split is not kept
  SplitRec building;                  // the split record_split is working out
  static void clear(SplitRec& r) {
    r.chunks.clear();
    r.shares.clear();
    r.runs.clear();
    r.groups.clear();
  }

  // The common chunk, whose runs are on distinct PCs: each run is a share with one bank group,
  // appended in split order. False (and nothing appended) when a PC has two runs.
  bool append_distinct(SplitRec& rec) {
    bool distinct = true;
    for (const RawRun& r : raw) {
      if (share_of_pc[r.pc] != kNoShare) distinct = false;
      share_of_pc[r.pc] = 0;
    }
    for (const RawRun& r : raw) share_of_pc[r.pc] = kNoShare;
    if (!distinct) return false;
    for (const RawRun& r : raw) {
      const uint32_t ri = uint32_t(rec.runs.size()), gi = uint32_t(rec.groups.size());
      rec.shares.push_back(Share{r.pc, ri, ri + 1, gi, gi + 1, r.n, r.n - 1 >= cols ? (r.n - 1) / cols : 0});
      rec.runs.push_back(ShareRun{r.bank, r.row, r.n});
      rec.groups.push_back(GroupBursts{r.bank / p.banks_per_group, r.n});
    }
    return true;
  }

  // Appends the chunk add_range has just split (raw, raw_periods) to `rec` as shares.
  void append_chunk(SplitRec& rec, uint64_t bursts, bool last) {
    const size_t s0 = rec.shares.size(), r0 = rec.runs.size();
    if (append_distinct(rec)) {
      rec.chunks.push_back(ChunkRec{bursts, raw_periods, rec.shares.size(), last});
      raw.clear();
      raw_periods = 0;
      return;
    }
    // Stable grouping by PC: shares in first-reached order, then each share's runs in split order.
    for (const RawRun& r : raw) {
      uint32_t& si = share_of_pc[r.pc];
      if (si == kNoShare) {
        si = uint32_t(rec.shares.size() - s0);
        rec.shares.push_back(Share{r.pc});
      }
      Share& sh = rec.shares[s0 + si];
      ++sh.runs_end;  // a count until the runs are placed below
      sh.n += r.n;
      if (r.n - 1 >= cols) sh.long_acts += (r.n - 1) / cols;
    }
    Share* const shares = rec.shares.data() + s0;
    const size_t ns = rec.shares.size() - s0;
    uint32_t at = uint32_t(r0);
    for (size_t i = 0; i < ns; ++i) {
      const uint32_t k = shares[i].runs_end;
      shares[i].runs_begin = shares[i].runs_end = at;  // runs_end: where its next run goes, for now
      at += k;
    }
    rec.runs.resize(at);
    ShareRun* const runs = rec.runs.data();
    for (const RawRun& r : raw) runs[shares[share_of_pc[r.pc]].runs_end++] = ShareRun{r.bank, r.row, r.n};
    for (size_t i = 0; i < ns; ++i) {
      Share& sh = shares[i];
      share_of_pc[sh.pc] = kNoShare;
      uint64_t mask = 0;
      sh.groups_begin = uint32_t(rec.groups.size());
      for (size_t j = sh.runs_begin; j < sh.runs_end; ++j) {
        const uint32_t g = runs[j].bank / p.banks_per_group;
        group_n[g] += runs[j].n;
        mask |= uint64_t(1) << g;
      }
      for (; mask; mask &= mask - 1) {
        const uint32_t g = uint32_t(std::countr_zero(mask));
        rec.groups.push_back(GroupBursts{g, group_n[g]});
        group_n[g] = 0;
      }
      sh.groups_end = uint32_t(rec.groups.size());
    }
    rec.chunks.push_back(ChunkRec{bursts, raw_periods, rec.shares.size(), last});
    raw.clear();
    raw_periods = 0;
  }

  using SplitKey = std::array<uint64_t, 7>;  // the pattern (base, len, n1, n2, stride1, stride2) and the chunk
  struct Splits {
    std::unordered_map<SplitKey, std::shared_ptr<const SplitRec>, WordsHash> map;
    uint64_t runs = 0;  // held by the map; new splits are not kept past kMaxSplitRuns
  };
  static constexpr uint64_t kMaxSplitRuns = uint64_t(1) << 22;  // about 100 MB
  std::shared_ptr<Splits> splits = std::make_shared<Splits>();
  bool keep = true;  // new splits are kept (BandwidthDram::keep_splits)

  // Moves t out of a refresh blackout.
  uint64_t skip_blackout(uint64_t t) const {
    if (!blackout_fp) return t;
    const uint64_t j = t / interval_fp;
    return j >= 1 && t < j * interval_fp + blackout_fp ? j * interval_fp + blackout_fp : t;
  }
  // The end of `work` bus time started at t (outside a blackout), skipping blackouts.
  uint64_t add_work(uint64_t t, uint64_t work) const {
    if (!blackout_fp) return t + work;
    for (;;) {
      const uint64_t next = (t / interval_fp + 1) * interval_fp;
      if (t + work <= next) return t + work;
      work -= next - t;
      t = next + blackout_fp;
    }
  }

  DramParams p;
  AddressMap map;
  StreamCalibration cal;
  uint64_t blackout_fp = 0, interval_fp = 0;
  uint32_t npcs = 0;
  uint64_t cost_fp = 0, run = 1, period = 1, cols = 1;
  size_t lo = 0;  // least significant piece of a PC field
  AddressMap::Cursor cur;
  std::vector<uint64_t> free_fp, bursts_pc;
  // Per PC and bank group: the first time the group can take another column command (bursts
  // of one group are tCCD_L apart).
  std::vector<uint64_t> group_free_fp;
  uint64_t ccd_l_fp = 0;
  // Per PC and bank: its open row, and the first time it can take another ACT.
  std::vector<uint32_t> open_row;
  std::vector<uint64_t> bank_ready_fp;
  uint64_t trc_fp = 0, front_fp[2] = {0, 0}, pre_after_data_fp[2] = {0, 0};
  uint64_t act_fp = 0;  // per-PC spacing of ACTs: max(tRRD, tFAW / 4)
  uint64_t bursts_rw[2] = {0, 0};
  uint64_t now = 0, next_id = 0;
  std::vector<Completion> completed;
  mutable Stats snapshot;

  // A transfer moves through the pseudo-channels a window at a time, as the burst model's
  // transfer keeps max_outstanding bursts in its controller's queues: its bursts are split
  // and served in chunks of a window / kChunksPerWindow, in address order, and a chunk
  // enters the servers when the chunk a window before it has returned its credit (at the
  // mean completion of its bursts). Chunks of concurrent transfers therefore interleave on
  // each pseudo-channel in the order they enter, so transfers that arrive together progress
  // together and finish together, as FR-FCFS over the bursts of their windows makes them do,
  // instead of one after another (docs/dram.md, "Serving").
  static constexpr uint64_t kChunksPerWindow = 4;
  struct Transfer {
    uint64_t id = 0;
    Pattern3D pat;
    bool write = false;
    bool stepped = false;  // whole-burst stride1: rows stepped by digit addition
    uint64_t chunk = 1;    // bursts per chunk
    uint32_t window = 1;   // chunks in flight at most
    uint32_t inflight = 0;
    uint64_t i1 = 0, i2 = 0;       // the pattern row being split
    uint64_t next = 0, end = 0;    // its next burst and last burst, when in_row
    bool in_row = false, split_all = false;
    uint64_t last = kNever;        // last burst of the previous row
    uint64_t done = 0;             // latest chunk completion
    AddressMap::Cursor delta, row;  // stepped: the row step, and the current row's first burst
    bool has_cont = false;
    AddressMap::Cursor cont;  // the next chunk's first burst, when the last one ended a run
    std::shared_ptr<const SplitRec> replay;  // its split, worked out at submit, and the next chunk of it
    size_t replay_chunk = 0;
    SplitKey key{};
  };
  std::vector<Transfer> transfers;
  std::vector<uint32_t> free_slots;
  uint32_t active = 0;
  // Inject: a transfer enters; ChunkDone: a chunk's credit returns; Finish: the transfer completes.
  enum class Ev : uint8_t { Inject, ChunkDone, Finish };
  struct Event {
    uint64_t t, seq;
    uint32_t slot;
    Ev kind;
    bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
  uint64_t event_seq = 0;

  void push(uint64_t t, uint32_t slot, Ev kind) { events.push(Event{t, event_seq++, slot, kind}); }

  // The next chunk of `x`: its split and the chunk's index in it (x.split_all set when it is
  // the split's last).
  std::pair<const SplitRec*, size_t> next_chunk(Transfer& x) {
    if (x.replay) {
      const SplitRec& r = *x.replay;
      const size_t c = x.replay_chunk++;
      x.split_all = r.chunks[c].last;
      return {&r, c};
    }
    clear(scratch);
    const uint64_t moved = split_walk(x);
    append_chunk(scratch, moved, x.split_all);
    return {&scratch, 0};
  }

  // Works out the whole split of a new transfer (a copy of it walks its chunks), keeps it for
  // the chips that move the same pattern, and returns it (null for a transfer of more than
  // kMaxSplitRuns runs).
  std::shared_ptr<const SplitRec> record_split(const Transfer& x) {
    // Built in `building`, whose vectors keep their capacity, then copied at its size: a kept
    // split costs four allocations, not a growing vector's dozens.
    clear(building);
    Transfer walk = x;
    for (;;) {
      const uint64_t moved = split_walk(walk);
      append_chunk(building, moved, walk.split_all || !moved);
      if (walk.split_all || !moved) break;
      // A transfer too large to keep is split as it is served (its indices stay 32-bit).
      if (building.runs.size() > kMaxSplitRuns) return nullptr;
    }
    auto rec = std::make_shared<const SplitRec>(building);
    splits->runs += rec->runs.size();
    splits->map[x.key] = rec;
    return rec;
  }

  uint64_t split_walk(Transfer& x) {
    uint64_t budget = x.chunk, moved = 0;
    while (budget && !x.split_all) {
      if (!x.in_row) {
        if (x.i1 == x.pat.n1) {
          x.i1 = 0;
          ++x.i2;
        }
        if (x.i2 == x.pat.n2) {
          x.split_all = true;
          break;
        }
        const uint64_t start = x.pat.base + x.i1 * x.pat.stride1 + x.i2 * x.pat.stride2;
        x.next = start / p.burst_bytes;
        x.end = (start + x.pat.len - 1) / p.burst_bytes;
        if (x.stepped) {
          if (x.i1 == 0) {
            map.seek(x.next, x.row);
          } else {
            add_digits(x.row, x.delta);
          }
        }
        if (x.next == x.last) ++x.next;
        x.last = x.end;
        ++x.i1;
        x.in_row = x.next <= x.end;
        continue;
      }
      const uint64_t b1 = std::min(x.end, x.next + budget - 1);
      // The row cursor is a hint at the row's first burst (or the one before it, when that
      // burst was the previous row's); the rest of a row split over chunks goes on from where
      // the previous chunk ended when that was a run's end, and seeks otherwise.
      const AddressMap::Cursor* hint = nullptr;
      if (x.stepped && (x.row.burst == x.next || x.row.burst + 1 == x.next)) {
        hint = &x.row;
      } else if (x.has_cont && x.cont.burst == x.next) {
        hint = &x.cont;
      }
      add_range(x.next, b1, hint);
      x.has_cont = cur_holds_last_run && (b1 + 1) % run == 0 && b1 < x.end;
      if (x.has_cont) {
        x.cont = cur;
        next_run(x.cont);
      }
      moved += b1 - x.next + 1;
      budget -= b1 - x.next + 1;
      x.next = b1 + 1;
      x.in_row = x.next <= x.end;
    }
    return moved;
  }

  // Serves chunk `ci` of `rec`, entering at `at`. Returns the tck its last burst's data ends
  // and the mean tck at which its bursts' data end: a burst returns its credit to the
  // transfer's window when it completes, so the window holds a chunk, on average, until then.
  std::pair<uint64_t, uint64_t> serve_chunk(const SplitRec& rec, size_t ci, uint64_t at, bool write) {
    const ChunkRec& chunk = rec.chunks[ci];
    const size_t s0 = ci ? rec.chunks[ci - 1].shares_end : 0;
    const uint64_t at_fp = at * kScale, front = front_fp[write ? 1 : 0], pre = pre_after_data_fp[write ? 1 : 0];
    const uint64_t ready_fp = at_fp + front;
    const uint64_t tburst_fp = uint64_t(p.tburst) * kScale;
    const uint32_t banks = p.banks(), groups = p.bank_groups;
    const ShareRun* const runs = rec.runs.data();
    const GroupBursts* const group_bursts = rec.groups.data();
    uint64_t done = 0;
    // Sum over shares of n * (first + last burst end) / 2, in tCK (doubles are exact enough
    // and the sum is formed in a fixed order, so runs stay deterministic).
    double credit_sum = 0;
    uint64_t credit_n = 0;
    // One PC's share: `sh` its runs (null: none), `n` and `nacts` its bursts and the rows it
    // opens besides those its runs open in banks with another row open.
    auto serve = [&](uint32_t pc, const Share* sh, uint64_t n, uint64_t nacts) __attribute__((always_inline)) {
      const uint64_t start = skip_blackout(std::max(ready_fp, free_fp[pc]));
      uint64_t group_end = 0;
      if (sh) {
        // Bursts of one bank group are tCCD_L apart, so a share ends no sooner than its bank
        // groups, still busy with earlier shares' bursts, allow. The bus itself stays work
        // conserving: FR-FCFS fills those gaps with other groups' bursts from its queue.
        uint64_t* gfree = &group_free_fp[size_t(pc) * groups];
        for (uint32_t j = sh->groups_begin; j < sh->groups_end; ++j) {
          const GroupBursts& g = group_bursts[j];
          uint64_t& f = gfree[g.bg];
          const uint64_t sg = std::max(start, f);
          group_end = std::max(group_end, sg + (g.n - 1) * ccd_l_fp + tburst_fp);
          f = sg + g.n * ccd_l_fp;
        }
        // A run that opens a row in a bank waits for that bank: its ACT no sooner than tRC
        // after the bank's previous ACT and tRTP + tRP after its previous row's last column
        // command. FR-FCFS issues ACTs for queued requests while the bus serves others, so the
        // wait is latency, not server time, like the bank-group spacing above.
        uint32_t* rows = &open_row[size_t(pc) * banks];
        uint64_t* ready_of = &bank_ready_fp[size_t(pc) * banks];
        for (uint32_t j = sh->runs_begin; j < sh->runs_end; ++j) {
          const ShareRun& o = runs[j];
          uint64_t& ready = ready_of[o.bank];
          uint64_t run_start = start;
          if (rows[o.bank] != o.row) {  // open page: a row other than the bank's open one
            rows[o.bank] = o.row;
            ++nacts;
            const uint64_t act = std::max(at_fp, ready);
            run_start = std::max(start, act + front);
            ready = act + trc_fp;
          }
          const uint64_t run_end = run_start + (o.n - 1) * ccd_l_fp + tburst_fp;
          group_end = std::max(group_end, run_end);
          // The row closes tRTP after its last column command (CL + tBURST before its data
          // ends) and the bank takes the next ACT tRP later.
          ready = std::max(ready, run_end + pre);
        }
      }
      // A piece that opens more rows than a stream would is held to the activation rate:
      // its last burst comes no sooner than its last ACT, and the server's next ACT one
      // spacing after that.
      const uint64_t last = std::max((n - 1) * cost_fp, (nacts ? nacts - 1 : 0) * act_fp);
      const uint64_t end_fp = std::max(add_work(start, last) + tburst_fp, group_end);
      free_fp[pc] = add_work(start, std::max(n * cost_fp, nacts * act_fp));
      bursts_pc[pc] += n;
      done = std::max(done, (end_fp + kScale - 1) / kScale);
      // Through int64_t: one conversion instruction, the same double (the values are below 2^63).
      credit_sum += double(int64_t(n)) * (double(int64_t(start + tburst_fp)) + double(int64_t(end_fp))) / (2.0 * kScale);
      credit_n += n;
    };
    if (chunk.periods) {
      // Whole map periods reach every PC alike (period / npcs bursts each, a stream's rows).
      const uint64_t uniform = chunk.periods * (period / npcs);
      const uint64_t uniform_acts = uniform / p.cols();
      for (size_t i = s0; i < chunk.shares_end; ++i) share_of_pc[rec.shares[i].pc] = uint32_t(i);
      for (uint32_t pc = 0; pc < npcs; ++pc) {
        const uint32_t i = share_of_pc[pc];
        if (i == kNoShare) {
          serve(pc, nullptr, uniform, uniform_acts);
        } else {
          share_of_pc[pc] = kNoShare;
          const Share& sh = rec.shares[i];
          serve(pc, &sh, sh.n + uniform, sh.long_acts + uniform_acts);
        }
      }
    } else {
      for (size_t i = s0; i < chunk.shares_end; ++i) {
        const Share& sh = rec.shares[i];
        serve(sh.pc, &sh, sh.n, sh.long_acts);
      }
    }
    const uint64_t credit = credit_n ? uint64_t(std::ceil(credit_sum / double(credit_n))) : done;
    return {done, std::min(done, std::max(credit, at + 1))};
  }

  // Lets `slot` put chunks into the servers at `t` while its window has room.
  void inject(uint32_t slot, uint64_t t) {
    Transfer& x = transfers[slot];
    while (x.inflight < x.window && !x.split_all) {
      const auto [rec, ci] = next_chunk(x);
      const uint64_t n = rec->chunks[ci].bursts;
      if (!n) break;
      bursts_rw[x.write ? 1 : 0] += n;
      ++x.inflight;
      const auto [end, credit] = serve_chunk(*rec, ci, t, x.write);
      x.done = std::max(x.done, end);
      push(credit, slot, Ev::ChunkDone);
    }
    if (x.inflight == 0) push(std::max(x.done, t), slot, Ev::Finish);
  }

  void finish(uint32_t slot, uint64_t t) {
    completed.push_back(Completion{transfers[slot].id, t});
    free_slots.push_back(slot);
    --active;
  }

  void process(uint64_t until) {
    while (!events.empty() && events.top().t < until) {
      const Event e = events.top();
      events.pop();
      switch (e.kind) {
        case Ev::Finish:
          finish(e.slot, e.t);
          break;
        case Ev::Inject:
          inject(e.slot, e.t);
          break;
        case Ev::ChunkDone:
          --transfers[e.slot].inflight;
          inject(e.slot, e.t);
          break;
      }
    }
  }
};

BandwidthDram::BandwidthDram(DramParams params) : impl_(std::make_unique<Impl>(std::move(params))) {}
BandwidthDram::~BandwidthDram() = default;

uint64_t BandwidthDram::submit(const Pattern3D& pat, bool write, uint32_t max_outstanding, uint64_t at_tck,
                               uint64_t /*request_bytes*/) {
  Impl& m = *impl_;
  const DramParams& p = m.p;
  const bool empty = check_submission(p, pat, max_outstanding);
  const uint64_t id = m.next_id++;
  const uint64_t at = std::max(at_tck, m.now);
  uint32_t slot;
  if (m.free_slots.empty()) {
    slot = uint32_t(m.transfers.size());
    m.transfers.emplace_back();
  } else {
    slot = m.free_slots.back();
    m.free_slots.pop_back();
  }
  Impl::Transfer& x = m.transfers[slot];
  x = Impl::Transfer{};
  x.id = id;
  // Rows that follow each other without a gap are one row: the same bursts in the same order,
  // split a run at a time instead of a row at a time (a KV page of 128 rows of 256 bytes).
  x.pat = pat;
  if (x.pat.n1 > 1 && x.pat.stride1 == x.pat.len) {
    x.pat.len *= x.pat.n1;
    x.pat.n1 = 1;
    x.pat.stride1 = 0;
  }
  if (x.pat.n1 == 1 && x.pat.n2 > 1 && x.pat.stride2 == x.pat.len) {
    x.pat.len *= x.pat.n2;
    x.pat.n2 = 1;
    x.pat.stride2 = 0;
  }
  x.write = write;
  // A window of max_outstanding bursts in kChunksPerWindow chunks; with fewer bursts than
  // chunks, one burst per chunk, so that one burst in flight still waits a whole latency.
  x.chunk = std::max<uint64_t>(1, max_outstanding / Impl::kChunksPerWindow);
  x.window = uint32_t(std::max<uint64_t>(1, max_outstanding / x.chunk));
  // With a whole-burst stride1, each row's first burst is the previous row's plus a constant,
  // added digit by digit (AddressMap::Cursor) instead of decoded.
  x.stepped = x.pat.stride1 % p.burst_bytes == 0 && x.pat.n1 > 1;
  if (x.stepped) m.map.seek(x.pat.stride1 / p.burst_bytes, x.delta);
  x.key = {x.pat.base, x.pat.len, x.pat.n1, x.pat.n2, x.pat.stride1, x.pat.stride2, x.chunk};
  if (!empty) {
    if (auto it = m.splits->map.find(x.key); it != m.splits->map.end()) {
      x.replay = it->second;
    } else if (m.keep && m.splits->runs < Impl::kMaxSplitRuns) {
      x.replay = m.record_split(x);
    }
  }
  ++m.active;
  m.push(at, slot, empty ? Impl::Ev::Finish : Impl::Ev::Inject);
  return id;
}

void BandwidthDram::advance(uint64_t until_tck) {
  if (until_tck == kNever) {
    run_until_idle();
    return;
  }
  impl_->process(until_tck);
  impl_->now = std::max(impl_->now, until_tck);
}

void BandwidthDram::run_until_idle() {
  Impl& m = *impl_;
  if (m.events.empty()) return;
  uint64_t last = 0;
  while (!m.events.empty()) {
    last = m.events.top().t;
    m.process(last + 1);
  }
  m.now = std::max(m.now, last + 1);
}

uint64_t BandwidthDram::next_event_tck() const {
  return impl_->events.empty() ? kNever : impl_->events.top().t;
}

std::vector<Completion> BandwidthDram::take_completed() {
  std::vector<Completion> out;
  out.swap(impl_->completed);
  return out;
}

uint64_t BandwidthDram::now_tck() const { return impl_->now; }
uint64_t BandwidthDram::in_flight() const { return impl_->active; }

const Stats& BandwidthDram::stats() const {
  const Impl& m = *impl_;
  const DramParams& p = m.p;
  Stats& s = m.snapshot;
  s = Stats{};
  s.dram_model = "bandwidth";
  s.cycles = m.now;
  s.tck_fs = p.tck_fs;
  s.tburst = p.tburst;
  s.burst_bytes = p.burst_bytes;
  s.pcs = m.npcs;
  s.peak_bytes_per_s = p.peak_bytes_per_s();
  s.bytes_read = m.bursts_rw[0] * p.burst_bytes;
  s.bytes_written = m.bursts_rw[1] * p.burst_bytes;
  const uint64_t bursts = m.bursts_rw[0] + m.bursts_rw[1];
  // Estimates: one ACT (and one PRE) per row of data moved, one REFRESH per interval.
  const uint64_t acts = (s.bytes_read + s.bytes_written + p.row_bytes - 1) / p.row_bytes;
  s.commands[size_t(Cmd::RD)] = m.bursts_rw[0];
  s.commands[size_t(Cmd::WR)] = m.bursts_rw[1];
  s.commands[size_t(Cmd::ACT)] = acts;
  s.commands[size_t(Cmd::PRE)] = acts;
  s.commands[size_t(p.refresh == Refresh::AllBank ? Cmd::REFab : Cmd::REFpb)] =
      uint64_t(m.npcs) * (m.now / p.refresh_interval());
  s.row_misses = acts;
  s.row_hits = bursts - std::min(bursts, acts);
  s.read_latency.bins.assign(2, 0);
  s.channel_utilisation.assign(m.npcs / p.pcs, 0.0);
  for (uint32_t pc = 0; pc < m.npcs; ++pc) {
    const uint64_t busy = m.bursts_pc[pc] * p.tburst;
    s.busy_cycles += busy;
    if (m.now) s.channel_utilisation[pc / p.pcs] += double(busy) / double(m.now) / p.pcs;
  }
  return s;
}

const DramParams& BandwidthDram::params() const { return impl_->p; }
const StreamCalibration& BandwidthDram::calibration() const { return impl_->cal; }
void BandwidthDram::share_splits(const BandwidthDram& with) { impl_->splits = with.impl_->splits; }
void BandwidthDram::keep_splits(bool keep) { impl_->keep = keep; }
const AddressMap& BandwidthDram::address_map() const { return impl_->map; }
const std::vector<uint64_t>& BandwidthDram::bursts_per_pc() const { return impl_->bursts_pc; }

}  // namespace tessera::model::dram
