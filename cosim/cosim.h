#pragma once
// Co-simulation of one program on the Verilated RTL core (rtl/core.sv, the tiny preset) and
// on the cycle model in functional mode (docs/cosim.md). The model runs first and records,
// per instruction, its start and completion cycles and every byte it writes; the RTL then
// runs cycle by cycle and each of its events is checked against that record in the cycle it
// happens: every start and completion (or its absence in the cycle the model has it), every
// L1 write port write and every outside (L2) write with address and data, the accumulator
// rows of each matmul when it completes, the halt cycle, and at the end L2, the accumulator
// rows and the L1 bytes written. The first disagreement stops the run.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/isa/isa.h"

namespace tessera::cosim {

// Instructions the co-simulated core holds (its ImemWords; cosim/cosim.cmake verilates it
// with this value).
inline constexpr size_t kImemWords = TESSERA_COSIM_IMEM_WORDS;

// A test-only defect, to prove that the comparison catches it at the right instruction
// (tests/rtl/cosim_test.cpp). On the model's side it alters the recorded expectation; on the
// RTL's side it drives the core's fault inputs (rtl/core.sv test_stall_i, test_flip_i), which
// reach the matrix engine only, so it targets a matmul there.
struct Fault {
  enum class Kind { none, delay, flip } kind = Kind::none;
  enum class Side { model, rtl } side = Side::model;
  uint32_t instr = 0;  // program index. Model: its completion one cycle later, or bit 0 of the
                       // first byte it writes flipped. RTL (a matmul): its stream start held
                       // for the cycle the model starts it, or bit 0 of column 0 flipped in
                       // every accumulator write between the previous matmul's completion and its own.
};

struct Options {
  uint32_t history = 8;          // instructions listed before a divergence
  std::string wave;              // FST file: the RTL's signals around the divergence
  uint64_t wave_before = 200;    // cycles of the window before the divergence
  uint64_t max_cycles = 5'000'000;
  uint64_t stall_cycles = 100'000;  // RTL cycles with no start, completion or halt: stuck
  std::vector<uint8_t> memory;   // initial L2 bytes from address 0 (--memory), under the data sections
  Fault fault;
};

struct Divergence {
  uint64_t cycle = 0;
  std::string unit;            // "dma0", "vec", ... or "core"
  int64_t index = -1;          // program index of the instruction, -1: none
  std::string instr;           // its disassembly
  std::string what;            // e.g. "L1 write", "completion", "halt"
  std::optional<uint64_t> addr;
  std::string expected, actual;
  std::vector<std::string> history;  // the previous instructions, oldest first, with their cycles
};

struct Result {
  std::optional<Divergence> divergence;
  bool illegal = false;      // both sides refused the program (an error-path program)
  std::string model_error;   // the model's InputError, if any
  std::string rtl_error;     // what the RTL did instead of halting, if it did not
  // What was compared.
  uint64_t instructions = 0, starts = 0, ends = 0;
  uint64_t l1_write_bytes = 0, l2_write_bytes = 0, hbm_write_bytes = 0, acc_bytes = 0, acc_rows_skipped = 0;
  uint64_t final_bytes = 0;
  uint64_t cycles = 0;        // RTL cycles simulated
  uint64_t model_cycles = 0;  // the model's H
  double model_seconds = 0, rtl_seconds = 0;
  std::string wave;           // the FST written, if any
  // The RTL side's outside memory after the run (L2 or HBM bytes; what a host reads back:
  // a step's results and the KV cache it carries to the next step).
  std::function<std::vector<uint8_t>(isa::Space space, uint64_t addr, uint64_t bytes)> read_rtl;
};

// InputError when the architecture is not the one the core was verilated for, or the program
// uses what the RTL core does not implement (naming the instruction), or is refused by the
// model's validation.
Result run(const config::ArchConfig& arch, const isa::Program& prog, const Options& opt);

// The text tessera cosim prints: the divergence with its context, or what was compared and
// each side's speed.
std::string report(const Result& r);

}  // namespace tessera::cosim
