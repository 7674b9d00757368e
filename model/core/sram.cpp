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

BankPorts::BankPorts(const timing::BankGeometry& g, timing::Ports kind)
    : shared_(timing::port_capacity(g, kind).shared),
      read_(timing::port_capacity(g, kind).read),
      write_(timing::port_capacity(g, kind).write) {}

L2Fabric::L2Fabric(const timing::ArchParams& p, BankPorts& banks)
    : banks_(banks),
      noc_read_(p.noc_width * p.noc_l2_ports),
      noc_write_(p.noc_width * p.noc_l2_ports) {
  for (uint32_t c = 0; c < p.cores; ++c) {
    core_read_.emplace_back(p.noc_width);
    core_write_.emplace_back(p.noc_width);
  }
}

uint64_t L2Fabric::access(uint32_t core, bool write, uint64_t start, uint64_t bytes, uint64_t rate) {
  timing::BandwidthCalendar* noc = write ? &noc_write_ : &noc_read_;
  timing::BandwidthCalendar* port = write ? &core_write_[core] : &core_read_[core];
  return timing::book({banks_.shared(), banks_.side(write), noc, port}, start, bytes, rate);
}

}  // namespace tessera::model
