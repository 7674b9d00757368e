#pragma once
// Packed layouts shared by the weight packer (weights.cpp) and the kernels.
//
// A fused matmul's weights on one chip are stored tile by tile: column group g, then
// reduction tile q, then block b of the group; each tile row-major [k_rows(q) x
// width(g, b)]. A chunk is a run of k_block k-tiles of one group: the unit one DMA
// instruction moves, contiguous in HBM.
//
// Chunks are placed so that the cores streaming them at the same time never fight over a
// DRAM bank (docs/compiler.md, "Weight stream"): stream c is the c-th column group of the
// plan's core grid, its chunks in the order that core consumes them; chunk j of stream c
// lives in slot j x n_groups + c, a slot being the chunk rounded up to whole DRAM
// bank-group windows (the address range that covers every pseudo-channel once before the
// bank group changes). So at any moment the streams, all advancing about one chunk at a
// time, read one contiguous region: the same DRAM rows, every pseudo-channel and bank
// group busy. Without a window (an address map with no such run) chunks are back to back.
// The layout follows the plan, so a prefill and a decode program of one model carry
// their own weight images.
//
// Biases and scales are stored in packed column order: packed column p (= g x group
// width + b x n_t + j) maps to a logical column of the chip's weight matrix: the identity,
// except for SwiGLU and MoE, whose group pairs a gate block with the matching up block.
#include <cstdint>
#include <vector>

#include "compiler/hw.h"
#include "compiler/ir.h"

namespace tessera::compiler {

// Chunk offsets of a plan (MatmulPlan::chunk_offset): entry g x chunks_per_group + kb, one
// more entry for the packed size.
// `engines` is matrix engines per core (for core_work).
std::vector<uint64_t> stream_layout(const MatmulPlan& p, uint64_t elem_bytes, uint64_t window, uint32_t engines);
uint64_t chunks_per_group(const MatmulPlan& p);

uint64_t packed_tile_offset(const MatmulPlan& p, uint64_t g, uint64_t q, uint64_t b, uint64_t elem_bytes);
// Bytes of the k-tiles [q0, q1) of group g (one contiguous run inside one chunk).
uint64_t packed_run_bytes(const MatmulPlan& p, uint64_t g, uint64_t q0, uint64_t q1, uint64_t elem_bytes);

// Logical column (of the chip's [K, N] matrix, columns as concatenated by fusion) of
// packed column (g, b, j).
uint64_t logical_column(const Graph& gr, const Op& op, uint64_t g, uint64_t b, uint64_t j);

// The page of (sequence s, KV head j, page index pg) in a layer's pool.
inline uint64_t kv_page(const Graph& g, uint64_t s, uint64_t j, uint64_t pg) {
  return (pg * g.batch + s) * g.kv_heads + j;
}

// Runs of KV pages each (sequence, KV head) of a decode step splits into, one attention
// unit each (kernels_attention.cpp): more than 1 when the pairs are fewer than the cores or
// a unit's pages would not fit L1; the units' partial results are then combined in a second
// phase through the tensor attn.partial. 1 for prefill.
uint64_t decode_attention_splits(const Graph& g, const Hw& hw);

}  // namespace tessera::compiler
