#pragma once
// Functional mode: what each instruction does to the bytes of the memories, written as the
// `semantics` of spec/isa.yaml with the numerics library (docs/numerics.md) doing every
// conversion and every FP32 operation. The units call these when an instruction starts;
// tokens order them exactly as they order the hardware's reads and writes.
#include <cstdint>
#include <functional>
#include <vector>

#include "common/isa/isa.h"
#include "common/numerics/fp.h"
#include "model/core/memory.h"

namespace tessera::model {

using MemoryOf = std::function<SparseMemory&(isa::Space, uint32_t acc_engine)>;

// The overflow rule of every value the vector engine and the collective unit store in a
// narrower format: FP8 saturates to the largest finite value (OCP "satfinite"), BF16 and
// FP16 overflow to infinity (IEEE), integers saturate (docs/model.md, "Functional mode").
num::Overflow store_overflow(num::DType t);

void fn_copy(const isa::Instr& in, const MemoryOf& mem);
void fn_matmul(const isa::Instr& in, SparseMemory& l1, SparseMemory& acc, num::NumericEvents& ev);
void fn_vector(const isa::Instr& in, const MemoryOf& mem, uint32_t lanes, num::NumericEvents& ev);
// Reads the bytes a csend/creduce sends.
std::vector<uint8_t> fn_send_payload(const isa::Instr& in, const MemoryOf& mem);
// Writes (crecv) or adds (creduce) a received payload.
void fn_receive(const isa::Instr& in, const std::vector<uint8_t>& payload, const MemoryOf& mem,
                num::NumericEvents& ev);

}  // namespace tessera::model
