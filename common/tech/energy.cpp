// The energy model of docs/energy.md. Prices come from the technology table and the
// architecture's geometry (macro sizes, ports, distances from the area model's floorplan).
#include "common/tech/energy.h"

#include <cmath>

#include "common/config/dram_standard.h"

namespace tessera::tech {

namespace {

using config::MatrixPrecision;

// Bytes per element of the ISA's matrix input formats, in dtype order.
constexpr std::array<double, 4> kInputBytes = {1, 1, 1, 2};

// docs/numerics.md §7: v_exp is 11 FP32 multiplies and 10 adds; the other special functions
// are priced the same (docs/energy.md, "Vector classes").
constexpr double kSpecialMuls = 11, kSpecialAdds = 10;

constexpr double kInstructionBits = 512;

}  // namespace

const char* to_string(VectorClass c) { return size_t(c) < kVectorClasses ? isa::name(c) : "?"; }

double sram_read_pj_per_bit(const TechConfig& t, uint64_t bytes, int ports) {
  // Piecewise power law through (8 KiB, 32 KiB, 1 MiB); flat below 8 KiB.
  const double x = std::log2(std::max<double>(double(bytes), 1.0));
  const double x8 = 13, x32 = 15, x1m = 20;
  const double l8 = std::log(t.sram.read_8kib_pj_per_bit), l32 = std::log(t.sram.read_32kib_pj_per_bit),
               l1m = std::log(t.sram.read_1mib_pj_per_bit);
  double l = l8;
  if (x > x8 && x <= x32) l = l8 + (l32 - l8) * (x - x8) / (x32 - x8);
  if (x > x32) l = l32 + (l1m - l32) * (x - x32) / (x1m - x32);
  return std::exp(l) * (1.0 + t.sram.port_energy_factor * double(std::max(ports, 1) - 1));
}

EnergyPrices prices(const config::ArchConfig& a, const TechConfig& t, PortModel ports) {
  EnergyPrices p;
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = 0; j < 4; ++j) {
      const bool int8 = i == 0 && j == 0;
      const bool fp8 = (i == 1 || i == 2) && (j == 1 || j == 2);
      p.mac_pj[i][j] = int8 ? t.mac.int8_int32_pj : fp8 ? t.mac.fp8_fp32_pj : t.mac.bf16_fp32_pj;
      // Weight-stationary: the A element moves one PE right, the 32-bit partial sum one PE down.
      p.mac_register_pj[i][j] = t.registers.pj_per_bit * (8.0 * kInputBytes[i] + 32.0);
    }
  }
  auto tier = [&](uint64_t bank_bytes, TierPorts tp, double& rd, double& wr) {
    rd = 8.0 * sram_read_pj_per_bit(t, bank_bytes, tp.total());
    wr = rd * t.sram.write_to_read;
  };
  tier(uint64_t(a.accumulator.bytes / a.accumulator.banks), accumulator_ports(a, ports), p.acc_read_pj_per_byte,
       p.acc_write_pj_per_byte);
  tier(uint64_t(a.l1.bytes / a.l1.banks), l1_ports(a, ports), p.l1_read_pj_per_byte, p.l1_write_pj_per_byte);
  if (a.l2.bytes > 0) {
    tier(uint64_t(a.l2.bytes / a.l2.banks), l2_ports(a, ports), p.l2_read_pj_per_byte, p.l2_write_pj_per_byte);
  }
  const AreaReport ar = area(a, t, ports);
  p.l1_wire_pj_per_byte = 8.0 * t.wire.pj_per_bit_mm * 0.5 * std::sqrt(ar.core_mm2);
  p.chip_wire_pj_per_byte = 8.0 * t.wire.pj_per_bit_mm * 0.5 * std::sqrt(ar.die_mm2);

  const auto& v = t.vector;
  p.vector_pj[size_t(VectorClass::add)] = v.fp32_add_pj;
  p.vector_pj[size_t(VectorClass::mul)] = v.fp32_mul_pj;
  p.vector_pj[size_t(VectorClass::fma)] = v.fp32_add_pj + v.fp32_mul_pj;
  p.vector_pj[size_t(VectorClass::special)] = kSpecialMuls * v.fp32_mul_pj + kSpecialAdds * v.fp32_add_pj;
  p.vector_pj[size_t(VectorClass::compare)] = v.int32_add_pj;

  p.instruction_pj = kInstructionBits * sram_read_pj_per_bit(t, SynthesisCounts::kInstructionMemoryBytes, 1) +
                     t.control.instruction_pj;

  const bool ddr = !config::dram_standard(a).stacked;
  const double act = ddr ? t.ddr.activate_pj_per_kib : t.hbm.activate_pj_per_kib;
  const double ref = ddr ? t.ddr.refresh_nj_per_gib : t.hbm.refresh_nj_per_gib;
  const double banks = double(a.dram.bank_groups * a.dram.banks_per_group);
  const double pc_bytes = banks * double(a.dram.rows) * double(a.dram.row_bytes);
  p.dram_activate_pj = act * double(a.dram.row_bytes) / 1024.0;
  p.dram_refresh_pj = ref * 1000.0 * pc_bytes / double(1ull << 30);
  p.dram_bank_refresh_pj = p.dram_refresh_pj / banks;
  p.dram_read_pj_per_byte = 8.0 * (ddr ? t.ddr.read_pj_per_bit : t.hbm.read_pj_per_bit);
  p.dram_write_pj_per_byte = 8.0 * (ddr ? t.ddr.write_pj_per_bit : t.hbm.write_pj_per_bit);
  p.dram_io_pj_per_byte = 8.0 * (ddr ? t.ddr.io_pj_per_bit : t.hbm.io_pj_per_bit);
  p.link_pj_per_byte = 8.0 * t.link.pj_per_bit;
  p.static_w_per_chip = t.static_power.leakage_mw_per_mm2 * ar.die_mm2 / 1000.0 + t.static_power.chip_baseline_w;
  p.chips = double(a.system.chips);
  return p;
}

double EnergyReport::joules(const std::string& component) const {
  for (const auto& i : items) {
    if (i.component == component) return i.joules;
  }
  return 0;
}

EnergyReport energy(const EnergyCounts& c, const EnergyPrices& p) {
  constexpr double pj = 1e-12;
  double mac = 0, reg = 0;
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = 0; j < 4; ++j) {
      mac += double(c.macs[i][j]) * p.mac_pj[i][j];
      reg += double(c.macs[i][j]) * p.mac_register_pj[i][j];
    }
  }
  double vec = 0;
  for (size_t k = 0; k < kVectorClasses; ++k) vec += double(c.vector_elements[k]) * p.vector_pj[k];
  const double dram_bytes = double(c.dram_read_bytes + c.dram_write_bytes);
  EnergyReport r;
  r.items = {
      {"mac", mac * pj},
      {"array registers", reg * pj},
      {"accumulator", (double(c.accumulator.read) * p.acc_read_pj_per_byte +
                       double(c.accumulator.written) * p.acc_write_pj_per_byte) * pj},
      {"l1", (double(c.l1.read) * p.l1_read_pj_per_byte + double(c.l1.written) * p.l1_write_pj_per_byte) * pj},
      {"l2", (double(c.l2.read) * p.l2_read_pj_per_byte + double(c.l2.written) * p.l2_write_pj_per_byte) * pj},
      {"on-chip wires", (double(c.l1.read + c.l1.written) * p.l1_wire_pj_per_byte +
                         (double(c.l2.read + c.l2.written) + dram_bytes) * p.chip_wire_pj_per_byte) * pj},
      {"vector", vec * pj},
      {"instructions", double(c.instructions) * p.instruction_pj * pj},
      {"dram core", (double(c.dram_activates) * p.dram_activate_pj + double(c.dram_refreshes) * p.dram_refresh_pj +
                     double(c.dram_bank_refreshes) * p.dram_bank_refresh_pj +
                     double(c.dram_read_bytes) * p.dram_read_pj_per_byte +
                     double(c.dram_write_bytes) * p.dram_write_pj_per_byte) * pj},
      {"dram io", dram_bytes * p.dram_io_pj_per_byte * pj},
      {"links", double(c.link_bytes) * p.link_pj_per_byte * pj},
      {"static", c.seconds * p.static_w_per_chip * p.chips},
  };
  for (const auto& i : r.items) r.total_j += i.joules;
  return r;
}

EnergyCounts matrix_peak_counts(const config::ArchConfig& a, MatrixPrecision prec, double seconds) {
  EnergyCounts c;
  const double cycles = seconds * a.clock.core_mhz * 1e6;
  const double engines = double(a.system.chips * a.chip.cores * a.core.matrix_engines);
  const size_t f = size_t(prec);
  const double per_cycle_macs = double(a.matrix.rows * a.matrix.cols);
  c.macs[f][f] = uint64_t(std::llround(engines * cycles * per_cycle_macs));
  // Each cycle an engine reads one A row of `rows` elements from L1 and read-modify-writes one
  // accumulator row of `cols` 32-bit partial sums.
  c.l1.read = uint64_t(std::llround(engines * cycles * double(a.matrix.rows) * kInputBytes[f]));
  c.accumulator.read = uint64_t(std::llround(engines * cycles * double(a.matrix.cols) * 4.0));
  c.accumulator.written = c.accumulator.read;
  c.seconds = seconds;
  return c;
}

}  // namespace tessera::tech
