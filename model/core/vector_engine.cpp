#include "model/core/vector_engine.h"

#include <algorithm>
#include <array>

#include "model/core/functional.h"
#include "model/core/system.h"

namespace tessera::model {

using isa::Space;

VectorEngine::VectorEngine(sc_core::sc_module_name name, Core& c, int unit_id) : Unit(name, c, unit_id) {}

namespace {

// The timing class and operand shapes of spec/isa.yaml for one vector instruction.
timing::VecShape vector_shape(const isa::Instr& in, const Core& core) {
  const isa::OpcodeInfo& info = isa::info(in.op);
  timing::VecShape s;
  s.rows = in.rows;
  s.cols = in.cols;
  s.iarg = std::max<uint64_t>(in.iarg, 1);
  s.cls = info.vector_class;
  s.src2_shape = info.shapes[2];
  s.has_src1 = info.shapes[1] != isa::OperandShape::none;
  auto operand = [&](uint64_t space, uint64_t addr, uint64_t stride, uint64_t type) {
    timing::VecOperand o;
    o.tier = core.tier(Space(space));
    o.addr = addr;
    o.stride = stride;
    o.elem_bytes = dtype_size(type);
    return o;
  };
  s.src1 = operand(in.src1_space, in.src1_addr, in.src1_stride, in.src1_type);
  s.src2 = operand(in.src2_space, in.src2_addr, in.src2_stride, in.src2_type);
  s.dst = operand(in.dst_space, in.dst_addr, in.dst_stride, in.dst_type);
  if (!s.has_src1) s.src1.tier = nullptr;
  if (s.src2_shape == isa::OperandShape::none) s.src2.tier = nullptr;
  return s;
}

// The rows of operand `k` (0 dst, 1 src1, 2 src2) as the DRAM and the SRAM ports see them.
isa::OperandRows operand_rows(const isa::Instr& in, int k) {
  const isa::OperandShape shape = isa::info(in.op).shapes[size_t(k)];
  const uint64_t stride = k == 0 ? in.dst_stride : k == 1 ? in.src1_stride : in.src2_stride;
  const uint64_t type = k == 0 ? in.dst_type : k == 1 ? in.src1_type : in.src2_type;
  return isa::operand_rows(shape, in.rows, in.cols, stride, dtype_size(type), std::max<uint64_t>(in.iarg, 1));
}

dram::Pattern3D pattern_of(uint64_t addr, const isa::OperandRows& x) {
  dram::Pattern3D p;
  p.base = addr;
  p.len = x.row_bytes;
  p.n1 = x.rows;
  p.n2 = 1;
  p.stride1 = x.stride;
  p.stride2 = 0;
  if (x.rows > 1 && x.stride == 0) {  // a broadcast row is read once
    p.n1 = 1;
  }
  return p;
}

// Accesses of one port: `beats` lane-groups, split into full and partial widths.
void count_port(SramTraffic* t, bool write, uint64_t rows, uint64_t cols, uint64_t lanes, uint64_t es, bool packed) {
  if (!t) return;
  auto add = [&](uint64_t width, uint64_t count) { write ? t->write(width, count) : t->read(width, count); };
  if (packed) {
    const uint64_t g = lanes / cols;
    add(g * cols * es, rows / g);
    add((rows % g) * cols * es, 1);
  } else {
    add(lanes * es, rows * (cols / lanes));
    add((cols % lanes) * es, rows);
  }
}

}  // namespace

bool VectorEngine::step(const isa::Instr& in, uint32_t index, uint64_t arrival) {
  const timing::VecShape shape = vector_shape(in, core);
  const bool packed = !(shape.cls == timing::VecClass::reduce || shape.cls == timing::VecClass::topk) && in.cols < core.p.lanes;
  InstrRecord& rec = core.records[index];
  if (phase_ == 0) {
    bool done;
    if (!begin(in, index, arrival, T_, done)) return false;
    if (done) return true;
    if (core.sys.functional()) {
      fn_vector(in, [this](Space s, uint32_t e) -> SparseMemory& { return core.memory(s, e); }, core.p.lanes,
                core.numeric);
    }
    // Elements by energy class: topk passes over its row iarg times (docs/energy.md).
    core.vector_elements[size_t(isa::info(in.op).energy_class)] +=
        in.rows * in.cols * (shape.cls == timing::VecClass::topk ? std::max<uint64_t>(in.iarg, 1) : 1);
    // Traffic of the SRAM ports.
    const uint64_t L = core.p.lanes;
    if (shape.has_src1) {
      count_port(core.traffic(Space(in.src1_space), uint32_t(in.acc_engine)), false, in.rows, in.cols, L,
                 shape.src1.elem_bytes, packed);
    }
    if (shape.src2_shape != timing::OperandShape::none) {
      const isa::OperandRows x = operand_rows(in, 2);
      SramTraffic* t = core.traffic(Space(in.src2_space), uint32_t(in.acc_engine));
      if (t) t->read(x.row_bytes, x.rows);
    }
    {
      const isa::OperandRows x = operand_rows(in, 0);
      SramTraffic* t = core.traffic(Space(in.dst_space), uint32_t(in.acc_engine));
      if (shape.cls == timing::VecClass::reduce || shape.cls == timing::VecClass::topk) {
        if (t) t->write(x.row_bytes, x.rows);
      } else {
        count_port(t, true, in.rows, in.cols, L, shape.dst.elem_bytes, packed);
      }
    }
    // Sources in DRAM are read before the first beat issues.
    reads_left_ = 0;
    read_done_ = T_;
    write_pending_ = false;
    auto read_operand = [&](uint64_t addr, const isa::OperandRows& x) {
      ++reads_left_;
      core.chip.dram->request(pattern_of(addr, x), false, dram_outstanding(core.p), T_, core.key(id),
                              [this](uint64_t done) {
                                read_done_ = std::max(read_done_, done);
                                --reads_left_;
                                dram_ev_.notify();
                              });
    };
    if (shape.has_src1 && Space(in.src1_space) == Space::hbm) read_operand(in.src1_addr, operand_rows(in, 1));
    if (shape.src2_shape != timing::OperandShape::none && Space(in.src2_space) == Space::hbm)
      read_operand(in.src2_addr, operand_rows(in, 2));
    phase_ = 1;
  }
  if (phase_ == 1) {
    if (reads_left_ > 0) {
      waiting_ = "waits for its DRAM operand reads";
      next_trigger(dram_ev_);
      return false;
    }
    std::array<uint64_t, 18> key{uint64_t(shape.cls), uint64_t(shape.src2_shape), shape.has_src1, shape.rows,
                                 shape.cols, shape.iarg};
    size_t k = 6;
    for (const timing::VecOperand* o : {&shape.src1, &shape.src2, &shape.dst}) {
      key[k++] = reinterpret_cast<uintptr_t>(o->tier);  // the architecture's tiers, shared by every core
      key[k++] = o->addr;
      key[k++] = o->stride;
      key[k++] = o->elem_bytes;
    }
    auto [it, fresh] = core.sys.vec_timings.try_emplace(key);
    if (fresh) it->second = timing::vector_timing(shape, core.p.lanes, core.p.special_cycles);
    const timing::VecTiming vt = it->second;
    const uint64_t first = read_done_;  // = T when no operand is in DRAM
    st.stall_dram += first - T_;
    st.bank_conflict += vt.conflicts;
    // Operands from L2 take longer than the L1 read the pipeline depth covers.
    uint64_t extra = 0;
    auto slower = [&](uint64_t space) {
      if (Space(space) == Space::l2 && core.p.l2.latency > core.p.l1.latency)
        extra = std::max(extra, core.p.l2.latency - core.p.l1.latency);
    };
    if (shape.has_src1) slower(in.src1_space);
    if (shape.src2_shape != timing::OperandShape::none) slower(in.src2_space);
    // Each SRAM operand moves its bytes over the issue cycles through its tier's ports (and for
    // L2 the on-chip network), shared with the tier's other clients.
    uint64_t lost = 0;
    auto through_ports = [&](uint64_t space, int k, bool write) {
      const isa::OperandRows r = operand_rows(in, k);
      const uint64_t bytes = r.row_bytes * (r.stride == 0 ? 1 : r.rows), issue = std::max<uint64_t>(vt.issue, 1);
      lost = std::max(lost, contend(Space(space), uint32_t(in.acc_engine), write, first, bytes, (bytes + issue - 1) / issue));
    };
    if (shape.has_src1) through_ports(in.src1_space, 1, false);
    if (shape.src2_shape != timing::OperandShape::none) through_ports(in.src2_space, 2, false);
    through_ports(in.dst_space, 0, true);
    const uint64_t x = first + vt.issue - 1 + lost + core.p.vec_latency + vt.tail + extra;
    write_done_ = x;
    if (Space(in.dst_space) == Space::hbm) {
      write_pending_ = true;
      core.chip.dram->request(pattern_of(in.dst_addr, operand_rows(in, 0)), true, dram_outstanding(core.p), x,
                              core.key(id), [this](uint64_t done) {
                                write_done_ = std::max(write_done_, done);
                                write_pending_ = false;
                                dram_ev_.notify();
                              });
    }
    rec.S = first;
    phase_ = 2;
  }
  if (write_pending_) {
    waiting_ = "waits for its DRAM result write";
    next_trigger(dram_ev_);
    return false;
  }
  complete(in, index, T_, write_done_);
  return true;
}

}  // namespace tessera::model
