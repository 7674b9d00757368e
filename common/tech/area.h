#pragma once
// The area model: mm2 per component of one chip of an architecture at a technology table's
// node. Logic is priced from our own Yosys synthesis (the cell counts of docs/area.md) times
// transistors per cell over the node's logic density; SRAM per macro from bit cells, macro
// efficiency and ports; PHYs per stack and per lane; then a stated overhead. docs/area.md,
// "Area model", derives every figure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.h"
#include "tessera/tech/tech_config.h"

namespace tessera::tech {

// How SRAM ports are counted. config: each tier as its `ports` key says (l1.ports, l2.ports,
// accumulator.ports), the port model the cycle model arbitrates (docs/timing.md, "SRAM ports
// and arbitration"). per_client: every client (DMA engine, matrix-engine operand, vector
// operand) has its own port on every bank, whatever the keys say. two_port: every bank a 1R1W
// macro, whatever the keys say. The two overrides price the alternatives of one design.
enum class PortModel { config, per_client, two_port };

// Synthesis calibration points: the generic cell counts of docs/area.md (Yosys 0.23, flow
// "synth, $mem kept"). tests/common/tech checks them against that table.
struct SynthesisCounts {
  static constexpr double kArrayInt8 = 270260, kArrayFp8 = 542236, kArrayBf16 = 533916, kArrayAll = 776236;  // 8x8
  static constexpr double kEngineInt8 = 349248, kEngineFp8 = 610026, kEngineBf16 = 599988, kEngineAll = 844256;
  static constexpr double kVectorEngine = 2885015;  // 8 lanes
  static constexpr double kSequencer = 2227;
  static constexpr double kCoreInt8 = 3428333;  // tiny core: sequencer, engine, vector engine, 2 DMA engines, glue
  static constexpr double kArrayMacs = 64, kArrayCols = 8, kVectorLanes = 8, kCoreDmaEngines = 2;
  static constexpr uint64_t kSequencerMemBits = 42880;
  static constexpr uint64_t kInstructionMemoryBytes = 1024 * 64;  // 1,024 instructions of 64 B
};

// Generic cells per MAC and per array column (accumulate adders and tile control) for a set of
// matrix precisions: the smallest synthesised precision set that contains it.
struct MacCost {
  double cells_per_mac = 0;
  double cells_per_column = 0;
  std::string row;  // which synthesis row: "int8", "fp8", "bf16", "all four"
};
MacCost mac_cost(const std::vector<config::MatrixPrecision>& precisions);

double logic_mm2(const TechConfig&, double cells);
double transistors_mm2(const TechConfig&, double million_transistors);
// Bit-cell area over macro area for a macro of `bytes` (log-interpolated, clamped at the ends).
double sram_efficiency(const TechConfig&, uint64_t bytes);
// One macro of `bytes` with one port; memories above 512 KiB are built from 512 KiB macros.
double sram_macro_mm2(const TechConfig&, uint64_t bytes);
// The ports each bank of a tier has under `model` (docs/area.md): read-only, write-only and
// read-write ports (a 1RW macro has one read-write port, a 1R1W macro one of each).
struct TierPorts {
  int read = 1, write = 1, rw = 0;
  int total() const { return read + write + rw; }
};
TierPorts accumulator_ports(const config::ArchConfig&, PortModel);
TierPorts l1_ports(const config::ArchConfig&, PortModel);
TierPorts l2_ports(const config::ArchConfig&, PortModel);
// How a report names the port model: "as configured", "one per client", "two per bank".
std::string_view port_model_name(PortModel);

struct AreaItem {
  std::string component;  // "matrix arrays", "l1 sram", "l1 ports", ...
  double mm2 = 0;         // per chip
  std::string basis;      // how it was priced, one line
};

struct AreaReport {
  std::string arch, tech;
  PortModel ports = PortModel::config;
  std::vector<AreaItem> items;  // in report order; the last is the overhead
  double die_mm2 = 0;           // sum of the items
  double reticle_mm2 = 0;
  double core_mm2 = 0;          // one core's own blocks (arrays, engines, L1, control), for distances
  double mm2(const std::string& component) const;  // 0 if absent
};

AreaReport area(const config::ArchConfig&, const TechConfig&, PortModel = PortModel::config);

// A message when the die is larger than process.reticle_mm2, naming the largest components;
// std::nullopt when it fits.
std::optional<std::string> reticle_violation(const AreaReport&);

}  // namespace tessera::tech
