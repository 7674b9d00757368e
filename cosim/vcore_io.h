#pragma once
// What the two drivers of the Verilated core share (cosim/cosim.cpp, the lock-step comparison,
// and cosim/rtl_core.cpp, the core inside the system model): reading fields of its wide ports,
// loading a program into its instruction memory, answering a DMA engine's outside channel, and
// the list of what the core implements.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "Vcore.h"
#include "common/isa/isa.h"

namespace tessera::cosim {

// Bits [lsb, lsb + w) of a Verilator signal (a scalar or a VlWide), w <= 64.
template <class T>
uint64_t bits(const T& v, unsigned lsb, unsigned w) {
  uint64_t r = 0;
  if constexpr (std::is_integral_v<T>) {
    r = uint64_t(v) >> lsb;
  } else {
    for (unsigned b = 0; b < w; b += 32 - (lsb + b) % 32) r |= uint64_t(v[(lsb + b) / 32] >> ((lsb + b) % 32)) << b;
  }
  return w >= 64 ? r : r & ((uint64_t(1) << w) - 1);
}
template <class T>
uint8_t byte_at(const T& v, unsigned lsb) {
  return uint8_t(bits(v, lsb, 8));
}

inline void clock_edge(Vcore& top) {
  top.clk_i = 0;
  top.eval();
  top.clk_i = 1;
  top.eval();
}

// Writes `code` into the instruction memory under reset and releases the reset; the next
// clock edge ends cycle 0. Every outside channel is ready; `bar_release` is the barrier
// input's value from then on.
inline void load_program(Vcore& top, std::span<const isa::Instr> code, uint32_t dma_engines, bool bar_release) {
  top.rst_ni = 0;
  top.ext_req_ready_i = (1u << dma_engines) - 1;
  top.bar_release_i = bar_release;
  for (size_t i = 0; i <= code.size(); ++i) {
    top.imem_we_i = i < code.size();
    if (i < code.size()) {
      const isa::Word w = isa::encode(code[i]);
      top.imem_waddr_i = uint32_t(i);
      for (size_t j = 0; j < isa::kWordBytes / 4; ++j) {
        uint32_t v;
        std::memcpy(&v, w.data() + 4 * j, 4);
        top.imem_wdata_i[j] = v;
      }
    }
    clock_edge(top);
  }
  top.imem_we_i = 0;
  clock_edge(top);  // word 0 is read during reset
  top.rst_ni = 1;
}

// Drives DMA engine e's response channel for this cycle: `data` (bytes_per_cycle bytes) or
// no response (null; the data lines then carry a pattern nobody may use).
inline void set_response(Vcore& top, uint32_t e, uint32_t bytes_per_cycle, const std::vector<uint8_t>* data) {
  top.ext_rsp_valid_i = (top.ext_rsp_valid_i & ~(1u << e)) | (uint32_t(data != nullptr) << e);
  for (uint32_t j = 0; j < bytes_per_cycle / 4; ++j) {
    uint32_t v = 0xA5A5A5A5u;
    if (data) std::memcpy(&v, data->data() + 4 * j, 4);
    top.ext_rsp_data_i[e * bytes_per_cycle / 4 + j] = v;
  }
}

// The core's trace slots (trace_start_o, trace_done_o): the DMA engines, the matrix engine, the
// vector engine, the collective unit. The slot of an ISA unit, and its name.
inline uint32_t trace_slot(uint8_t unit, uint32_t dma_engines) {
  if (isa::kUnitsDma.contains(unit)) return unit - isa::kUnitsDma.first;
  if (isa::kUnitsMx.contains(unit)) return dma_engines + (unit - isa::kUnitsMx.first);
  if (unit == uint8_t(isa::Unit::vec)) return dma_engines + 1;
  return dma_engines + 2;
}
inline std::string trace_slot_name(uint32_t s, uint32_t dma_engines) {
  if (s < dma_engines) return "dma" + std::to_string(s);
  if (s == dma_engines) return "mx0";
  return s == dma_engines + 1 ? "vec" : "coll";
}

// Beats of a DMA instruction on its outside channel: every row of `len` bytes is sent in
// ceil(len / bytes_per_cycle) requests, whatever its alignment (dma_engine.sv).
inline uint64_t outside_beats(const isa::Instr& in, uint32_t bytes_per_cycle) {
  return in.n1 * in.n2 * ((in.len + bytes_per_cycle - 1) / bytes_per_cycle);
}

// InputError naming the first instruction of `code` the RTL core does not implement
// (docs/rtl.md), or a program longer than the instruction memory of this build of the core.
// `where` starts the message ("cosim", "chip 0 core 1").
void check_rtl_code(std::span<const isa::Instr> code, const std::string& where);

}  // namespace tessera::cosim
