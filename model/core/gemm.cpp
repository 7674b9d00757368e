#include "model/core/gemm.h"

#include <algorithm>
#include <vector>

#include "common/config/config.h"
#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "model/core/program_util.h"

namespace tessera::model {

using isa::Instr;
using isa::Opcode;
using isa::Space;

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint64_t align(uint64_t a, uint64_t b) { return ceil_div(a, b) * b; }
uint16_t bit(int unit) { return unit_bit(unit); }

}  // namespace

GemmProgram build_gemm(const config::ArchConfig& cfg, const GemmSpec& s) {
  if (s.m == 0 || s.k == 0 || s.n == 0) throw InputError("gemm: m, k and n must be at least 1");
  const bool os = s.dataflow == isa::Dataflow::os;
  const auto prec = config::MatrixPrecision(uint8_t(s.precision));
  if (uint8_t(s.precision) > uint8_t(isa::DType::bf16) || !config::supports(cfg, prec))
    throw InputError("gemm: precision " + std::string(num::dtype_name(num::DType(s.precision))) +
                     " is not in matrix.precisions of " + cfg.name);
  if (!config::supports(cfg, os ? config::Dataflow::os : config::Dataflow::ws))
    throw InputError(std::string("gemm: dataflow ") + (os ? "os" : "ws") + " is not in matrix.dataflows of " + cfg.name);
  if (cfg.core.dma_engines < 2) throw InputError("gemm: needs core.dma_engines >= 2 (one loads, one stores)");
  const uint64_t R = uint64_t(cfg.matrix.rows), C = uint64_t(cfg.matrix.cols);
  const uint64_t es = num::dtype_bytes(num::DType(s.precision));
  const uint32_t E = uint32_t(cfg.core.matrix_engines);
  const uint64_t acc_rows = uint64_t(cfg.accumulator.bytes) / (4 * C);
  const uint64_t l1 = uint64_t(cfg.l1.bytes);
  const uint64_t max_stream = uint64_t(cfg.matrix.max_stream);

  GemmProgram g;
  g.engines = E;
  g.n_t = std::min(s.n, C);
  // Two output tiles per accumulator (one filling while the other is stored), two A and two
  // B slots per engine in L1.
  auto slots_fit = [&](uint64_t a_block, uint64_t b_block) { return 2 * E * (a_block + b_block) <= l1; };
  if (!os) {
    g.k_t = std::min(s.k, R);
    g.m_t = std::min({s.m, max_stream, acc_rows / 2});
    while (g.m_t > 1 && !slots_fit(g.m_t * g.k_t * es, g.k_t * g.n_t * es)) g.m_t = ceil_div(g.m_t, 2);
  } else {
    g.m_t = std::min({s.m, R, acc_rows / 2});
    g.k_t = std::min(s.k, max_stream);
    while (g.k_t > 1 && !slots_fit(g.k_t * g.m_t * es, g.k_t * g.n_t * es)) g.k_t = ceil_div(g.k_t, 2);
  }
  if (g.m_t == 0 || !slots_fit(g.m_t * g.k_t * es, g.k_t * g.n_t * es))
    throw InputError("gemm: no tile of this shape fits l1.bytes and accumulator.bytes of " + cfg.name);
  const uint64_t a_block = align(g.m_t * g.k_t * es, 64), b_block = align(g.k_t * g.n_t * es, 64);
  // L1: engine e's A slots at e*2*(a+b), B slots after them.
  auto a_slot = [&](uint32_t e, uint64_t i) { return e * 2 * (a_block + b_block) + (i % 2) * a_block; };
  auto b_slot = [&](uint32_t e, uint64_t i) { return e * 2 * (a_block + b_block) + 2 * a_block + (i % 2) * b_block; };
  const uint64_t tile_acc = g.m_t * C * 4;  // one accumulator region

  g.a_addr = 0;
  g.b_addr = align(s.m * s.k * es, 4096);
  g.c_addr = g.b_addr + align(s.k * s.n * es, 4096);

  const uint64_t mb = ceil_div(s.m, g.m_t), nb = ceil_div(s.n, g.n_t), kb = ceil_div(s.k, g.k_t);
  const int loader = 0, storer = int(cfg.core.dma_engines) - 1;
  std::vector<Instr> code;
  // Steps and tiles done per engine, for the slot and token rules.
  std::vector<uint64_t> steps(E, 0), tiles(E, 0);
  const uint64_t ntiles = mb * nb;
  for (uint64_t t0 = 0; t0 < ntiles; t0 += E) {
    const uint32_t active = uint32_t(std::min<uint64_t>(E, ntiles - t0));
    for (uint64_t q = 0; q < kb; ++q) {
      for (uint32_t e = 0; e < active; ++e) {
        const uint64_t t = t0 + e, i = t / nb, j = t % nb;
        const uint64_t mt = std::min(g.m_t, s.m - i * g.m_t), nt = std::min(g.n_t, s.n - j * g.n_t);
        const uint64_t kt = std::min(g.k_t, s.k - q * g.k_t);
        const int mx = 4 + int(e);
        const uint64_t step = steps[e]++;
        // A (ws: mt rows of kt; os: A^T, kt rows of mt) and B (kt rows of nt) into this step's slots.
        Instr la = os ? dma_copy(Opcode::load, loader, Space::l1, a_slot(e, step), Space::hbm,
                            g.a_addr + (q * g.k_t * s.m + i * g.m_t) * es, mt * es, kt, mt * es, s.m * es)
                      : dma_copy(Opcode::load, loader, Space::l1, a_slot(e, step), Space::hbm,
                            g.a_addr + (i * g.m_t * s.k + q * g.k_t) * es, kt * es, mt, kt * es, s.k * es);
        if (step >= 2) la.wait = bit(mx);  // the slots were last read by step - 2
        code.push_back(la);
        Instr lb = dma_copy(Opcode::load, loader, Space::l1, b_slot(e, step), Space::hbm,
                       g.b_addr + (q * g.k_t * s.n + j * g.n_t) * es, nt * es, kt, nt * es, s.n * es);
        lb.signal = bit(mx);
        code.push_back(lb);
        Instr mm;
        mm.op = Opcode::matmul;
        mm.unit = uint8_t(mx);
        mm.a_type = mm.b_type = uint64_t(s.precision);
        mm.dataflow = uint64_t(s.dataflow);
        mm.accumulate = q > 0 ? 1 : 0;
        mm.a_addr = a_slot(e, step);
        mm.b_addr = b_slot(e, step);
        mm.c_addr = (tiles[e] % 2) * tile_acc;
        mm.m = mt;
        mm.k = kt;
        mm.n = nt;
        mm.a_stride = (os ? mt : kt) * es;
        mm.b_stride = nt * es;
        mm.c_stride = C * 4;
        mm.wait = bit(loader);
        if (q == 0 && tiles[e] >= 2) mm.wait |= bit(storer);  // region stored by the tile two back
        mm.signal = bit(loader);
        if (q == kb - 1) mm.signal |= bit(storer);
        code.push_back(mm);
        ++g.matmuls;
      }
    }
    for (uint32_t e = 0; e < active; ++e) {
      const uint64_t t = t0 + e, i = t / nb, j = t % nb;
      const uint64_t mt = std::min(g.m_t, s.m - i * g.m_t), nt = std::min(g.n_t, s.n - j * g.n_t);
      Instr st = dma_copy(Opcode::store, storer, Space::hbm, g.c_addr + (i * g.m_t * s.n + j * g.n_t) * 4, Space::acc,
                     (tiles[e] % 2) * tile_acc, nt * 4, mt, s.n * 4, C * 4);
      st.acc_engine = e;
      st.wait = bit(4 + int(e));
      st.signal = bit(4 + int(e));
      code.push_back(st);
      ++tiles[e];
    }
  }
  Instr halt;
  halt.op = Opcode::halt;
  halt.unit = uint8_t(isa::Unit::seq);
  code.push_back(halt);

  g.program.arch_name = cfg.name;
  g.program.arch_fingerprint = config::fingerprint(cfg);
  g.program.text.push_back(isa::TextSection{0, 0, std::move(code)});
  return g;
}

}  // namespace tessera::model
