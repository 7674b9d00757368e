// The area model of docs/area.md ("Area model"). Every constant comes from the technology
// table or from SynthesisCounts, whose values are our own synthesis rows.
#include "common/tech/area.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/config/dram_standard.h"

namespace tessera::tech {

namespace {

using config::MatrixPrecision;
using S = SynthesisCounts;

constexpr double kMacroUnitBytes = 512.0 * 1024;

// A core has a collective unit, with its own SRAM ports, when the chip has links.
bool has_collective(const config::ArchConfig& a) { return a.link.count > 0; }

bool has(const std::vector<MatrixPrecision>& v, MatrixPrecision p) { return std::find(v.begin(), v.end(), p) != v.end(); }

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

// DRAM interface width of a chip in bits, and whether it is HBM (PHY per 1024 bits) or DDR
// (PHY per 64-bit channel).
double dram_interface_bits(const config::ArchConfig& a) {
  return double(a.dram.stacks) * double(a.dram.channels) * double(a.dram.pseudo_channels) * double(a.dram.bus_bits);
}

}  // namespace

MacCost mac_cost(const std::vector<MatrixPrecision>& p) {
  const bool i8 = has(p, MatrixPrecision::int8);
  const bool f8 = has(p, MatrixPrecision::fp8_e4m3) || has(p, MatrixPrecision::fp8_e5m2);
  const bool b16 = has(p, MatrixPrecision::bf16);
  auto cost = [](double array, double engine, const char* row) {
    return MacCost{array / S::kArrayMacs, (engine - array) / S::kArrayCols, row};
  };
  if (i8 && !f8 && !b16) return cost(S::kArrayInt8, S::kEngineInt8, "int8");
  if (f8 && !i8 && !b16) return cost(S::kArrayFp8, S::kEngineFp8, "fp8");
  if (b16 && !i8 && !f8) return cost(S::kArrayBf16, S::kEngineBf16, "bf16");
  return cost(S::kArrayAll, S::kEngineAll, "all four");
}

double transistors_mm2(const TechConfig& t, double million_transistors) {
  return million_transistors / t.area.logic_mtr_per_mm2;
}

double logic_mm2(const TechConfig& t, double cells) {
  return transistors_mm2(t, cells * t.area.transistors_per_cell / 1e6);
}

double sram_efficiency(const TechConfig& t, uint64_t bytes) {
  const double x = std::log2(std::max<double>(double(bytes), 1.0));
  const double x4 = 12, x64 = 16, x512 = 19;
  const auto& s = t.sram;
  if (x <= x4) return s.efficiency_4kib;
  if (x <= x64) return s.efficiency_4kib + (s.efficiency_64kib - s.efficiency_4kib) * (x - x4) / (x64 - x4);
  if (x <= x512) return s.efficiency_64kib + (s.efficiency_512kib - s.efficiency_64kib) * (x - x64) / (x512 - x64);
  return s.efficiency_512kib;
}

double sram_macro_mm2(const TechConfig& t, uint64_t bytes) {
  if (bytes == 0) return 0;
  const double units = std::max(1.0, std::ceil(double(bytes) / kMacroUnitBytes));
  const uint64_t unit_bytes = uint64_t(std::ceil(double(bytes) / units));
  const double bit_mm2 = t.sram.bitcell_um2 * 1e-6;
  return units * double(unit_bytes) * 8.0 * bit_mm2 / sram_efficiency(t, unit_bytes);
}

namespace {

// A tier's ports as its key says; per_client falls back to the tier's client count.
TierPorts keyed_ports(config::SramPorts k, TierPorts per_client) {
  switch (k) {
    case config::SramPorts::per_client: return per_client;
    case config::SramPorts::single_port: return {0, 0, 1};
    case config::SramPorts::two_port: return {1, 1, 0};
    case config::SramPorts::dual_port: return {0, 0, 2};
  }
  return per_client;
}

TierPorts tier_ports(PortModel m, config::SramPorts key, TierPorts per_client) {
  switch (m) {
    case PortModel::config: return keyed_ports(key, per_client);
    case PortModel::per_client: return per_client;
    case PortModel::two_port: return {1, 1, 0};
  }
  return per_client;
}

}  // namespace

TierPorts accumulator_ports(const config::ArchConfig& a, PortModel m) {
  // The RTL's bank: one write port, two read ports (the read-modify-write and the drain).
  return tier_ports(m, a.accumulator.ports, TierPorts{2, 1, 0});
}

TierPorts l1_ports(const config::ArchConfig& a, PortModel m) {
  // Readers: each DMA engine, A and B of each matrix engine, the vector engine's two sources and
  // the collective unit (docs/architecture.md, "Ports"). Writers: each DMA engine, the vector
  // engine's destination and the collective unit.
  const int dma = int(a.core.dma_engines), mx = int(a.core.matrix_engines), coll = has_collective(a) ? 1 : 0;
  return tier_ports(m, a.l1.ports, TierPorts{dma + 2 * mx + 2 + coll, dma + 1 + coll, 0});
}

TierPorts l2_ports(const config::ArchConfig& a, PortModel m) {
  // Every DMA engine and collective unit of the chip.
  const int clients = int(a.chip.cores * (a.core.dma_engines + (has_collective(a) ? 1 : 0)));
  return tier_ports(m, a.l2.ports, TierPorts{clients, clients, 0});
}

std::string_view port_model_name(PortModel m) {
  switch (m) {
    case PortModel::config: return "as configured";
    case PortModel::per_client: return "one per client";
    case PortModel::two_port: return "two per bank";
  }
  return "";
}

double AreaReport::mm2(const std::string& component) const {
  for (const auto& i : items) {
    if (i.component == component) return i.mm2;
  }
  return 0;
}

AreaReport area(const config::ArchConfig& a, const TechConfig& t, PortModel ports) {
  AreaReport r;
  r.arch = a.name;
  r.tech = t.name;
  r.ports = ports;
  r.reticle_mm2 = a.process.reticle_mm2;
  const double cores = double(a.chip.cores);
  const double engines = cores * double(a.core.matrix_engines);
  auto add = [&](const std::string& c, double mm2, const std::string& basis) {
    if (mm2 > 0) r.items.push_back(AreaItem{c, mm2, basis});
  };
  auto sram_tier = [&](const std::string& name, double macros, uint64_t bank_bytes, TierPorts p) {
    const double one = sram_macro_mm2(t, bank_bytes);
    add(name + " sram", macros * one,
        fmt("%.0f banks of %.0f KiB, one port each", macros, double(bank_bytes) / 1024.0));
    const int extra = p.total() - 1;
    add(name + " ports", macros * one * t.sram.port_area_factor * extra,
        fmt("%.0f read + %.0f write + %.0f read-write ports per bank: %.0f beyond the first", p.read, p.write, p.rw,
            extra));
  };

  const MacCost mc = mac_cost(a.matrix.precisions);
  const double macs = engines * double(a.matrix.rows) * double(a.matrix.cols);
  add("matrix arrays", logic_mm2(t, macs * mc.cells_per_mac),
      fmt("%.0f MACs x %.0f cells", macs, mc.cells_per_mac) + " (" + mc.row + " PE row)");
  add("accumulate adders", logic_mm2(t, engines * double(a.matrix.cols) * mc.cells_per_column),
      fmt("%.0f columns x %.0f cells (engine minus array)", engines * double(a.matrix.cols), mc.cells_per_column));
  sram_tier("accumulator", engines * double(a.accumulator.banks),
            uint64_t(a.accumulator.bytes / a.accumulator.banks), accumulator_ports(a, ports));
  sram_tier("l1", cores * double(a.l1.banks), uint64_t(a.l1.bytes / a.l1.banks), l1_ports(a, ports));
  const double lanes = cores * double(a.vector.lanes);
  add("vector engines", logic_mm2(t, lanes * S::kVectorEngine / S::kVectorLanes),
      fmt("%.0f lanes x %.0f cells", lanes, S::kVectorEngine / S::kVectorLanes));
  const double glue_per_dma = (S::kCoreInt8 - S::kEngineInt8 - S::kVectorEngine - S::kSequencer) / S::kCoreDmaEngines;
  const double control_cells = cores * (S::kSequencer + double(a.core.dma_engines) * glue_per_dma);
  add("sequencers and dma", logic_mm2(t, control_cells) +
                                cores * (sram_macro_mm2(t, S::kSequencerMemBits / 8) +
                                         sram_macro_mm2(t, S::kInstructionMemoryBytes)),
      fmt("%.0f cores x (sequencer + %.0f DMA engines and glue at %.0f cells), queues, 64 KiB instruction memory",
          cores, double(a.core.dma_engines), glue_per_dma));
  double core_total = 0;
  for (const auto& i : r.items) core_total += i.mm2;
  r.core_mm2 = core_total / cores;
  if (a.l2.bytes > 0) sram_tier("l2", double(a.l2.banks), uint64_t(a.l2.bytes / a.l2.banks), l2_ports(a, ports));
  add("on-chip network", cores * transistors_mm2(t, t.area.noc_mtr_per_core),
      fmt("%.0f cores x %.1f M transistors", cores, t.area.noc_mtr_per_core));
  const bool ddr = !config::dram_standard(a).stacked;
  const double units = dram_interface_bits(a) / (ddr ? 64.0 : 1024.0);
  const double phy = ddr ? t.ddr.phy_area_mm2 : t.hbm.phy_area_mm2;
  const double ctrl = ddr ? t.ddr.controller_mtr : t.hbm.controller_mtr;
  const char* unit_name = ddr ? "64-bit channels" : "1024-bit stack interfaces";
  add("dram phys", units * phy, fmt("%.3g ", units) + unit_name + fmt(" x %.3g mm2", phy));
  add("dram controllers", units * transistors_mm2(t, ctrl), fmt("%.3g x %.4g M transistors", units, ctrl));
  if (a.link.count > 0 && a.link.gbytes_per_s > 0) {
    const double lanes_per_dir = std::ceil(a.link.gbytes_per_s * 8.0 / t.link.lane_gbps);
    const double link_lanes = double(a.link.count) * 2.0 * lanes_per_dir;
    add("link phys", link_lanes * t.link.phy_area_mm2_per_lane,
        fmt("%.0f lanes (%.0f per direction per link) x %.3g mm2", link_lanes, lanes_per_dir,
            t.link.phy_area_mm2_per_lane));
  }
  double priced = 0;
  for (const auto& i : r.items) priced += i.mm2;
  const double total = priced / (1.0 - t.area.overhead_fraction);
  add("overhead", total - priced, fmt("%.0f %% of the die (area.overhead_fraction)", 100.0 * t.area.overhead_fraction));
  r.die_mm2 = 0;
  for (const auto& i : r.items) r.die_mm2 += i.mm2;
  return r;
}

std::optional<std::string> reticle_violation(const AreaReport& r) {
  if (r.die_mm2 <= r.reticle_mm2) return std::nullopt;
  std::vector<AreaItem> sorted = r.items;
  std::sort(sorted.begin(), sorted.end(), [](const AreaItem& x, const AreaItem& y) { return x.mm2 > y.mm2; });
  std::string msg = r.arch + " at " + r.tech + fmt(": die %.0f mm2 exceeds process.reticle_mm2 = %.0f mm2; largest: ", r.die_mm2,
                                       r.reticle_mm2);
  for (size_t i = 0; i < std::min<size_t>(3, sorted.size()); ++i) {
    msg += (i ? ", " : "") + sorted[i].component + fmt(" %.0f mm2", sorted[i].mm2);
  }
  return msg;
}

}  // namespace tessera::tech
