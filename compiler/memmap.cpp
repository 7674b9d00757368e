// The memory map (--emit memmap): one line per region of one chip of the group.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "compiler/compiler.h"
#include "compiler/ir.h"

namespace tessera::compiler {

std::string memory_map_text(const Compiled& c) {
  std::ostringstream os;
  os << "# tessera memory map (chip 0 of a " << c.tp << "-chip tensor-parallel group; " << c.replicas
     << " replica(s) identical)\n";
  os << "# tier  core  engine  address            bytes          live                         what\n";
  std::vector<MemoryRegion> v = c.memory;
  std::stable_sort(v.begin(), v.end(), [](const MemoryRegion& a, const MemoryRegion& b) {
    if (a.space != b.space) return a.space < b.space;
    if (a.core != b.core) return a.core < b.core;
    return a.addr < b.addr;
  });
  for (const MemoryRegion& r : v) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-4s  %-4s  %-6s  0x%016llx %14llu  ", std::string(space_name(r.space)).c_str(),
                  r.core < 0 ? "-" : std::to_string(r.core).c_str(),
                  r.space == isa::Space::acc ? std::to_string(r.engine).c_str() : "-", (unsigned long long)r.addr,
                  (unsigned long long)r.bytes);
    os << line;
    char live[64];
    std::snprintf(live, sizeof live, "%-28s ", r.live.substr(0, 60).c_str());
    os << live << r.what << "\n";
  }
  os << "# weights " << c.weight_bytes_per_chip << " B and KV cache " << c.kv_bytes_per_chip << " B per chip\n";
  return os.str();
}

}  // namespace tessera::compiler
