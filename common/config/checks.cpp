// The consistency checks of docs/config.md, in the order that document lists them. Each names the
// key most responsible for the problem; a key left at its default is reported at its section.
#include "common/config/checks.h"

#include <cmath>

#include "common/config/derived.h"
#include "common/config/dram_standard.h"

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
  // 7-21. The DRAM section, against its standard.
  check_dram(c, [&](const std::string& path, const std::string& expected, const std::string& got) {
    ck.fail(path, expected, got);
  });
  // 23-24. Links.
  if (c.system.chips > 1 && c.link.count == 0) {
    ck.fail("link.count", "at least 1 link per chip when system.chips = " + n(c.system.chips), "0");
  }
  if (c.link.count > 0 && c.link.gbytes_per_s <= 0.0) {
    ck.fail("link.gbytes_per_s", "a bandwidth above 0 when link.count = " + n(c.link.count), "0");
  }
  // 25. Packets and credits.
  if (c.link.rx_buffer_bytes < c.link.packet_bytes) {
    ck.fail("link.rx_buffer_bytes", "at least link.packet_bytes = " + n(c.link.packet_bytes) + " (one credit)",
            n(c.link.rx_buffer_bytes));
  }
  // 26. Every L2-side port of the network reaches at least one bank of its own.
  if (c.l2.bytes > 0 && c.noc.l2_ports > c.l2.banks) {
    ck.fail("noc.l2_ports", "at most l2.banks = " + n(c.l2.banks) + " (each L2-side port of the network serves whole banks)",
            n(c.noc.l2_ports));
  }
}

}  // namespace tessera::config::detail
