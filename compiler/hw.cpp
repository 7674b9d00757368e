#include "compiler/hw.h"

#include <vector>

#include "common/config/derived.h"

namespace tessera::compiler {

bool Hw::supports(isa::DType t) const {
  if (uint8_t(t) > uint8_t(isa::DType::bf16)) return false;
  return config::supports(*cfg, config::MatrixPrecision(uint8_t(t)));
}

Hw hw_of(const config::ArchConfig& c) {
  Hw h;
  h.name = c.name;
  h.cfg = &c;
  h.chips = uint32_t(c.system.chips);
  h.cores = uint32_t(c.chip.cores);
  h.engines = uint32_t(c.core.matrix_engines);
  h.dmas = uint32_t(c.core.dma_engines);
  h.R = uint64_t(c.matrix.rows);
  h.C = uint64_t(c.matrix.cols);
  h.max_stream = uint64_t(c.matrix.max_stream);
  h.double_buffer = c.matrix.double_buffer_weights;
  h.os = config::supports(c, config::Dataflow::os);
  h.acc_bytes = uint64_t(c.accumulator.bytes);
  h.l1_bytes = uint64_t(c.l1.bytes);
  h.l2_bytes = uint64_t(c.l2.bytes);
  h.hbm_bytes = config::dram_capacity_bytes(c);
  h.lanes = uint64_t(c.vector.lanes);
  h.special_cycles = uint64_t(c.vector.special_cycles);
  h.vec_latency = uint64_t(c.vector.latency);
  h.l1_bytes_per_cycle = uint64_t(c.l1.banks * c.l1.bank_width);
  h.l2_bytes_per_cycle = uint64_t(c.l2.banks * c.l2.bank_width);
  h.l1_latency = uint64_t(c.l1.latency);
  h.l2_latency = uint64_t(c.l2.latency);
  h.dma_bytes_per_cycle = uint64_t(c.dma.bytes_per_cycle);
  h.dma_setup = uint64_t(c.dma.setup_cycles);
  h.dma_burst = uint64_t(c.dma.burst_bytes);
  h.dma_max_outstanding = uint64_t(c.dma.max_outstanding);
  h.token_depth = uint64_t(c.core.token_depth);
  h.queue_depth = uint64_t(c.core.queue_depth);
  h.core_hz = c.clock.core_mhz * 1e6;
  h.macs_per_cycle = double(config::macs_per_cycle_per_chip(c));
  h.hbm_bytes_per_cycle = config::dram_peak_bytes_per_s(c) / h.core_hz;
  h.link_count = uint32_t(c.link.count);
  h.link_bytes_per_cycle = c.link.gbytes_per_s * 1e9 / h.core_hz;
  h.link_latency_cycles = c.link.latency_ns * 1e-9 * h.core_hz;
  h.dram_row_bytes = uint64_t(c.dram.row_bytes);
  std::vector<config::AddressPiece> pieces;
  std::string why;
  if (config::parse_address_map(c, pieces, why)) {
    uint64_t w = uint64_t(config::dram_burst_bytes(c));  // the co field counts bursts
    for (const config::AddressPiece& p : pieces) {
      if (p.field == "bg") {
        h.dram_bg_window = w;
        break;
      }
      if (p.field == "ro" || p.field == "ba") break;
      w *= p.size;
    }
  }
  return h;
}

}  // namespace tessera::compiler
