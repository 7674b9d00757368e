#pragma once
// A program shaped like one decoder layer of a Llama-style model in the decode phase, for
// the model's speed benchmark (bench/model_bench.cpp) until the compiler exists: tensor
// parallel over every chip of the system (Megatron-style column/row split, two ring
// all-reduces), split over the cores of each chip by output columns (projections) and by
// sequences (attention), weights and KV cache streamed from HBM, activations exchanged
// through L2 with chip barriers. Timing mode only: the program has no data sections.
// docs/model.md ("The layer benchmark program") describes the schedule.
#include <cstdint>

#include "common/isa/isa.h"

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::model {

struct LayerShape {
  uint64_t d_model = 8192;
  uint64_t q_heads = 64, kv_heads = 8, head_dim = 128;
  uint64_t d_ff = 28672;
  uint64_t batch = 64;    // sequences decoded together (one token each)
  uint64_t context = 2048;  // tokens of each sequence's KV cache, the new one included
};

// Llama-3-70B (hardware-numbers.md §6 via configs/models): d_model 8192, 64 query heads,
// 8 KV heads of 128, d_ff 28672.
LayerShape llama3_70b_decode(uint64_t batch, uint64_t context);

// InputError when the shape does not divide over the system (heads over chips, sequences
// and columns over cores) or its tiles do not fit L1 and the accumulators.
isa::Program build_layer_program(const config::ArchConfig& cfg, const LayerShape& shape);

}  // namespace tessera::model
