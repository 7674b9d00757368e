#pragma once
// ArchParams: the one integer view of an architecture configuration that the cycle model, the
// compiler and the RTL test benches work with. It is derived once from a config::ArchConfig
// (arch_params), taking every derived figure from common/config/derived.h, so per-instruction
// code never looks up a key or converts a float and no formula is written twice; tests of the
// timing functions can also fill it directly. The compiler adds its planning rates on top
// (compiler/hw.h) without restating a field.
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
  uint64_t row_bytes() const { return banks * width; }  // one line across all banks
};

// Physical ports of each bank of an SRAM tier, as config::SramPorts spells them: per_client
// (every client its own full-width port), single_port (1RW), two_port (1R1W), dual_port (2RW).
enum class Ports : uint8_t { per_client, single_port, two_port, dual_port };

struct ArchParams {
  std::string name;         // the configuration's name
  uint64_t period_fs = 1;   // core clock period
  uint64_t tck_fs = 1;      // DRAM command clock period

  // Organisation: system.chips, chip.cores, core.matrix_engines, core.dma_engines.
  uint32_t chips = 1, cores = 1, engines = 1, dmas = 1;
  // Sequencer.
  uint64_t queue_depth = 16, token_depth = 15, fetch_bytes_per_cycle = 64;
  // Matrix engines: an R x C array streaming at most max_stream rows per tile.
  uint64_t R = 1, C = 1, max_stream = 4096;
  bool double_buffer = true;
  std::array<bool, 4> precisions{};  // indexed by isa dtype code 0..3 (int8, fp8_e4m3, fp8_e5m2, bf16)
  bool ws = true, os = true;         // dataflows available
  // Vector engine.
  uint64_t lanes = 1, vec_latency = 8, special_cycles = 1;
  // Memories: bank geometry of L1, L2 and one accumulator (width 4*C/banks per bank,
  // docs/timing.md), and the capacity of each space (hbm: per chip).
  BankGeometry l1, l2, acc;
  uint64_t l1_bytes = 0, l2_bytes = 0, acc_bytes = 0, hbm_bytes = 0;
  // Bank ports of each tier, and the on-chip network between a chip's cores and its L2: bytes
  // per cycle and direction of one port, and the ports on the L2 side (noc.l2_ports, 0 resolved
  // to chip.cores). noc.latency_cycles is already added to l2.latency.
  Ports l1_ports = Ports::per_client, l2_ports = Ports::per_client, acc_ports = Ports::per_client;
  uint64_t noc_width = 0, noc_l2_ports = 0;  // 0: no network limit
  // DRAM: bytes of one burst of one pseudo-channel, of one row, and of the run of consecutive
  // addresses that covers every pseudo-channel once before the bank group changes (the
  // address-map pieces below `bg`; 0 when the map has no such run).
  uint64_t dram_burst_bytes = 32, dram_row_bytes = 1024, dram_bg_window = 0;
  // DMA.
  uint64_t dma_bytes_per_cycle = 64, dma_setup = 4, dma_burst = 64, dma_max_outstanding = 64;
  // Links.
  uint32_t link_count = 0;
  uint64_t link_mbytes_per_s = 0;  // per link and direction, MB/s (GB/s x 1000, rounded once)
  uint64_t link_latency_fs = 0;
  // Packets and credits (docs/timing.md, "Collectives and links"): payload bytes per packet,
  // credits per link (receive-buffer packets), credit return time beyond the link latency.
  uint64_t link_packet_bytes = 256, link_credits = 512, link_credit_return_fs = 0;

  // Cycles of one instruction fetch: ceil(64 / fetch_bytes_per_cycle), at least 1.
  uint64_t fetch_cycles() const { return fetch_bytes_per_cycle >= 64 ? 1 : (64 + fetch_bytes_per_cycle - 1) / fetch_bytes_per_cycle; }
};

// The integer view of a loaded configuration.
ArchParams arch_params(const config::ArchConfig& cfg);

}  // namespace tessera::timing
