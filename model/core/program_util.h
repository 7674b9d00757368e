#pragma once
// Small builders shared by the program generators of model/core (gemm.cpp,
// layer_program.cpp): a 2-D DMA copy and the one-bit token mask of a unit.
#include <cstdint>

#include "common/isa/isa.h"

namespace tessera::model {

inline uint16_t unit_bit(int unit) { return uint16_t(1u << unit); }

// `load`/`store` of n1 rows of len bytes (one plane); strides are zero for a single row, as
// validate() asks of fields an instruction does not use.
inline isa::Instr dma_copy(isa::Opcode op, int unit, isa::Space dst, uint64_t dst_addr, isa::Space src,
                           uint64_t src_addr, uint64_t len, uint64_t n1 = 1, uint64_t dst_stride = 0,
                           uint64_t src_stride = 0) {
  isa::Instr in;
  in.op = op;
  in.unit = uint8_t(unit);
  in.dst_space = uint64_t(dst);
  in.src_space = uint64_t(src);
  in.dst_addr = dst_addr;
  in.src_addr = src_addr;
  in.len = len;
  in.n1 = n1;
  in.n2 = 1;
  in.dst_stride1 = n1 > 1 ? dst_stride : 0;
  in.src_stride1 = n1 > 1 ? src_stride : 0;
  return in;
}

}  // namespace tessera::model
