// Front-end and compile errors (each an InputError naming what is wrong, with the sizes) and
// the precision policy. Programs run on the model in tests/driver.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <array>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/config/config.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "compiler/gemm.h"
#include "compiler/hw.h"
#include "ref/tiny_model.h"
#include "tests/compiler/input_error.h"

namespace tessera::compiler {
namespace {


std::string test_dir(const std::string& name) {
  // One directory per test: CTest runs the tests of this file in parallel processes.
  const std::string dir = std::string(TESSERA_BINARY_DIR) + "/tests/compiler/work/" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(Compiler, KnownModelsLoad) {
  for (const std::string& n : model_names()) EXPECT_NO_THROW(load_model(n)) << n;
}

// The cost model's L2 rates are the capacities the cycle model arbitrates (docs/timing.md, "On-chip
// network"): the least of the L2's bank ports, the network's L2-side ports and the cores' ports.
TEST(CostModel, L2RatesFollowThePortsAndTheNetwork) {
  auto rates = [](const std::string& extra) {
    const config::Arch a = config::load_arch_text("base: sohu-like\nname: v\n" + extra, "v.yaml");
    const Hw hw = hw_of(*a);
    return std::pair(hw.l2_bytes_per_cycle, hw.l2_core_bytes_per_cycle);
  };
  EXPECT_EQ(rates(""), std::pair(16384.0, 1024.0));  // 256 banks x 64 B, 1RW; 16 core ports of 1 KiB
  EXPECT_EQ(rates("noc: {width_bytes: 64}\n"), std::pair(1024.0, 64.0));
  EXPECT_EQ(rates("noc: {l2_ports: 4}\n"), std::pair(4096.0, 1024.0));
  EXPECT_EQ(rates("noc: {topology: bus}\n"), std::pair(1024.0, 1024.0));
  EXPECT_EQ(rates("l2: {ports: dual_port}\nnoc: {width_bytes: 4096}\n"), std::pair(32768.0, 4096.0));
  EXPECT_EQ(rates("l2: {banks: 16}\n"), std::pair(1024.0, 1024.0));
}

TEST(CompilerErrors, UnknownModelNamesTheKnownOnes) {
  const std::string e = error_of([] { load_model("llama9-1t"); });
  EXPECT_NE(e.find("llama9-1t"), std::string::npos) << e;
  EXPECT_NE(e.find("llama3-70b"), std::string::npos) << e;
}

// A name longer than the file system allows (NAME_MAX) made std::filesystem::exists throw
// (found by fuzz_sweep_spec through a workload's model).
TEST(CompilerErrors, ANameTooLongForTheFileSystemIsAnUnknownModel) {
  const std::string name(5000, 'l');
  const std::string e = error_of([&] { load_model(name); });
  EXPECT_NE(e.find("not a known model"), std::string::npos) << e;
}

TEST(CompilerErrors, UnsupportedArchitectureNamesTheSupportedSet) {
  const std::string dir = test_dir("bert");
  std::ofstream(dir + "/config.json") << R"({"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 64})";
  const std::string e = error_of([&] { load_model(dir); });
  EXPECT_NE(e.find("architectures"), std::string::npos) << e;
  EXPECT_NE(e.find("LlamaForCausalLM"), std::string::npos) << e;
  EXPECT_NE(e.find("MixtralForCausalLM"), std::string::npos) << e;
}

TEST(CompilerErrors, MissingFieldIsNamed) {
  const std::string dir = test_dir("no_hidden");
  std::ofstream(dir + "/config.json") << R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "vocab_size": 512, "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0})";
  const std::string e = error_of([&] { load_model(dir); });
  EXPECT_NE(e.find("hidden_size"), std::string::npos) << e;
}

TEST(CompilerErrors, ModelLargerThanHbmGivesTheSizes) {
  const config::Arch tiny = config::load_arch("tiny");
  CompileOptions o;
  o.context = 16;
  const std::string e = error_of([&] { compile(load_model("llama3-8b"), *tiny, o); });
  EXPECT_NE(e.find("does not fit"), std::string::npos) << e;
  EXPECT_NE(e.find("7.97 GiB"), std::string::npos) << e;  // FP8 weights of Llama-3-8B (8.56e9 B)
  EXPECT_NE(e.find("1.00 GiB"), std::string::npos) << e;  // the tiny preset's HBM slice
}

// Both program writers (a model step and a GEMM) refuse a token depth below what the emitter
// keeps in flight, with the same message (compiler/emitter.h, check_token_depth).
TEST(CompilerErrors, TokenDepthBelowTheEmittersWindow) {
  const config::Arch tiny = config::load_arch("tiny", {"core.token_depth=4"});
  const std::string expected = "tiny: core.token_depth 4 is below 14";
  CompileOptions o;
  o.context = 16;
  const std::string e = error_of([&] { compile(load_model("gpt2"), *tiny, o); });
  EXPECT_NE(e.find(expected), std::string::npos) << e;
  const std::string g = error_of([&] { compile_gemm(*tiny, GemmSpec{64, 64, 64}); });
  EXPECT_NE(g.find(expected), std::string::npos) << g;
}

TEST(CompilerErrors, KvCacheThatCannotHoldTheBatch) {
  const config::Arch a = config::load_arch("sohu-like");
  CompileOptions o;
  o.chips = 1;
  o.batch = 2048;
  o.context = 8192;
  const std::string e = error_of([&] { compile(load_model("llama3-8b"), *a, o); });
  EXPECT_NE(e.find("KV cache cannot hold 2048 sequences x 8192 tokens"), std::string::npos) << e;
  EXPECT_NE(e.find("GiB"), std::string::npos) << e;
}

TEST(CompilerErrors, TileThatCannotFitTheSram) {
  // GPT-2's 50,257-entry LM head on the tiny preset's 64 KiB L1.
  const config::Arch tiny = config::load_arch("tiny");
  CompileOptions o;
  o.phase = Phase::Prefill;
  o.context = 4;
  const std::string e = error_of([&] { compile(load_model("gpt2"), *tiny, o); });
  EXPECT_NE(e.find("l1"), std::string::npos) << e;
  EXPECT_NE(e.find("65536"), std::string::npos) << e;
}

TEST(CompilerErrors, BadRequests) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-8b");
  CompileOptions o;
  o.context = 0;
  EXPECT_NE(error_of([&] { compile(m, *a, o); }).find("--context"), std::string::npos);
  o.context = 16;
  o.batch = 3;  // 8 chips: 8 replicas of one chip
  o.tp = 1;
  EXPECT_NE(error_of([&] { compile(m, *a, o); }).find("does not divide"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_precision("fp4", *a); }).find("fp4"), std::string::npos);
}

// Pipeline stages (CompileOptions::pp): a chip holds num_layers / pp layers, so its weights
// and its KV cache shrink by pp and the memory check admits pp times the sequences; stages
// must divide the layers.
TEST(CompilerPartition, PipelineStagesHoldAShareOfTheLayers) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-70b");
  CompileOptions o;
  o.chips = 8;
  o.tp = 1;
  o.batch = 2400;  // 300 sequences per chip as 8 replicas: more than their HBM holds
  o.context = o.max_context = 2176;
  o.segment.kind = Segment::Embed;
  const std::string dp = error_of([&] { compile(m, *a, o); });
  EXPECT_NE(dp.find("KV cache cannot hold 300 sequences"), std::string::npos) << dp;
  o.pp = 8;
  const Compiled c = compile(m, *a, o);
  EXPECT_EQ(c.pp, 8u);
  EXPECT_EQ(c.replicas, 1u);
  EXPECT_EQ(c.batch_per_replica, 2400u);
  EXPECT_EQ(c.stage_layers, 10u);
  // 10 of 80 layers: about 8.6 GB of FP8 layer weights beside the embedding and head.
  EXPECT_LT(c.weight_bytes_per_chip, 13'000'000'000ull);
  EXPECT_GT(c.weight_bytes_per_chip, 8'000'000'000ull);
  // One row of the FP32 residual stream per sequence; in HBM its 32 KiB rows are padded to
  // 32,896 B (placement.cpp, x_pitch), and the padding travels with them.
  EXPECT_EQ(c.stage_activation_bytes, 2400u * 32896u);
  o.pp = 3;
  const std::string three = error_of([&] { compile(m, *a, o); });
  EXPECT_NE(three.find("pp=3"), std::string::npos) << three;
  EXPECT_NE(three.find("80 layers"), std::string::npos) << three;
  // A whole pipelined step compiles since issue 15 (tests/driver/functional_test.cpp runs them).
}

// Precision policy: under FP8 activations the MoE router reads a BF16 copy of the
// normalised rows (a second output of mlp_norm) while the experts read FP8; under BF16
// there is no copy.
TEST(CompilerPrecision, MoeRouterInputStaysBf16) {
  ref::TinyModelOptions t;
  t.architecture = hf::Architecture::Mixtral;
  const std::string dir = test_dir("mixtral");
  ref::write_tiny_model(dir, t);
  const hf::ModelConfig m = load_model(dir);
  const config::Arch a = config::load_arch("tiny");
  CompileOptions o;
  o.context = 16;
  o.precision = parse_precision("fp8", *a);
  const std::string fp8 = compile(m, *a, o).ir_text;
  EXPECT_NE(fp8.find("%xn2:fp8_e4m3[1x64], %xr:bf16[1x64] = norm mlp_norm("), std::string::npos) << fp8;
  EXPECT_NE(fp8.find("linear router(%xr:bf16[1x64], %layer.router.w:bf16"), std::string::npos) << fp8;
  EXPECT_NE(fp8.find("linear experts.gate_up(%xn2:fp8_e4m3[1x64]"), std::string::npos) << fp8;
  o.precision = parse_precision("bf16", *a);
  const std::string bf16 = compile(m, *a, o).ir_text;
  EXPECT_EQ(bf16.find("%xr"), std::string::npos) << bf16;
  EXPECT_NE(bf16.find("linear router(%xn2:bf16[1x64]"), std::string::npos) << bf16;
}

// The timed decoder layer is the steady-state layer of the whole program (docs/compiler.md,
// "Weight stream"): it starts with the weight chunks the previous layer loaded and ends by
// loading the next layer's first chunks. The bytes it moves from HBM are those of a
// stand-alone layer, only some of them from the next layer's copy.
TEST(CompilerWeightStream, SteadyLayerPrefetchesTheNextLayerAndMovesTheSameBytes) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-8b");
  // One chip (more chunks per core than ring slots) and 8 (tensor-parallel: fewer).
  for (uint32_t chips : {1u, 8u}) {
    CompileOptions o;
    o.context = 300;
    o.chips = chips;
    o.segment.kind = Segment::Layer;
    o.segment.layer = 0;
    const Compiled steady = compile(m, *a, o);
    o.segment.steady = false;
    const Compiled cold = compile(m, *a, o);
    // Layer 0's region: from its lowest per-layer HBM address, one layer stride long.
    const std::string& ir = steady.ir_text;
    const size_t at = ir.find("layer stride ");
    ASSERT_NE(at, std::string::npos);
    const uint64_t stride = std::stoull(ir.substr(at + 13));
    uint64_t base = UINT64_MAX;
    for (size_t p = ir.find("per-layer  @hbm:0x"); p != std::string::npos; p = ir.find("per-layer  @hbm:0x", p + 1))
      base = std::min<uint64_t>(base, std::stoull(ir.substr(p + 18), nullptr, 16));
    ASSERT_NE(base, UINT64_MAX);
    struct Bytes {
      uint64_t own = 0, next = 0, total = 0;
    };
    auto count = [&](const Compiled& c) {
      Bytes b;
      for (const isa::TextSection& t : c.program.text) {
        for (const isa::Instr& in : t.code) {
          if (in.op != isa::Opcode::load || in.src_space != uint64_t(isa::Space::hbm)) continue;
          const uint64_t n = in.len * in.n1 * in.n2;
          b.total += n;
          if (in.src_addr >= base + stride && in.src_addr < base + 2 * stride)
            b.next += n;
          else if (in.src_addr >= base && in.src_addr < base + stride) {
            b.own += n;
          }
        }
      }
      return b;
    };
    const Bytes s = count(steady), c = count(cold);
    EXPECT_EQ(c.next, 0u);
    EXPECT_GT(s.next, 0u);  // the prefetch of layer 1
    EXPECT_LT(s.own, c.own);  // layer 0's first chunks came from the layer before
    EXPECT_EQ(s.own + s.next, c.own) << chips << " chip(s)";
    EXPECT_EQ(s.total, c.total) << chips << " chip(s)";
  }
}

// Layer 0 of a one-chip prefill of `context` tokens.
Compiled prefill_layer0(const hf::ModelConfig& m, const config::ArchConfig& a, uint64_t context) {
  CompileOptions o;
  o.phase = Phase::Prefill;
  o.context = context;
  o.chips = 1;
  o.segment.kind = Segment::Layer;
  o.segment.layer = 0;
  return compile(m, a, o);
}

// Prefill attention on four engines (kernels_attention.cpp, sc_of / pv_of / early): both
// sweeps' scores on engines 0 and 1, the P V on 2 and 3, so the accumulators the vector engine
// streams score pages from are not the ones a P V accumulates into (one read port); and each
// unit's first two sweep-1 pages on the P V engine that is idle the iteration before, issued
// a unit ahead, page 0 then copied into L1 by a DMA engine so that no vector instruction
// reads two accumulator pages (two cycles a row). Llama-3-8B, FP8: a Q K^T has k = head_dim (sweep 1) or head_dim + 1 (sweep 2,
// the -m row), a P V n = head_dim + 1 (the ones column); the causal mask's B is BF16.
TEST(CompilerPrefillAttention, ScoresOnTwoEnginesPvOnTheOtherTwoFirstPagesAhead) {
  const config::Arch a = config::load_arch("sohu-like");
  ASSERT_EQ(a->core.matrix_engines, 4u);
  const hf::ModelConfig m = load_model("llama3-8b");
  const uint64_t hd = m.head_dim;
  const Compiled c = prefill_layer0(m, *a, 1024);
  for (const isa::TextSection& t : c.program.text) {
    // Per engine: sweep-1 scores, sweep-2 scores, P V matmuls.
    std::array<uint64_t, 4> s1{}, s2{}, pv{};
    uint64_t two_acc = 0, page_copies = 0;
    for (const isa::Instr& in : t.code) {
      if (in.unit == uint8_t(isa::Unit::vec) && in.src1_space == uint64_t(isa::Space::acc) &&
          in.src2_space == uint64_t(isa::Space::acc))
        ++two_acc;
      if (in.op == isa::Opcode::store && in.src_space == uint64_t(isa::Space::acc) &&
          in.dst_space == uint64_t(isa::Space::l1) && in.len == uint64_t(a->matrix.cols) * 4)
        ++page_copies;
      if (in.op != isa::Opcode::matmul || in.b_type == uint64_t(isa::DType::bf16) ||
          in.a_type != uint64_t(isa::DType::bf16))
        continue;
      const uint32_t e = in.unit - uint8_t(isa::Unit::mx0);
      ASSERT_LT(e, 4u);
      if (in.n == hd + 1)
        ++pv[e];
      else if (in.k == hd + 1)
        ++s2[e];
      else if (in.k == hd)
        ++s1[e];
    }
    EXPECT_GT(pv[2] + pv[3], 0u) << "core " << t.core;
    EXPECT_EQ(pv[0] + pv[1], 0u) << "core " << t.core;
    EXPECT_GT(s2[0] + s2[1], 0u) << "core " << t.core;
    EXPECT_EQ(s2[2] + s2[3], 0u) << "core " << t.core;
    // Sweep 1: the pages after the second on 0 and 1, the first two on 2 and 3.
    EXPECT_GT(s1[0] + s1[1], 0u) << "core " << t.core;
    EXPECT_GT(s1[2] + s1[3], 0u) << "core " << t.core;
    EXPECT_EQ(two_acc, 0u) << "core " << t.core;
    EXPECT_GT(page_copies, 0u) << "core " << t.core;
  }
}

// Prefill attention's row max (kernels_attention.cpp, sweep1_step): vrmax writes m straight
// into Q''s extra BF16 column and the K^T slots' extra row holds -1, so sweep 2's scores are
// S - m without a vector instruction negating m (the vector engine bounds this kernel).
TEST(CompilerPrefillAttention, RowMaxWrittenIntoQWithoutNegating) {
  const config::Arch a = config::load_arch("sohu-like");
  const Compiled c = prefill_layer0(load_model("llama3-8b"), *a, 1024);
  for (const isa::TextSection& t : c.program.text) {
    uint64_t rmax = 0, minus_ones = 0;
    for (const isa::Instr& in : t.code) {
      if (in.unit != uint8_t(isa::Unit::vec)) continue;
      if (in.op == isa::Opcode::vrmax) {
        ++rmax;
        EXPECT_EQ(in.dst_space, uint64_t(isa::Space::l1)) << "core " << t.core;
        EXPECT_EQ(in.dst_type, uint64_t(isa::DType::bf16)) << "core " << t.core;
      }
      if (in.op == isa::Opcode::vfill && in.imm == -1.0f) ++minus_ones;
      // The negation it replaces: a one-column vscale by -1.
      EXPECT_FALSE(in.op == isa::Opcode::vscale && in.imm == -1.0f) << "core " << t.core;
    }
    EXPECT_GT(rmax, 0u) << "core " << t.core;
    EXPECT_GT(minus_ones, 0u) << "core " << t.core;
  }
}

// Prefill norms (kernels_vector.cpp, emit_norm): x's rows of every chunk split over both DMA
// engines and loaded one chunk ahead of the vector work, the normalised rows stored over both
// engines too. Llama-3-8B prefill, 1024 tokens: 64 rows a core, two chunks of L1.
TEST(CompilerPrefillNorm, RowsOverBothEnginesAChunkAhead) {
  const config::Arch a = config::load_arch("sohu-like");
  ASSERT_EQ(a->core.dma_engines, 2u);
  const hf::ModelConfig m = load_model("llama3-8b");
  const Compiled c = prefill_layer0(m, *a, 1024);
  for (const isa::TextSection& t : c.program.text) {
    std::array<uint64_t, 2> loads{}, stores{};
    uint64_t loads_before_vec = 0, vec = 0;
    bool gain = true;  // the first load: the norm's gain, one row
    for (const isa::Instr& in : t.code) {
      if (in.op == isa::Opcode::barrier) break;  // the end of attn_norm
      if (in.unit == uint8_t(isa::Unit::vec)) ++vec;
      if (in.op == isa::Opcode::load && in.src_space != uint64_t(isa::Space::l1) && !std::exchange(gain, false)) {
        ASSERT_LT(in.unit, 2u);
        ++loads[in.unit];
        if (!vec) ++loads_before_vec;
      }
      if (in.op == isa::Opcode::store) {
        ASSERT_LT(in.unit, 2u);
        ++stores[in.unit];
      }
    }
    EXPECT_GT(loads[0], 0u) << "core " << t.core;
    EXPECT_EQ(loads[0], loads[1]) << "core " << t.core;
    EXPECT_EQ(stores[0], stores[1]) << "core " << t.core;
    EXPECT_EQ(loads_before_vec, 4u) << "core " << t.core;  // chunks 0 and 1, two parts each
  }
}

// One-chip prefill (passes/fusion.cpp): o writes its FP32 sums and mlp_norm, which reads x
// anyway, adds them into x, so o's epilogue reads and writes no x rows; the sums live until
// mlp_norm. Decode keeps the residual add in o's epilogue.
TEST(CompilerPrefillNorm, OneChipPrefillAddsOsSumsInTheNorm) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-8b");
  const std::string ir = prefill_layer0(m, *a, 1024).ir_text;
  EXPECT_NE(ir.find("= linear o(%attn:fp8_e4m3[1024x4096], %layer.o.w"), std::string::npos) << ir;
  EXPECT_NE(ir.find("= norm mlp_norm(%x:fp32[1024x4096], %layer.mlp_norm.w:fp32[4096], %attn_out:fp32[1024x4096])"),
            std::string::npos)
      << ir;
  const size_t sums = ir.find("%attn_out : fp32[1024x4096] activation per-layer  @l2:");
  ASSERT_NE(sums, std::string::npos) << ir;
  EXPECT_NE(ir.substr(sums, ir.find('\n', sums) - sums).find("live ops 4..5"), std::string::npos) << ir;
  CompileOptions o;
  o.context = 1024;
  o.chips = 1;
  o.segment.kind = Segment::Layer;
  o.segment.layer = 0;
  const std::string dec = compile(m, *a, o).ir_text;
  EXPECT_NE(dec.find("linear o(%attn:fp8_e4m3[1x4096], %x:fp32[1x4096]"), std::string::npos) << dec;
}

// Prefill down (kernels_matmul.cpp, emit_linear): the residual rows of the last pass's first
// epilogue items are loaded seven eighths through that pass, before its last matmul, instead
// of after it, and those of the other items into the A slots its last k-block does not read:
// every residual row of the last pass is in L1 before its last matmul. Llama-3-70B, 2048
// tokens: passes of 1024 rows, so those rows are x's rows 1024 on, which live in L2 (x's last
// 1,536 rows, placement.cpp); a core has two column groups of 1 KiB.
TEST(CompilerPrefillResidual, LastPassRowsLoadedBeforeItsLastMatmul) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-70b");
  const Compiled c = prefill_layer0(m, *a, 2048);
  const std::string& ir = c.ir_text;
  const size_t at = ir.find("%x : fp32[2048x8192] activation  @hbm:0x");
  ASSERT_NE(at, std::string::npos) << ir;
  const size_t l2 = ir.find("last 1536 rows in L2 at 0x", at);
  ASSERT_NE(l2, std::string::npos) << ir.substr(at, 400);
  const uint64_t x_l2 = std::stoull(ir.substr(l2 + 24), nullptr, 16);
  const uint64_t row = 8192 * 4;
  for (const isa::TextSection& t : c.program.text) {
    // down is the layer's seventh phase: after six barriers.
    std::vector<isa::Instr> down;
    int barriers = 0;
    for (const isa::Instr& in : t.code) {
      if (in.op == isa::Opcode::barrier) ++barriers;
      else if (barriers == 6) down.push_back(in);
    }
    size_t last_mm = 0;
    for (size_t i = 0; i < down.size(); ++i)
      if (down[i].op == isa::Opcode::matmul) last_mm = i;
    ASSERT_GT(last_mm, 0u) << "core " << t.core;
    uint64_t early = 0;
    for (size_t i = 0; i < last_mm; ++i) {
      const isa::Instr& in = down[i];
      if (in.op == isa::Opcode::load && in.src_space == uint64_t(isa::Space::l2) && in.src_addr >= x_l2 &&
          in.src_addr < x_l2 + 1536 * row && 512 + (in.src_addr - x_l2) / row >= 1024)
        early += in.len * in.n1 * in.n2;
    }
    EXPECT_EQ(early, 1024u * 2048) << "core " << t.core;
  }
}

// Llama-3-70B prefill at 2,048 rows: x (64 MiB) does not fit L2 beside o's input and FP32
// sums (80 MiB of 128), so it spilled whole to HBM and the norms and the residual epilogues
// were bound by HBM (mlp_norm 25,106 cycles). Its last 1,536 rows now live in the 48 MiB of
// L2 free over the whole step (placement.cpp), the first 512 in HBM, and every access to x
// splits at row 512: attn_norm reads x's rows from both tiers, down's epilogue reads and
// writes them where they live.
TEST(CompilerPlacement, ResidualStreamLastRowsLiveInL2) {
  const config::Arch a = config::load_arch("sohu-like");
  const Compiled c = prefill_layer0(load_model("llama3-70b"), *a, 2048);
  const std::string& ir = c.ir_text;
  const size_t at = ir.find("%x : fp32[2048x8192] activation  @hbm:0x");
  ASSERT_NE(at, std::string::npos) << ir;
  const uint64_t x = std::stoull(ir.substr(at + 40), nullptr, 16);
  const size_t l2 = ir.find("last 1536 rows in L2 at 0x", at);
  ASSERT_NE(l2, std::string::npos) << ir.substr(at, 400);
  const uint64_t x_l2 = std::stoull(ir.substr(l2 + 24), nullptr, 16);
  EXPECT_EQ(x_l2 + 48ull * 1024 * 1024, uint64_t(a->l2.bytes));
  bool listed = false;
  for (const MemoryRegion& r : c.memory)
    if (r.space == isa::Space::l2 && r.addr == x_l2 && r.bytes == 1536u * 8192 * 4) listed = true;
  EXPECT_TRUE(listed);
  const uint64_t row = 8192 * 4, pitch = 32896;
  for (const isa::TextSection& t : c.program.text) {
    // Bytes of x moved from and to each tier in attn_norm (phase 0) and down (phase 6).
    uint64_t hbm[7][2] = {}, in_l2[7][2] = {};
    int phase = 0;
    for (const isa::Instr& in : t.code) {
      if (in.op == isa::Opcode::barrier) {
        ++phase;
        continue;
      }
      if (phase > 6 || (in.op != isa::Opcode::load && in.op != isa::Opcode::store)) continue;
      const bool load = in.op == isa::Opcode::load;
      const uint64_t sp = load ? in.src_space : in.dst_space, ad = load ? in.src_addr : in.dst_addr;
      const uint64_t bytes = in.len * in.n1 * in.n2;
      if (sp == uint64_t(isa::Space::hbm) && ad >= x && ad < x + 512 * pitch) hbm[phase][load] += bytes;
      if (sp == uint64_t(isa::Space::l2) && ad >= x_l2 && ad < x_l2 + 1536 * row) in_l2[phase][load] += bytes;
    }
    // attn_norm: 128 rows a core; cores 0-3 read rows 0-511 from HBM, the others from L2.
    EXPECT_EQ(hbm[0][1] + in_l2[0][1], 128u * row) << "core " << t.core;
    EXPECT_EQ(in_l2[0][1], t.core < 4 ? 0u : 128u * row) << "core " << t.core;
    // down: two column groups of 1 KiB of every row, in and out; three quarters in L2.
    EXPECT_EQ(in_l2[6][1], 1536u * 2048) << "core " << t.core;
    EXPECT_EQ(in_l2[6][0], 1536u * 2048) << "core " << t.core;
    EXPECT_EQ(hbm[6][1], 512u * 2048) << "core " << t.core;
  }
}

// Bytes a core loads from L2 (a prefill matmul's input rows) in phase `phase` of a segment.
uint64_t l2_load_bytes(const isa::TextSection& t, int phase) {
  int barriers = 0;
  uint64_t bytes = 0;
  for (const isa::Instr& in : t.code) {
    if (in.op == isa::Opcode::barrier) ++barriers;
    else if (barriers == phase && in.op == isa::Opcode::load && in.src_space == uint64_t(isa::Space::l2))
      bytes += in.len * in.n1 * in.n2;
  }
  return bytes;
}

// Llama-3-70B prefill qkv: 5 column groups of 1,024 rows a core. Passes in halves of the
// accumulator hold 2 groups, so A (8 MiB a core, from L2) was loaded 3 times; with the
// accumulator regions in a ring a pass holds 3 (acc_ring_slots) and A is loaded at most twice.
TEST(CompilerPrefillQkv, RingOfAccumulatorRegionsLoadsTheInputAtMostTwice) {
  const config::Arch a = config::load_arch("sohu-like");
  const Compiled c = prefill_layer0(load_model("llama3-70b"), *a, 2048);
  EXPECT_NE(c.ir_text.find("3 group(s) per pass"), std::string::npos) << c.ir_text.substr(0, 6000);
  for (const isa::TextSection& t : c.program.text) {
    const uint64_t a_bytes = l2_load_bytes(t, 1);
    EXPECT_GT(a_bytes, 0u) << "core " << t.core;
    EXPECT_LE(a_bytes, 2u * 1024 * 8192) << "core " << t.core;
  }
}

// Llama-3-70B prefill gate_up: a core's 2,048 rows in 2 row chunks of 7 passes (one column
// group each) over 16 A blocks of 512 KiB. Every second pass over the same rows takes its
// k-blocks last first and starts with the block the pass before ended with, still in its
// slot: 12 of the 224 blocks are not loaded again.
TEST(CompilerPrefillMatmul, ReversedPassesStartWithTheBlockTheirPredecessorLoadedLast) {
  const config::Arch a = config::load_arch("sohu-like");
  const Compiled c = prefill_layer0(load_model("llama3-70b"), *a, 2048);
  for (const isa::TextSection& t : c.program.text)
    EXPECT_EQ(l2_load_bytes(t, 5), (14u * 16 - 12) * 512 * 1024) << "core " << t.core;
}

// Core 0's instructions of a compiled segment split at its barriers, and the bytes of the
// weight ring at the bottom of L1 (from the IR's "weight ring: N slots x B B" line).
struct Phases {
  std::vector<std::vector<isa::Instr>> phases;
  uint64_t ring_bytes = 0;
};
Phases core0_phases(const Compiled& c) {
  Phases p;
  const std::string& ir = c.ir_text;
  const size_t at = ir.find("weight ring: ");
  EXPECT_NE(at, std::string::npos);
  if (at == std::string::npos) return p;
  const uint64_t slots = std::stoull(ir.substr(at + 13));
  const size_t x = ir.find(" slots x ", at);
  p.ring_bytes = slots * std::stoull(ir.substr(x + 9));
  p.phases.emplace_back();
  for (const isa::Instr& in : c.program.text.at(0).code) {
    if (in.op == isa::Opcode::barrier) {
      p.phases.emplace_back();
      continue;
    }
    p.phases.back().push_back(in);
  }
  return p;
}
bool ring_chunk_load(const isa::Instr& in, uint64_t ring_bytes) {
  return in.op == isa::Opcode::load && in.src_space == uint64_t(isa::Space::hbm) &&
         in.dst_space == uint64_t(isa::Space::l1) && in.dst_addr < ring_bytes;
}

// A decode step leaves ring slots free at every barrier, and each matmul phase loads them
// before its first matmul (WeightStream::resume): with the ring full at a barrier HBM idled
// until the phase's first chunk was computed, about 900 cycles per matmul phase of the
// Llama-3-8B batch-1 layer on sohu-like (docs/validation.md, issue 13).
TEST(CompilerWeightStream, DecodeMatmulPhasesStreamBeforeTheirFirstMatmul) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-8b");
  for (Segment::Kind kind : {Segment::Layer, Segment::Head}) {
    CompileOptions o;
    o.context = 300;
    o.chips = 1;
    o.segment.kind = kind;
    const Phases p = core0_phases(compile(m, *a, o));
    int matmul_phases = 0;
    for (size_t i = 0; i < p.phases.size(); ++i) {
      bool weights = false, loaded = false, before = false;
      for (const isa::Instr& in : p.phases[i]) {
        if (in.op == isa::Opcode::matmul && in.b_addr < p.ring_bytes) {
          if (!weights) before = loaded;
          weights = true;
        }
        if (ring_chunk_load(in, p.ring_bytes)) loaded = true;
      }
      if (!weights) continue;
      ++matmul_phases;
      EXPECT_TRUE(before) << (kind == Segment::Layer ? "layer" : "head") << " phase " << i
                        << ": no weight chunk loads ahead of its first matmul";
    }
    EXPECT_EQ(matmul_phases, kind == Segment::Layer ? 4 : 1);
  }
}

// At decode batch 1 a norm is one row on one core while HBM idles at its barrier: the
// matmul after it normalises its input row on every core instead, with the gain copied to
// L2 by the phase before (one HBM read of it, not one per core). A steady layer folds both
// norms (the previous layer staged the first); a cold one only the second (nothing before
// it staged the first); batch 64 keeps its norm phases, as does the head.
TEST(CompilerWeightStream, DecodeBatchOneNormsFoldIntoTheMatmulAfterThem) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-8b");
  auto names = [&](uint64_t batch, bool steady, Segment::Kind kind) {
    CompileOptions o;
    o.context = 300;
    o.chips = 1;
    o.batch = batch;
    o.segment.kind = kind;
    o.segment.steady = steady;
    std::string v;
    for (const Compiled::PhaseInfo& p : compile(m, *a, o).phases) v += p.name + " ";
    return v;
  };
  EXPECT_EQ(names(1, true, Segment::Layer), "qkv attention attention_combine o gate_up down ");
  EXPECT_EQ(names(1, false, Segment::Layer), "attn_norm qkv attention attention_combine o gate_up down ");
  EXPECT_EQ(names(64, true, Segment::Layer).find("attn_norm qkv"), 0u);
  EXPECT_NE(names(64, true, Segment::Layer).find("mlp_norm gate_up"), std::string::npos);
  EXPECT_EQ(names(1, true, Segment::Head).find("final_norm lm_head"), 0u);
}

// A decode attention that reads fewer KV bytes than the cores' rings hold (batch 1) leaves
// HBM about half busy: it fills every free ring slot with o's chunks. A longer one (batch 64:
// 64 sequences' pages) keeps the slots its barrier leaves free for o to load.
TEST(CompilerWeightStream, ShortDecodeAttentionFillsTheRing) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-8b");
  auto attention_loads = [&](uint64_t batch) {
    CompileOptions o;
    o.context = 2049;
    o.chips = 1;
    o.batch = batch;
    o.segment.kind = Segment::Layer;
    const Compiled c = compile(m, *a, o);
    const Phases p = core0_phases(c);
    int n = 0;
    for (size_t i = 0; i < c.phases.size() && i < p.phases.size(); ++i)
      if (c.phases[i].name.rfind("attention", 0) == 0)
        for (const isa::Instr& in : p.phases[i]) n += ring_chunk_load(in, p.ring_bytes) ? 1 : 0;
    return n;
  };
  EXPECT_EQ(attention_loads(1), 2);
  EXPECT_EQ(attention_loads(64), 1);
}

// The top-1 of the logits reads them in runs of 32,768 words from L2; each run's columns
// come in over every DMA engine (on one, Llama-3-8B's four runs arrived one after the other
// at one engine's rate: 1,211 cycles of a decode step with HBM idle).
TEST(CompilerWeightStream, TopOneRunsLoadOverEveryDmaEngine) {
  const config::Arch a = config::load_arch("sohu-like");
  const hf::ModelConfig m = load_model("llama3-8b");
  CompileOptions o;
  o.context = 300;
  o.chips = 1;
  o.segment.kind = Segment::Head;
  const Compiled c = compile(m, *a, o);
  const Phases p = core0_phases(c);
  ASSERT_EQ(c.phases.back().name, "top1");
  std::vector<uint64_t> bytes(2, 0);
  for (const isa::Instr& in : p.phases.at(c.phases.size() - 1))
    if (in.op == isa::Opcode::load && in.unit < bytes.size()) bytes[in.unit] += in.len * in.n1;
  EXPECT_EQ(bytes[0], bytes[1]);
  EXPECT_EQ(bytes[0] + bytes[1], uint64_t(m.vocab_size) * 4);
}

// The per-column constants of a matmul (here lm_head's FP8 weight scales, one group of
// columns in every 16 on each core of sohu-like) load in one strided transfer, not one per
// group: in one in-order DMA queue 32 loads of 1 KiB each held the decode head's matmuls
// back by about 3,500 cycles.
TEST(CompilerWeightStream, ScalesOfACoresColumnGroupsAreOneTransfer) {
  const config::Arch a = config::load_arch("sohu-like");
  CompileOptions o;
  o.context = 300;
  o.chips = 1;
  o.segment.kind = Segment::Head;
  const Phases p = core0_phases(compile(load_model("llama3-8b"), *a, o));
  ASSERT_GE(p.phases.size(), 2u);
  const std::vector<isa::Instr>& lm_head = p.phases[1];
  int small = 0;
  for (const isa::Instr& in : lm_head) {
    if (in.op == isa::Opcode::matmul) break;
    if (in.op == isa::Opcode::load && in.src_space == uint64_t(isa::Space::hbm) &&
        !ring_chunk_load(in, p.ring_bytes))
      ++small;
  }
  EXPECT_EQ(small, 1);
}

}  // namespace
}  // namespace tessera::compiler
