#pragma once
// Costing a request on the cycle model (docs/driver.md; the method in docs/compiler.md,
// "Timing mode"). A request (prompt of P tokens, G generated tokens, batch B) is costed by
// simulating compiled programs, never by formulas:
//   - the embedding, one decoder layer and the head of the prefill are simulated; every
//     layer runs the same instructions on its own weights and KV pages, whose HBM regions
//     are aligned to the DRAM address-map period, so the layer time is multiplied by the
//     layer count (the report says so);
//   - decode: the same three segments at a few context lengths (first, middle, last step);
//     the steps in between are linearly interpolated in the context length and reported
//     as estimated;
//   - mixture-of-experts layers load the weights of the experts their rows route to: the
//     expected number of distinct experts (driver/routing.h) rounded to the nearest integer
//     is what the simulated layer loads (experts 0 .. n - 1; timing mode has no data), the
//     roofline counts the expected number itself;
//   - one tensor-parallel group is simulated; data-parallel replicas are identical and
//     independent (no shared resource), so their throughput adds exactly;
//   - --exact (TimingOptions::exact) replaces both: whole-model programs, every decode step;
//   - a pipeline (pp stages of num_layers / pp layers, each a tensor-parallel group) runs the
//     same simulated segments on each stage; its time is the pipeline formula of
//     driver/plan.h over micro-batches (fill and drain included), with the stage-to-stage
//     hand-over of the activations costed from the link bandwidth and latency.
#include <cstdint>
#include <optional>
#include <string>

#include "common/config/config.h"
#include "common/hf/model_config.h"
#include "compiler/compiler.h"
#include "driver/report.h"

namespace tessera::driver {

struct TimingOptions {
  uint64_t batch = 1, prompt = 2048, gen = 128;
  uint32_t chips = 0, tp = 0;
  uint32_t pp = 1;                    // pipeline stages (chips = replicas x tp x pp)
  uint64_t decode_micro_batches = 0;  // per replica and decode step (0: default_decode_micro_batches)
  std::optional<compiler::Precision> precision;
  uint32_t decode_points = 3;  // context lengths simulated for decode
  // Sequences per prefill step (0: the fewest whose prompts give at least 2048 rows, a
  // divisor of the replica's batch). The replica's prefill is batch / prefill_batch steps
  // of identical programs (same instructions, other KV pages): one is simulated.
  uint64_t prefill_batch = 0;
  // DRAM in the simulations: the bandwidth model (fast; per pseudo-channel rate and
  // latency) unless burst is set (the burst-level HBM model: exact, about 1e3 x slower).
  bool dram_burst = false;
  bool verbose = false;        // progress and host times on stderr
  // Energy, power and area (TimingReport::cost) with this technology table (name or file;
  // empty: the table of process.node_nm). Without a table the cost says why it is missing.
  bool cost = true;
  std::string tech;
  uint64_t max_cycles = 0;     // model::RunOptions::max_cycles of every simulation (--max-cycles)
  uint32_t threads = 1;        // model::RunOptions::threads of every simulation (--threads)
  // Simulate whole-model programs (every layer) for the prefill and for every decode step
  // instead of multiplying one layer and interpolating between decode_points: the measure of
  // both extrapolations (docs/validation.md). Pipeline plans are refused (their stage times
  // come from the pipeline formula).
  bool exact = false;
  // Mixture-of-experts routing (driver/routing.h): "" or "uniform", or a routing trace file.
  std::string routing;
};

// InputError for a bad request (naming the option) or one the compiler refuses.
TimingReport run_timing(const hf::ModelConfig& model, const config::ArchConfig& arch, const TimingOptions& opt);

}  // namespace tessera::driver
