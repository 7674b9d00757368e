#pragma once
// Figures that follow from a configuration by arithmetic alone (docs/config.md, "Derived
// figures"): peak rates, capacities, the DRAM burst size and the pieces of the DRAM address map.
// The consistency checks, `tessera config show` and the reports all use these, so each formula
// is written once.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config.h"

namespace tessera::config {

// MACs all matrix engines of one chip can start per core cycle.
int64_t macs_per_cycle_per_chip(const ArchConfig&);
// Dense peak of one chip in operations per second (2 per MAC); equal for every supported
// precision, because a PE does one MAC per cycle in each (docs/architecture.md §2.2).
double peak_ops_per_s(const ArchConfig&);
// Bytes of one element of a matrix input format.
int64_t element_bytes(MatrixPrecision);

// Bytes one DRAM burst moves on one pseudo-channel: bus_bits / 8 x burst_length.
int64_t dram_burst_bytes(const ArchConfig&);
int64_t dram_pseudo_channels_per_chip(const ArchConfig&);
// channels x pseudo_channels x bank_groups x banks_per_group x rows x row_bytes.
uint64_t dram_stack_bytes(const ArchConfig&);
uint64_t dram_capacity_bytes(const ArchConfig&);  // per chip
double dram_peak_bytes_per_s(const ArchConfig&);  // per chip, all pseudo-channels

// The accumulator's bank width and read latency, which no key states: it delivers one array row
// (4 x matrix.cols bytes) per cycle over its banks, at least one 32-bit word per bank, and
// answers in one cycle (docs/timing.md, "SRAM accesses and bank conflicts"). The model's
// timing and the RTL (tessera_cfg_pkg ACCUMULATOR_BANK_WIDTH, ACCUMULATOR_LATENCY) read these.
int64_t accumulator_bank_width(const ArchConfig&);
int64_t accumulator_latency(const ArchConfig&);

uint64_t l1_bytes_per_chip(const ArchConfig&);
uint64_t accumulator_bytes_per_chip(const ArchConfig&);
uint64_t sram_bytes_per_chip(const ArchConfig&);  // L1 + accumulators + L2
// Bytes per core cycle L1 can deliver (banks x bank_width) and the bytes per cycle the matrix
// engines read in weight-stationary streaming with element size b: engines x (R + C) x b.
int64_t l1_bytes_per_cycle(const ArchConfig&);
int64_t matrix_l1_demand_bytes_per_cycle(const ArchConfig&, MatrixPrecision);
double link_bytes_per_s_per_chip(const ArchConfig&);  // all links, one direction

// Shortest decimal that reads back as the same double, always with a '.' or exponent
// ("858.0", "416.667"): the canonical YAML form of float keys.
std::string format_double(double);
// A byte count in the largest binary unit that states it exactly: "24 GiB", "1536 KiB", "100 B".
std::string exact_size_text(uint64_t bytes);

// One piece of dram.controller.address_map, least significant first: a digit of `size` values
// of `field` (ro, ba, bg, ch, pc, st, co) worth `weight` within that field.
struct AddressPiece {
  std::string field;
  uint64_t size = 0;
  uint64_t weight = 0;
};
// Parses the map against the organisation; on error returns false with `why` set.
bool parse_address_map(const ArchConfig&, std::vector<AddressPiece>& pieces, std::string& why);
// The same for a map given as text and the value counts of the fields ro ba bg ch pc st co, in that
// order: the one reading of the grammar, which the DRAM model's AddressMap uses too.
bool parse_address_map(const std::string& spec, const std::array<uint64_t, 7>& field_sizes,
                       std::vector<AddressPiece>& pieces, std::string& why);
// The value of each field (ro ba bg ch pc st co, in that order) at byte address `addr` under a
// parsed map: every piece is a digit of the burst index, worth `weight` in its field. The DRAM
// model's AddressMap decodes the same way with precomputed shifts (tests/model/dram compare them).
std::array<uint64_t, 7> decode_address(const std::vector<AddressPiece>& pieces, uint64_t burst_bytes, uint64_t addr);

}  // namespace tessera::config
