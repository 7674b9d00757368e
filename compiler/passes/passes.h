#pragma once
// The passes over the graph IR, in the order compile() runs them (docs/compiler.md,
// "Passes"). Each pass is one file and rewrites or annotates the graph in place; passes()
// lists them with their names, so compile() and the golden-IR tests (tests/compiler/
// pass_golden_test.cpp) run the same pipeline.
#include <functional>
#include <string_view>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/hw.h"
#include "compiler/ir.h"

namespace tessera::compiler {

// Element type of every tensor from the precision policy; adds per-channel scale tensors
// for FP8/INT8 weights. InputError for a format the matrix engines do not support.
void run_precision(Graph& g, const Hw& hw, const Precision& p);
// INT8 activations, after fusion: per-row scale tensors for the INT8 matrix inputs, and a
// quantize op in front of each matmul whose input comes from a matmul epilogue or attention
// (those then write FP32). No-op for other policies. Called by run_fusion.
void add_activation_row_scales(Graph& g);

// The tensor-parallel group size (opt.tp, or the smallest group whose HBM holds the weights
// and the KV cache), the pipeline stages (opt.pp, each holding num_layers / pp layers) and the
// data-parallel replicas over the remaining chips. InputError when the model does not fit
// the chips' HBM or the KV cache cannot hold batch x max_context (sizes in the message), or
// the dimensions do not divide over the group or the stages.
struct Parallelism {
  uint32_t tp = 0, replicas = 1, chips = 1, pp = 1;
  uint64_t batch = 1;  // sequences per replica
};
Parallelism choose_parallelism(const hf::ModelConfig& m, const Hw& hw, const CompileOptions& opt, const Precision& p);

// Per-chip shapes of the tensor-parallel group chosen by choose_parallelism (already in the
// graph): heads, KV heads, FFN columns and the vocabulary slice of one chip.
void run_partition(Graph& g, const Hw& hw, const CompileOptions& opt);

// Merges ops into the kernels the back end emits: q/k/v (+ biases, RoPE, KV write) into
// one matmul, gate/up (+ activation) into one, biases and residual adds into epilogues,
// and inserts all-reduces after row-parallel matmuls of a tensor-parallel group.
void run_fusion(Graph& g);

// Tiles, core grid and engine split of every matmul, chosen by the cost model.
// InputError when no tile fits the SRAM of the architecture.
void run_tiling(Graph& g, const Hw& hw);

// Tier, address and live range of every tensor: weights, scales and the paged KV cache in
// HBM, activations in L2 when they fit (first-fit over live ranges) and HBM otherwise.
void run_placement(Graph& g, const Hw& hw);

// What every pass may read besides the graph: the architecture, the options of the step
// (batch per replica) and the precision policy.
struct PassContext {
  const Hw& hw;
  const CompileOptions& opt;
  const Precision& precision;
};

struct PassInfo {
  std::string_view name;     // as in Graph::passes_run and docs/compiler.md
  std::string_view summary;  // one line
  std::function<void(Graph&, const PassContext&)> run;
};

// The passes in pipeline order.
const std::vector<PassInfo>& passes();

// The front end's graph of one step for the parallelism chosen (batch per replica in
// c.opt): build_graph plus the tensor-parallel group, and the token ids checked against
// the step. InputError as build_graph, or for token rows that do not match the step.
Graph build_step_graph(const hf::ModelConfig& model, const config::ArchConfig& arch, const PassContext& c,
                       const Parallelism& par);

}  // namespace tessera::compiler
