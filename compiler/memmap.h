#pragma once
// The regions compile() reports from a placed graph: the memory map of one chip (every
// tensor and the weight ring; the kernels add their L1 scratch while generating code) and
// the KV cache pages a functional runner carries from step to step.
#include <vector>

#include "compiler/compiler.h"
#include "compiler/ir.h"

namespace tessera::compiler {

// Every tensor of one chip, then the weight ring of core 0.
std::vector<MemoryRegion> tensor_regions(const Graph& g);

// The KV cache pool of every layer on every chip of the tensor-parallel group.
std::vector<MemoryRegion> kv_cache_regions(const Graph& g);

}  // namespace tessera::compiler
