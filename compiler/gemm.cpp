#include "compiler/gemm.h"

#include <algorithm>

#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "common/util/units.h"
#include "compiler/codegen.h"
#include "compiler/hw.h"
#include "compiler/layout.h"
#include "compiler/schedule.h"
#include "compiler/passes/passes.h"

namespace tessera::compiler {

namespace {

uint64_t align_up(uint64_t a, uint64_t b) { return (a + b - 1) / b * b; }

Tensor tensor(const std::string& name, TensorKind kind, std::vector<uint64_t> shape, isa::DType dtype) {
  Tensor t;
  t.name = name;
  t.kind = kind;
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.per_layer = true;  // the node is emitted as the one op of a layer segment
  t.tier = isa::Space::hbm;
  return t;
}

}  // namespace

GemmProgram compile_gemm(const config::ArchConfig& arch, const GemmSpec& s) {
  if (s.m == 0 || s.k == 0 || s.n == 0) throw InputError("gemm: m, k and n must be at least 1");
  const bool os = s.dataflow == isa::Dataflow::os;
  Hw hw = hw_of(arch);
  if (!hw.supports(s.precision))
    throw InputError("gemm: precision " + std::string(num::dtype_name(num::DType(s.precision))) +
                     " is not in matrix.precisions of " + arch.name);
  if (os && !hw.os) throw InputError("gemm: dataflow os is not in matrix.dataflows of " + arch.name);
  if (!os && !config::supports(arch, config::Dataflow::ws))
    throw InputError("gemm: dataflow ws is not in matrix.dataflows of " + arch.name);
  if (s.cores == 0 || s.cores > hw.cores)
    throw InputError("gemm: cores " + std::to_string(s.cores) + " is outside 1.." + std::to_string(hw.cores) +
                     " (chip.cores of " + arch.name + ")");
  check_token_depth(hw);
  // Refused before tiling, whose work grows with the shape: operands that cannot fit the HBM
  // by their element sizes alone (the layout below adds alignment and packing).
  const unsigned __int128 es = num::dtype_bytes(num::DType(s.precision));
  const unsigned __int128 operand_bytes = (unsigned __int128)s.m * s.k * es + (unsigned __int128)s.k * s.n * es +
                                          (unsigned __int128)s.m * s.n * 4;
  if (operand_bytes > hw.hbm_bytes) {
    const uint64_t shown = operand_bytes > UINT64_MAX ? UINT64_MAX : uint64_t(operand_bytes);
    throw InputError("gemm m=" + std::to_string(s.m) + " k=" + std::to_string(s.k) + " n=" + std::to_string(s.n) +
                     ": A, B and C need at least " + bytes_text(shown) + " of HBM, " + arch.name + " has " +
                     bytes_text(hw.hbm_bytes));
  }
  // The GEMM runs on the first `cores` cores of chip 0: the plan's core grid is chosen
  // among them, and only they get programs.
  hw.cores = s.cores;

  Graph g;
  g.arch_name = arch.name;
  g.precision.weights = g.precision.activations = s.precision;
  const isa::DType acc_type = s.precision == isa::DType::int8 ? isa::DType::int32 : isa::DType::fp32;
  const int a = g.add_tensor(tensor("a", TensorKind::Activation, {s.m, s.k}, s.precision));
  const int b = g.add_tensor(tensor("b", TensorKind::Weight, {s.k, s.n}, s.precision));
  const int c = g.add_tensor(tensor("c", TensorKind::Logits, {s.m, s.n}, acc_type));
  Op op;
  op.kind = OpKind::Linear;
  op.name = "gemm";
  op.per_layer = true;
  op.epilogue = Epilogue::Logits;  // the sums leave the accumulators unchanged
  op.dataflow = s.dataflow;
  op.inputs = {a};
  op.outputs = {c};
  op.weight = b;
  op.macs = s.m * s.k * s.n;
  g.ops.push_back(op);
  g.passes_run.push_back("gemm");
  run_tiling(g, hw);

  // HBM: A, then B from a DRAM bank-group window (its packed chunks are laid out against
  // those windows, layout.h), then C.
  const MatmulPlan& plan = g.ops[0].plan;
  for (Tensor& t : g.tensors) t.bytes = t.shape[0] * t.shape[1] * num::dtype_bytes(num::DType(t.dtype));
  g.tensors[size_t(b)].bytes = plan.chunk_offset.back();
  const uint64_t window = std::max<uint64_t>(4096, hw.dram_bg_window);
  g.tensors[size_t(a)].addr = 0;
  g.tensors[size_t(b)].addr = align_up(g.tensors[size_t(a)].bytes, window);
  g.tensors[size_t(c)].addr = align_up(g.tensors[size_t(b)].addr + g.tensors[size_t(b)].bytes, 4096);
  const uint64_t end = g.tensors[size_t(c)].addr + g.tensors[size_t(c)].bytes;
  if (end > hw.hbm_bytes)
    throw InputError("gemm: A, B and C need " + std::to_string(end) + " bytes of HBM, " + arch.name + " has " +
                     std::to_string(hw.hbm_bytes));

  CompileOptions opt;
  opt.segment.kind = Segment::Layer;
  opt.segment.steady = false;  // one matmul, nothing before it
  Compiled out;
  Codegen cg(g, hw, opt, out);
  GemmProgram r;
  r.program.arch_name = arch.name;
  r.program.arch_fingerprint = config::fingerprint(arch);
  r.program.text = cg.run();
  isa::validate(r.program, arch);
  r.plan = plan;
  r.a_addr = g.tensors[size_t(a)].addr;
  r.b_addr = g.tensors[size_t(b)].addr;
  r.c_addr = g.tensors[size_t(c)].addr;
  r.b_bytes = g.tensors[size_t(b)].bytes;
  r.engines = hw.engines;
  r.cores = plan.m_groups * plan.n_groups;
  for (const isa::TextSection& t : r.program.text)
    for (const isa::Instr& in : t.code) r.matmuls += in.op == isa::Opcode::matmul;
  return r;
}

std::vector<isa::DataSection> gemm_data(const GemmProgram& g, const GemmSpec& s, const std::vector<uint8_t>& a,
                                        const std::vector<uint8_t>& b) {
  const uint64_t es = num::dtype_bytes(num::DType(s.precision));
  if (a.size() != s.m * s.k * es || b.size() != s.k * s.n * es)
    throw InputError("gemm data: A needs " + std::to_string(s.m * s.k * es) + " and B " +
                     std::to_string(s.k * s.n * es) + " bytes");
  const bool os = s.dataflow == isa::Dataflow::os;
  isa::DataSection da{0, isa::Space::hbm, g.a_addr, std::vector<uint8_t>(a.size())};
  for (uint64_t i = 0; i < s.m; ++i)
    for (uint64_t kk = 0; kk < s.k; ++kk) {
      const uint64_t to = os ? kk * s.m + i : i * s.k + kk;
      std::copy_n(a.begin() + long((i * s.k + kk) * es), es, da.bytes.begin() + long(to * es));
    }
  // B tile by tile (layout.h): element (kk, nn) is row kk - q k_t of the k_rows(q) x width tile
  // of column group nn / n_t (one block per group: the Logits epilogue needs no pairs).
  const MatmulPlan& p = g.plan;
  isa::DataSection db{0, isa::Space::hbm, g.b_addr, std::vector<uint8_t>(g.b_bytes)};
  for (uint64_t kk = 0; kk < s.k; ++kk)
    for (uint64_t nn = 0; nn < s.n; ++nn) {
      const uint64_t grp = nn / p.n_t, q = kk / p.k_t;
      const uint64_t at = packed_tile_offset(p, grp, q, 0, es) +
                          ((kk - q * p.k_t) * block_cols(p, grp, 0).width + nn % p.n_t) * es;
      std::copy_n(b.begin() + long((kk * s.n + nn) * es), es, db.bytes.begin() + long(at));
    }
  return {da, db};
}

}  // namespace tessera::compiler
