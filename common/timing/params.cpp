#include "common/timing/params.h"

#include <algorithm>
#include <cmath>

#include "common/config/config.h"

namespace tessera::timing {

ModelParams params_from_config(const config::ArchConfig& cfg) {
  ModelParams p;
  p.arch_name = cfg.name;
  p.period_fs = uint64_t(config::core_period_fs(cfg));
  p.tck_fs = uint64_t(config::dram_tck_fs(cfg));
  p.chips = uint32_t(cfg.system.chips);
  p.cores = uint32_t(cfg.chip.cores);
  p.matrix_engines = uint32_t(cfg.core.matrix_engines);
  p.dma_engines = uint32_t(cfg.core.dma_engines);
  p.queue_depth = uint32_t(cfg.core.queue_depth);
  p.token_depth = uint32_t(cfg.core.token_depth);
  p.fetch_bytes_per_cycle = uint32_t(cfg.core.fetch_bytes_per_cycle);
  p.rows = uint32_t(cfg.matrix.rows);
  p.cols = uint32_t(cfg.matrix.cols);
  p.max_stream = uint32_t(cfg.matrix.max_stream);
  p.double_buffer = cfg.matrix.double_buffer_weights;
  for (config::MatrixPrecision mp : cfg.matrix.precisions) p.precisions[size_t(mp)] = true;
  p.ws = config::supports(cfg, config::Dataflow::ws);
  p.os = config::supports(cfg, config::Dataflow::os);
  p.lanes = uint32_t(cfg.vector.lanes);
  p.vec_latency = uint32_t(cfg.vector.latency);
  p.special_cycles = uint32_t(cfg.vector.special_cycles);
  p.l1 = BankGeometry{uint64_t(cfg.l1.banks), uint64_t(cfg.l1.bank_width), uint64_t(cfg.l1.latency),
                      uint64_t(cfg.l1.bytes)};
  p.l2 = BankGeometry{uint64_t(cfg.l2.banks), uint64_t(cfg.l2.bank_width), uint64_t(cfg.l2.latency),
                      uint64_t(cfg.l2.bytes)};
  // The accumulator delivers one array row (4 x cols bytes) per cycle, split over its banks
  // (one bank per column in rtl/matrix_engine.sv), and answers in one cycle (docs/timing.md,
  // "SRAM accesses and bank conflicts").
  const uint64_t acc_banks = uint64_t(cfg.accumulator.banks);
  p.acc = BankGeometry{acc_banks, std::max<uint64_t>(4, 4 * uint64_t(cfg.matrix.cols) / acc_banks), 1,
                       uint64_t(cfg.accumulator.bytes)};
  p.dram_burst_bytes = uint64_t(cfg.dram.bus_bits) / 8 * uint64_t(cfg.dram.burst_length);
  p.dma_bytes_per_cycle = uint32_t(cfg.dma.bytes_per_cycle);
  p.dma_setup = uint32_t(cfg.dma.setup_cycles);
  p.dma_burst = uint32_t(cfg.dma.burst_bytes);
  p.dma_max_outstanding = uint32_t(cfg.dma.max_outstanding);
  p.link_count = uint32_t(cfg.link.count);
  // Rates and latencies are rounded once, to 1 MB/s and 1 fs (docs/timing.md, "Collectives and links").
  p.link_mbytes_per_s = uint64_t(std::llround(cfg.link.gbytes_per_s * 1000.0));
  p.link_latency_fs = uint64_t(std::llround(cfg.link.latency_ns * 1e6));
  return p;
}

}  // namespace tessera::timing
