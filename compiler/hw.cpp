#include "compiler/hw.h"

#include "common/config/derived.h"
#include "common/timing/ports.h"

namespace tessera::compiler {

bool Hw::supports(isa::DType t) const { return size_t(t) < precisions.size() && precisions[size_t(t)]; }

Hw hw_of(const config::ArchConfig& c) {
  Hw h;
  static_cast<timing::ArchParams&>(h) = timing::arch_params(c);
  h.cfg = &c;
  h.core_hz = c.clock.core_mhz * 1e6;
  h.macs_per_cycle = double(config::macs_per_cycle_per_chip(c));
  h.hbm_bytes_per_cycle = config::dram_peak_bytes_per_s(c) / h.core_hz;
  h.l2_bytes_per_cycle = double(timing::l2_stream_bytes_per_cycle(h, h.cores));
  h.l2_core_bytes_per_cycle = double(timing::l2_stream_bytes_per_cycle(h, 1));
  h.link_bytes_per_cycle = c.link.gbytes_per_s * 1e9 / h.core_hz;
  h.link_latency_cycles = c.link.latency_ns * 1e-9 * h.core_hz;
  return h;
}

}  // namespace tessera::compiler
