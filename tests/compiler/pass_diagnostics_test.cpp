// One test per diagnostic a pass (and the front end) emits (grep InputError
// compiler/passes/*.cpp compiler/frontend.cpp): each feeds
// an input that triggers it through the pipeline compile() runs and checks that the
// message names the field (or flag) and what was expected. Fusion emits none: it rewrites
// only what the front end built, and its one check is an internal logic_error. The front
// end's checks of the model's shape are reached here with a ModelConfig changed in code:
// hf::parse_model_config refuses such a config.json first (tests/common/hf).
#include <gtest/gtest.h>

#include <string>

#include "common/config/config.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "compiler/hw.h"
#include "compiler/ir.h"
#include "compiler/passes/passes.h"
#include "tests/compiler/input_error.h"

namespace tessera::compiler {
namespace {

// A small Llama config.json; head_dim is written only when given.
std::string llama(uint64_t hidden, uint64_t heads, uint64_t kv_heads, uint64_t inter, uint64_t vocab,
                  uint64_t head_dim = 0) {
  return R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": )" + std::to_string(hidden) +
         R"(, "intermediate_size": )" + std::to_string(inter) + R"(, "num_hidden_layers": 2, "num_attention_heads": )" +
         std::to_string(heads) + R"(, "num_key_value_heads": )" + std::to_string(kv_heads) +
         R"(, "vocab_size": )" + std::to_string(vocab) +
         (head_dim ? R"(, "head_dim": )" + std::to_string(head_dim) : std::string()) +
         R"(, "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "rope_theta": 10000.0})";
}

hf::ModelConfig model(const std::string& json) { return hf::parse_model_config(json, "test/config.json"); }

// Chooses the parallelism and runs the front end and every pass, as compile() does (but
// with an explicit Hw, so a test can describe hardware no preset has).
Graph lower(const hf::ModelConfig& m, const config::ArchConfig& arch, const Hw& hw, CompileOptions opt,
            const std::string& precision) {
  const Precision prec = parse_precision(precision, arch);
  const Parallelism par = choose_parallelism(m, hw, opt, prec);
  opt.batch = par.batch;
  const PassContext ctx{hw, opt, prec};
  Graph g = build_step_graph(m, arch, ctx, par);
  for (const PassInfo& p : passes()) p.run(g, ctx);
  return g;
}

Graph lower(const hf::ModelConfig& m, const std::string& arch_name, const CompileOptions& opt,
            const std::string& precision) {
  const config::Arch arch = config::load_arch(arch_name);
  return lower(m, *arch, hw_of(*arch), opt, precision);
}


#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "expected '" << (part) << "' in: " << (text)

CompileOptions decode(uint64_t batch, uint64_t context) {
  CompileOptions o;
  o.batch = batch;
  o.context = context;
  return o;
}

const std::string kLlama = llama(64, 4, 2, 128, 256);

// ---- front end (build_graph: what the back end cannot lower) ------------------------------

TEST(FrontendDiagnostics, NoSequences) {
  const std::string e = error_of([] { lower(model(kLlama), "tiny", decode(0, 16), "bf16"); });
  EXPECT_HAS(e, "--batch: expected at least 1 sequence, got 0");
}

TEST(FrontendDiagnostics, NoContext) {
  const std::string e = error_of([] { lower(model(kLlama), "tiny", decode(1, 0), "bf16"); });
  EXPECT_HAS(e, "--context: expected at least 1 token, got 0");
}

TEST(FrontendDiagnostics, MaxContextBelowTheContext) {
  CompileOptions o = decode(1, 16);
  o.max_context = 8;
  const std::string e = error_of([&] { lower(model(kLlama), "tiny", o, "bf16"); });
  EXPECT_HAS(e, "max context 8 is below the context 16 of this step");
}

TEST(FrontendDiagnostics, ContextBeyondMaxPositionEmbeddings) {
  const std::string e = error_of([] { lower(model(kLlama), "tiny", decode(1, 600), "bf16"); });
  EXPECT_HAS(e, "--context: 600 tokens exceed max_position_embeddings 512 of test/config.json");
}

TEST(FrontendDiagnostics, ContextBeyondWhatVmaskExpresses) {
  std::string json = kLlama;
  json.replace(json.find("512"), 3, "100000");  // max_position_embeddings
  const std::string e = error_of([&] { lower(model(json), "tiny", decode(1, 70000), "bf16"); });
  EXPECT_HAS(e, "--context: 70000 tokens exceed 65535, the largest position vmask can express");
}

TEST(FrontendDiagnostics, OddHeadDimUnderRope) {
  hf::ModelConfig m = model(kLlama);
  m.head_dim = 15;
  const std::string e = error_of([&] { lower(m, "tiny", decode(1, 16), "bf16"); });
  EXPECT_HAS(e, "test/config.json: head_dim 15 is odd; RoPE (vrope) needs an even head_dim");
}

TEST(FrontendDiagnostics, QueryHeadsNotAMultipleOfKvHeads) {
  hf::ModelConfig m = model(kLlama);
  m.num_kv_heads = 3;
  const std::string e = error_of([&] { lower(m, "sohu-like", decode(8, 16), "bf16"); });
  EXPECT_HAS(e, "num_attention_heads 4 is not a multiple of num_key_value_heads 3");
}

TEST(FrontendDiagnostics, MoreExpertsPerTokenThanExperts) {
  hf::ModelConfig m = model(kLlama);
  m.num_experts = 2;
  m.experts_per_token = 3;
  const std::string e = error_of([&] { lower(m, "tiny", decode(1, 16), "bf16"); });
  EXPECT_HAS(e, "num_experts_per_tok exceeds num_local_experts");
}

TEST(FrontendDiagnostics, PrefillBeyondTheSlidingWindow) {
  std::string json = kLlama;
  json.replace(json.find(R"("architectures": ["LlamaForCausalLM"], "model_type": "llama")"),
               std::string(R"("architectures": ["LlamaForCausalLM"], "model_type": "llama")").size(),
               R"("architectures": ["MistralForCausalLM"], "model_type": "mistral", "sliding_window": 8)");
  CompileOptions o = decode(1, 16);
  o.phase = Phase::Prefill;
  const std::string e = error_of([&] { lower(model(json), "tiny", o, "bf16"); });
  EXPECT_HAS(e, "--context: a prefill of 16 tokens exceeds sliding_window 8 of test/config.json");
}

// ---- precision ---------------------------------------------------------------------------

TEST(PrecisionDiagnostics, FormatNotInMatrixPrecisions) {
  // tpu-v1's arrays multiply int8 only.
  const std::string e = error_of([] { lower(model(kLlama), "tpu-v1", decode(1, 16), "bf16"); });
  EXPECT_HAS(e, "weight format bf16");
  EXPECT_HAS(e, "matrix.precisions");
  EXPECT_HAS(e, "tpu-v1");
}

TEST(PrecisionDiagnostics, Int8MultipliesOnlyWithInt8) {
  const std::string e = error_of([] { lower(model(kLlama), "tiny", decode(1, 16), "w=int8,a=bf16,kv=bf16"); });
  EXPECT_HAS(e, "int8 multiplies only with int8");
  EXPECT_HAS(e, "both weights and activations");
}

// INT8 activations run attention in the KV format: a BF16 KV cache on an INT8-only array is
// refused, naming the way out (kv=int8, what `--precision int8` picks there).
TEST(PrecisionDiagnostics, Int8AttentionNeedsAKvFormatOfTheArray) {
  const std::string e = error_of([] { lower(model(kLlama), "tpu-v1", decode(1, 16), "w=int8,a=int8,kv=bf16"); });
  EXPECT_HAS(e, "attention");
  EXPECT_HAS(e, "KV cache format bf16");
  EXPECT_HAS(e, "matrix.precisions of tpu-v1");
  EXPECT_HAS(e, "kv=int8");
  EXPECT_NO_THROW(lower(model(kLlama), "tpu-v1", decode(1, 16), "int8"));
}

TEST(PrecisionDiagnostics, Int8ActivationsNotForMoe) {
  hf::ModelConfig m = model(kLlama);
  m.architecture = hf::Architecture::Mixtral;
  m.num_experts = 4;
  m.experts_per_token = 2;
  const std::string e = error_of([&] { lower(m, "tiny", decode(1, 16), "int8"); });
  EXPECT_HAS(e, "int8 activations");
  EXPECT_HAS(e, "mixture-of-experts");
}

TEST(PrecisionDiagnostics, Int8KvCacheNeedsInt8Activations) {
  const std::string e = error_of([] { lower(model(kLlama), "tiny", decode(1, 16), "w=bf16,a=bf16,kv=int8"); });
  EXPECT_HAS(e, "int8 KV cache needs int8 activations");
  EXPECT_HAS(e, "bf16 or fp8");
}

// ---- partition ---------------------------------------------------------------------------

TEST(PartitionDiagnostics, ChipsBeyondTheSystem) {
  CompileOptions o = decode(1, 16);
  o.chips = 2;
  const std::string e = error_of([&] { lower(model(kLlama), "tiny", o, "bf16"); });
  EXPECT_HAS(e, "--chips: 2");
  EXPECT_HAS(e, "system.chips = 1");
}

TEST(PartitionDiagnostics, NoChips) {
  const config::Arch arch = config::load_arch("tiny");
  Hw hw = hw_of(*arch);
  hw.chips = 0;  // a system without chips: --chips defaults to it
  const std::string e = error_of([&] { lower(model(kLlama), *arch, hw, decode(1, 16), "bf16"); });
  EXPECT_HAS(e, "--chips");
  EXPECT_HAS(e, "expected at least 1");
}

TEST(PartitionDiagnostics, WeightsLargerThanHbm) {
  // 16384 x 16384 FFN and 65536 x 4096 embeddings: about 1.9 GB of BF16 weights on 1 GiB.
  const std::string e = error_of([] { lower(model(llama(4096, 32, 8, 16384, 65536)), "tiny", decode(1, 16), "bf16"); });
  EXPECT_HAS(e, "the model does not fit");
  EXPECT_HAS(e, "of weights per chip");
  EXPECT_HAS(e, "bf16");
  EXPECT_HAS(e, "exceed the HBM of 1.00 GiB per chip of tiny");
}

TEST(PartitionDiagnostics, KvCacheCannotHoldTheBatch) {
  // 20000 sequences x 512 tokens x 128 B of FP8 K and V per token: 1.3 GB.
  const std::string e = error_of([] { lower(model(kLlama), "tiny", decode(20000, 512), "fp8"); });
  EXPECT_HAS(e, "the KV cache cannot hold 20000 sequences x 512 tokens");
  EXPECT_HAS(e, "exceeds the HBM of 1.00 GiB per chip of tiny");
}

// The dimension a tensor-parallel group of opt.tp chips must divide.
std::string indivisible(const std::string& json, uint32_t chips, uint32_t tp, uint64_t batch = 1) {
  CompileOptions o = decode(batch, 16);
  o.chips = chips;
  o.tp = tp;
  return error_of([&] { lower(model(json), "sohu-like", o, "fp8"); });
}

TEST(PartitionDiagnostics, ChipsNotDivisibleByTheGroup) {
  EXPECT_HAS(indivisible(kLlama, 6, 4), "--chips 6 is not divisible by a tensor-parallel group of 4");
}

TEST(PartitionDiagnostics, KvHeadsNotDivisibleByTheGroup) {
  EXPECT_HAS(indivisible(kLlama, 4, 4), "num_key_value_heads 2 is not divisible by a tensor-parallel group of 4");
}

TEST(PartitionDiagnostics, HiddenSizeNotDivisibleByTheGroup) {
  EXPECT_HAS(indivisible(llama(66, 4, 4, 128, 256, 16), 4, 4),
             "hidden_size 66 is not divisible by a tensor-parallel group of 4");
}

TEST(PartitionDiagnostics, IntermediateSizeNotDivisibleByTheGroup) {
  EXPECT_HAS(indivisible(llama(64, 4, 2, 129, 256), 2, 2),
             "intermediate_size 129 is not divisible by a tensor-parallel group of 2");
}

TEST(PartitionDiagnostics, VocabSizeNotDivisibleByTheGroup) {
  EXPECT_HAS(indivisible(llama(64, 4, 2, 128, 257), 2, 2), "vocab_size 257 is not divisible by a tensor-parallel group of 2");
}

TEST(PartitionDiagnostics, BatchNotDivisibleOverTheReplicas) {
  EXPECT_HAS(indivisible(kLlama, 8, 2, 6),
             "--batch 6 does not divide over 4 data-parallel replicas (8 chips / group of 2)");
}

TEST(PartitionDiagnostics, AutomaticGroupReportsTheLastReason) {
  // Without --tp every group size is tried; when none fits, the reason of the last one
  // tried is the message (tiny has one chip, so one candidate).
  const std::string e = error_of([] { lower(model(kLlama), "tiny", decode(20000, 512), "bf16"); });
  EXPECT_HAS(e, "1-chip group");
}

// ---- tiling ------------------------------------------------------------------------------

TEST(TilingDiagnostics, HeadDimNotAMultipleOfTheArrayColumns) {
  // head_dim 12 on tiny's 8-column arrays: RoPE needs whole heads in the accumulator.
  const std::string e = error_of([] { lower(model(llama(48, 4, 2, 128, 256)), "tiny", decode(1, 16), "bf16"); });
  EXPECT_HAS(e, "head_dim 12");
  EXPECT_HAS(e, "not a multiple of matrix.cols 8 of tiny");
}

TEST(TilingDiagnostics, WeightRingLargerThanHalfOfL1) {
  const config::Arch arch = config::load_arch("tiny");
  Hw hw = hw_of(*arch);
  hw.l1_bytes = 3072;  // two 1 KiB slots at least: more than half
  const std::string e = error_of([&] { lower(model(kLlama), *arch, hw, decode(1, 16), "bf16"); });
  EXPECT_HAS(e, "the weight ring (2 slots of 1024 bytes)");
  EXPECT_HAS(e, "does not fit half of l1.bytes = 3072");
}

// ---- placement ---------------------------------------------------------------------------

TEST(PlacementDiagnostics, LayoutLargerThanHbm) {
  // The partition's estimate leaves 2 % for what only placement knows (alignment to the
  // DRAM address-map period, whole KV pages, activations, tables): an HBM one byte smaller
  // than the placed layout passes the estimate and is refused by placement.
  const config::Arch arch = config::load_arch("tiny");
  Hw hw = hw_of(*arch);
  const uint64_t used = lower(model(kLlama), *arch, hw, decode(2, 16), "fp8").hbm_used;
  hw.hbm_bytes = used - 1;
  const std::string e = error_of([&] { lower(model(kLlama), *arch, hw, decode(2, 16), "fp8"); });
  EXPECT_HAS(e, "placement:");
  EXPECT_HAS(e, "of HBM needed per chip (weights, KV cache for 2 x 16 tokens, activations) exceed the");
  EXPECT_HAS(e, "of tiny");
}

}  // namespace
}  // namespace tessera::compiler
