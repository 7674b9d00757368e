#pragma once
// TraceChecker: an independent judge of a DRAM command trace (docs/dram.md, "Checker").
// It replays the text trace the DRAM model writes (`--hbm-trace`) command by command
// against the JEDEC rules -- every timing constraint of the `dram.timing` section, the
// command and data buses, bank state and the refresh interval -- and records every
// violation with the trace line that caused it.
//
// It is written from the rule list, not from the model: it includes nothing from
// model/dram and reads its own parameters (CheckParams) from the configuration, so a
// mistake in the model's timing code cannot hide itself here (STYLE.md §14).
#include <array>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::dram_checker {

// What the checker needs to know about the device, all times in tCK.
struct CheckParams {
  std::string arch;
  bool single_command_bus = false;  // DDR3; HBM has a row and a column command bus per channel
  uint32_t stacks = 0, channels = 0, pseudo_channels = 0, bank_groups = 0, banks_per_group = 0;
  uint32_t rows = 0, columns = 0;  // columns: bursts per row
  uint32_t tburst = 0;             // data-bus cycles of one burst
  uint32_t cl = 0, cwl = 0, trcd = 0, trp = 0, tras = 0, trc = 0;
  uint32_t trrd_s = 0, trrd_l = 0, tfaw = 0, tccd_s = 0, tccd_l = 0;
  uint32_t twtr_s = 0, twtr_l = 0, trtp = 0, twr = 0, trtw = 0;
  uint32_t trfc = 0, trfcsb = 0, trefi = 0;
  // REFRESH commands a bank may fall behind its tREFI schedule (JESD79-3 allows eight
  // postponed refreshes; docs/dram.md).
  uint32_t max_postponed = 8;
};

// Reads the device description from the `dram` section of a configuration, with its own
// arithmetic for the burst time. Defined only when the build has tessera_config.
CheckParams check_params_from_arch(const config::ArchConfig& cfg);

enum class Rule : uint8_t {
  Format,     // a line that is not a command
  Order,      // cycles must not decrease
  Range,      // stack, channel, pseudo-channel, bank, row or column out of range
  CmdBus,     // two commands on one command bus in one cycle
  ActOpen,    // ACT to a bank with an open row
  ColClosed,  // RD/WR to a precharged bank
  ColRow,     // RD/WR naming a row other than the open one
  RefOpen,    // REFRESH while a bank (all banks for REFab) has an open row
  DataBus,    // two bursts on one data bus at once
  tRCD,
  tRP,
  tRAS,
  tRC,
  tRRD_S,
  tRRD_L,
  tFAW,
  tCCD_S,
  tCCD_L,
  tWTR_S,
  tWTR_L,
  tRTW,
  tRTP,
  tWR,
  tRFC,
  tRFCsb,
  tREFI,
  kCount
};
constexpr size_t kRuleCount = size_t(Rule::kCount);
std::string_view rule_name(Rule);

struct Violation {
  Rule rule;
  uint64_t line;   // 1-based line of the trace
  uint64_t cycle;  // cycle of the offending command
  std::string message;
};

class TraceChecker {
 public:
  // Throws InputError if the parameters cannot describe a device.
  explicit TraceChecker(CheckParams p);

  // Checks one trace line (1-based number `line_no`). Lines starting with '#' and empty
  // lines are comments.
  void feed(std::string_view line, uint64_t line_no);
  // Ends the trace: checks that every bank has been refreshed often enough up to the last
  // cycle seen.
  void finish();

  uint64_t commands() const { return commands_; }
  uint64_t last_cycle() const { return last_cycle_ < 0 ? 0 : uint64_t(last_cycle_); }
  uint64_t count(Rule r) const { return counts_[size_t(r)]; }
  uint64_t total_violations() const;
  // The first `keep` violations in trace order (all counted in count()).
  const std::vector<Violation>& violations() const { return kept_; }
  void set_keep(size_t keep) { keep_ = keep; }

 private:
  static constexpr int64_t kNever = INT64_MIN / 4;

  enum class Op : uint8_t { ACT, RD, WR, RDA, WRA, PRE, REFab, REFpb };

  struct BankState {
    bool open = false;
    uint32_t row = 0;
    int64_t act = kNever;        // last ACT
    int64_t pre = kNever;        // last precharge start (PRE, or the auto-precharge of RDA/WRA)
    int64_t rd = kNever;         // last RD to the open row
    int64_t wr = kNever;         // last WR to the open row
    int64_t refresh = kNever;    // last REFRESH covering the bank
    bool refresh_all = false;    // it was REFab (tRFC) rather than REFpb (tRFCsb)
    uint64_t refreshes = 0;
    bool late_reported = false;
  };
  struct Interval {
    int64_t begin, end;
  };
  struct PcState {
    std::vector<BankState> banks;
    std::array<int64_t, 4> acts{kNever, kNever, kNever, kNever};  // last four ACTs, oldest first
    std::vector<int64_t> group_act, group_rd, group_wr;           // last per bank group
    int64_t rd_data_end = kNever;                                 // end of the latest read data
    std::vector<Interval> data;                                   // bursts that may still overlap
  };
  struct BusState {
    int64_t row = kNever, col = kNever;  // last cycle with a command on each bus
  };

  void flag(Rule r, const std::string& message);
  void need(bool ok, Rule r, const std::string& message) {
    if (!ok) flag(r, message);
  }
  // `t >= since + gap`, else a violation naming both commands.
  void after(int64_t since, uint32_t gap, Rule r, const char* what);
  void check_refresh_schedule(BankState& b, int64_t t, uint32_t bank);
  void command(Op op, uint32_t stack, uint32_t channel, uint32_t pc, uint32_t bg, uint32_t bank, uint32_t row,
               uint32_t col);
  void data_burst(PcState& s, int64_t begin);

  CheckParams p_;
  std::vector<PcState> pcs_;
  std::vector<BusState> buses_;
  int64_t t_ = 0;             // cycle of the command being checked
  int64_t last_cycle_ = -1;
  uint64_t line_ = 0;
  std::string where_;         // "CMD stack/channel/pc bg/bank" of the command being checked
  uint64_t commands_ = 0;
  std::array<uint64_t, kRuleCount> counts_{};
  std::vector<Violation> kept_;
  size_t keep_ = 1000;
  bool header_seen_ = false;
};

struct CheckReport {
  uint64_t commands = 0, last_cycle = 0;
  std::array<uint64_t, kRuleCount> counts{};
  std::vector<Violation> violations;  // the first ones, in trace order
  uint64_t total() const;
};

// Checks a whole trace read from `in`.
CheckReport check_trace(std::istream& in, const CheckParams& p, size_t keep = 1000);

}  // namespace tessera::dram_checker
