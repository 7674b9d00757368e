#pragma once
// The cost model that chooses each matmul's tiling (docs/compiler.md, "Cost model"). A
// candidate plan is costed on one chip as the slowest of
//   - the matrix engines: every engine's tile sequence timed with the matmul formulas of
//     docs/timing.md (model::MatmulTimer, the code the cycle model itself runs);
//   - HBM: bytes read and written / (peak bytes per cycle x streaming efficiency);
//   - L2: activation bytes the cores load / (banks x bank_width x efficiency);
//   - the vector engine: epilogue element-operations / lanes, plus per-instruction latency;
//   - each core's DMA engines: its weight bytes plus its activation rows reloaded per pass;
// among the candidates that fit the accumulators and L1. Efficiencies are the measured
// shares the model reaches on the compiler's access patterns (docs/compiler.md).
#include <cstdint>
#include <string>

#include "compiler/hw.h"
#include "compiler/ir.h"

namespace tessera::compiler {

// Streaming efficiency of HBM under the compiler's weight-stream pattern (measured on the
// sohu-like preset: 0.79-0.83 of peak, the rest is all-bank refresh; docs/compiler.md).
inline constexpr double kHbmEfficiency = 0.8;
inline constexpr double kL2Efficiency = 0.5;
// Share of its DMA engines' bytes per cycle a core sustains when it streams weight chunks
// and reloads activation blocks through in-order queues (Llama-3-70B prefill gate_up,
// down: the busier engine 60-70 % busy while the arrays wait; docs/validation.md).
inline constexpr double kDmaEfficiency = 0.75;
// Core cycles from a DMA request to its data under streaming load (the model's HBM3E read
// latency on the sohu-like preset is 60-120 core cycles; docs/compiler.md).
inline constexpr double kDramRoundTrip = 100.0;

struct MatmulSpec {
  std::string name;
  uint64_t M = 0, K = 0, N = 0;
  isa::Dataflow dataflow = isa::Dataflow::ws;
  uint64_t n_t = 0, group_blocks = 1;  // fixed by the epilogue (heads, gate/up pairs)
  uint64_t a_bytes = 2, w_bytes = 2;   // element sizes
  bool a_in_hbm = false;               // the input activations live in HBM (else L2)
  double epilogue_ops = 2;             // vector operations per output element
  uint64_t l1_budget = 0;              // L1 bytes a core may use besides the weight ring
  uint64_t ring_slot = 0;              // bytes of one weight-ring slot
  uint64_t k_block = 1;                // k-tiles per weight chunk (tiling.cpp)
  uint64_t acc_reserve = 0;            // accumulator bytes the epilogue keeps for itself
  bool transposes = false;             // the epilogue transposes K on the arrays (prefill QKV)
};

// The cheapest plan; InputError naming the sizes when no candidate fits the accumulators
// and L1 of the architecture.
MatmulPlan plan_matmul(const Hw& hw, const MatmulSpec& spec);

// L1 bytes a plan needs besides the weight ring: A tiles (double-buffered) and epilogue
// scratch; the code generator allocates exactly these.
uint64_t plan_a_tile_bytes(const Hw& hw, const MatmulPlan& p, uint64_t a_bytes);
uint64_t plan_epilogue_bytes(const Hw& hw, const MatmulPlan& p);
// Accumulator bytes of one engine in one pass (one half of the double-buffered accumulator).
uint64_t plan_acc_bytes(const Hw& hw, const MatmulPlan& p);
// Bytes of one half of an engine's accumulator the passes alternate between (below the
// reserve, a multiple of 4 x matrix.cols).
uint64_t acc_half(const Hw& hw, const MatmulPlan& p);
// Accumulator regions (one column group of m_t rows) per engine when the plan's passes take
// them in a ring over the whole accumulator: a pass holds more groups than half of it
// (splits M and K only). 0: passes alternate halves.
uint64_t acc_ring_slots(const Hw& hw, const MatmulPlan& p);
// Largest reduction of one matmul tile: matrix.rows (ws) or matrix.max_stream (os).
uint64_t max_k_tile(const Hw& hw, isa::Dataflow dataflow);

}  // namespace tessera::compiler
