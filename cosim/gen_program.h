#pragma once
// Constrained-random programs for co-simulation (`tessera gen-program`, tessera-cosim's soak):
// legal, deadlock-free programs built from the instruction classes the RTL core implements
// (rtl/core.sv: L1 <-> L2 load/store on every DMA engine, matmul in every input format and
// dataflow, the FP32 vector opcodes of rtl/vector_engine.sv, tpush/tpop on DMA and vector
// units, barrier, halt) with random shapes, strides, alignments and token patterns, and an
// initial L2 image as the program's data section. Deterministic per seed. docs/cosim.md
// gives the rules that keep a program race-free, so the model (which computes an
// instruction's results when it starts) and the RTL (over its cycles) must agree on every
// write.
#include <cstdint>
#include <string>

#include "common/config/config.h"
#include "common/isa/isa.h"

namespace tessera::cosim {

// What a program generated with `illegal` set breaks (one defect per program).
enum class Defect {
  none,
  deadlock,       // a tpop whose token no instruction ever pushes
  token_overflow  // more pushes to one counter than core.token_depth, none popped
};

struct GenOptions {
  uint64_t seed = 1;
  uint32_t length = 64;  // instructions, approximately (the last round and halt may add a few)
  bool illegal = false;
};

struct Generated {
  isa::Program program;
  Defect defect = Defect::none;
};

// The largest `length` gen-program takes (the RTL core's instruction memory has 1,024 words).
constexpr uint32_t kMaxLength = 1000;

// InputError when the architecture lacks what the generator needs (one chip, one core, a
// matrix engine, a DMA engine; FP32 vector and L2), naming `arch_source` and the key.
Generated generate_program(const config::ArchConfig& arch, const GenOptions& opt,
                           const std::string& arch_source = "--arch");

std::string defect_name(Defect d);

}  // namespace tessera::cosim
