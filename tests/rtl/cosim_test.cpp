// tessera-cosim's comparison (cosim/cosim.h) on generated programs (cosim/gen_program.h): the
// RTL core and the model agree on 200 random programs; a one-cycle delay and a one-bit flip
// injected into the model's side are each reported at the instruction they were injected
// into; programs with a defect are refused by both sides; what the core lacks is refused
// before anything runs.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "common/isa/isa.h"
#include "common/util/error.h"
#include "cosim/cosim.h"
#include "cosim/gen_program.h"

namespace tessera::cosim {
namespace {

const config::ArchConfig& tiny() {
  static const config::Arch a = config::load_arch("tiny");
  return *a;
}

Generated gen(uint64_t seed, uint32_t length, bool illegal = false) {
  GenOptions g;
  g.seed = seed;
  g.length = length;
  g.illegal = illegal;
  return generate_program(tiny(), g);
}

TEST(CosimGen, SameSeedSameProgramAndValid) {
  for (uint64_t seed : {1, 2, 77}) {
    const Generated a = gen(seed, 120), b = gen(seed, 120);
    EXPECT_EQ(isa::write_tbin(a.program), isa::write_tbin(b.program)) << "seed " << seed;
    EXPECT_NO_THROW(isa::validate(a.program, tiny())) << "seed " << seed;
  }
  EXPECT_NE(isa::write_tbin(gen(1, 120).program), isa::write_tbin(gen(2, 120).program));
}

TEST(CosimGen, MixesEveryClass) {
  // Over a few programs: every vector opcode class, both dataflows, every input format,
  // 3-D copies, tpush/tpop, accumulate, barriers.
  std::map<isa::Opcode, int> ops;
  std::set<uint64_t> types, flows;
  int planes = 0, acc = 0, vec_acc = 0, dma_acc_l2 = 0, dma_acc_l1 = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Generated g = gen(seed, 200);
    for (const isa::Instr& in : g.program.text[0].code) {
      ++ops[in.op];
      if (in.op == isa::Opcode::matmul) {
        types.insert(in.a_type);
        types.insert(in.b_type);
        flows.insert(in.dataflow);
        acc += in.accumulate != 0;
      }
      planes += (in.op == isa::Opcode::load || in.op == isa::Opcode::store) && in.n2 > 1;
      // Readers of the accumulators: vector sources, stores to L2 and into L1.
      if (isa::info(in.op).format == isa::Format::vector)
        vec_acc += in.src1_space == uint64_t(isa::Space::acc) || in.src2_space == uint64_t(isa::Space::acc);
      if (in.op == isa::Opcode::store && in.src_space == uint64_t(isa::Space::acc)) {
        dma_acc_l2 += in.dst_space == uint64_t(isa::Space::l2);
        dma_acc_l1 += in.dst_space == uint64_t(isa::Space::l1);
      }
    }
  }
  for (isa::Opcode op : {isa::Opcode::load, isa::Opcode::store, isa::Opcode::matmul, isa::Opcode::tpush, isa::Opcode::tpop,
                         isa::Opcode::barrier, isa::Opcode::vadd, isa::Opcode::vexp, isa::Opcode::vrsum, isa::Opcode::vsub_row,
                         isa::Opcode::vmul_col, isa::Opcode::vfill, isa::Opcode::vscale, isa::Opcode::vrsqrt,
                         isa::Opcode::vrope, isa::Opcode::vcvt, isa::Opcode::vtopk, isa::Opcode::vmask})
    EXPECT_GT(ops[op], 0) << isa::info(op).name;
  EXPECT_EQ(types.size(), 4u);
  EXPECT_EQ(flows.size(), 2u);
  EXPECT_GT(planes, 0);
  EXPECT_GT(acc, 0);
  EXPECT_GT(vec_acc, 0);
  EXPECT_GT(dma_acc_l2, 0);
  EXPECT_GT(dma_acc_l1, 0);
}

TEST(Cosim, RandomProgramsHaveNoDivergence) {
  Options opt;
  uint64_t instructions = 0, cycles = 0, l1 = 0, l2 = 0, accb = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const Generated g = gen(seed, 40);
    const Result r = run(tiny(), g.program, opt);
    ASSERT_FALSE(r.divergence) << "seed " << seed << "\n" << report(r);
    ASSERT_TRUE(r.model_error.empty()) << "seed " << seed << ": " << r.model_error;
    EXPECT_EQ(r.starts, r.ends);
    instructions += r.instructions;
    cycles += r.cycles;
    l1 += r.l1_write_bytes;
    l2 += r.l2_write_bytes;
    accb += r.acc_bytes;
  }
  std::printf("200 programs, %llu instructions, %llu cycles, %llu L1 / %llu L2 / %llu accumulator bytes compared\n",
              static_cast<unsigned long long>(instructions), static_cast<unsigned long long>(cycles),
              static_cast<unsigned long long>(l1), static_cast<unsigned long long>(l2),
              static_cast<unsigned long long>(accb));
  EXPECT_GT(l1, 0u);
  EXPECT_GT(l2, 0u);
  EXPECT_GT(accb, 0u);
}

// The first instruction of `op` in the program.
uint32_t first(const isa::Program& p, isa::Opcode op) {
  const auto& code = p.text[0].code;
  for (uint32_t i = 0; i < code.size(); ++i)
    if (code[i].op == op) return i;
  ADD_FAILURE() << "no " << isa::info(op).name << " in the program";
  return 0;
}

TEST(Cosim, InjectedDelayIsReportedAtItsInstruction) {
  const Generated g = gen(5, 80);
  for (isa::Opcode op : {isa::Opcode::load, isa::Opcode::matmul, isa::Opcode::store, isa::Opcode::vadd}) {
    Options opt;
    opt.fault.kind = Fault::Kind::delay;
    bool have = false;
    for (const auto& in : g.program.text[0].code) have = have || in.op == op;
    if (!have) continue;
    opt.fault.instr = first(g.program, op);
    const Result r = run(tiny(), g.program, opt);
    ASSERT_TRUE(r.divergence) << isa::info(op).name;
    EXPECT_EQ(r.divergence->index, int64_t(opt.fault.instr)) << report(r);
    // The RTL completes in the cycle the undelayed model has; the delayed side expects one more.
    EXPECT_EQ(r.divergence->what, "completion E") << report(r);
    EXPECT_EQ(r.divergence->expected, std::to_string(r.divergence->cycle + 1)) << report(r);
    EXPECT_EQ(r.divergence->actual, std::to_string(r.divergence->cycle)) << report(r);
  }
}

// The same defects inside the RTL, through the core's fault inputs (test_stall_i, test_flip_i),
// at the first and the last matmul of a program: each reported at that matmul.
TEST(Cosim, InjectedRtlFaultsAreReportedAtTheirMatmul) {
  const Generated g = gen(5, 80);
  const auto& code = g.program.text[0].code;
  uint32_t last = 0;
  for (uint32_t i = 0; i < code.size(); ++i)
    if (code[i].op == isa::Opcode::matmul) last = i;
  ASSERT_NE(first(g.program, isa::Opcode::matmul), last) << "the program needs two matmuls";
  for (const uint32_t i : {first(g.program, isa::Opcode::matmul), last}) {
    for (const Fault::Kind kind : {Fault::Kind::delay, Fault::Kind::flip}) {
      Options opt;
      opt.fault.kind = kind;
      opt.fault.side = Fault::Side::rtl;
      opt.fault.instr = i;
      const Result r = run(tiny(), g.program, opt);
      ASSERT_TRUE(r.divergence) << "matmul #" << i;
      EXPECT_EQ(r.divergence->index, int64_t(i)) << report(r);
      if (kind == Fault::Kind::delay) {
        // The model completes in this cycle; the held RTL does not.
        EXPECT_EQ(r.divergence->what, "completion E") << report(r);
        EXPECT_EQ(r.divergence->actual, "not completed in this cycle") << report(r);
      } else {
        EXPECT_EQ(r.divergence->what.rfind("accumulator (row ", 0), 0u) << report(r);
        EXPECT_NE(r.divergence->expected, r.divergence->actual) << report(r);
      }
    }
  }
  Options opt;
  opt.fault.kind = Fault::Kind::flip;
  opt.fault.side = Fault::Side::rtl;
  opt.fault.instr = first(g.program, isa::Opcode::load);
  EXPECT_THROW(run(tiny(), g.program, opt), InputError);
}

TEST(Cosim, InjectedBitFlipIsReportedAtItsInstruction) {
  const Generated g = gen(5, 80);
  for (isa::Opcode op : {isa::Opcode::load, isa::Opcode::matmul, isa::Opcode::store}) {
    Options opt;
    opt.fault.kind = Fault::Kind::flip;
    opt.fault.instr = first(g.program, op);
    const Result r = run(tiny(), g.program, opt);
    ASSERT_TRUE(r.divergence) << isa::info(op).name;
    EXPECT_EQ(r.divergence->index, int64_t(opt.fault.instr)) << report(r);
    EXPECT_NE(r.divergence->expected, r.divergence->actual) << report(r);
    EXPECT_TRUE(r.divergence->addr.has_value()) << report(r);
  }
  // --wave: a second RTL run writes the window before the divergence as FST.
  Options opt;
  opt.fault.kind = Fault::Kind::flip;
  opt.fault.instr = first(g.program, isa::Opcode::store);
  opt.wave = ::testing::TempDir() + "cosim_flip.fst";
  std::filesystem::remove(opt.wave);
  const Result r = run(tiny(), g.program, opt);
  ASSERT_TRUE(r.divergence);
  std::printf("%s", report(r).c_str());  // what a divergence looks like (docs/cosim.md)
  EXPECT_EQ(r.wave, opt.wave);
  EXPECT_GT(std::filesystem::file_size(opt.wave), 1000u);
  EXPECT_NE(report(r).find("waveform: " + opt.wave), std::string::npos) << report(r);
}

TEST(Cosim, IllegalProgramsAreRefusedByBoth) {
  int deadlock = 0, overflow = 0;
  Options opt;
  opt.stall_cycles = 5000;
  // Seeds until each defect was drawn twice (the generator picks the defect at random).
  for (uint64_t seed = 1; seed <= 40 && (deadlock < 2 || overflow < 2); ++seed) {
    const Generated g = gen(seed, 30, true);
    const Result r = run(tiny(), g.program, opt);
    EXPECT_FALSE(r.divergence) << "seed " << seed << "\n" << report(r);
    EXPECT_TRUE(r.illegal) << "seed " << seed << "\n" << report(r);
    EXPECT_FALSE(r.model_error.empty());
    EXPECT_FALSE(r.rtl_error.empty());
    deadlock += g.defect == Defect::deadlock;
    overflow += g.defect == Defect::token_overflow;
  }
  EXPECT_GT(deadlock, 0);
  EXPECT_GT(overflow, 0);
}

TEST(Cosim, RefusesWhatTheCoreLacks) {
  // A vector result in an accumulator: the RTL vector engine writes L1 only.
  isa::Program p = gen(3, 20).program;
  isa::Instr v;
  v.op = isa::Opcode::vadd;
  v.unit = uint8_t(isa::Unit::vec);
  v.rows = 1;
  v.cols = 2;
  v.dst_space = uint64_t(isa::Space::acc);
  v.src1_space = v.src2_space = uint64_t(isa::Space::l1);
  v.dst_type = v.src1_type = v.src2_type = uint64_t(isa::DType::fp32);
  p.text[0].code.insert(p.text[0].code.begin(), v);
  try {
    run(tiny(), p, Options{});
    ADD_FAILURE() << "a vector result in acc was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("instruction #0 (vadd"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a vector result outside l1"), std::string::npos) << e.what();
  }
  const config::Arch other = config::load_arch("tiny", {"l2.latency=7"});
  EXPECT_THROW(run(*other, gen(3, 20).program, Options{}), InputError);
}

}  // namespace
}  // namespace tessera::cosim
