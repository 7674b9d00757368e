#pragma once
// DramParams: the DRAM organisation, timing and controller settings of one chip in the
// integer form the controller model works in (every time in command clocks, tCK). It is
// filled from the `dram` section of an ArchConfig (params_from_config, in
// config_adapter.cpp), which the configuration loader has checked against its standard
// (config::check_dram, the one validator of a DRAM section), or by hand in tests. derive()
// fills the burst size, the data-bus time of one burst and the standard's command-bus rule, so
// the controller's inner loop never looks anything up.
#include <cstdint>
#include <string>

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::model::dram {

enum class Page : uint8_t { Open, Closed };
enum class Sched : uint8_t { FrFcfs, Fcfs };
enum class Refresh : uint8_t { AllBank, PerBank };

struct DramParams {
  std::string arch_name;  // names the configuration in errors and in the trace header
  std::string standard = "hbm3";  // a registered standard (common/config/dram_standards/)

  // Organisation (dram.*).
  uint32_t stacks = 1, channels = 1, pcs = 1, bank_groups = 1, banks_per_group = 1;
  uint32_t rows = 1;
  uint32_t row_bytes = 1024;
  uint32_t bus_bits = 32, burst_length = 8;
  double data_rate_mtps = 0;  // only for tBURST and the theoretical peak; never for time
  int64_t tck_fs = 0;         // command clock period, rounded once from dram.timing.tck_ps

  // Timing (dram.timing.*), in tCK.
  uint32_t cl = 0, cwl = 0, trcd = 0, trp = 0, tras = 0, trc = 0;
  uint32_t trrd_s = 0, trrd_l = 0, tfaw = 0, tccd_s = 0, tccd_l = 0;
  uint32_t twtr_s = 0, twtr_l = 0, trtp = 0, twr = 0, trtw = 0;
  uint32_t trfc = 0, trfcsb = 0, trefi = 0;

  // Controller (dram.controller.*).
  Page page = Page::Open;
  Sched sched = Sched::FrFcfs;
  Refresh refresh = Refresh::AllBank;
  uint32_t read_queue = 64, write_queue = 64, write_high = 48, write_low = 16;
  std::string address_map = "ro-ba-bg-ch-pc-st-co";

  // Derived by derive().
  uint32_t burst_bytes = 0;         // bus_bits / 8 * burst_length
  uint32_t tburst = 0;              // data-bus time of one burst: burst_length / (data rate * tCK)
  bool one_command_bus = false;     // the standard's: one command bus (DDR3), or row and column buses (HBM)

  // Fills the derived members from the others and the standard's descriptor; InputError if
  // `standard` names no registered standard. The values themselves are checked where they are
  // read, by the configuration loader.
  void derive();

  bool single_command_bus() const { return one_command_bus; }
  uint32_t banks() const { return bank_groups * banks_per_group; }
  uint32_t cols() const { return row_bytes / burst_bytes; }  // bursts per row
  uint32_t pcs_total() const { return stacks * channels * pcs; }
  uint64_t capacity_bytes() const { return uint64_t(pcs_total()) * banks() * uint64_t(rows) * row_bytes; }
  // Theoretical peak over all pseudo-channels in bytes per second: every data pin moves
  // one bit per transfer (docs/architecture.md §2.7).
  double peak_bytes_per_s() const { return double(pcs_total()) * bus_bits / 8.0 * data_rate_mtps * 1e6; }
  // From arrival at an idle pseudo-channel whose target bank is precharged to the first
  // data beat: ACT on arrival, RD/WR tRCD later, data CL (read) or CWL (write) after it.
  uint32_t unloaded_front_tck(bool write) const { return trcd + (write ? cwl : cl); }
  // Read latency of that idle pseudo-channel: the front latency, then the last data beat
  // tBURST later.
  uint32_t unloaded_read_tck() const { return unloaded_front_tck(false) + tburst; }
  // Interval between two REFRESH commands of one pseudo-channel.
  uint32_t refresh_interval() const { return refresh == Refresh::AllBank ? trefi : trefi / banks(); }
};

// The `dram` section of `cfg` (loaded, hence checked) in model form, derived.
DramParams params_from_config(const config::ArchConfig& cfg);

// Exact clock-domain crossing (docs/architecture.md §2.9): the first cycle of a clock with
// period `to_fs` at or after cycle `n` of a clock with period `from_fs`,
// ceil(n * from_fs / to_fs), in integer arithmetic.
uint64_t cross_clock_ceil(uint64_t n, int64_t from_fs, int64_t to_fs);

}  // namespace tessera::model::dram
