#pragma once
// ModelParams: the numbers of an architecture configuration that the core model uses,
// in the integer form its timing functions work in. It is derived once from a
// config::ArchConfig (params_from_config) so the per-instruction code never looks up a
// key or converts a float; tests of the timing functions can also fill it directly.
#include <array>
#include <cstdint>
#include <string>

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::timing {

// One SRAM tier as the bank model sees it (docs/timing.md, "SRAM accesses and bank
// conflicts"): `banks` banks interleaved every `width` bytes, `latency` cycles per access.
struct BankGeometry {
  uint64_t banks = 1;
  uint64_t width = 1;
  uint64_t latency = 1;
  uint64_t bytes = 0;  // capacity of the space
  uint64_t row_bytes() const { return banks * width; }  // one line across all banks
};

struct ModelParams {
  std::string arch_name;
  uint64_t period_fs = 1;   // core clock period
  uint64_t tck_fs = 1;      // DRAM command clock period

  // Organisation.
  uint32_t chips = 1, cores = 1, matrix_engines = 1, dma_engines = 1;
  // Sequencer.
  uint32_t queue_depth = 16, token_depth = 15, fetch_bytes_per_cycle = 64;
  // Matrix engines.
  uint32_t rows = 1, cols = 1, max_stream = 4096;
  bool double_buffer = true;
  std::array<bool, 4> precisions{};  // indexed by isa dtype code 0..3 (int8, fp8_e4m3, fp8_e5m2, bf16)
  bool ws = true, os = true;
  // Vector engine.
  uint32_t lanes = 1, vec_latency = 8, special_cycles = 1;
  // Memories.
  BankGeometry l1, l2, acc;  // acc: one accumulator; width 4*cols per bank (docs/timing.md)
  uint64_t hbm_bytes = 0;
  uint64_t dram_burst_bytes = 32;
  // DMA.
  uint32_t dma_bytes_per_cycle = 64, dma_setup = 4, dma_burst = 64, dma_max_outstanding = 64;
  // Links.
  uint32_t link_count = 0;
  uint64_t link_mbytes_per_s = 0;  // per link and direction, MB/s (GB/s x 1000, rounded once)
  uint64_t link_latency_fs = 0;

  // Cycles of one instruction fetch: ceil(64 / fetch_bytes_per_cycle), at least 1.
  uint32_t fetch_cycles() const { return fetch_bytes_per_cycle >= 64 ? 1 : (64 + fetch_bytes_per_cycle - 1) / fetch_bytes_per_cycle; }
};

// Integer model parameters of a loaded configuration.
ModelParams params_from_config(const config::ArchConfig& cfg);

}  // namespace tessera::timing
