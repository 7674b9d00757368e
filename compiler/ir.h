#pragma once
// The graph IR (docs/compiler.md, "Graph IR"): what one forward step of a decoder-only
// Transformer computes, as operations on typed tensors. The front end (frontend.cpp)
// builds it from a ModelConfig with one template for the decoder layers (every layer has
// the same operations; only its weights and KV cache differ); the passes annotate and
// rewrite it in place: precision gives every tensor its element type, fusion merges
// operations into the kernels the back end has (QKV, gate/up, epilogues), partitioning
// splits heads and columns over chips, tiling picks each matmul's tiles and core grid with
// the cost model, placement gives every tensor a tier, an address and a live range.
// dump() prints it; `tessera compile --emit ir` shows the result.
#include <cstdint>
#include <string>
#include <vector>

#include "common/hf/model_config.h"
#include "common/isa/isa.h"
#include "compiler/compiler.h"

namespace tessera::compiler {

enum class TensorKind { Weight, Bias, Scale, Activation, KVCache, Constant, Logits };
std::string_view tensor_kind_name(TensorKind);

// Where a tensor lives (isa::Space order: hbm, l2, l1, acc).
std::string_view space_name(isa::Space);

struct Tensor {
  std::string name;             // "x", "layer.qkv.w" (layer tensors are per layer: "layer.")
  TensorKind kind = TensorKind::Activation;
  std::vector<uint64_t> shape;  // logical shape on one chip of a tensor-parallel group
  isa::DType dtype = isa::DType::fp32;
  bool per_layer = false;       // one copy per decoder layer
  // Placement (passes/placement.cpp).
  isa::Space tier = isa::Space::hbm;
  uint64_t addr = 0;            // of layer 0 for per-layer tensors
  uint64_t bytes = 0;           // of one copy
  uint64_t pitch = 0;           // bytes from one row to the next when padded (placement), else 0
  // The residual stream x when L2 holds only part of it over its live range (placement): its
  // last l2_rows rows live in L2 at l2_addr, one row after another; the rows before them at
  // addr in `tier` (HBM, `pitch` apart). 0 when the tensor lives in one place.
  uint64_t l2_rows = 0, l2_addr = 0;
  int first_op = -1, last_op = -1;  // live range: indices into Graph::ops
  std::string note;             // e.g. "paged: 16 pages of 256 tokens per sequence"
};

// Bytes from one row of a 2-D tensor to the next in memory, and the bytes it occupies there.
inline uint64_t row_pitch(const Tensor& t) { return t.pitch ? t.pitch : t.bytes / t.shape[0]; }
// Rows of a 2-D tensor at addr in its tier (all of them unless L2 holds its last rows).
inline uint64_t home_rows(const Tensor& t) { return t.l2_rows ? t.shape[0] - t.l2_rows : t.shape.empty() ? 0 : t.shape[0]; }
// Bytes at addr in its tier (the rows in L2 of a split x not included).
inline uint64_t footprint(const Tensor& t) {
  if (t.l2_rows) return row_pitch(t) * home_rows(t);
  return t.pitch ? t.pitch * t.shape[0] : t.bytes;
}

enum class OpKind {
  Embed,      // token (+ position) embedding -> residual stream x
  Norm,       // RMSNorm / LayerNorm of x
  Linear,     // y = x W (+ b); after fusion carries an epilogue
  Bias,       // y += b
  Rope,       // rotary embedding of q and k
  KVWrite,    // append k, v to the paged KV cache
  Attention,  // causal (GQA) attention over the KV cache
  Act,        // SwiGLU silu(gate) * up, or GPT-2 gelu_new(up)
  Router,     // MoE: softmax, top-k, normalised routing weights
  Residual,   // x += y
  AllReduce,  // sum of a row-parallel matmul's partial outputs over the chips of a TP group
  TopK,       // top-1 (greedy) of the logits
  Quantize,   // INT8 activations: FP32 rows -> INT8 rows and one scale per row (per token)
};
std::string_view op_kind_name(OpKind);

// What a fused Linear does with its FP32 results before they leave the accumulators.
enum class Epilogue {
  None,       // (before fusion) plain FP32 result
  QKV,        // + bias, RoPE on q and k, q -> activations, k and v -> KV cache
  SwiGLU,     // silu(gate) * up (+ biases) -> activations
  GeluUp,     // gelu_new(up + bias) -> activations
  MoEUp,      // per expert: silu(gate) * up * routing weight -> activations
  Router,     // softmax, top-k, routing weights
  Residual,   // x += y (+ bias)
  Partial,    // FP32 partial sums of a row-parallel matmul (+ bias on chip 0) for an all-reduce
  Logits,     // FP32 logits
};
std::string_view epilogue_name(Epilogue);

// Engine assignment inside a core (tiling.cpp, docs/compiler.md "Tiling").
enum class EngineSplit { M, N, K };
std::string_view split_name(EngineSplit);

// The tiling and partition of one fused matmul, chosen by the cost model.
struct MatmulPlan {
  uint64_t M = 0, K = 0, N = 0;  // rows, reduction, columns on one chip
  // ws: k_t <= matrix.rows, m_t <= matrix.max_stream; os (GEMM graphs only, A stored
  // transposed K x M): m_t <= matrix.rows, k_t <= matrix.max_stream.
  isa::Dataflow dataflow = isa::Dataflow::ws;
  uint64_t n_t = 0;              // columns of one weight tile (<= matrix.cols)
  uint64_t k_t = 0;              // reduction of one matmul
  uint64_t group_blocks = 1;     // weight tiles side by side that one epilogue needs
  uint64_t groups = 0;           // column groups: N = groups x group_blocks x n_t
  uint32_t m_groups = 1, n_groups = 1;  // core grid: rows x column groups (<= chip.cores)
  EngineSplit split = EngineSplit::N;
  uint64_t m_t = 0;              // rows one engine streams per matmul
  uint64_t groups_per_pass = 1;  // column groups accumulating together in one engine pass
  uint64_t k_block = 1;          // k-tiles per weight DMA run (chunk = k_block x group_blocks tiles)
  uint64_t acc_reserve = 0;      // accumulator bytes kept out of the passes (top of each engine)
  bool transposes = false;       // the epilogue transposes K on the arrays (prefill QKV; K^T rows in L1)
  // Byte offset of every weight chunk (group, run of k_block k-tiles) in the packed
  // weights, and the packed size last (layout.h).
  std::vector<uint64_t> chunk_offset;
  // Estimates (cost_model.cpp), in core cycles on one chip.
  uint64_t est_compute = 0, est_hbm = 0, est_l2 = 0, est_cycles = 0;
  uint64_t hbm_bytes = 0, l2_bytes = 0;
  std::string why;  // the candidates compared, for the IR dump
};

struct Op {
  OpKind kind = OpKind::Linear;
  std::string name;          // "qkv", "attention", ...
  std::vector<int> inputs, outputs;  // tensor indices
  bool per_layer = false;
  std::vector<std::string> fused;    // ops merged into this one
  // Linear
  Epilogue epilogue = Epilogue::None;
  int weight = -1, bias = -1, scale = -1;  // tensor indices
  // INT8 activations (per-token scales): the FP32 scale of every row, [rows, 1]. Norm and
  // Quantize write it next to their INT8 rows; a Linear multiplies its INT32 sums by it.
  int row_scale = -1;
  isa::Dataflow dataflow = isa::Dataflow::ws;  // the model front end's are ws; a GEMM may ask os
  MatmulPlan plan;
  uint64_t macs = 0;  // per chip of a TP group, one step
  std::string note;   // partition / algorithm decisions
};

// One forward step of `batch` sequences of `tokens` new tokens each.
struct Graph {
  hf::ModelConfig model;
  std::string arch_name;
  Phase phase = Phase::Decode;
  uint64_t batch = 1;      // sequences per replica
  uint64_t tokens = 1;     // new tokens per sequence (prefill: prompt; decode: 1)
  uint64_t position = 0;   // position of the first new token
  uint64_t max_context = 1;
  uint64_t rows() const { return batch * tokens; }
  // Mixture-of-experts: expected distinct experts per layer of this step (frontend.cpp).
  double routed_experts = 0;
  Precision precision;
  uint32_t tp = 1, replicas = 1;
  uint32_t pp = 1;  // pipeline stages: a chip holds num_layers / pp layers
  uint64_t layers_on_chip() const { return model.num_layers / pp; }
  // Index of layer l among its stage's layers (its HBM copy); l itself for a graph without
  // layers (compile_gemm's single op).
  uint64_t local_layer(uint64_t l) const { return layers_on_chip() ? l % layers_on_chip() : l; }
  // Per chip of a TP group (partition.cpp).
  uint64_t heads = 0, kv_heads = 0, inter = 0, vocab = 0;
  // The weight ring every core streams weights through (tiling.cpp): slots x slot bytes at
  // the bottom of L1, shared by all matmuls of a segment.
  uint64_t ring_slot = 0;
  uint32_t ring_slots = 0;
  // HBM layout (placement.cpp): layer l's tensors at addr + l x layer_stride; the KV cache
  // in pages of page_tokens tokens, pages_per_seq per sequence, physical page of
  // (sequence s, KV head j, page p) = (p x batch + s) x kv_heads + j in each layer's pool.
  uint64_t layer_stride = 0;
  uint64_t page_tokens = 0, pages_per_seq = 0, page_bytes = 0;
  uint64_t hbm_used = 0, l2_used = 0;
  std::vector<Tensor> tensors;
  std::vector<Op> ops;  // embedding ops, then the layer template, then the head
  std::vector<std::string> passes_run;

  int add_tensor(Tensor t);
  int find_tensor(const std::string& name) const;  // -1 when absent
  Tensor& tensor(const std::string& name);  // std::logic_error when absent
  const Tensor& tensor(const std::string& name) const;
};

// Expected distinct experts that `rows` tokens choose when each picks k of E experts
// uniformly at random: E (1 - (1 - k/E)^rows) (frontend.cpp; docs/compiler.md).
double uniform_routed_experts(uint64_t experts, uint64_t k, uint64_t rows);

// The unfused graph of a model (frontend.cpp). InputError for what the compiler cannot
// lower (named option and the supported set).
Graph build_graph(const hf::ModelConfig& model, const config::ArchConfig& arch, const CompileOptions& opt);

std::string dump(const Graph&);
std::string shape_text(const std::vector<uint64_t>&);

}  // namespace tessera::compiler
