// The memory map (--emit memmap): one line per region of one chip of the group.
#include "compiler/memmap.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "common/numerics/fp.h"

namespace tessera::compiler {

std::vector<MemoryRegion> tensor_regions(const Graph& g) {
  std::vector<MemoryRegion> out;
  for (const Tensor& t : g.tensors) {
    MemoryRegion r;
    r.space = t.tier;
    r.addr = t.addr;
    r.bytes = footprint(t);
    r.what = t.name + " " + std::string(num::dtype_name(num::DType(t.dtype))) + shape_text(t.shape) +
             (t.pitch ? ", rows " + std::to_string(t.pitch) + " B apart" : "") +
             (t.per_layer ? " (layer 0; layer l at +l x " + std::to_string(g.layer_stride) + ")" : "");
    if (t.kind == TensorKind::Weight || t.kind == TensorKind::Bias || t.kind == TensorKind::Scale ||
        t.kind == TensorKind::Constant) {
      r.live = "whole run (resident)";
    } else if (t.kind == TensorKind::KVCache) {
      r.live = "whole request (pages)";
    } else {
      r.live = "ops " + std::to_string(t.first_op) + ".." + std::to_string(t.last_op) + " (" +
               g.ops[size_t(t.first_op)].name + " .. " + g.ops[size_t(t.last_op)].name + ")";
    }
    out.push_back(r);
    if (t.l2_rows) {  // x's last rows (placement)
      r.space = isa::Space::l2;
      r.addr = t.l2_addr;
      r.bytes = t.l2_rows * (t.bytes / t.shape[0]);
      r.what = t.name + ": last " + std::to_string(t.l2_rows) + " rows";
      out.push_back(r);
    }
  }
  MemoryRegion ring;
  ring.core = 0;
  ring.space = isa::Space::l1;
  ring.addr = 0;
  ring.bytes = g.ring_slot * g.ring_slots;
  ring.what = "weight ring: " + std::to_string(g.ring_slots) + " slots x " + std::to_string(g.ring_slot) + " B";
  ring.live = "whole run";
  out.push_back(ring);
  return out;
}

std::vector<MemoryRegion> kv_cache_regions(const Graph& g) {
  std::vector<MemoryRegion> out;
  const Tensor& kc = g.tensor("layer.k_cache");
  // Chip s tp + i of pipeline stage s holds the cache of that stage's layers.
  const uint64_t per_chip = g.layers_on_chip();
  for (uint32_t chip = 0; chip < g.tp * g.pp; ++chip)
    for (uint64_t l = 0; l < per_chip; ++l) {
      MemoryRegion r;
      r.chip = chip;
      r.space = isa::Space::hbm;
      r.addr = kc.addr + l * g.layer_stride;
      r.bytes = kc.bytes;
      r.what = "KV cache pages, layer " + std::to_string(chip / g.tp * per_chip + l);
      r.live = "whole request";
      out.push_back(r);
    }
  return out;
}

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
