#pragma once
// The report of a costed request (`tessera run`, docs/driver.md): what was simulated, what
// was multiplied or interpolated, and the figures derived from it. The objects hold numbers
// only; each output format is a renderer in its own file (report_<format>.cpp) that reads
// them, so a new format (HTML, CSV, energy) is one more renderer, not a change to the
// costing.
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/compiler.h"

namespace tessera::driver {

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
  std::vector<std::string> overrides;  // the architecture's --set options, in order (key=value)
  uint64_t batch = 1, prompt = 0, gen = 0;  // the request: sequences, tokens per prompt, generated
  uint32_t tp = 1, replicas = 1, chips = 1;
  uint64_t batch_per_replica = 1;
  compiler::Precision precision;
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
  // ---- Parallelism plan (driver/plan.h; docs/driver.md, "Parallelism planner") ----
  struct PlanCandidate {
    uint32_t dp = 1, tp = 1, pp = 1;
    uint64_t batch = 0, prefill_batch = 0, decode_micro_batches = 1;
    bool feasible = false;
    std::string why;  // not feasible: the reason
    // Predicted by the planner's cost model (no simulation).
    double ttft = 0, tpot = 0, total = 0, tokens_per_s = 0;
  };
  struct PlanInfo {
    // "planner, objective throughput", "--plan", "--tp" or "default" (one chip, or a run
    // that did not go through the planner).
    std::string source = "default";
    uint32_t dp = 1, tp = 1, pp = 1;
    uint64_t stage_layers = 0;          // layers per pipeline stage
    uint64_t prefill_micro_batches = 1;  // per replica (= prefill_steps)
    uint64_t decode_micro_batches = 1;   // per replica and decode step
    // Stage-to-stage hand-over of one micro-batch's activations (link bandwidth and latency
    // of the config, not simulated), seconds; 0 without a pipeline.
    double prefill_transfer = 0, decode_transfer = 0;
    // Share of the stages' time idle in fill, drain and waits (0 without a pipeline).
    double prefill_bubble = 0, decode_bubble = 0;
    bool predicted = false;  // the planner ran: `chosen` and `candidates` hold its figures
    PlanCandidate chosen;
    std::vector<PlanCandidate> candidates;  // best first, the chosen plan included
  } plan;
  // ---- end of the parallelism plan ----
};

// Renderers. Deterministic: host times are never rendered, so the same request gives the
// same bytes.
std::string report_text(const TimingReport& r);  // report_text.cpp: the summary `tessera run` prints
std::string plans_text(const TimingReport& r);   // report_text.cpp: the plans the planner compared (--plan-only)
std::string report_json(const TimingReport& r);  // report_json.cpp: `tessera run --json`

}  // namespace tessera::driver
