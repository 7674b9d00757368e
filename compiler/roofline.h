#pragma once
// The arithmetic and traffic a segment needs at least, as a model sees it, beside what the
// compiled program does: the inputs of the runner's roofline and MAC utilisation
// (Compiled::macs_per_replica, useful_macs_per_replica, min_hbm_bytes_per_chip). Computed
// from the graph after placement, so they follow the per-chip shapes of the partition.
#include <cstdint>

#include "compiler/compiler.h"
#include "compiler/ir.h"

namespace tessera::compiler {

struct RooflineInputs {
  uint64_t macs_per_replica = 0;         // the matmuls as compiled (MoE: every expert)
  uint64_t useful_macs_per_replica = 0;  // MoE experts at top-k; attention over the keys each query sees
  // Weights once (MoE: the Graph::routed_experts expected distinct experts' only), KV cache
  // read and written once, embedding rows.
  uint64_t min_hbm_bytes_per_chip = 0;
};

RooflineInputs roofline_inputs(const Graph& g, Segment::Kind segment);

}  // namespace tessera::compiler
