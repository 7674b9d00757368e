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

}  // namespace tessera::model
