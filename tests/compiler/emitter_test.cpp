// The emitter's dependency tokens (compiler/emitter.h): a token stays on the instruction the
// consumer needs while in-order dispatch and the queue depth bound its counter, and moves to
// the producer's latest instruction only when that bound cannot hold. Programs built this
// way run on the model (which fails a run whose counter exceeds core.token_depth) in
// tests/driver.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "compiler/codegen.h"
#include "compiler/emitter.h"

namespace tessera::compiler {
namespace {

constexpr uint64_t kQueueDepth = 16, kTokenDepth = 15, kBlock = 1024;
constexpr uint16_t kVecBit = uint16_t(1u << uint8_t(isa::Unit::vec));

// A load of block i from HBM into L1 on dma0.
isa::Instr load_block(uint64_t i) {
  return Codegen::dma({.load = true,
                       .unit = 0,
                       .dst = {isa::Space::l1, i * kBlock},
                       .src = {isa::Space::hbm, i * kBlock},
                       .len = kBlock});
}

// A vector instruction reading block i (and writing elsewhere in L1).
isa::Instr read_block(uint64_t i) {
  isa::Instr v = Codegen::vec(isa::Opcode::vscale, 1, kBlock / 4);
  Codegen::operand(v, 0, isa::Space::l1, (1000 + i) * kBlock, kBlock, isa::DType::fp32);
  Codegen::operand(v, 1, isa::Space::l1, i * kBlock, kBlock, isa::DType::fp32);
  return v;
}

// Loads issued far ahead of their readers (a prefetched ring): every reader up to the
// token depth waits on its own load, not on the latest one.
TEST(CompilerEmitter, PrefetchedLoadsKeepTheirOwnTokensWithinTheDepth) {
  CoreStream s(0, 0, kQueueDepth, kTokenDepth);
  const uint64_t n = 20;
  std::vector<size_t> loads, reads;
  for (uint64_t i = 0; i < n; ++i) loads.push_back(s.emit(load_block(i)));
  for (uint64_t i = 0; i < kTokenDepth; ++i) reads.push_back(s.emit(read_block(i)));
  const std::vector<isa::Instr>& code = s.code();
  for (uint64_t i = 0; i < n; ++i)
    EXPECT_EQ(code[loads[i]].signal & kVecBit, i < kTokenDepth ? kVecBit : 0) << "load " << i;
  for (size_t r : reads) EXPECT_TRUE(code[r].wait & 1u) << r;
}

// The 16th outstanding token could overflow a counter of depth 15 (all 20 loads may complete
// before the vector engine starts): the reader then waits on the latest load instead, which
// covers the loads before it.
TEST(CompilerEmitter, ATokenThatCouldOverflowWaitsOnTheLatestInstruction) {
  CoreStream s(0, 0, kQueueDepth, kTokenDepth);
  const uint64_t n = 20;
  std::vector<size_t> loads;
  for (uint64_t i = 0; i < n; ++i) loads.push_back(s.emit(load_block(i)));
  for (uint64_t i = 0; i <= kTokenDepth; ++i) s.emit(read_block(i));
  const std::vector<isa::Instr>& code = s.code();
  EXPECT_EQ(code[loads[kTokenDepth]].signal & kVecBit, 0);
  EXPECT_EQ(code[loads[n - 1]].signal & kVecBit, kVecBit);
  // Later readers need no token: the latest load is already waited on.
  const size_t later = s.emit(read_block(kTokenDepth + 1));
  EXPECT_EQ(s.code()[later].wait, 0);
}

// Loads issued one ahead of readers that do other vector work in between (a pipelined
// kernel): the vector queue holds back the loads, the bound holds for every token however
// long the stream, and none moves to a later load (the window rule alone moved every
// seventh).
TEST(CompilerEmitter, PipelinedLoadsNeverCoarsen) {
  CoreStream s(0, 0, kQueueDepth, kTokenDepth);
  const uint64_t n = 200;
  std::vector<size_t> loads;
  loads.push_back(s.emit(load_block(0)));
  for (uint64_t i = 0; i < n; ++i) {
    if (i + 1 < n) loads.push_back(s.emit(load_block(i + 1)));
    s.emit(read_block(i));
    for (uint64_t w = 0; w < 2; ++w) {
      isa::Instr v = Codegen::vec(isa::Opcode::vscale, 1, kBlock / 4);
      Codegen::operand(v, 0, isa::Space::l1, (3000 + w) * kBlock, kBlock, isa::DType::fp32);
      Codegen::operand(v, 1, isa::Space::l1, (3000 + w) * kBlock, kBlock, isa::DType::fp32);
      s.emit(v);
    }
  }
  for (uint64_t i = 0; i < n; ++i) EXPECT_EQ(s.code()[loads[i]].signal & kVecBit, kVecBit) << "load " << i;
}

}  // namespace
}  // namespace tessera::compiler
