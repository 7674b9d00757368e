#pragma once
// A single GEMM, C = A x B, as a one-node graph of the compiler: the program of
// `tessera gemm` (docs/model.md, "tessera gemm") and of the model's GEMM tests. The node is
// a Linear whose epilogue writes the FP32 sums (INT32 for INT8 inputs) to HBM; the tiling
// pass and its cost model choose the tiles, core grid and engine split as for any matmul
// of a model, and the matmul kernel emits it (weight ring, pipelined A blocks, tokens from
// the emitter). A and B are in HBM, B in the packed weight layout of compiler/layout.h
// (tile by tile in streaming order, each tile row-major), A row-major M x K (ws) or
// transposed K x M (os); C is row-major M x N in HBM.
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "compiler/ir.h"

namespace tessera::compiler {

struct GemmSpec {
  uint64_t m = 1, k = 1, n = 1;
  isa::Dataflow dataflow = isa::Dataflow::ws;
  isa::DType precision = isa::DType::fp8_e4m3;  // int8, fp8_e4m3, fp8_e5m2 or bf16 (A and B)
  uint32_t cores = 1;  // cores of chip 0 the GEMM is spread over (1 .. chip.cores)
};

struct GemmProgram {
  isa::Program program;
  MatmulPlan plan;  // the tiling chosen (plan.m_t x plan.k_t x plan.n_t tiles)
  uint64_t a_addr = 0, b_addr = 0, c_addr = 0;  // HBM
  uint64_t b_bytes = 0;                        // B as packed (padding between chunks included)
  uint64_t matmuls = 0;                        // matmul instructions
  uint32_t engines = 1;                        // matrix engines per core
  uint32_t cores = 1;                          // cores with work
};

// Data sections with A and B in the program's layouts, for a functional run: `a` holds A
// row-major (M x K elements), `b` holds B row-major (K x N), each element in the spec's
// precision (num::dtype_bytes bytes, little-endian). C can then be read at c_addr.
std::vector<isa::DataSection> gemm_data(const GemmProgram& g, const GemmSpec& spec, const std::vector<uint8_t>& a,
                                        const std::vector<uint8_t>& b);

// InputError when the GEMM cannot run on the architecture: a precision or dataflow not in
// its matrix section, more cores than chip.cores, no tile that fits L1 and the
// accumulators, or operands beyond the HBM.
GemmProgram compile_gemm(const config::ArchConfig& arch, const GemmSpec& spec);

}  // namespace tessera::compiler
