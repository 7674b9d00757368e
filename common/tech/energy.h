#pragma once
// The energy model: energy = sum over events of count x energy per event, by component. A pure
// function of an EnergyCounts (what a run did, over the whole system) and the prices one
// architecture pays per event at one technology table's node. The counts mirror what the
// cycle model already counts (model/core/stats.h, Simulation::totals(), the DRAM model's
// command counts), so the driver fills them without new instrumentation. docs/energy.md
// derives every price.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/tech/area.h"
#include "tessera/isa/isa_gen.h"
#include "tessera/tech/tech_config.h"

namespace tessera::tech {

// Vector-engine operations by their FP32 cost per element: the energy class each vector opcode
// has in spec/isa.yaml (docs/energy.md, "Vector classes").
using VectorClass = isa::EnergyClass;
inline constexpr size_t kVectorClasses = isa::kNumEnergyClasses;
const char* to_string(VectorClass);

struct SramBytes {
  uint64_t read = 0, written = 0;
};

// What a run did, summed over every chip of the system.
struct EnergyCounts {
  // MACs by input formats [a_type][b_type], ISA dtype order int8, fp8_e4m3, fp8_e5m2, bf16
  // (as the model's Core::macs_by_type).
  std::array<std::array<uint64_t, 4>, 4> macs{};
  SramBytes accumulator, l1, l2;
  std::array<uint64_t, kVectorClasses> vector_elements{};
  uint64_t instructions = 0;
  // DRAM commands as the DRAM model counts them (per pseudo-channel) and the bytes moved.
  uint64_t dram_activates = 0, dram_refreshes = 0, dram_bank_refreshes = 0;
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
  uint64_t link_bytes = 0;  // bytes sent over chip-to-chip links
  double seconds = 0;       // wall time of the run, for static power
};

// Energy per event for one architecture at one node, in pJ (static terms in W per chip).
struct EnergyPrices {
  std::array<std::array<double, 4>, 4> mac_pj{};           // multiply and accumulate add
  std::array<std::array<double, 4>, 4> mac_register_pj{};  // operand and partial sum moving one PE on
  double acc_read_pj_per_byte = 0, acc_write_pj_per_byte = 0;
  double l1_read_pj_per_byte = 0, l1_write_pj_per_byte = 0;
  double l2_read_pj_per_byte = 0, l2_write_pj_per_byte = 0;
  double l1_wire_pj_per_byte = 0;    // from an L1 bank to its client, half a core's side
  double chip_wire_pj_per_byte = 0;  // across the die, for L2 and DRAM traffic: half the die's side
  std::array<double, kVectorClasses> vector_pj{};
  double instruction_pj = 0;  // 512-bit instruction-memory read plus decode and dispatch
  double dram_activate_pj = 0, dram_refresh_pj = 0, dram_bank_refresh_pj = 0;
  double dram_read_pj_per_byte = 0, dram_write_pj_per_byte = 0, dram_io_pj_per_byte = 0;
  double link_pj_per_byte = 0;
  double static_w_per_chip = 0;  // leakage of the die plus the per-chip baseline
  double chips = 1;
};

EnergyPrices prices(const config::ArchConfig&, const TechConfig&, PortModel = PortModel::config);
// Read energy per bit of one SRAM macro of `bytes` with `ports` ports (docs/energy.md, "SRAM").
double sram_read_pj_per_bit(const TechConfig&, uint64_t bytes, int ports);

struct EnergyItem {
  std::string component;  // "mac", "accumulator", "l1", "l2", "vector", "instructions", ...
  double joules = 0;
};

struct EnergyReport {
  std::vector<EnergyItem> items;  // every component, in a fixed order, zeros included
  double total_j = 0;
  double joules(const std::string& component) const;  // 0 if absent
};

EnergyReport energy(const EnergyCounts&, const EnergyPrices&);

// The counts of `seconds` with every matrix engine streaming weight-stationary tiles at one
// MAC per PE per cycle in `precision` (operands from L1, partial sums through the accumulator),
// nothing else: the matrix-bound peak the busy power of a chip is compared with.
EnergyCounts matrix_peak_counts(const config::ArchConfig&, config::MatrixPrecision, double seconds);

}  // namespace tessera::tech
