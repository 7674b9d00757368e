// operand_extents: the one place that says which bytes each operand of an instruction touches.
#include "common/isa/isa.h"

#include <string_view>

#include "common/numerics/fp.h"

namespace tessera::isa {

namespace {

uint64_t dtype_size(uint64_t t) { return num::dtype_bytes(num::DType(t)); }

// Whether the opcode reads field `name` of its format (spec `uses`).
bool uses(const Instr& in, std::string_view name) {
  const OpcodeInfo& op = info(in.op);
  const auto fields = info(op.format).fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (name == fields[i].name) return ((op.used_fields >> i) & 1) != 0;
  }
  return false;
}

}  // namespace

std::vector<OperandExtent> operand_extents(const Instr& in) {
  std::vector<OperandExtent> out;
  const auto e = uint32_t(in.acc_engine);
  switch (format_of(in.op)) {
    case Format::dma:
      out.push_back({"dst", Space(in.dst_space), e, in.dst_addr,
                     (in.n2 - 1) * in.dst_stride2 + (in.n1 - 1) * in.dst_stride1 + in.len, false, true});
      out.push_back({"src", Space(in.src_space), e, in.src_addr,
                     (in.n2 - 1) * in.src_stride2 + (in.n1 - 1) * in.src_stride1 + in.len, true, false});
      if (in.pred_words) out.push_back({"pred", Space::l1, 0, in.pred_addr, 4 * in.pred_words, true, false});
      break;
    case Format::matmul: {
      // ws reads A (m rows of k); os reads A^T (k rows of m).
      const bool os = in.dataflow == uint64_t(Dataflow::os);
      const uint64_t sa = dtype_size(in.a_type), sb = dtype_size(in.b_type);
      const uint64_t a = os ? (in.k - 1) * in.a_stride + in.m * sa : (in.m - 1) * in.a_stride + in.k * sa;
      out.push_back({"A", Space::l1, 0, in.a_addr, a, true, false});
      out.push_back({"B", Space::l1, 0, in.b_addr, (in.k - 1) * in.b_stride + in.n * sb, true, false});
      out.push_back({"C", Space::acc, uint32_t(in.unit - kUnitsMx.first), in.c_addr,
                     (in.m - 1) * in.c_stride + in.n * 4, in.accumulate != 0, true});
      if (in.pred_words) out.push_back({"pred", Space::l1, 0, in.pred_addr, 4 * in.pred_words, true, false});
      break;
    }
    case Format::vector: {
      const OpcodeInfo& info = isa::info(in.op);
      const struct {
        const char* name;
        uint64_t space, type, addr, stride;
      } ops[] = {{"dst", in.dst_space, in.dst_type, in.dst_addr, in.dst_stride},
                 {"src1", in.src1_space, in.src1_type, in.src1_addr, in.src1_stride},
                 {"src2", in.src2_space, in.src2_type, in.src2_addr, in.src2_stride}};
      for (size_t k = 0; k < 3; ++k) {
        if (info.shapes[k] == OperandShape::none) continue;
        const OperandRows rows = operand_rows(info.shapes[k], in.rows, in.cols, ops[k].stride, dtype_size(ops[k].type),
                                              in.iarg);
        out.push_back({ops[k].name, Space(ops[k].space), e, ops[k].addr, rows.extent(), k != 0, k == 0});
      }
      break;
    }
    case Format::coll:
      if (uses(in, "send_space")) out.push_back({"send", Space(in.send_space), e, in.send_addr, in.bytes, true, false});
      if (uses(in, "recv_space")) {  // creduce adds into what it receives
        out.push_back({"recv", Space(in.recv_space), e, in.recv_addr, in.bytes, in.op == Opcode::creduce, true});
      }
      break;
    default:
      break;
  }
  return out;
}

}  // namespace tessera::isa
