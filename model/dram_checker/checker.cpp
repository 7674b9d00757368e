#include "model/dram_checker/checker.h"

#include <algorithm>
#include <charconv>

#include "common/util/error.h"

namespace tessera::dram_checker {

std::string_view rule_name(Rule r) {
  static constexpr std::array<std::string_view, kRuleCount> kNames = {
      "format", "order",  "range",  "command-bus", "act-open", "col-closed", "col-row", "refresh-open", "data-bus",
      "tRCD",   "tRP",    "tRAS",   "tRC",         "tRRD_S",   "tRRD_L",     "tFAW",    "tCCD_S",       "tCCD_L",
      "tWTR_S", "tWTR_L", "tRTW",   "tRTP",        "tWR",      "tRFC",       "tRFCsb",  "tREFI"};
  return kNames[size_t(r)];
}

uint64_t CheckReport::total() const {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

uint64_t TraceChecker::total_violations() const {
  uint64_t n = 0;
  for (uint64_t c : counts_) n += c;
  return n;
}

TraceChecker::TraceChecker(CheckParams p) : p_(std::move(p)) {
  const uint32_t counts[] = {p_.stacks, p_.channels, p_.pseudo_channels, p_.bank_groups, p_.banks_per_group,
                             p_.rows,   p_.columns,  p_.tburst,          p_.trefi};
  for (uint32_t c : counts) {
    if (c == 0) throw InputError("dram checker: arch '" + p_.arch + "': organisation, tBURST and tREFI must be positive");
  }
  pcs_.resize(size_t(p_.stacks) * p_.channels * p_.pseudo_channels);
  for (PcState& s : pcs_) {
    s.banks.resize(size_t(p_.bank_groups) * p_.banks_per_group);
    s.group_act.assign(p_.bank_groups, kNever);
    s.group_rd.assign(p_.bank_groups, kNever);
    s.group_wr.assign(p_.bank_groups, kNever);
  }
  buses_.resize(size_t(p_.stacks) * p_.channels);
}

void TraceChecker::flag(Rule r, const std::string& message) {
  ++counts_[size_t(r)];
  if (kept_.size() < keep_) kept_.push_back(Violation{r, line_, uint64_t(std::max<int64_t>(t_, 0)), where_ + message});
}

void TraceChecker::after(int64_t since, uint32_t gap, Rule r, const char* what) {
  if (since == kNever || t_ >= since + int64_t(gap)) return;
  flag(r, std::string("only ") + std::to_string(t_ - since) + " tCK after " + what + " at cycle " +
              std::to_string(since) + "; " + std::string(rule_name(r)) + " needs " + std::to_string(gap));
}

namespace {

std::string_view next_token(std::string_view& s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
  size_t j = i;
  while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
  std::string_view tok = s.substr(i, j - i);
  s.remove_prefix(j);
  return tok;
}

constexpr uint32_t kAbsent = UINT32_MAX;

// A decimal field, or kAbsent for '-'; false if it is neither.
bool parse_field(std::string_view tok, uint64_t& v) {
  if (tok == "-") {
    v = kAbsent;
    return true;
  }
  if (tok.empty()) return false;
  const auto r = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  return r.ec == std::errc() && r.ptr == tok.data() + tok.size();
}

}  // namespace

void TraceChecker::feed(std::string_view line, uint64_t line_no) {
  line_ = line_no;
  where_.clear();
  std::string_view rest = line;
  std::string_view first = next_token(rest);
  if (first.empty()) return;
  if (first[0] == '#') {
    if (!header_seen_) {
      header_seen_ = true;
      if (line.substr(0, 23) != "# tessera dram trace v1") {
        flag(Rule::Format, "the first line must be the header '# tessera dram trace v1 ...'");
      }
    }
    return;
  }
  if (!header_seen_) {
    header_seen_ = true;
    flag(Rule::Format, "the trace has no '# tessera dram trace v1' header");
  }
  std::string_view tok[9];
  tok[0] = first;
  size_t n = 1;
  for (; n < 9; ++n) {
    tok[n] = next_token(rest);
    if (tok[n].empty()) break;
  }
  if (n != 9 || !next_token(rest).empty()) {
    flag(Rule::Format, "expected 9 fields (cycle command stack channel pc bg bank row col), got '" + std::string(line) + "'");
    return;
  }
  static constexpr std::pair<std::string_view, Op> kOps[] = {{"ACT", Op::ACT}, {"RD", Op::RD},     {"WR", Op::WR},
                                                             {"RDA", Op::RDA}, {"WRA", Op::WRA},   {"PRE", Op::PRE},
                                                             {"REFab", Op::REFab}, {"REFpb", Op::REFpb}};
  const auto op_it = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& o) { return o.first == tok[1]; });
  uint64_t v[9] = {};
  bool ok = op_it != std::end(kOps);
  for (size_t i = 0; ok && i < 9; ++i) {
    if (i == 1) continue;
    ok = parse_field(tok[i], v[i]) && (i != 0 || v[0] != kAbsent) && (i > 4 || v[i] != kAbsent || i == 0);
  }
  if (!ok) {
    flag(Rule::Format, "cannot read '" + std::string(line) + "'");
    return;
  }
  const Op op = op_it->second;
  where_ = std::string(tok[1]) + " " + std::string(tok[2]) + "/" + std::string(tok[3]) + "/" + std::string(tok[4]) +
           (op == Op::REFab ? "" : " bg " + std::string(tok[5]) + " bank " + std::string(tok[6])) + ": ";
  // Which of bg, bank, row, col each command carries.
  const bool has_bank = op != Op::REFab;
  const bool has_row = op != Op::REFab && op != Op::PRE && op != Op::REFpb;
  const bool has_col = has_row && op != Op::ACT;
  const bool shape = (v[5] != kAbsent) == has_bank && (v[6] != kAbsent) == has_bank && (v[7] != kAbsent) == has_row &&
                     (v[8] != kAbsent) == has_col;
  if (!shape) {
    flag(Rule::Format, "wrong fields present for " + std::string(tok[1]) + ": '" + std::string(line) + "'");
    return;
  }
  const bool in_range = v[2] < p_.stacks && v[3] < p_.channels && v[4] < p_.pseudo_channels &&
                        (!has_bank || (v[5] < p_.bank_groups && v[6] < p_.banks_per_group)) &&
                        (!has_row || v[7] < p_.rows) && (!has_col || v[8] < p_.columns);
  if (!in_range) {
    flag(Rule::Range, "an index is out of range for arch '" + p_.arch + "': '" + std::string(line) + "'");
    return;
  }
  if (v[0] > uint64_t(INT64_MAX / 4)) {
    flag(Rule::Format, "cycle too large");
    return;
  }
  t_ = int64_t(v[0]);
  if (t_ < last_cycle_) flag(Rule::Order, "cycle " + std::to_string(t_) + " is before the previous line's " + std::to_string(last_cycle_));
  last_cycle_ = std::max(last_cycle_, t_);
  ++commands_;
  command(op, uint32_t(v[2]), uint32_t(v[3]), uint32_t(v[4]), uint32_t(v[5]), uint32_t(v[6]), uint32_t(v[7]),
          uint32_t(v[8]));
}

void TraceChecker::check_refresh_schedule(BankState& b, int64_t t, uint32_t bank) {
  // By cycle t a bank must have had t / tREFI refreshes, less the postponable ones.
  const uint64_t due = uint64_t(t) / p_.trefi;
  if (!b.late_reported && b.refreshes + p_.max_postponed < due) {
    b.late_reported = true;
    flag(Rule::tREFI, "bank " + std::to_string(bank) + " has had " + std::to_string(b.refreshes) + " refreshes by cycle " +
                          std::to_string(t) + "; one per tREFI = " + std::to_string(p_.trefi) + " with at most " +
                          std::to_string(p_.max_postponed) + " postponed needs " + std::to_string(due - p_.max_postponed));
  }
}

void TraceChecker::data_burst(PcState& s, int64_t begin) {
  const int64_t end = begin + p_.tburst;
  const int64_t horizon = t_ + std::min(p_.cl, p_.cwl);  // no later burst can start before this
  size_t keep = 0;
  for (const Interval& iv : s.data) {
    if (begin < iv.end && iv.begin < end) {
      flag(Rule::DataBus, "data in cycles [" + std::to_string(begin) + ", " + std::to_string(end) +
                              ") overlaps a burst in [" + std::to_string(iv.begin) + ", " + std::to_string(iv.end) + ")");
    }
    if (iv.end > horizon) s.data[keep++] = iv;
  }
  s.data.resize(keep);
  s.data.push_back(Interval{begin, end});
}

void TraceChecker::command(Op op, uint32_t stack, uint32_t channel, uint32_t pc, uint32_t bg, uint32_t bank,
                           uint32_t row, uint32_t col) {
  (void)col;
  PcState& s = pcs_[(size_t(stack) * p_.channels + channel) * p_.pseudo_channels + pc];
  BusState& bus = buses_[size_t(stack) * p_.channels + channel];
  const bool column = op == Op::RD || op == Op::WR || op == Op::RDA || op == Op::WRA;
  const bool read = op == Op::RD || op == Op::RDA;

  // Command buses are per channel, shared by its pseudo-channels.
  if (p_.single_command_bus) {
    need(bus.row != t_, Rule::CmdBus, "a second command on the channel's command bus in the same cycle");
    bus.row = t_;
  } else if (column) {
    need(bus.col != t_, Rule::CmdBus, "a second command on the channel's column command bus in the same cycle");
    bus.col = t_;
  } else {
    need(bus.row != t_, Rule::CmdBus, "a second command on the channel's row command bus in the same cycle");
    bus.row = t_;
  }

  const uint32_t bi = bg * p_.banks_per_group + bank;
  switch (op) {
    case Op::ACT: {
      BankState& b = s.banks[bi];
      need(!b.open, Rule::ActOpen, "the bank already has row " + std::to_string(b.row) + " open");
      after(b.pre, p_.trp, Rule::tRP, "the bank's precharge");
      after(b.act, p_.trc, Rule::tRC, "ACT to the same bank");
      after(b.refresh, b.refresh_all ? p_.trfc : p_.trfcsb, b.refresh_all ? Rule::tRFC : Rule::tRFCsb,
            b.refresh_all ? "REFab" : "REFpb of the bank");
      for (uint32_t g = 0; g < p_.bank_groups; ++g) {
        if (g == bg) {
          after(s.group_act[g], p_.trrd_l, Rule::tRRD_L, "ACT in the same bank group");
        } else {
          after(s.group_act[g], p_.trrd_s, Rule::tRRD_S, "ACT in another bank group");
        }
      }
      after(s.acts[0], p_.tfaw, Rule::tFAW, "the fourth-last ACT of the pseudo-channel");
      b.open = true;
      b.row = row;
      b.act = t_;
      b.rd = b.wr = kNever;
      s.group_act[bg] = t_;
      std::rotate(s.acts.begin(), s.acts.begin() + 1, s.acts.end());
      s.acts[3] = t_;
      break;
    }
    case Op::PRE: {
      BankState& b = s.banks[bi];
      if (!b.open) break;  // precharging an idle bank is a no-operation
      after(b.act, p_.tras, Rule::tRAS, "ACT to the bank");
      after(b.rd, p_.trtp, Rule::tRTP, "RD to the bank");
      after(b.wr, p_.cwl + p_.tburst + p_.twr, Rule::tWR, "WR to the bank (CWL + tBURST + tWR)");
      b.open = false;
      b.pre = t_;
      break;
    }
    case Op::RD:
    case Op::RDA:
    case Op::WR:
    case Op::WRA: {
      BankState& b = s.banks[bi];
      need(b.open, Rule::ColClosed, "the bank is precharged");
      if (b.open) need(b.row == row, Rule::ColRow, "row " + std::to_string(row) + " is not the open row " + std::to_string(b.row));
      after(b.act, p_.trcd, Rule::tRCD, "ACT to the bank");
      for (uint32_t g = 0; g < p_.bank_groups; ++g) {
        const bool same = g == bg;
        if (read) {
          after(s.group_rd[g], same ? p_.tccd_l : p_.tccd_s, same ? Rule::tCCD_L : Rule::tCCD_S,
                same ? "RD in the same bank group" : "RD in another bank group");
          after(s.group_wr[g], p_.cwl + p_.tburst + (same ? p_.twtr_l : p_.twtr_s), same ? Rule::tWTR_L : Rule::tWTR_S,
                same ? "WR in the same bank group (CWL + tBURST + tWTR_L)" : "WR in another bank group (CWL + tBURST + tWTR_S)");
        } else {
          after(s.group_wr[g], same ? p_.tccd_l : p_.tccd_s, same ? Rule::tCCD_L : Rule::tCCD_S,
                same ? "WR in the same bank group" : "WR in another bank group");
        }
      }
      if (!read && s.rd_data_end != kNever && t_ + int64_t(p_.cwl) < s.rd_data_end + int64_t(p_.trtw)) {
        flag(Rule::tRTW, "write data at cycle " + std::to_string(t_ + p_.cwl) + " starts only " +
                             std::to_string(t_ + int64_t(p_.cwl) - s.rd_data_end) +
                             " tCK after read data ended at cycle " + std::to_string(s.rd_data_end) + "; tRTW needs " +
                             std::to_string(p_.trtw));
      }
      data_burst(s, t_ + (read ? p_.cl : p_.cwl));
      if (read) {
        s.group_rd[bg] = t_;
        b.rd = t_;
        s.rd_data_end = std::max(s.rd_data_end, t_ + int64_t(p_.cl + p_.tburst));
      } else {
        s.group_wr[bg] = t_;
        b.wr = t_;
      }
      if (op == Op::RDA || op == Op::WRA) {
        // The device precharges by itself as soon as tRAS and the read-to-precharge or
        // write-recovery time allow; the next ACT then waits tRP from there.
        const int64_t ready = read ? t_ + p_.trtp : t_ + p_.cwl + p_.tburst + p_.twr;
        b.open = false;
        b.pre = std::max(b.act + int64_t(p_.tras), ready);
      }
      break;
    }
    case Op::REFab: {
      // Every bank must be precharged (tRP) and out of its last refresh; each rule is
      // judged once, against the bank that allows the command latest.
      bool open = false;
      const BankState* last_pre = &s.banks[0];
      const BankState* last_ref = &s.banks[0];
      auto ref_end = [&](const BankState& b) { return b.refresh + int64_t(b.refresh_all ? p_.trfc : p_.trfcsb); };
      for (const BankState& b : s.banks) {
        open = open || b.open;
        if (b.pre > last_pre->pre) last_pre = &b;
        if (ref_end(b) > ref_end(*last_ref)) last_ref = &b;
      }
      need(!open, Rule::RefOpen, "a bank has an open row");
      after(last_pre->pre, p_.trp, Rule::tRP, "a bank's precharge");
      after(last_ref->refresh, last_ref->refresh_all ? p_.trfc : p_.trfcsb,
            last_ref->refresh_all ? Rule::tRFC : Rule::tRFCsb, last_ref->refresh_all ? "REFab" : "REFpb");
      for (uint32_t i = 0; i < s.banks.size(); ++i) {
        BankState& b = s.banks[i];
        check_refresh_schedule(b, t_, i);
        ++b.refreshes;
        b.refresh = t_;
        b.refresh_all = true;
      }
      break;
    }
    case Op::REFpb: {
      BankState& b = s.banks[bi];
      need(!b.open, Rule::RefOpen, "the bank has row " + std::to_string(b.row) + " open");
      after(b.pre, p_.trp, Rule::tRP, "the bank's precharge");
      after(b.refresh, b.refresh_all ? p_.trfc : p_.trfcsb, b.refresh_all ? Rule::tRFC : Rule::tRFCsb,
            b.refresh_all ? "REFab" : "REFpb of the bank");
      check_refresh_schedule(b, t_, bi);
      ++b.refreshes;
      b.refresh = t_;
      b.refresh_all = false;
      break;
    }
  }
}

void TraceChecker::finish() {
  if (last_cycle_ < 0) return;
  where_.clear();
  t_ = last_cycle_;
  line_ = 0;
  for (size_t i = 0; i < pcs_.size(); ++i) {
    for (uint32_t bi = 0; bi < pcs_[i].banks.size(); ++bi) {
      const uint32_t stack = uint32_t(i / (size_t(p_.channels) * p_.pseudo_channels));
      const uint32_t channel = uint32_t(i / p_.pseudo_channels % p_.channels);
      where_ = "end of trace, " + std::to_string(stack) + "/" + std::to_string(channel) + "/" +
               std::to_string(i % p_.pseudo_channels) + ": ";
      check_refresh_schedule(pcs_[i].banks[bi], t_, bi);
    }
  }
}

CheckReport check_trace(std::istream& in, const CheckParams& p, size_t keep) {
  TraceChecker c(p);
  c.set_keep(keep);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) c.feed(line, ++n);
  if (in.bad()) throw InputError("dram checker: error reading the trace after line " + std::to_string(n));
  c.finish();
  CheckReport r;
  r.commands = c.commands();
  r.last_cycle = c.last_cycle();
  for (size_t i = 0; i < kRuleCount; ++i) r.counts[i] = c.count(Rule(i));
  r.violations = c.violations();
  return r;
}

}  // namespace tessera::dram_checker
