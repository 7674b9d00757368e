#pragma once
// The compiler's public entry point (docs/compiler.md): a Hugging Face model config (and,
// for functional runs, its safetensors weights) plus an architecture become one program
// (isa::Program, written as .tbin) for one forward step of a batch: a prefill of the prompt
// or one decode step. compile() runs the front end (ModelConfig -> graph IR), the passes
// (precision, fusion, partitioning, tiling, placement) and the back end (per-core
// instruction streams with dependency tokens and barriers). Everything is deterministic:
// the same inputs give the same bytes.
//
// A program is a sequence of segments, each ending in a barrier with every unit of every
// core drained: the embedding, one segment per decoder layer, and the head (final norm,
// LM head, top-1). Layers differ only in their HBM base addresses, so `tessera run`
// compiles and simulates one layer segment and multiplies (driver/timing.h).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/hf/model_config.h"
#include "common/isa/isa.h"

namespace tessera::compiler {

enum class Phase { Prefill, Decode };
std::string_view phase_name(Phase);

// Number formats of the program (docs/compiler.md, "Precision policy"). Matrix inputs are
// weights x activations with FP32 accumulation (INT32 for INT8 x INT8); weights in FP8 or
// INT8 carry one FP32 scale per output channel; the KV cache is stored in `kv`.
struct Precision {
  isa::DType weights = isa::DType::bf16;      // bf16, fp8_e4m3, fp8_e5m2, int8
  isa::DType activations = isa::DType::bf16;  // bf16, fp8_e4m3, fp8_e5m2 (int8 with int8 weights)
  isa::DType kv = isa::DType::bf16;           // bf16, fp8_e4m3, fp8_e5m2
};
// "bf16", "fp8" (FP8 weights, activations and KV), "fp8w" (FP8 weights, BF16 activations
// and KV), "int8" (INT8 weights and activations, BF16 KV) or "w=..,a=..,kv=..".
Precision parse_precision(const std::string& text, const config::ArchConfig& arch);
std::string precision_name(const Precision&);

// Which part of a step's program to generate.
struct Segment {
  enum Kind { Whole, Embed, Layer, Head } kind = Whole;
  uint64_t layer = 0;  // Layer: which decoder layer (addresses of its weights and KV cache)
  // Layer: the steady-state layer of a whole program, which starts with the weight chunks
  // the previous layer prefetched and ends by prefetching the next layer's first chunks;
  // false: a stand-alone program that starts with an empty weight ring (compile_gemm).
  bool steady = true;
};

struct CompileOptions {
  Phase phase = Phase::Decode;
  uint64_t batch = 1;    // sequences processed together
  // Prefill: prompt tokens per sequence. Decode: tokens in each sequence's KV cache after
  // this step (the new token is at position context - 1).
  uint64_t context = 1;
  // Tokens each sequence's KV cache must hold (pages are allocated for all of them, so the
  // prefill and every decode step of a request share one memory layout); 0 = context.
  uint64_t max_context = 0;
  // Chips in a tensor-parallel group (0 = auto: the fewest chips whose HBM holds the weights
  // and the KV cache). The system's other chips are data-parallel replicas of the group,
  // each with batch / replicas sequences.
  uint32_t tp = 0;
  uint32_t chips = 0;  // chips used (0 = system.chips)
  // Pipeline stages (docs/driver.md, "Parallelism planner"): each stage is a tensor-parallel
  // group holding num_layers / pp consecutive layers, so a chip's HBM holds 1/pp of the layer
  // weights and the KV cache of those layers only. Data-parallel replicas are then
  // chips / (tp x pp). A pipelined step is compiled by segment (one layer, the embedding, the
  // head); a whole-step program needs pp = 1.
  uint32_t pp = 1;
  std::optional<Precision> precision;  // default: "fp8" where the arch has FP8, else "bf16"
  Segment segment;
  // Functional programs: the checkpoint directory (weights go into data sections) and the
  // token of every row [batch][tokens per sequence this step]. Empty: a timing-only program
  // (no data sections; token ids do not change timing).
  std::string weights_dir;
  std::vector<std::vector<int64_t>> tokens;
  // Functional decode: the KV cache contents from the previous step, as data sections in the
  // order of Compiled::persistent (driver/functional.h carries them over); appended to the
  // program's data at this program's KV regions.
  std::vector<isa::DataSection> carried_data;
  // Tests: end every core's program after the barrier that closes this phase (1 = the
  // first); 0 = the whole program.
  uint32_t stop_after_phase = 0;
  // Mixture-of-experts: the expected number of distinct experts one layer of this step routes
  // its rows to, which the roofline counts the expert weights of (docs/compiler.md,
  // "Sparse mixture-of-experts"); 0 = uniform routing, E (1 - (1 - k/E)^rows).
  double routed_experts = 0;
};

// Where the results of a step are, for the driver to read back.
struct ResultLocation {
  uint32_t chip = 0;
  isa::Space space = isa::Space::hbm;
  uint64_t addr = 0;
  uint64_t rows = 0, cols = 0, row_stride = 0;  // FP32 logits [rows][cols] (this chip's vocabulary slice)
  uint64_t vocab_offset = 0;                   // first vocabulary index of the slice
  uint64_t top1_addr = 0;                      // per row: fp32 value, then int32 index (vtopk k=1)
  uint64_t top1_stride = 0;
};

// One region of the memory map (--emit memmap).
struct MemoryRegion {
  uint32_t chip = 0;
  int core = -1;  // -1: a chip-wide space (hbm, l2)
  isa::Space space = isa::Space::hbm;
  uint32_t engine = 0;  // acc only
  uint64_t addr = 0, bytes = 0;
  std::string what;
  std::string live;  // "whole run", "layer segment", "phase qkv..attention", ...
};

struct Compiled {
  isa::Program program;
  std::string ir_text;      // the graph after every pass (--emit ir)
  std::vector<MemoryRegion> memory;
  std::vector<ResultLocation> results;  // one per chip holding a vocabulary slice (the first TP group)
  // Regions a functional run must carry from one step to the next (the KV cache).
  std::vector<MemoryRegion> persistent;
  // What was decided, for reports.
  uint32_t tp = 1, replicas = 1, chips_used = 1;
  uint64_t batch_per_replica = 1;
  // Pipeline: stages, layers per stage, and the bytes of the residual stream x one chip of a
  // stage hands to the next stage for this step (the only tensor that crosses a stage).
  uint32_t pp = 1;
  uint64_t stage_layers = 0, stage_activation_bytes = 0;
  Precision precision;
  uint64_t weight_bytes_per_chip = 0, kv_bytes_per_chip = 0;
  uint64_t macs_per_replica = 0;  // MACs of the segment's matmuls as compiled (one TP group)
  // The segment's arithmetic as a model needs it (one TP group): the matmuls, attention's
  // Q K^T and P V over the keys each query sees (causal), MoE experts at top-k / experts
  // (the tiles of experts no row chose are skipped, but a routed expert runs all the step's
  // rows, weighted 0 where a row did not choose it). Roofline and MAC utilisation use this.
  uint64_t useful_macs_per_replica = 0;
  // Bytes the segment must move between HBM and the chip at least, per chip: its weights,
  // biases, scales and norm gains once (MoE: the routed experts' only), the KV cache it
  // reads and writes once, the embedding rows it gathers. Activations are assumed to stay on chip.
  uint64_t min_hbm_bytes_per_chip = 0;
  // Mixture-of-experts: every core keeps one 32-bit word per expert at L1 moe_used_addr,
  // non-zero when a row of the step chose the expert; each expert weight load is predicated
  // on its word (spec/isa.yaml load, pred_words). expert_bytes_per_chip: one expert's
  // weights (gate, up, down; not the scales, loaded whole) of one layer on one chip; routed_experts: the
  // expected distinct experts per layer the roofline assumes (CompileOptions).
  uint64_t moe_used_addr = 0, expert_bytes_per_chip = 0;
  uint32_t experts = 0;
  double routed_experts = 0;
  // Per phase of the segment: name and (layer-local) op names, for the driver's report.
  struct PhaseInfo {
    std::string name;
    uint32_t barrier_id = 0;  // the barrier that ends it
    uint64_t macs = 0;
  };
  std::vector<PhaseInfo> phases;
};

// The model config of `model`: a configs/models name ("llama3-70b") or a directory (or
// file) with config.json. InputError naming the model and what exists otherwise.
hf::ModelConfig load_model(const std::string& model);
// Names of configs/models/*.
std::vector<std::string> model_names();

// Compiles one step. InputError (exit 2) for a model or option the compiler does not
// support, a model that does not fit the chips' HBM, a KV cache that cannot hold
// batch x max_context, or a tile that cannot fit the SRAM.
Compiled compile(const hf::ModelConfig& model, const config::ArchConfig& arch, const CompileOptions& opt);

// The memory map as text: what lives where, in which tier, for how long.
std::string memory_map_text(const Compiled&);

}  // namespace tessera::compiler
