// The Verilated RTL core inside the system model (cosim/rtl_core.h, issue 14 item 3): compiled
// tiny Transformers generate the same tokens with one or more cores in RTL as with every core
// modelled, and every instruction of every core starts and completes in the same cycle (its
// DRAM completion too); generated programs covering every instruction class do the same. A
// defect injected into the RTL side (L2 answers one cycle late) is caught by the comparison;
// what the RTL core cannot run is refused with the core and instruction named.
#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/util/error.h"
#include "cosim/gen_program.h"
#include "cosim/rtl_core.h"
#include "driver/functional.h"
#include "model/core/model.h"
#include "ref/tiny_model.h"

namespace tessera::cosim {
namespace {

using Cores = std::vector<std::pair<uint32_t, uint32_t>>;

// What one run of a program leaves: every core's records, the cycles and every chip's L2.
struct Outcome {
  uint64_t cycles = 0;
  std::vector<std::vector<model::InstrRecord>> records;  // per text section
  std::vector<std::vector<uint8_t>> l2;                  // per chip
};

Outcome run_program(const config::ArchConfig& arch, const isa::Program& prog, const Cores& rtl, RtlCoreOptions ro = {}) {
  model::RunOptions o;
  o.functional = true;
  if (!rtl.empty()) {
    o.stand_in_cores = rtl;
    o.stand_in = rtl_core_factory(arch, ro);
  }
  model::Simulation sim(arch, prog, o);
  sim.run();
  Outcome r;
  r.cycles = sim.cycles();
  for (const isa::TextSection& t : prog.text) r.records.push_back(sim.records(t.chip, t.core));
  for (uint32_t c = 0; c < uint32_t(arch.system.chips); ++c)
    r.l2.push_back(sim.read_memory(c, 0, isa::Space::l2, 0, 0, uint64_t(arch.l2.bytes)));
  return r;
}

// Instructions whose start, completion or DRAM completion differ; the first few are described.
uint64_t differences(const isa::Program& prog, const Outcome& want, const Outcome& got, std::string& first) {
  uint64_t n = 0;
  for (size_t t = 0; t < prog.text.size(); ++t) {
    const auto& code = prog.text[t].code;
    for (size_t i = 0; i < code.size(); ++i) {
      const model::InstrRecord& a = want.records[t][i];
      const model::InstrRecord& b = got.records[t][i];
      const bool dma_hbm = isa::info(code[i].op).format == isa::Format::dma &&
                           (code[i].src_space == uint64_t(isa::Space::hbm) || code[i].dst_space == uint64_t(isa::Space::hbm));
      if (a.start == b.start && a.E == b.E && a.done == b.done && (!dma_hbm || a.D == b.D)) continue;
      if (++n <= 3) {
        char s[256];
        std::snprintf(s, sizeof s, "core %u instruction #%zu (%s): model start %llu E %llu D %llu, RTL start %llu E %llu D %llu\n",
                      prog.text[t].core, i, std::string(isa::name(code[i].op)).c_str(), (unsigned long long)a.start,
                      (unsigned long long)a.E, (unsigned long long)a.D, (unsigned long long)b.start,
                      (unsigned long long)b.E, (unsigned long long)b.D);
        first += s;
      }
    }
  }
  return n;
}

struct ModelCase {
  const char* name;
  hf::Architecture family;
  const char* precision;
  uint32_t cores;  // chip.cores of tiny
  Cores rtl;
  uint64_t steps;
  uint64_t seed;
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

class RtlCoreInModel : public ::testing::TestWithParam<ModelCase> {};

// Every step program of the generation runs twice, all-model and with the RTL cores; the
// generation goes on with the RTL run's memory.
TEST_P(RtlCoreInModel, SameTokensCyclesAndTimelines) {
  const ModelCase& c = GetParam();
  const std::string dir = std::string(TESSERA_BINARY_DIR) + "/tests/rtl/models/" + c.name;
  ref::TinyModelOptions mo;
  mo.architecture = c.family;
  mo.dtype = hf::TensorDType::BF16;
  mo.seed = c.seed;
  ref::write_tiny_model(dir, mo);
  const config::Arch arch = config::load_arch("tiny", {"chip.cores=" + std::to_string(c.cores)});
  driver::FunctionalOptions fo;
  fo.prompt = {1, 10, 20, 30};
  fo.steps = c.steps;
  fo.precision = compiler::parse_precision(c.precision, *arch);
  const driver::FunctionalResult all_model = driver::run_functional(dir, *arch, fo);
  uint64_t instructions = 0, rtl_instructions = 0;
  const driver::StepRunner both = [&](const isa::Program& prog, uint64_t step) {
    const Outcome want = run_program(*arch, prog, {});
    auto sim = std::make_shared<model::Simulation>(*arch, prog, [&] {
      model::RunOptions o;
      o.functional = true;
      o.stand_in_cores = c.rtl;
      o.stand_in = rtl_core_factory(*arch);
      return o;
    }());
    sim->run();
    Outcome got;
    got.cycles = sim->cycles();
    for (const isa::TextSection& t : prog.text) {
      got.records.push_back(sim->records(t.chip, t.core));
      instructions += t.code.size();
      for (const auto& rc : c.rtl) rtl_instructions += (rc == std::pair(t.chip, t.core)) ? t.code.size() : 0;
    }
    got.l2.push_back(sim->read_memory(0, 0, isa::Space::l2, 0, 0, uint64_t(arch->l2.bytes)));
    std::string first;
    EXPECT_EQ(differences(prog, want, got, first), 0u) << "step " << step << ":\n" << first;
    EXPECT_EQ(got.cycles, want.cycles) << "step " << step;
    EXPECT_TRUE(got.l2[0] == want.l2[0]) << "step " << step << ": final L2 differs";
    driver::StepRun s;
    s.cycles = got.cycles;
    s.instructions = sim->instructions();
    s.read = [sim](uint32_t chip, isa::Space space, uint64_t addr, uint64_t n) {
      return sim->read_memory(chip, 0, space, 0, addr, n);
    };
    return s;
  };
  const driver::FunctionalResult with_rtl = driver::run_functional(dir, *arch, fo, both);
  EXPECT_EQ(with_rtl.tokens, all_model.tokens);
  EXPECT_EQ(with_rtl.cycles, all_model.cycles);
  EXPECT_GT(rtl_instructions, 1000u);
  std::printf("%s: %llu instructions compared (%llu on RTL cores), %llu cycles, tokens", c.name,
              (unsigned long long)instructions, (unsigned long long)rtl_instructions, (unsigned long long)with_rtl.cycles);
  for (int64_t t : with_rtl.tokens) std::printf(" %lld", (long long)t);
  std::printf("\n");
}

INSTANTIATE_TEST_SUITE_P(
    CompiledTinyModels, RtlCoreInModel,
    ::testing::Values(ModelCase{"llama_bf16_one_core", hf::Architecture::Llama, "bf16", 1, {{0, 0}}, 4, 1},
                      ModelCase{"llama_fp8_core0_of_two", hf::Architecture::Llama, "fp8", 2, {{0, 0}}, 3, 5},
                      ModelCase{"gpt2_bf16_core1_of_two", hf::Architecture::GPT2, "bf16", 2, {{0, 1}}, 3, 2},
                      ModelCase{"gpt2_fp8_both_of_two", hf::Architecture::GPT2, "fp8", 2, {{0, 0}, {0, 1}}, 2, 3}),
    [](const auto& info) { return std::string(info.param.name); });

// Generated programs mix every instruction class the RTL core implements (docs/cosim.md).
TEST(RtlCoreInModelGenerated, SameTimelinesAsTheModel) {
  const config::Arch tiny = config::load_arch("tiny");
  uint64_t instructions = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    GenOptions g;
    g.seed = seed;
    g.length = 48;
    const isa::Program prog = generate_program(*tiny, g).program;
    const Outcome want = run_program(*tiny, prog, {});
    const Outcome got = run_program(*tiny, prog, {{0, 0}});
    std::string first;
    EXPECT_EQ(differences(prog, want, got, first), 0u) << "seed " << seed << ":\n" << first;
    EXPECT_EQ(got.cycles, want.cycles) << "seed " << seed;
    EXPECT_TRUE(got.l2 == want.l2) << "seed " << seed << ": final L2 differs";
    instructions += prog.text[0].code.size();
  }
  std::printf("40 generated programs, %llu instructions: same timelines\n", (unsigned long long)instructions);
}

// Proof that the comparison can fail: L2 answering one cycle late in the RTL side moves the
// instructions that read L2, and the cycles.
TEST(RtlCoreInModelGenerated, CatchesAnInjectedDelay) {
  const config::Arch tiny = config::load_arch("tiny");
  GenOptions g;
  g.seed = 7;
  g.length = 48;
  const isa::Program prog = generate_program(*tiny, g).program;
  const Outcome want = run_program(*tiny, prog, {});
  RtlCoreOptions late;
  late.test_l2_delay = 1;
  const Outcome got = run_program(*tiny, prog, {{0, 0}}, late);
  std::string first;
  EXPECT_GT(differences(prog, want, got, first), 0u);
  EXPECT_NE(got.cycles, want.cycles);
  std::printf("injected L2 delay found:\n%s", first.c_str());
}

// Two cores of a chip, one reaching a chip barrier the other never reaches: with either core in
// RTL the run ends with the model's deadlock report, which says where the RTL core waits.
TEST(RtlCoreInModelRefusals, BarrierNobodyElseReachesIsADeadlock) {
  const config::Arch two = config::load_arch("tiny", {"chip.cores=2"});
  const isa::Program prog = isa::assemble(R"(.arch tiny
.section text chip=0 core=0
  barrier seq scope=chip id=3
  halt seq
.section text chip=0 core=1
  halt seq
)",
                                          "deadlock.s", *two);
  for (const Cores& rtl : {Cores{{0, 0}}, Cores{{0, 1}}}) {
    try {
      run_program(*two, prog, rtl);
      ADD_FAILURE() << "the deadlock was not reported";
    } catch (const InputError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("deadlock"), std::string::npos) << m;
      EXPECT_NE(m.find("chip 0 barrier id 3: 1 core(s) arrived"), std::string::npos) << m;
      if (rtl[0].second == 0) {
        EXPECT_NE(m.find("RTL core at cycle"), std::string::npos) << m;
      }
      std::printf("%s\n", m.c_str());
    }
  }
}

// A listed core without a program runs nothing, as a modelled one would (an RTL core with an
// empty instruction memory would decode its zero words and stop with an error).
TEST(RtlCoreInModelRefusals, ACoreWithoutAProgramRunsNothing) {
  const config::Arch two = config::load_arch("tiny", {"chip.cores=2"});
  GenOptions g;
  g.seed = 11;
  g.length = 30;
  const isa::Program prog = generate_program(*config::load_arch("tiny"), g).program;
  const Outcome want = run_program(*two, prog, {});
  const Outcome got = run_program(*two, prog, {{0, 0}, {0, 1}});
  std::string first;
  EXPECT_EQ(differences(prog, want, got, first), 0u) << first;
  EXPECT_EQ(got.cycles, want.cycles);
}

TEST(RtlCoreInModelRefusals, NamesWhatIsWrong) {
  const config::Arch tiny = config::load_arch("tiny");
  // A core other than tiny's: the RTL is verilated for tiny's core sections.
  const config::Arch wide = config::load_arch("tiny", {"vector.lanes=16"});
  try {
    rtl_core_factory(*wide);
    ADD_FAILURE() << "a core with 16 lanes was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("different core"), std::string::npos) << e.what();
  }
  // The chip around the core may differ.
  EXPECT_NO_THROW(rtl_core_factory(*config::load_arch("tiny", {"chip.cores=2", "l2.latency=7"})));
  // An instruction the RTL core does not implement: named with its core and index.
  GenOptions g;
  g.seed = 3;
  g.length = 20;
  isa::Program p = generate_program(*tiny, g).program;
  // A DMA into an accumulator: the RTL's DMA engines write L1 and the outside only.
  const isa::Program one = isa::assemble(
      ".arch tiny\n  load dma0 dst_space=acc src_space=l2 dst_addr=0x0 src_addr=0x0 len=32 n1=1 n2=1 dst_stride1=0 "
      "src_stride1=0 dst_stride2=0 src_stride2=0\n  halt seq\n",
      "acc_load.s", *tiny);
  p.text[0].code.insert(p.text[0].code.begin() + 1, one.text[0].code[0]);
  try {
    run_program(*tiny, p, {{0, 0}});
    ADD_FAILURE() << "a load into acc was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("chip 0 core 0 (RTL core): instruction #1 (load"), std::string::npos) << e.what();
  }
  // A core the architecture does not have.
  try {
    driver::parse_core_list("0,2", "--rtl-cores", *tiny);
    ADD_FAILURE() << "core 2 of a one-core chip was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--rtl-cores '0,2': chip 0 core 2 does not exist"), std::string::npos) << e.what();
  }
  EXPECT_THROW(driver::parse_core_list("0,x", "--rtl-cores", *tiny), InputError);
  EXPECT_THROW(driver::parse_core_list("", "--rtl-cores", *tiny), InputError);
  EXPECT_EQ(driver::parse_core_list("1,0:0,0", "--rtl-cores", *config::load_arch("tiny", {"chip.cores=2"})),
            (Cores{{0, 0}, {0, 1}}));
}

}  // namespace
}  // namespace tessera::cosim
