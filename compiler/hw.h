#pragma once
// The numbers of an architecture the compiler plans with, in integers, derived once from
// the ArchConfig (and common/config/derived.h, so each formula exists once). The cost model
// (cost_model.h) converts DRAM and link rates into bytes per core cycle here.
#include <cstdint>
#include <string>

#include "common/config/config.h"
#include "common/isa/isa.h"

namespace tessera::compiler {

struct Hw {
  std::string name;
  const config::ArchConfig* cfg = nullptr;
  uint32_t chips = 1, cores = 1, engines = 1, dmas = 1;
  uint64_t R = 1, C = 1, max_stream = 1;
  bool double_buffer = true;
  bool os = false;  // output-stationary dataflow available
  uint64_t acc_bytes = 0, l1_bytes = 0, l2_bytes = 0, hbm_bytes = 0;
  uint64_t lanes = 1, special_cycles = 1, vec_latency = 8;
  uint64_t l1_bytes_per_cycle = 1, l2_bytes_per_cycle = 1;
  uint64_t l2_latency = 20, l1_latency = 2;
  uint64_t dma_bytes_per_cycle = 1, dma_setup = 4, dma_burst = 64, dma_max_outstanding = 64;
  uint64_t token_depth = 15, queue_depth = 16;
  double core_hz = 1e9;
  double macs_per_cycle = 1;         // per chip
  double hbm_bytes_per_cycle = 1;    // per chip, peak
  double link_bytes_per_cycle = 0;   // per link and direction
  double link_latency_cycles = 0;
  uint32_t link_count = 0;
  uint64_t dram_row_bytes = 1024;
  // Bytes of consecutive addresses that cover every pseudo-channel once before the bank
  // group changes (the address-map pieces below `bg`); 0 when the map has no such run.
  uint64_t dram_bg_window = 0;
  bool supports(isa::DType matrix_input) const;
};

Hw hw_of(const config::ArchConfig&);

}  // namespace tessera::compiler
