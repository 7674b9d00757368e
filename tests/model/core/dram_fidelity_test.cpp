// The two DRAM fidelities of the chip model (RunOptions::dram, docs/model.md "DRAM
// fidelity"): the bandwidth model's cycles against the burst model's on HBM-bound programs,
// timing == functional under it, determinism, and the option parser.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>
#include <string>

#include "common/config/config.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "compiler/gemm.h"
#include "model/core/model.h"
#include "tests/model/core/layer_shapes.h"

namespace tessera::model {
namespace {

using compiler::compile_gemm;
using compiler::GemmProgram;
using compiler::GemmSpec;

uint64_t cycles_of(const config::ArchConfig& cfg, const isa::Program& prog, DramModel dm, bool functional = false) {
  Simulation sim(cfg, prog, RunOptions{functional, dm});
  sim.run();
  return sim.cycles();
}

using test::tiny_layer;

// The tolerances docs/model.md states for the bandwidth fidelity: 3 % of the burst model's
// cycles on HBM-bound GEMMs; 18 % on compiled decode layers since the split-K decode attention
// kernel (its many short page transfers per core are where the bandwidth model errs: these
// three layers were within 0.4 % before it, +9.2 to +12.8 % after it, and +12.4 to +16.7 %
// since the emitter's tokens let the burst model overlap more of the layer; issue 15 is to bring
// the default fidelity within 2 % again).
constexpr double kTolerance = 0.03;
constexpr double kLayerTolerance = 0.18;

// Three compiled decode layers (docs/model.md, "DRAM fidelity", has the table).
TEST(DramFidelity, TinyLayerCyclesAgreeWithTheBurstModel) {
  const config::Arch cfg = config::load_arch("tiny");
  for (auto [batch, context] : {std::pair<uint64_t, uint64_t>{4, 256}, {8, 256}, {4, 512}}) {
    const isa::Program prog = tiny_layer(*cfg, batch, context);
    const uint64_t burst = cycles_of(*cfg, prog, DramModel::Burst);
    const uint64_t bw = cycles_of(*cfg, prog, DramModel::Bandwidth);
    std::printf("tiny layer batch %llu context %llu: burst %llu, bandwidth %llu cycles (%+.2f %%)\n",
                (unsigned long long)batch, (unsigned long long)context, (unsigned long long)burst,
                (unsigned long long)bw, 100.0 * (double(bw) - double(burst)) / double(burst));
    EXPECT_NEAR(double(bw), double(burst), kLayerTolerance * double(burst));
  }
}

// The default fidelity on sohu-like programs (issue 15): the compiler's decode layers of
// Llama-3-70B at context 2048 over 8 chips, as `tessera compile --model llama3-70b --phase decode
// --batch B --context 2048 --chips 8 --segment layer:0` (batch 1: tensor-parallel over the 8
// chips; batch 64: 8 replicas of one chip, 8 sequences each). The bandwidth model serves a
// transfer in window chunks that interleave with concurrent transfers' (docs/dram.md,
// "Serving"): batch 1 is within 2 %, the bound (41,202 against 41,867 cycles, -1.59 %),
// batch 64 within 2.5 % (153,734 against 157,630, -2.47 %; -2.33 % before contiguous pattern rows were
// served as one row, docs/dram.md; the compiler's decode programs moved it between -2.09 % and -2.55 %
// last round, 5.63 % before the chunks): a regression guard for the
// segment whose error the bandwidth model has not closed. docs/validation.md ("DRAM fidelity on
// compiled programs") has the other six segments. The burst runs take about 50 s of CPU.
struct SohuSegment {
  uint64_t batch;
  double tolerance;
};

TEST(DramFidelity, SohuLikeDecodeLayersAgreeWithTheBurstModel) {
  const config::Arch cfg = config::load_arch("sohu-like");
  for (const SohuSegment seg : {SohuSegment{1, 0.02}, SohuSegment{64, 0.025}}) {
    compiler::CompileOptions o;
    o.phase = compiler::Phase::Decode;
    o.batch = seg.batch;
    o.context = 2048;
    o.chips = 8;
    o.segment.kind = compiler::Segment::Layer;
    const isa::Program prog = compiler::compile(compiler::load_model("llama3-70b"), *cfg, o).program;
    const uint64_t burst = cycles_of(*cfg, prog, DramModel::Burst);
    const uint64_t bw = cycles_of(*cfg, prog, DramModel::Bandwidth);
    std::printf("sohu-like llama3-70b decode layer batch %llu: burst %llu, bandwidth %llu cycles (%+.2f %%)\n",
                (unsigned long long)seg.batch, (unsigned long long)burst, (unsigned long long)bw,
                100.0 * (double(bw) - double(burst)) / double(burst));
    EXPECT_NEAR(double(bw), double(burst), seg.tolerance * double(burst)) << "batch " << seg.batch;
  }
}

TEST(DramFidelity, HbmBoundGemmCyclesAgreeWithTheBurstModel) {
  const config::Arch cfg = config::load_arch("tiny");
  for (auto df : {isa::Dataflow::ws, isa::Dataflow::os}) {
    const GemmProgram g = compile_gemm(*cfg, GemmSpec{256, 256, 256, df, isa::DType::fp8_e4m3});
    const uint64_t burst = cycles_of(*cfg, g.program, DramModel::Burst);
    const uint64_t bw = cycles_of(*cfg, g.program, DramModel::Bandwidth);
    std::printf("tiny gemm 256^3 %s: burst %llu, bandwidth %llu cycles (%+.2f %%)\n",
                df == isa::Dataflow::ws ? "ws" : "os", (unsigned long long)burst, (unsigned long long)bw,
                100.0 * (double(bw) - double(burst)) / double(burst));
    EXPECT_NEAR(double(bw), double(burst), kTolerance * double(burst));
  }
}

TEST(DramFidelity, TimingModeEqualsFunctionalModeUnderTheBandwidthModel) {
  const config::Arch cfg = config::load_arch("tiny");
  const GemmProgram g = compile_gemm(*cfg, GemmSpec{50, 30, 20, isa::Dataflow::ws, isa::DType::bf16});
  std::vector<InstrRecord> recs[2];
  uint64_t cycles[2];
  for (int f = 0; f < 2; ++f) {
    Simulation sim(*cfg, g.program, RunOptions{f == 1, DramModel::Bandwidth});
    sim.run();
    recs[f] = sim.records(0, 0);
    cycles[f] = sim.cycles();
  }
  EXPECT_EQ(cycles[0], cycles[1]);
  ASSERT_EQ(recs[0].size(), recs[1].size());
  for (size_t i = 0; i < recs[0].size(); ++i) {
    EXPECT_EQ(recs[0][i].start, recs[1][i].start) << i;
    EXPECT_EQ(recs[0][i].E, recs[1][i].E) << i;
  }
}

TEST(DramFidelity, SameRunTwiceGivesIdenticalStatsUnderTheBandwidthModel) {
  const config::Arch cfg = config::load_arch("tiny");
  const isa::Program prog = tiny_layer(*cfg, 4, 64);
  std::string stats[2];
  for (int i = 0; i < 2; ++i) {
    Simulation sim(*cfg, prog, RunOptions{false, DramModel::Bandwidth});
    sim.run();
    std::ostringstream s;
    sim.write_stats_json(s);
    stats[i] = s.str();
  }
  EXPECT_EQ(stats[0], stats[1]);
  const auto st = nlohmann::json::parse(stats[0]);
  EXPECT_EQ(st["chips"][0]["hbm"]["dram_model"], "bandwidth");
  EXPECT_GT(st["chips"][0]["hbm"]["bytes_read"].get<uint64_t>(), 0u);
}

TEST(DramFidelity, ParserNamesTheOptionAndTheValues) {
  EXPECT_EQ(parse_dram_model("burst"), DramModel::Burst);
  EXPECT_EQ(parse_dram_model("bandwidth"), DramModel::Bandwidth);
  EXPECT_EQ(dram_model_name(DramModel::Bandwidth), "bandwidth");
  EXPECT_EQ(dram_model_name(DramModel::Burst), "burst");
  try {
    parse_dram_model("exact");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("--dram"), std::string::npos) << m;
    EXPECT_NE(m.find("burst|bandwidth"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace tessera::model
