#include "model/dram/params.h"

#include <cmath>
#include <limits>

#include "common/util/error.h"

namespace tessera::model::dram {

const char* standard_name(Standard s) {
  switch (s) {
    case Standard::Hbm2e: return "hbm2e";
    case Standard::Hbm3: return "hbm3";
    case Standard::Hbm3e: return "hbm3e";
    case Standard::Ddr3: return "ddr3";
  }
  return "?";
}

namespace {

struct Checker {
  const std::string& arch;
  [[noreturn]] void fail(const std::string& key, const std::string& expected, const std::string& got) const {
    throw InputError("arch '" + arch + "': " + key + ": expected " + expected + ", got " + got);
  }
  void at_least(const char* key, uint64_t v, uint64_t lo) const {
    if (v < lo) fail(key, "at least " + std::to_string(lo), std::to_string(v));
  }
};

}  // namespace

void DramParams::validate() {
  const Checker c{arch_name};
  c.at_least("dram.stacks", stacks, 1);
  c.at_least("dram.channels", channels, 1);
  c.at_least("dram.pseudo_channels", pcs, 1);
  c.at_least("dram.bank_groups", bank_groups, 1);
  c.at_least("dram.banks_per_group", banks_per_group, 1);
  c.at_least("dram.rows", rows, 1);
  c.at_least("dram.bus_bits", bus_bits, 8);
  c.at_least("dram.burst_length", burst_length, 1);
  if (bus_bits % 8 != 0) c.fail("dram.bus_bits", "a multiple of 8", std::to_string(bus_bits));
  if (standard == Standard::Ddr3 && pcs != 1) {
    c.fail("dram.pseudo_channels", "1 for ddr3 (DDR3 has no pseudo-channels)", std::to_string(pcs));
  }
  // The controller keeps bank indices in 16 bits and per-bank-group state in fixed arrays.
  if (bank_groups > 64) c.fail("dram.bank_groups", "at most 64", std::to_string(bank_groups));
  if (banks() > 4096) c.fail("dram.banks_per_group", "bank_groups * banks_per_group <= 4096", std::to_string(banks()));
  burst_bytes = bus_bits / 8 * burst_length;
  if (row_bytes < burst_bytes || row_bytes % burst_bytes != 0) {
    c.fail("dram.row_bytes", "a whole number of bursts of " + std::to_string(burst_bytes) + " B (bus_bits/8 * burst_length)",
           std::to_string(row_bytes));
  }
  const long double cap = (long double)pcs_total() * banks() * rows * row_bytes;
  if (cap >= (long double)std::numeric_limits<uint64_t>::max() / 2) {
    c.fail("dram.rows", "a capacity below 2^63 bytes", std::to_string(rows) + " rows");
  }

  if (!(data_rate_mtps > 0)) c.fail("dram.data_rate_mtps", "a positive rate", std::to_string(data_rate_mtps));
  if (tck_fs <= 0) c.fail("dram.timing.tck_ps", "a positive period", std::to_string(tck_fs) + " fs");
  // One burst occupies the data bus for burst_length / data_rate; in command clocks that
  // must be a whole number (HBM3: 8 beats at 4 per tCK = 2; DDR3: 8 beats at 2 per tCK = 4).
  // tck_ps is a decimal that cannot always state the period exactly (416.67 ps for
  // 9.6 Gb/s HBM3E), so a ratio within 0.1 % of an integer is accepted as that integer.
  const double ratio = double(burst_length) * 1e9 / (data_rate_mtps * double(tck_fs));
  const double rounded = std::round(ratio);
  if (rounded < 1 || std::fabs(ratio - rounded) > 1e-3 * ratio) {
    c.fail("dram.timing.tck_ps", "a period that makes one burst (burst_length / data_rate_mtps) a whole number of tCK",
           std::to_string(ratio) + " tCK per burst");
  }
  tburst = uint32_t(rounded);

  const struct {
    const char* key;
    uint32_t v;
  } positive[] = {{"dram.timing.cl", cl},         {"dram.timing.cwl", cwl},       {"dram.timing.trcd", trcd},
                  {"dram.timing.trp", trp},       {"dram.timing.tras", tras},     {"dram.timing.trc", trc},
                  {"dram.timing.trrd_s", trrd_s}, {"dram.timing.trrd_l", trrd_l}, {"dram.timing.tfaw", tfaw},
                  {"dram.timing.tccd_s", tccd_s}, {"dram.timing.tccd_l", tccd_l}, {"dram.timing.twtr_s", twtr_s},
                  {"dram.timing.twtr_l", twtr_l}, {"dram.timing.trtp", trtp},     {"dram.timing.twr", twr},
                  {"dram.timing.trfc", trfc},     {"dram.timing.trfcsb", trfcsb}, {"dram.timing.trefi", trefi}};
  for (const auto& p : positive) c.at_least(p.key, p.v, 1);
  if (trrd_l < trrd_s) c.fail("dram.timing.trrd_l", "at least trrd_s (" + std::to_string(trrd_s) + ")", std::to_string(trrd_l));
  if (tccd_l < tccd_s) c.fail("dram.timing.tccd_l", "at least tccd_s (" + std::to_string(tccd_s) + ")", std::to_string(tccd_l));
  if (twtr_l < twtr_s) c.fail("dram.timing.twtr_l", "at least twtr_s (" + std::to_string(twtr_s) + ")", std::to_string(twtr_l));

  if (standard == Standard::Ddr3 && refresh == Refresh::PerBank) {
    c.fail("dram.controller.refresh", "all_bank for ddr3 (DDR3 has no per-bank REFRESH)", "per_bank");
  }
  if (refresh == Refresh::AllBank && trfc >= trefi) {
    c.fail("dram.timing.trfc", "less than trefi (" + std::to_string(trefi) + "), or refresh never ends", std::to_string(trfc));
  }
  if (refresh == Refresh::PerBank) {
    if (trefi / banks() == 0) {
      c.fail("dram.timing.trefi", "at least one tCK per bank for per_bank refresh (" + std::to_string(banks()) + " banks)",
             std::to_string(trefi));
    }
    if (trfcsb >= trefi) {
      c.fail("dram.timing.trfcsb", "less than trefi (" + std::to_string(trefi) + ")", std::to_string(trfcsb));
    }
  }

  c.at_least("dram.controller.read_queue", read_queue, 1);
  c.at_least("dram.controller.write_queue", write_queue, 1);
  if (write_high > write_queue || write_high < 1) {
    c.fail("dram.controller.write_high", "1 to write_queue (" + std::to_string(write_queue) + ")", std::to_string(write_high));
  }
  if (write_low >= write_high) {
    c.fail("dram.controller.write_low", "less than write_high (" + std::to_string(write_high) + ")", std::to_string(write_low));
  }
}

uint64_t cross_clock_ceil(uint64_t n, int64_t from_fs, int64_t to_fs) {
  if (from_fs <= 0 || to_fs <= 0) throw InputError("clock crossing: periods must be positive");
  const unsigned __int128 num = (unsigned __int128)n * uint64_t(from_fs);
  const unsigned __int128 q = (num + uint64_t(to_fs) - 1) / uint64_t(to_fs);
  if (q > std::numeric_limits<uint64_t>::max()) throw InputError("clock crossing: cycle count overflows 64 bits");
  return uint64_t(q);
}

}  // namespace tessera::model::dram
