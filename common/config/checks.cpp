// The consistency checks of docs/config.md, in the order that document lists them. Each names the
// key most responsible for the problem; a key left at its default is reported at its section.
#include "common/config/checks.h"

#include <cmath>

#include "common/config/derived.h"

namespace tessera::config::detail {

namespace {

class Checker {
 public:
  Checker(const OriginFn& origin_of, std::vector<Diagnostic>& out) : origin_of_(origin_of), out_(out) {}

  void fail(const std::string& path, const std::string& expected, const std::string& got) {
    const Origin o = origin_of_(path);
    out_.push_back(Diagnostic{o.file, o.line, path, expected, got});
  }

 private:
  const OriginFn& origin_of_;
  std::vector<Diagnostic>& out_;
};

std::string n(int64_t v) { return std::to_string(v); }

}  // namespace

void check_consistency(const ArchConfig& c, const OriginFn& origin_of, std::vector<Diagnostic>& out) {
  Checker ck(origin_of, out);
  const int64_t R = c.matrix.rows, C = c.matrix.cols, E = c.core.matrix_engines;

  // 1. L1 holds one double-buffered tile set per matrix engine in every supported precision.
  for (const MatrixPrecision p : c.matrix.precisions) {
    const int64_t b = element_bytes(p);
    const int64_t need = E * 2 * (R * C + R * C) * b;
    if (c.l1.bytes < need) {
      ck.fail("l1.bytes",
              "at least engines x 2 x (R x C weights + R x C activations) x element bytes = " + n(E) + " x 2 x (" + n(R) +
                  "x" + n(C) + " + " + n(R) + "x" + n(C) + ") x " + n(b) + " B (" + to_string(p) + ") = " +
                  exact_size_text(uint64_t(need)) + ", one double-buffered tile set per matrix engine",
              exact_size_text(uint64_t(c.l1.bytes)));
      break;  // the widest format gives the largest need; one message is enough
    }
  }
  // 2-4. Accumulator: one full output tile, whole rows of C FP32 values, whole elements per bank.
  if (c.accumulator.bytes < 4 * R * C) {
    ck.fail("accumulator.bytes", "at least 4 B x R x C = 4 x " + n(R) + " x " + n(C) + " = " + exact_size_text(uint64_t(4 * R * C)) +
            ", one full output tile", exact_size_text(uint64_t(c.accumulator.bytes)));
  } else if (c.accumulator.bytes % (4 * C) != 0) {
    ck.fail("accumulator.bytes", "a multiple of 4 B x cols = " + n(4 * C) + " B (whole accumulator rows)",
            n(c.accumulator.bytes));
  }
  if (c.accumulator.bytes % (4 * c.accumulator.banks) != 0) {
    ck.fail("accumulator.banks", "a bank count that divides accumulator.bytes into whole 4-byte elements (" +
            n(c.accumulator.bytes) + " B / 4 B = " + n(c.accumulator.bytes / 4) + " elements)", n(c.accumulator.banks));
  }
  // 5-6. SRAM sizes are whole rows across all banks.
  if (c.l1.bytes % (c.l1.banks * c.l1.bank_width) != 0) {
    ck.fail("l1.bytes", "a multiple of l1.banks x l1.bank_width = " + n(c.l1.banks) + " x " + n(c.l1.bank_width) +
            " = " + n(c.l1.banks * c.l1.bank_width) + " B", n(c.l1.bytes));
  }
  if (c.l2.bytes > 0 && c.l2.bytes % (c.l2.banks * c.l2.bank_width) != 0) {
    ck.fail("l2.bytes", "0 or a multiple of l2.banks x l2.bank_width = " + n(c.l2.banks) + " x " + n(c.l2.bank_width) +
            " = " + n(c.l2.banks * c.l2.bank_width) + " B", n(c.l2.bytes));
  }
  // 7. DMA requests are whole DRAM bursts.
  const auto& d = c.dram;
  const int64_t burst = dram_burst_bytes(c);
  if (d.bus_bits % 8 != 0) {
    ck.fail("dram.bus_bits", "a whole number of bytes (a multiple of 8)", n(d.bus_bits));
    return;  // every DRAM figure below depends on it
  }
  if (c.dma.burst_bytes % burst != 0) {
    ck.fail("dma.burst_bytes", "a multiple of the DRAM burst, dram.bus_bits/8 x dram.burst_length = " +
            n(d.bus_bits / 8) + " x " + n(d.burst_length) + " = " + n(burst) + " B", n(c.dma.burst_bytes));
  }
  // 8-11. DRAM organisation.
  if (d.row_bytes % burst != 0) {
    ck.fail("dram.row_bytes", "a multiple of the burst, dram.bus_bits/8 x dram.burst_length = " + n(d.bus_bits / 8) +
            " x " + n(d.burst_length) + " = " + n(burst) + " B", n(d.row_bytes));
  }
  if (d.stack_bytes > 0 && uint64_t(d.stack_bytes) != dram_stack_bytes(c)) {
    ck.fail("dram.stack_bytes", "channels x pseudo_channels x bank_groups x banks_per_group x rows x row_bytes = " +
            n(d.channels) + " x " + n(d.pseudo_channels) + " x " + n(d.bank_groups) + " x " + n(d.banks_per_group) +
            " x " + n(d.rows) + " x " + n(d.row_bytes) + " = " + exact_size_text(dram_stack_bytes(c)),
            exact_size_text(uint64_t(d.stack_bytes)));
  }
  if (dram_capacity_bytes(c) > (uint64_t(1) << 40)) {
    ck.fail("dram.rows", "a DRAM capacity per chip of at most 1 TiB (40-bit hbm addresses in dma and coll)",
            exact_size_text(dram_capacity_bytes(c)));
  }
  if (d.standard == DramStandard::ddr3) {
    if (d.pseudo_channels != 1) ck.fail("dram.pseudo_channels", "1 for ddr3 (no pseudo-channels)", n(d.pseudo_channels));
    if (d.bank_groups != 1) ck.fail("dram.bank_groups", "1 for ddr3 (no bank groups)", n(d.bank_groups));
    if (d.controller.refresh != RefreshPolicy::all_bank) {
      ck.fail("dram.controller.refresh", "all_bank for ddr3 (no per-bank refresh)", to_string(d.controller.refresh));
    }
  }
  // 12-13. Clock and burst agree with the standard's data rate.
  const int64_t k = dram_transfers_per_tck(d.standard);
  const double transfers = d.timing.tck_ps * d.data_rate_mtps / 1e6;
  if (std::fabs(transfers - double(k)) > 1e-3 * double(k)) {
    ck.fail("dram.timing.tck_ps", to_string(d.standard) + " to move " + n(k) + " transfers per tCK: tck_ps = " + n(k) +
            " x 10^6 / data_rate_mtps = " + std::to_string(double(k) * 1e6 / d.data_rate_mtps) + " (within 0.1 %)",
            std::to_string(d.timing.tck_ps));
  }
  if (d.burst_length % k != 0) {
    ck.fail("dram.burst_length", "a whole number of command clocks: a multiple of the " + n(k) + " transfers per tCK of " +
            to_string(d.standard), n(d.burst_length));
  }
  // 14-19. Timing relations.
  const auto& t = d.timing;
  if (t.trc < t.tras + t.trp) {
    ck.fail("dram.timing.trc", "at least tras + trp = " + n(t.tras) + " + " + n(t.trp) + " = " + n(t.tras + t.trp),
            n(t.trc));
  }
  if (t.tfaw < t.trrd_s) ck.fail("dram.timing.tfaw", "at least trrd_s = " + n(t.trrd_s), n(t.tfaw));
  if (t.trrd_l < t.trrd_s) ck.fail("dram.timing.trrd_l", "at least trrd_s = " + n(t.trrd_s), n(t.trrd_l));
  if (t.tccd_l < t.tccd_s) ck.fail("dram.timing.tccd_l", "at least tccd_s = " + n(t.tccd_s), n(t.tccd_l));
  if (t.twtr_l < t.twtr_s) ck.fail("dram.timing.twtr_l", "at least twtr_s = " + n(t.twtr_s), n(t.twtr_l));
  if (d.burst_length % k == 0 && t.tccd_s < d.burst_length / k) {
    ck.fail("dram.timing.tccd_s", "at least the burst's data-bus time, burst_length / " + n(k) + " = " +
            n(d.burst_length / k) + " tCK", n(t.tccd_s));
  }
  if (t.trfc >= t.trefi) ck.fail("dram.timing.trfc", "less than trefi = " + n(t.trefi), n(t.trfc));
  if (t.trfcsb > t.trfc) ck.fail("dram.timing.trfcsb", "at most trfc = " + n(t.trfc), n(t.trfcsb));
  const int64_t banks = d.bank_groups * d.banks_per_group;
  if (d.controller.refresh == RefreshPolicy::per_bank && t.trefi < banks) {
    ck.fail("dram.timing.trefi", "at least the " + n(banks) + " banks of a pseudo-channel (per_bank refresh issues one "
            "bank every trefi / banks tCK)", n(t.trefi));
  }
  // 20-21. Controller queues and address map.
  const auto& q = d.controller;
  if (q.write_low >= q.write_high) {
    ck.fail("dram.controller.write_low", "less than write_high = " + n(q.write_high), n(q.write_low));
  }
  if (q.write_high > q.write_queue) {
    ck.fail("dram.controller.write_high", "at most write_queue = " + n(q.write_queue), n(q.write_high));
  }
  if (d.row_bytes % burst == 0) {
    std::vector<AddressPiece> pieces;
    std::string why;
    if (!parse_address_map(c, pieces, why)) {
      ck.fail("dram.controller.address_map",
              "fields ro ba bg ch pc st co (or pieces f:BITS plus one bare f), each once, joined by '-'",
              "'" + q.address_map + "' with " + why);
    }
  }
  // 22-23. Links.
  if (c.system.chips > 1 && c.link.count == 0) {
    ck.fail("link.count", "at least 1 link per chip when system.chips = " + n(c.system.chips), "0");
  }
  if (c.link.count > 0 && c.link.gbytes_per_s <= 0.0) {
    ck.fail("link.gbytes_per_s", "a bandwidth above 0 when link.count = " + n(c.link.count), "0");
  }
}

}  // namespace tessera::config::detail
