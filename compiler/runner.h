#pragma once
// Running compiled programs on the cycle model (docs/compiler.md, "tessera run").
//
// Functional generation: each step is its own program (the prefill of the prompt, then one
// decode program per generated token) run on the functional model; the host picks the
// next token from the chips' top-1 results and carries the KV cache pages from one
// program's HBM to the next program's data sections, as a server keeps device memory
// between launches.
//
// Timing: a request (prompt of P tokens, G generated tokens, batch B) is costed by
// simulating programs, never by formulas:
//   - the embedding, one decoder layer and the head of the prefill are simulated; every
//     layer runs the same instructions on its own weights and KV pages, whose HBM regions
//     are aligned to the DRAM address-map period, so the layer time is multiplied by the
//     layer count (the report says so);
//   - decode: the same three segments at a few context lengths (first, middle, last step);
//     the steps in between are linearly interpolated in the context length and reported
//     as estimated;
//   - one tensor-parallel group is simulated; data-parallel replicas are identical and
//     independent (no shared resource), so their throughput adds exactly.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/compiler.h"

namespace tessera::compiler {

struct FunctionalOptions {
  std::vector<int64_t> prompt;
  uint64_t steps = 16;
  std::optional<Precision> precision;
  // Teacher forcing: feed these tokens (steps of them) instead of the argmax.
  std::vector<int64_t> forced;
  bool keep_logits = true;
};

struct FunctionalResult {
  std::vector<int64_t> tokens;
  std::vector<std::vector<float>> logits;  // [step][vocab]
  uint64_t cycles = 0;                     // summed over the step programs
  uint64_t instructions = 0;
};

// model_dir holds config.json and model.safetensors. InputError for bad input.
FunctionalResult run_functional(const std::string& model_dir, const config::ArchConfig& arch,
                                const FunctionalOptions& opt);

struct TimingOptions {
  uint64_t batch = 1, prompt = 2048, gen = 128;
  uint32_t chips = 0, tp = 0;
  std::optional<Precision> precision;
  uint32_t decode_points = 3;  // context lengths simulated for decode
  // Sequences per prefill step (0: the fewest whose prompts give at least 2048 rows, a
  // divisor of the replica's batch). The replica's prefill is batch / prefill_batch steps
  // of identical programs (same instructions, other KV pages): one is simulated.
  uint64_t prefill_batch = 0;
  // DRAM in the simulations: the bandwidth model (fast; per pseudo-channel rate and
  // latency) unless burst is set (the burst-level HBM model: exact, about 1e3 x slower).
  bool dram_burst = false;
  bool verbose = false;        // progress and host times on stderr
};

// One phase of a segment (between two barriers), measured on chip 0 core 0.
struct PhaseRun {
  std::string name;
  uint64_t cycles = 0;
  double mx_busy = 0;   // MACs of core 0 / (cycles x the core's MACs per cycle)
  double vec_busy = 0;  // vector engine: union of its instructions' [start, end] / cycles
  double dma_busy = 0;  // the busiest DMA engine, same measure
};

// One simulated program: a segment of a step.
struct SegmentRun {
  std::string what;            // "prefill layer", "decode layer at context 2049", ...
  uint64_t cycles = 0;
  uint64_t macs = 0;           // performed, counted by the model (one TP group)
  uint64_t useful_macs = 0;    // of the step's arithmetic (compiler; one TP group)
  uint64_t hbm_bytes = 0;      // read + written, per chip of the group (average)
  uint64_t min_hbm_bytes = 0;  // per chip: what the step must move at least (compiler)
  uint64_t link_bytes = 0;     // sent, per chip of the group (average)
  uint64_t instructions = 0;
  double sim_seconds = 0;      // host time
  std::string same_as;         // not simulated again: the program is identical to this run's
  std::vector<PhaseRun> phases;
};

struct TimingReport {
  std::string model, arch;
  TimingOptions opt;
  uint32_t tp = 1, replicas = 1, chips = 1;
  uint64_t batch_per_replica = 1;
  Precision precision;
  uint64_t layers = 0;
  double core_hz = 0;
  std::string dram;  // which DRAM model the simulations used
  // Simulated segments.
  SegmentRun prefill_embed, prefill_layer, prefill_head;
  std::vector<uint64_t> decode_contexts;
  std::vector<SegmentRun> decode_embed, decode_layer, decode_head;
  uint64_t prefill_batch = 1, prefill_steps = 1;  // sequences per prefill step, steps per replica
  // Derived (seconds).
  double ttft = 0;          // first prefill step: the first sequences' first token
  double prefill_total = 0;  // all prefill steps: the batch's last first token
  double decode_total = 0;  // all gen - 1 decode steps
  double tpot = 0;        // mean decode step
  double total = 0;       // prefill_total + decode_total
  uint64_t decode_steps = 0, decode_steps_simulated = 0, decode_steps_estimated = 0;
  double tokens_in_per_s = 0, tokens_out_per_s = 0, tokens_total_per_s = 0;
  double mac_utilisation = 0;      // useful MACs / (time x peak), over the request
  double hbm_utilisation = 0;      // bytes / (time x peak), over the request
  double prefill_mac_utilisation = 0, prefill_hbm_utilisation = 0;
  double decode_mac_utilisation = 0, decode_hbm_utilisation = 0;
  // Roofline of each step: max(useful MACs / peak, minimum HBM bytes / peak bandwidth,
  // link bytes / link bandwidth), summed over the steps.
  double roofline_seconds = 0, prefill_roofline = 0, decode_roofline = 0;
  std::string prefill_bound, decode_bound;  // "compute", "HBM bandwidth" or "links"
  double roofline_fraction = 0;    // roofline_seconds / simulated time
  // Phases over the whole request (seconds), largest first: stage, segment, phase.
  struct Consumer {
    std::string stage, segment, phase;
    double seconds = 0;
    double mx_busy = 0, vec_busy = 0, dma_busy = 0;  // of the simulated instance (middle for decode)
  };
  std::vector<Consumer> consumers;
  double host_seconds = 0;
};

TimingReport run_timing(const hf::ModelConfig& model, const config::ArchConfig& arch, const TimingOptions& opt);
// The summary `tessera run` prints, and the same as JSON (deterministic: no host times).
std::string report_text(const TimingReport& r);
std::string report_json(const TimingReport& r);

}  // namespace tessera::compiler
