#include "common/timing/params.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/config/config.h"
#include "common/config/derived.h"

namespace tessera::timing {

// The two spellings of one port kind must keep the same order.
static_assert(uint8_t(config::SramPorts::per_client) == uint8_t(Ports::per_client) &&
              uint8_t(config::SramPorts::single_port) == uint8_t(Ports::single_port) &&
              uint8_t(config::SramPorts::two_port) == uint8_t(Ports::two_port) &&
              uint8_t(config::SramPorts::dual_port) == uint8_t(Ports::dual_port));

namespace {

// The DRAM address-map run below the bank-group digit (ArchParams::dram_bg_window).
uint64_t bg_window(const config::ArchConfig& cfg) {
  std::vector<config::AddressPiece> pieces;
  std::string why;
  if (!config::parse_address_map(cfg, pieces, why)) return 0;
  uint64_t w = uint64_t(config::dram_burst_bytes(cfg));  // the co field counts bursts
  for (const config::AddressPiece& p : pieces) {
    if (p.field == "bg") return w;
    if (p.field == "ro" || p.field == "ba") break;
    w *= p.size;
  }
  return 0;
}

}  // namespace

ArchParams arch_params(const config::ArchConfig& cfg) {
  ArchParams p;
  p.name = cfg.name;
  p.period_fs = uint64_t(config::core_period_fs(cfg));
  p.tck_fs = uint64_t(config::dram_tck_fs(cfg));
  p.chips = uint32_t(cfg.system.chips);
  p.cores = uint32_t(cfg.chip.cores);
  p.engines = uint32_t(cfg.core.matrix_engines);
  p.dmas = uint32_t(cfg.core.dma_engines);
  p.queue_depth = uint64_t(cfg.core.queue_depth);
  p.token_depth = uint64_t(cfg.core.token_depth);
  p.fetch_bytes_per_cycle = uint64_t(cfg.core.fetch_bytes_per_cycle);
  p.R = uint64_t(cfg.matrix.rows);
  p.C = uint64_t(cfg.matrix.cols);
  p.max_stream = uint64_t(cfg.matrix.max_stream);
  p.double_buffer = cfg.matrix.double_buffer_weights;
  for (config::MatrixPrecision mp : cfg.matrix.precisions) p.precisions[size_t(mp)] = true;
  p.ws = config::supports(cfg, config::Dataflow::ws);
  p.os = config::supports(cfg, config::Dataflow::os);
  p.lanes = uint64_t(cfg.vector.lanes);
  p.vec_latency = uint64_t(cfg.vector.latency);
  p.special_cycles = uint64_t(cfg.vector.special_cycles);
  p.l1 = BankGeometry{uint64_t(cfg.l1.banks), uint64_t(cfg.l1.bank_width), uint64_t(cfg.l1.latency)};
  p.l2 = BankGeometry{uint64_t(cfg.l2.banks), uint64_t(cfg.l2.bank_width),
                      uint64_t(cfg.l2.latency) + uint64_t(cfg.noc.latency_cycles)};
  p.acc = BankGeometry{uint64_t(cfg.accumulator.banks), uint64_t(config::accumulator_bank_width(cfg)),
                       uint64_t(config::accumulator_latency(cfg))};
  p.l1_ports = Ports(cfg.l1.ports);
  p.l2_ports = Ports(cfg.l2.ports);
  p.acc_ports = Ports(cfg.accumulator.ports);
  p.noc_width = uint64_t(cfg.noc.width_bytes);
  p.noc_l2_ports = cfg.noc.topology == config::NocTopology::bus ? 1
                   : cfg.noc.l2_ports                           ? uint64_t(cfg.noc.l2_ports)
                                                                : uint64_t(cfg.chip.cores);
  p.l1_bytes = uint64_t(cfg.l1.bytes);
  p.l2_bytes = uint64_t(cfg.l2.bytes);
  p.acc_bytes = uint64_t(cfg.accumulator.bytes);
  p.hbm_bytes = config::dram_capacity_bytes(cfg);
  p.dram_burst_bytes = uint64_t(config::dram_burst_bytes(cfg));
  p.dram_row_bytes = uint64_t(cfg.dram.row_bytes);
  p.dram_bg_window = bg_window(cfg);
  p.dma_bytes_per_cycle = uint64_t(cfg.dma.bytes_per_cycle);
  p.dma_setup = uint64_t(cfg.dma.setup_cycles);
  p.dma_burst = uint64_t(cfg.dma.burst_bytes);
  p.dma_max_outstanding = uint64_t(cfg.dma.max_outstanding);
  p.link_count = uint32_t(cfg.link.count);
  // Rates and latencies are rounded once, to 1 MB/s and 1 fs (docs/timing.md, "Collectives and links").
  p.link_mbytes_per_s = uint64_t(std::llround(cfg.link.gbytes_per_s * 1000.0));
  p.link_latency_fs = uint64_t(std::llround(cfg.link.latency_ns * 1e6));
  p.link_packet_bytes = uint64_t(cfg.link.packet_bytes);
  p.link_credits = uint64_t(cfg.link.rx_buffer_bytes) / p.link_packet_bytes;
  p.link_credit_return_fs = uint64_t(std::llround(cfg.link.credit_return_ns * 1e6));
  return p;
}

}  // namespace tessera::timing
