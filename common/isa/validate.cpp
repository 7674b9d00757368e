// validate(): the `checks` of spec/isa.yaml that depend on the architecture. Each failure
// names its check id, so docs/isa.md's table explains it.
#include <algorithm>
#include <bit>
#include <map>
#include <utility>

#include "common/config/config.h"
#include "common/config/derived.h"
#include "common/isa/isa.h"
#include "common/isa/text_util.h"
#include "common/numerics/fp.h"
#include "common/util/error.h"

namespace tessera::isa {

namespace {

using detail::hex;

[[noreturn]] void fail(Check check, const std::string& where, const std::string& msg) {
  throw InputError(where + ": " + msg + " [check: " + name(check) + "]");
}

uint64_t dtype_size(uint64_t code) { return num::dtype_bytes(static_cast<num::DType>(code)); }

const char* dtype_text(uint64_t code) { return enum_name(EnumType::dtype, code); }

uint64_t space_size(const config::ArchConfig& a, Space s) {
  switch (s) {
    case Space::hbm: return config::dram_capacity_bytes(a);
    case Space::l2: return static_cast<uint64_t>(a.l2.bytes);
    case Space::l1: return static_cast<uint64_t>(a.l1.bytes);
    case Space::acc: return static_cast<uint64_t>(a.accumulator.bytes);
  }
  return 0;
}

// Position of `unit` within its class (dma2 -> 2, mx3 -> 3), for the per-configuration counts.
unsigned index_in_class(UnitClass c, unsigned unit) {
  unsigned idx = 0;
  for (uint8_t u : enum_codes(EnumType::unit)) {
    if (u == unit) break;
    if (unit_in_class(c, u)) ++idx;
  }
  return idx;
}

bool unit_exists(const config::ArchConfig& a, unsigned unit) {
  if (enum_name(EnumType::unit, unit) == nullptr) return false;
  if (unit_in_class(UnitClass::dma, unit)) {
    return index_in_class(UnitClass::dma, unit) < static_cast<uint64_t>(a.core.dma_engines);
  }
  if (unit_in_class(UnitClass::mx, unit)) {
    return index_in_class(UnitClass::mx, unit) < static_cast<uint64_t>(a.core.matrix_engines);
  }
  return true;  // vec, coll and seq are in every core
}

std::string unit_text(unsigned unit) {
  const char* n = enum_name(EnumType::unit, unit);
  return n ? n : "bit " + std::to_string(unit);
}

uint64_t get(const Instr& x, const FieldInfo& f) {
  return f.kind == FieldKind::f32 ? std::bit_cast<uint32_t>(x.*f.f32) : x.*f.u64;
}

std::string value_text(const FieldInfo& f, uint64_t v) {
  if (f.kind == FieldKind::f32) return detail::format_f32_bits(static_cast<uint32_t>(v));
  if (f.kind == FieldKind::enumeration) {
    if (const char* n = enum_name(f.enum_type, v)) return n;
  }
  return f.hex ? hex(v) : std::to_string(v);
}

std::optional<config::MatrixPrecision> matrix_precision(DType t) {
  switch (t) {
    case DType::int8: return config::MatrixPrecision::int8;
    case DType::fp8_e4m3: return config::MatrixPrecision::fp8_e4m3;
    case DType::fp8_e5m2: return config::MatrixPrecision::fp8_e5m2;
    case DType::bf16: return config::MatrixPrecision::bf16;
    default: return std::nullopt;
  }
}

class InstrChecker {
 public:
  InstrChecker(const config::ArchConfig& a, const Instr& x, std::string where)
      : a_(a), x_(x), op_(info(x.op)), fmt_(info(op_.format)), where_(std::move(where)) {}

  void run() {
    check_units();
    check_fields();
    check_acc_engine();
    switch (op_.format) {
      case Format::dma: check_dma(); break;
      case Format::matmul: check_matmul(); break;
      case Format::vector: check_vector(); break;
      case Format::coll: check_coll(); break;
      case Format::none:
      case Format::sync:
      case Format::barrier: break;
    }
  }

 private:
  [[noreturn]] void fail(Check c, const std::string& msg) const { isa::fail(c, where_, msg); }

  void check_units() const {
    if (!unit_exists(a_, x_.unit)) {
      fail(Check::unit_exists, "unit " + unit_text(x_.unit) + " does not exist in this configuration (core has " +
                                   std::to_string(a_.core.dma_engines) + " DMA and " +
                                   std::to_string(a_.core.matrix_engines) + " matrix engines)");
    }
    if (!unit_in_class(op_.unit_class, x_.unit)) {
      fail(Check::unit_class, std::string(op_.name) + " runs on class " + name(op_.unit_class) + ", not on " +
                                  unit_text(x_.unit));
    }
    const bool sequencer = op_.unit_class == UnitClass::seq;
    for (const auto& [mask, label] : {std::pair{x_.wait, "wait"}, std::pair{x_.signal, "signal"}}) {
      if (sequencer && mask != 0) {
        fail(Check::token_mask, std::string(op_.name) + " runs in the sequencer, which has no token counters: " +
                                    label + " must be empty");
      }
      for (unsigned u = 0; u < 16; ++u) {
        if (!((mask >> u) & 1)) continue;
        if (unit_in_class(UnitClass::seq, u) || enum_name(EnumType::unit, u) == nullptr) {
          fail(Check::token_mask, std::string(label) + " names " + unit_text(u) + ", which has no token counter");
        }
        if (!unit_exists(a_, u)) {
          fail(Check::token_mask, std::string(label) + " names " + unit_text(u) +
                                      ", which does not exist in this configuration");
        }
      }
    }
    if (x_.op == Opcode::tpush && x_.signal == 0) fail(Check::token_mask, "tpush needs a non-empty signal mask");
    if (x_.op == Opcode::tpop && x_.wait == 0) fail(Check::token_mask, "tpop needs a non-empty wait mask");
  }

  void check_fields() const {
    for (size_t i = 0; i < fmt_.fields.size(); ++i) {
      const FieldInfo& f = fmt_.fields[i];
      const uint64_t v = get(x_, f);
      const bool used = (op_.used_fields >> i) & 1;
      if (used && v < f.min) {
        fail(Check::field_min, std::string("field ") + f.name + " = " + std::to_string(v) + ", minimum " +
                                   std::to_string(f.min));
      }
      if (!used && v != 0 && std::string_view(f.name) != "acc_engine") {
        fail(Check::unused_zero, std::string("field ") + f.name + " is not read by " + op_.name +
                                     " and must be 0, got " + value_text(f, v));
      }
    }
  }

  bool uses(std::string_view field) const {
    for (size_t i = 0; i < fmt_.fields.size(); ++i) {
      if (fmt_.fields[i].name == field) return (op_.used_fields >> i) & 1;
    }
    return false;
  }

  void check_acc_engine() const {
    const FieldInfo* eng = find_field(op_.format, "acc_engine");
    if (eng == nullptr) return;
    bool acc = false;
    for (size_t i = 0; i < fmt_.fields.size(); ++i) {
      const FieldInfo& f = fmt_.fields[i];
      if (f.enum_type == EnumType::space && ((op_.used_fields >> i) & 1) && get(x_, f) == uint64_t(Space::acc)) {
        acc = true;
      }
    }
    const uint64_t e = x_.acc_engine;
    if (acc && e >= static_cast<uint64_t>(a_.core.matrix_engines)) {
      fail(Check::acc_engine, "acc_engine " + std::to_string(e) + " names a matrix engine this core lacks (" +
                                  std::to_string(a_.core.matrix_engines) + " engines)");
    }
    if (!acc && e != 0) {
      fail(Check::acc_engine, "acc_engine must be 0 when no operand is in acc space, got " + std::to_string(e));
    }
  }

  // [addr, addr + extent) must lie inside the space.
  void extent(const char* operand, uint64_t space, uint64_t addr, uint64_t bytes) const {
    const auto s = static_cast<Space>(space);
    const uint64_t size = space_size(a_, s);
    if (size == 0) {
      fail(Check::extent, std::string(operand) + " is in " + name(s) + ", which this configuration does not have");
    }
    if (addr > size || bytes > size - addr) {
      fail(Check::extent, std::string(operand) + " touches bytes " + hex(addr) + " .. " + hex(addr + bytes - 1) +
                              " of " + name(s) + ", which has " + std::to_string(size) + " bytes");
    }
  }

  // Every operand's bytes lie inside its space (operand_extents, in the order it lists them).
  void extents() const {
    for (const OperandExtent& o : operand_extents(x_)) extent(o.name, uint64_t(o.space), o.addr, o.bytes);
  }

  void check_dma() const {
    if (x_.op == Opcode::load && x_.dst_space < x_.src_space) {
      fail(Check::dma_direction, std::string("load copies toward the core, but ") + name(Space(x_.src_space)) +
                                     " -> " + name(Space(x_.dst_space)) + " moves away from it (use store)");
    }
    if (x_.op == Opcode::store && x_.dst_space > x_.src_space) {
      fail(Check::dma_direction, std::string("store copies away from the core, but ") + name(Space(x_.src_space)) +
                                     " -> " + name(Space(x_.dst_space)) + " moves toward it (use load)");
    }
    check_predicate();
    extents();
  }

  // Predicated load, store and matmul (spec/isa.yaml pred_words, pred_addr).
  void check_predicate() const {
    if (x_.pred_words == 0 && x_.pred_addr != 0) {
      fail(Check::predicate, "pred_addr " + hex(x_.pred_addr) + " without pred_words (an unconditional " +
                                 "instruction has pred_addr 0)");
    }
    if (x_.pred_words > 0 && x_.pred_addr % 4 != 0) {
      fail(Check::predicate, "pred_addr " + hex(x_.pred_addr) + " is not a multiple of 4 (the predicate is 32-bit words)");
    }
  }

  void check_matmul() const {
    for (auto [t, label] : {std::pair{x_.a_type, "a_type"}, std::pair{x_.b_type, "b_type"}}) {
      if (!matrix_precision(DType(t))) {
        fail(Check::matmul_types, std::string(label) + " " + dtype_text(t) +
                                      " is not a matrix input format (int8, fp8_e4m3, fp8_e5m2, bf16)");
      }
    }
    if ((x_.a_type == uint64_t(DType::int8)) != (x_.b_type == uint64_t(DType::int8))) {
      fail(Check::matmul_types, std::string("int8 multiplies only with int8, got a_type ") + dtype_text(x_.a_type) +
                                    " and b_type " + dtype_text(x_.b_type));
    }
    for (auto [t, label] : {std::pair{x_.a_type, "a_type"}, std::pair{x_.b_type, "b_type"}}) {
      if (!config::supports(a_, *matrix_precision(DType(t)))) {
        fail(Check::matmul_precision,
             std::string(label) + " " + dtype_text(t) + " is not in matrix.precisions of this configuration");
      }
    }
    const bool ws = x_.dataflow == uint64_t(Dataflow::ws);
    if (!config::supports(a_, ws ? config::Dataflow::ws : config::Dataflow::os)) {
      fail(Check::matmul_dataflow, std::string("dataflow ") + (ws ? "ws" : "os") + " is not in matrix.dataflows");
    }
    const auto R = static_cast<uint64_t>(a_.matrix.rows), C = static_cast<uint64_t>(a_.matrix.cols);
    const auto max_stream = static_cast<uint64_t>(a_.matrix.max_stream);
    auto limit = [&](const char* field, uint64_t v, uint64_t max, const char* key) {
      if (v > max) {
        fail(Check::matmul_shape, std::string(ws ? "ws" : "os") + ": " + field + " = " + std::to_string(v) +
                                      " exceeds " + key + " = " + std::to_string(max));
      }
    };
    if (ws) {
      limit("k", x_.k, R, "matrix.rows");
      limit("n", x_.n, C, "matrix.cols");
      limit("m", x_.m, max_stream, "matrix.max_stream");
    } else {
      limit("m", x_.m, R, "matrix.rows");
      limit("n", x_.n, C, "matrix.cols");
      limit("k", x_.k, max_stream, "matrix.max_stream");
    }
    const uint64_t row = 4 * C;
    if (x_.c_addr % row != 0 || x_.c_stride % row != 0) {
      fail(Check::matmul_acc_layout, "c_addr " + hex(x_.c_addr) + " and c_stride " + std::to_string(x_.c_stride) +
                                         " must be multiples of 4 x matrix.cols = " + std::to_string(row));
    }
    check_predicate();
    extents();
  }

  struct Operand {
    const char* label;
    OperandShape shape;
    uint64_t space, type, addr, stride;
  };

  void check_vector() const {
    const Operand ops[3] = {
        {"dst", op_.shapes[0], x_.dst_space, x_.dst_type, x_.dst_addr, x_.dst_stride},
        {"src1", op_.shapes[1], x_.src1_space, x_.src1_type, x_.src1_addr, x_.src1_stride},
        {"src2", op_.shapes[2], x_.src2_space, x_.src2_type, x_.src2_addr, x_.src2_stride},
    };
    for (size_t k = 0; k < 3; ++k) {
      const Operand& o = ops[k];
      if (o.shape == OperandShape::none) continue;
      if (!((op_.types[k] >> o.type) & 1)) {
        std::string allowed;
        for (uint8_t c : enum_codes(EnumType::dtype)) {
          if ((op_.types[k] >> c) & 1) allowed += std::string(allowed.empty() ? "" : " or ") + dtype_text(c);
        }
        fail(Check::vector_types, std::string(o.label) + "_type " + dtype_text(o.type) + " is not allowed for " +
                                      op_.name + " (" + allowed + ")");
      }
      if (o.space == uint64_t(Space::acc)) {
        if (o.type != uint64_t(DType::fp32) && o.type != uint64_t(DType::int32)) {
          fail(Check::vector_types, std::string(o.label) + " is in acc, which holds fp32 or int32, not " +
                                        dtype_text(o.type));
        }
        if (o.addr % 4 != 0 || o.stride % 4 != 0) {
          fail(Check::vector_types, std::string(o.label) + " in acc needs address and stride multiples of 4");
        }
      }
    }
    if (x_.op == Opcode::vtopk && (x_.iarg < 1 || x_.iarg > x_.cols)) {
      fail(Check::vector_args, "vtopk needs 1 <= iarg (k) <= cols = " + std::to_string(x_.cols) + ", got " +
                                   std::to_string(x_.iarg));
    }
    if (x_.op == Opcode::vrope && (x_.iarg < 1 || x_.cols % 2 != 0)) {
      fail(Check::vector_args, "vrope needs iarg (heads per token) >= 1 and an even cols, got iarg " +
                                   std::to_string(x_.iarg) + ", cols " + std::to_string(x_.cols));
    }
    if (x_.op == Opcode::vmask && (x_.iarg & 0xffff) < 1) {
      fail(Check::vector_args, "vmask needs rows per position (iarg & 0xffff) >= 1");
    }
    extents();
  }

  void check_coll() const {
    const auto chips = static_cast<uint64_t>(a_.system.chips);
    for (auto [v, label] : {std::pair{x_.peer_send, "peer_send"}, std::pair{x_.peer_recv, "peer_recv"}}) {
      if (v >= chips) {
        fail(Check::coll_peer, std::string(label) + " = " + std::to_string(v) + " must be less than system.chips = " +
                                   std::to_string(chips) + " (peers are relative offsets)");
      }
    }
    if (x_.op == Opcode::creduce) {
      const auto t = static_cast<DType>(x_.dtype);
      if (t != DType::fp8_e4m3 && t != DType::fp8_e5m2 && t != DType::bf16 && t != DType::fp16 && t != DType::fp32) {
        fail(Check::coll_dtype, std::string("creduce adds in fp32 arithmetic: dtype must be a floating format, got ") +
                                    dtype_text(x_.dtype));
      }
      if (x_.bytes % dtype_size(x_.dtype) != 0) {
        fail(Check::coll_dtype, "bytes = " + std::to_string(x_.bytes) + " is not a whole number of " +
                                    dtype_text(x_.dtype) + " elements");
      }
      if ((x_.send_space == uint64_t(Space::acc) || x_.recv_space == uint64_t(Space::acc)) && t != DType::fp32) {
        fail(Check::coll_dtype, std::string("an acc operand holds fp32, but dtype is ") + dtype_text(x_.dtype));
      }
    }
    extents();
  }

  const config::ArchConfig& a_;
  const Instr& x_;
  const OpcodeInfo& op_;
  const FormatInfo& fmt_;
  std::string where_;
};

std::string text_where(const TextSection& t) {
  return "text section chip " + std::to_string(t.chip) + " core " + std::to_string(t.core);
}

void check_sections(const Program& p, const config::ArchConfig& a) {
  if (p.text.empty()) fail(Check::sections, "program", "has no text section");
  std::map<std::pair<uint32_t, uint32_t>, size_t> seen;
  for (size_t i = 0; i < p.text.size(); ++i) {
    const TextSection& t = p.text[i];
    if (t.chip >= static_cast<uint64_t>(a.system.chips)) {
      fail(Check::sections, text_where(t), "chip " + std::to_string(t.chip) + " is not below system.chips = " +
                                               std::to_string(a.system.chips));
    }
    if (t.core >= static_cast<uint64_t>(a.chip.cores)) {
      fail(Check::sections, text_where(t), "core " + std::to_string(t.core) + " is not below chip.cores = " +
                                               std::to_string(a.chip.cores));
    }
    if (!seen.emplace(std::pair{t.chip, t.core}, i).second) {
      fail(Check::sections, text_where(t), "a second text section for the same chip and core");
    }
  }
  // Data: per (chip, space), sorted by address, no overlaps.
  std::map<std::pair<uint32_t, Space>, std::vector<std::pair<uint64_t, size_t>>> ranges;
  for (size_t i = 0; i < p.data.size(); ++i) {
    const DataSection& d = p.data[i];
    const std::string where = "data section #" + std::to_string(i) + " (chip " + std::to_string(d.chip) + ", " +
                              name(d.space) + " " + hex(d.addr) + ")";
    if (d.chip >= static_cast<uint64_t>(a.system.chips)) {
      fail(Check::data_sections, where, "chip is not below system.chips = " + std::to_string(a.system.chips));
    }
    if (d.space != Space::hbm && d.space != Space::l2) {
      fail(Check::data_sections, where, "initial data goes to hbm or l2 (l1 and acc are filled by DMA)");
    }
    if (d.bytes.empty()) fail(Check::data_sections, where, "is empty");
    const uint64_t size = space_size(a, d.space);
    if (d.addr > size || d.bytes.size() > size - d.addr) {
      fail(Check::data_sections, where, std::to_string(d.bytes.size()) + " bytes do not fit in " + name(d.space) +
                                            " (" + std::to_string(size) + " bytes)");
    }
    ranges[{d.chip, d.space}].emplace_back(d.addr, i);
  }
  for (auto& [key, list] : ranges) {
    std::sort(list.begin(), list.end());
    for (size_t k = 1; k < list.size(); ++k) {
      const DataSection& prev = p.data[list[k - 1].second];
      if (prev.addr + prev.bytes.size() > list[k].first) {
        fail(Check::data_sections, "data section #" + std::to_string(list[k].second),
             "overlaps data section #" + std::to_string(list[k - 1].second) + " in chip " +
                 std::to_string(key.first) + " " + name(key.second));
      }
    }
  }
}

}  // namespace

void validate(const Program& p, const config::ArchConfig& a) {
  check_sections(p, a);
  for (const TextSection& t : p.text) {
    if (t.code.empty() || t.code.back().op != Opcode::halt) {
      fail(Check::halt_last, text_where(t), "does not end with halt");
    }
    for (size_t i = 0; i + 1 < t.code.size(); ++i) {
      if (t.code[i].op == Opcode::halt) {
        fail(Check::halt_last, text_where(t) + ", instruction #" + std::to_string(i) + " (halt)",
             "halt before the end of the section");
      }
    }
    for (size_t i = 0; i < t.code.size(); ++i) {
      InstrChecker(a, t.code[i], text_where(t) + ", instruction #" + std::to_string(i) + " (" + name(t.code[i].op) +
                                     ")")
          .run();
    }
  }
}

}  // namespace tessera::isa
