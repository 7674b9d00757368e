#pragma once
// The report of a costed request (`tessera run`, docs/driver.md): what was simulated, what
// was multiplied or interpolated, and the figures derived from it. The objects hold numbers
// only; each output format is a renderer in its own file (report_<format>.cpp) that reads
// them, so a new format (HTML, CSV, energy) is one more renderer, not a change to the
// costing.
#include <cstdint>
#include <string>
#include <vector>

#include "common/tech/area.h"
#include "common/tech/energy.h"
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

// Busy fraction of one unit of chip 0 core 0 in equal time bins over a segment: the
// utilisation timeline of the reports.
struct UnitTimeline {
  std::string unit;
  std::vector<double> busy;  // per bin, in [0, 1]
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
  tech::EnergyCounts counts;          // what the run did, over the simulated TP group (energy model input)
  std::vector<UnitTimeline> timeline;  // chip 0 core 0, kTimelineBins bins
  double dynamic_j = 0;                // energy of one run over the TP group, static excluded (cost)
};

inline constexpr size_t kTimelineBins = 120;

// What the request costs (docs/energy.md, docs/area.md): energy by component and stage,
// power per chip, area per component. Energies are over the whole system (every chip of the
// request); dynamic energy comes from the simulated segments' event counts, multiplied and
// interpolated exactly as their cycles are.
struct CostReport {
  bool available = false;
  std::string unavailable;  // why not, when !available (e.g. no technology table for the node)
  std::string tech;         // technology table used
  int node_nm = 0;
  tech::AreaReport area;
  std::string reticle_violation;  // empty when the die fits process.reticle_mm2
  std::vector<std::string> components;       // energy components, in the energy model's order
  std::vector<double> prefill_j, decode_j;   // per component (static included), whole system
  double prefill_total_j = 0, decode_total_j = 0, total_j = 0;
  double j_per_input_token = 0;   // prefill energy / prompt tokens of the request
  double j_per_output_token = 0;  // decode energy / tokens the decode steps generate
  double j_per_token = 0;         // request energy / (prompt + generated tokens)
  double tokens_per_j = 0;
  double avg_power_w_per_chip = 0;
  double prefill_power_w_per_chip = 0, decode_power_w_per_chip = 0;
  double peak_power_w_per_chip = 0;  // the simulated segment with the highest average power
  std::string peak_window;           // which segment, and its length
  double peak_window_s = 0;
  double static_w_per_chip = 0;
  double tdp_w = 0;                  // process.tdp_w, 0 when not stated
  std::string tdp_note;              // set when average or peak power exceeds the TDP
  bool dram_commands_estimated = false;  // bandwidth DRAM model: activates and refreshes estimated
  double chip_peak_macs_per_s = 0, chip_peak_hbm_bytes_per_s = 0;  // roofline axes, per chip
};

struct TimingReport {
  std::string model, arch;
  std::vector<std::string> overrides;  // the architecture's --set options, in order (key=value)
  uint64_t batch = 1, prompt = 0, gen = 0;  // the request: sequences, tokens per prompt, generated
  uint32_t tp = 1, replicas = 1, chips = 1;
  uint64_t batch_per_replica = 1;
  compiler::Precision precision;
  uint64_t layers = 0;
  // --exact: every layer and every decode step simulated (whole-model programs in the layer
  // slots, no embedding or head segments); otherwise one layer multiplied by the layer count.
  bool exact = false;
  uint64_t layer_multiplier() const { return exact ? 1 : layers; }
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
  CostReport cost;
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
    // Bytes each chip of a stage's group sends to the next stage per micro-batch (the
    // hand-over the energy model charges to the links).
    uint64_t prefill_handover_bytes = 0, decode_handover_bytes = 0;
    // Share of the stages' time idle in fill, drain and waits (0 without a pipeline).
    double prefill_bubble = 0, decode_bubble = 0;
    bool predicted = false;  // the planner ran: `chosen` and `candidates` hold its figures
    PlanCandidate chosen;
    std::vector<PlanCandidate> candidates;  // best first, the chosen plan included
  } plan;
  // ---- end of the parallelism plan ----

  // ---- Mixture-of-experts routing (driver/routing.h; experts = 0 for a dense model) ----
  struct MoeInfo {
    uint32_t experts = 0, top_k = 0;
    std::string routing = "uniform";  // "uniform" or the trace file
    uint64_t prefill_rows = 0, decode_rows = 0;  // tokens one layer routes per step (per replica)
    double prefill_routed = 0, decode_routed = 0;  // expected distinct experts per layer and step
    uint32_t decode_simulated = 0;  // experts the simulated decode layer loads (nearest integer)
    uint64_t expert_bytes = 0;      // one expert's weights of one layer, per chip
    // Expert weights per decode step and chip (all layers of the chip): expected, as simulated,
    // and what loading every expert would move.
    double decode_expert_bytes = 0, decode_expert_bytes_simulated = 0, decode_expert_bytes_dense = 0;
  } moe;

  // Every simulated segment in report order: prefill embedding, layer, head, then the decode
  // embedding, layer and head of each simulated context (exact: the whole-model programs).
  std::vector<const SegmentRun*> segments() const { return segments_of<const SegmentRun>(*this); }
  std::vector<SegmentRun*> segments() { return segments_of<SegmentRun>(*this); }

 private:
  template <class S, class R>
  static std::vector<S*> segments_of(R& r) {
    if (r.exact) {
      std::vector<S*> v = {&r.prefill_layer};
      for (size_t i = 0; i < r.decode_contexts.size() && i < r.decode_layer.size(); ++i) v.push_back(&r.decode_layer[i]);
      return v;
    }
    std::vector<S*> v = {&r.prefill_embed, &r.prefill_layer, &r.prefill_head};
    for (size_t i = 0; i < r.decode_contexts.size() && i < r.decode_layer.size(); ++i)
      v.insert(v.end(), {&r.decode_embed[i], &r.decode_layer[i], &r.decode_head[i]});
    return v;
  }
};

// The version of report_json's schema (docs/reports.md, "Run report JSON"): raised whenever a
// key is renamed, removed or changes meaning.
inline constexpr int kReportJsonVersion = 2;

// Renderers. Deterministic: host times are never rendered, so the same request gives the
// same bytes.
std::string report_text(const TimingReport& r);  // report_text.cpp: the summary `tessera run` prints
std::string plans_text(const TimingReport& r);   // report_text.cpp: the plans the planner compared (--plan-only)
std::string report_json(const TimingReport& r);  // report_json.cpp: `tessera run --json`
std::string report_csv(const TimingReport& r);   // report_csv.cpp: `tessera run --csv`, one row per segment and phase
// report_html.cpp: `tessera run --html`, one self-contained page; `command` is shown as its subtitle.
std::string report_html(const TimingReport& r, const std::string& command);

}  // namespace tessera::driver
