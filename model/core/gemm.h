#pragma once
// The GEMM microbenchmark program of `tessera gemm` (docs/model.md, "tessera gemm"): C = A·B
// with A, B in HBM and C written back to HBM, tiled for the matrix engines of core 0 of chip
// 0. DMA engine dma0 loads each step's A and B tiles into double-buffered L1 slots, the
// engines run the tiles round-robin, and the last DMA engine stores finished output tiles
// from the accumulators (which are double-buffered too); tokens order every hand-over.
#include <cstdint>
#include <string>

#include "common/isa/isa.h"

namespace tessera::config {
struct ArchConfig;
}

namespace tessera::model {

struct GemmSpec {
  uint64_t m = 1, k = 1, n = 1;
  isa::Dataflow dataflow = isa::Dataflow::ws;
  isa::DType precision = isa::DType::fp8_e4m3;  // int8, fp8_e4m3, fp8_e5m2 or bf16
};

struct GemmProgram {
  isa::Program program;
  // Tiling chosen (output tile m_t x n_t, reduction step k_t) and the HBM layout:
  // A row-major M x K (ws) or A^T row-major K x M (os); B row-major K x N; C row-major M x N
  // in fp32 (int32 for int8 inputs).
  uint64_t m_t = 0, k_t = 0, n_t = 0;
  uint64_t a_addr = 0, b_addr = 0, c_addr = 0;
  uint64_t matmuls = 0;
  uint32_t engines = 1;
};

// InputError when the shape cannot be tiled for the architecture (precision or dataflow not
// supported, tiles not fitting the L1 or accumulator, operands beyond the HBM).
GemmProgram build_gemm(const config::ArchConfig& cfg, const GemmSpec& spec);

}  // namespace tessera::model
