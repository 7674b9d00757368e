// The generated tables that other parts rely on instead of restating the spec: the bytes each
// vector operand touches (isa::operand_rows, used by the validator, the compiler's emitter and
// the model) and the unit ranges and counts (used by the model, the emitter and the RTL).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include "common/isa/isa.h"

namespace tessera::isa {
namespace {

// The bytes an operand of `shape` touches, enumerated element by element from the shapes'
// descriptions in spec/isa.yaml (X[r][c] at addr + r*stride + c*size), independently of the
// generated expressions.
std::set<uint64_t> touched(OperandShape shape, uint64_t rows, uint64_t cols, uint64_t stride, uint64_t size,
                           uint64_t iarg) {
  std::set<uint64_t> bytes;
  auto element = [&](uint64_t r, uint64_t c, uint64_t sz, uint64_t col_bytes) {
    for (uint64_t b = 0; b < sz; ++b) bytes.insert(r * stride + c * col_bytes + b);
  };
  switch (shape) {
    case OperandShape::none: break;
    case OperandShape::block:
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t c = 0; c < cols; ++c) element(r, c, size, size);
      break;
    case OperandShape::col0:
      for (uint64_t r = 0; r < rows; ++r) element(r, 0, size, size);
      break;
    case OperandShape::row0:
      for (uint64_t c = 0; c < cols; ++c) element(0, c, size, size);
      break;
    case OperandShape::topk:  // iarg fp32 values then iarg int32 indices per row
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t c = 0; c < 2 * iarg; ++c) element(r, c, 4, 4);
      break;
    case OperandShape::rope_table:  // data row r reads table row r / iarg
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t c = 0; c < cols; ++c) element(r / iarg, c, size, size);
      break;
  }
  return bytes;
}

TEST(IsaTables, OperandRowsCoverExactlyTheBytesEachShapeTouches) {
  const uint32_t seed = 11;
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  const OperandShape shapes[] = {OperandShape::none, OperandShape::block, OperandShape::col0,
                                 OperandShape::row0, OperandShape::topk, OperandShape::rope_table};
  for (int i = 0; i < 300; ++i) {
    for (OperandShape shape : shapes) {
      const uint64_t size = uint64_t(1) << (rng() % 3);
      const uint64_t rows = 1 + rng() % 6, cols = 1 + rng() % 6, iarg = 1 + rng() % 3;
      const uint64_t row_extent = shape == OperandShape::topk ? 8 * iarg : cols * size;
      // Strides at least one row wide: the touched rows do not overlap, so the last byte
      // touched is the extent.
      const uint64_t stride = shape == OperandShape::row0 ? 0 : row_extent + rng() % 9;
      const std::set<uint64_t> want = touched(shape, rows, cols, stride, size, iarg);
      const OperandRows got = operand_rows(shape, rows, cols, stride, size, iarg);
      SCOPED_TRACE(std::string(name(shape)) + " rows " + std::to_string(rows) + " cols " + std::to_string(cols) +
                   " stride " + std::to_string(stride) + " size " + std::to_string(size) + " iarg " +
                   std::to_string(iarg));
      EXPECT_EQ(got.extent(), want.empty() ? 0 : *want.rbegin() + 1);
      // Row by row: got.rows rows of got.row_bytes bytes starting at multiples of the stride.
      std::set<uint64_t> rows_bytes;
      for (uint64_t r = 0; r < got.rows; ++r)
        for (uint64_t b = 0; b < got.row_bytes; ++b) rows_bytes.insert(r * got.stride + b);
      EXPECT_EQ(rows_bytes, want);
    }
  }
}

TEST(IsaTables, UnitRangesMatchTheClassesAndIds) {
  const std::pair<UnitClass, UnitRange> classes[] = {
      {UnitClass::dma, kUnitsDma}, {UnitClass::mx, kUnitsMx},     {UnitClass::vec, kUnitsVec},
      {UnitClass::coll, kUnitsColl}, {UnitClass::seq, kUnitsSeq}, {UnitClass::any, kUnitsAny}};
  for (const auto& [cls, range] : classes) {
    for (unsigned u = 0; u < 16; ++u) EXPECT_EQ(unit_in_class(cls, u), range.contains(u)) << name(cls) << " " << u;
  }
  EXPECT_EQ(kUnitsDma.first, unsigned(Unit::dma0));
  EXPECT_EQ(kUnitsMx.first, unsigned(Unit::mx0));
  EXPECT_EQ(kUnitsSeq.first, unsigned(Unit::seq));
  EXPECT_EQ(kNumUnits, enum_codes(EnumType::unit).size());
  // Every unit but the sequencer has a queue and token counters.
  EXPECT_EQ(kNumQueueUnits, kNumUnits - 1);
}

TEST(IsaTables, EveryVectorOpcodeHasATimingClassFromTheSpec) {
  for (const OpcodeInfo& op : all_opcodes()) {
    if (op.format != Format::vector) continue;
    const bool reduces = op.shapes[0] == OperandShape::col0 || op.shapes[0] == OperandShape::topk;
    // Reductions (and top-k) write one result per row; every other class writes a block.
    EXPECT_EQ(reduces, op.vector_class == VectorClass::reduce || op.vector_class == VectorClass::topk) << op.name;
  }
  EXPECT_EQ(info(Opcode::vexp).vector_class, VectorClass::special);
  EXPECT_EQ(info(Opcode::vtopk).vector_class, VectorClass::topk);
  EXPECT_EQ(info(Opcode::vadd).vector_class, VectorClass::elementwise);
}

}  // namespace
}  // namespace tessera::isa
