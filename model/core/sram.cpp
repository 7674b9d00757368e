#include "model/core/sram.h"

namespace tessera::model {

void SramTraffic::add(const SramTraffic& o) {
  read_bytes += o.read_bytes;
  write_bytes += o.write_bytes;
  read_accesses += o.read_accesses;
  write_accesses += o.write_accesses;
  for (const auto& [w, c] : o.read_widths) read_widths[w] += c;
  for (const auto& [w, c] : o.write_widths) write_widths[w] += c;
}

namespace {
timing::PortCapacity l2_capacity(const timing::ArchParams& p) { return timing::port_capacity(p.l2, p.l2_ports); }
}  // namespace

L2Fabric::L2Fabric(const timing::ArchParams& p)
    : banks_(l2_capacity(p).shared),
      banks_read_(l2_capacity(p).read),
      banks_write_(l2_capacity(p).write),
      noc_read_(p.noc_width * p.noc_l2_ports),
      noc_write_(p.noc_width * p.noc_l2_ports),
      core_read_(p.cores, timing::BandwidthCalendar(p.noc_width)),
      core_write_(p.cores, timing::BandwidthCalendar(p.noc_width)) {}

uint64_t L2Fabric::access(uint32_t core, bool write, uint64_t start, uint64_t bytes, uint64_t rate) {
  if (write) return timing::book({&banks_, &banks_write_, &noc_write_, &core_write_[core]}, start, bytes, rate);
  return timing::book({&banks_, &banks_read_, &noc_read_, &core_read_[core]}, start, bytes, rate);
}

}  // namespace tessera::model
