#pragma once
// The parallelism planner of `tessera run` (docs/driver.md, "Parallelism planner"). A plan
// spreads a request over the chips as dp data-parallel replicas, each a pipeline of pp
// stages of whole layers, each stage a tensor-parallel group of tp chips (dp x tp x pp chips).
// The planner enumerates the plans that use the request's chips, checks that each holds its
// weights and the KV cache of its sequences (the compiler's memory check and placement), costs
// it with the compiler's cost model (no simulation: every matmul's estimated cycles from the
// tiling pass, attention and the other ops from their arithmetic and bytes, links from the
// configured bandwidth and latency) and orders them by the objective. The chosen plan is then
// simulated by run_timing like any request. The pipeline formulas here are the ones
// run_timing uses on the simulated segment times, so the prediction and the simulation
// differ only in the segment times.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/hf/model_config.h"
#include "compiler/compiler.h"
#include "driver/report.h"

namespace tessera::driver {

enum class Objective { Throughput, Latency };
// "throughput" or "latency"; InputError naming --objective otherwise.
Objective parse_objective(const std::string& text);
std::string objective_name(Objective);

struct Plan {
  uint32_t dp = 1, tp = 1, pp = 1;
  uint32_t chips() const { return dp * tp * pp; }
};
// "dp=2,tp=2,pp=2"; keys in any order, a missing key is 1. InputError naming --plan.
Plan parse_plan(const std::string& text);
std::string plan_text(const Plan&);

// A plan's request and the planner's prediction for it.
struct PlanEstimate {
  Plan plan;
  uint64_t batch = 0;                 // sequences over all replicas
  uint64_t prefill_batch = 0;         // sequences per prefill micro-batch
  uint64_t decode_micro_batches = 1;  // micro-batches each decode step is split into (per replica)
  bool feasible = false;
  std::string why;  // not feasible: the reason (the compiler's message)
  // Memory: every plan is checked with the compiler's capacity rule and a line through two
  // small placements; the chosen one also with placement at its batch (exact, slower).
  bool memory_checked = false;
  // Predicted (seconds, tokens/s).
  double ttft = 0, tpot = 0, prefill = 0, decode = 0, total = 0, tokens_per_s = 0;
};

struct PlanRequest {
  uint64_t batch = 0;  // 0: the largest batch that fits (--batch max)
  uint64_t prompt = 2048, gen = 128;
  uint32_t chips = 0;  // 0: system.chips
  std::optional<compiler::Precision> precision;
  Objective objective = Objective::Throughput;
  std::optional<Plan> forced;  // --plan: cost and check this plan only
  uint64_t prefill_batch = 0;  // --prefill-batch (0: the driver's default rule)
  std::string forced_by = "--plan";  // the option named when the forced plan does not fit
};

struct PlanChoice {
  PlanEstimate best;
  std::vector<PlanEstimate> candidates;  // every plan considered: the feasible best first, then the others
};

// InputError when no plan is feasible (the reason of the plan closest to today's default,
// dp = chips), or, for a forced plan, the reason it is not, naming --plan.
PlanChoice choose_plan(const hf::ModelConfig& model, const config::ArchConfig& arch, const PlanRequest& req);

// The planner's figures into the report of the simulated plan (TimingReport::plan).
void attach_plan(TimingReport& r, const PlanChoice& choice, const std::string& source);

// The default prefill micro-batch: the fewest sequences whose prompts give at least 2048
// rows that divide the replica's batch (all of them when none does).
uint64_t default_prefill_batch(uint64_t batch_per_replica, uint64_t prompt);
// Decode micro-batches of a pipeline: the largest divisor of the replica's batch not above
// pp (pp keeps every stage busy with the fewest re-reads of a stage's weights).
uint64_t default_decode_micro_batches(uint64_t batch_per_replica, uint32_t pp);

// The pipeline formulas (docs/driver.md). stage[s]: cycles of one micro-batch on stage s,
// its hand-over to the next stage included.
// M micro-batches through the stages once (prefill): the first leaves after the sum of the
// stages, each further one a bottleneck-stage time later.
double pipeline_pass(const std::vector<double>& stage, uint64_t micro_batches);
// One decode step of M micro-batches in steady state: a micro-batch's next token needs its
// previous one through all stages (the sum), and the bottleneck stage serves all M.
double pipeline_period(const std::vector<double>& stage, uint64_t micro_batches);
// What the last of many decode steps adds after the last period: the last micro-batch's
// trip behind the bottleneck (period set by the bottleneck), or the micro-batches queued
// behind the first (period set by the round trip).
double pipeline_drain(const std::vector<double>& stage, uint64_t micro_batches);

// Stage times of a pipeline from its segment times (cycles): stage 0 runs the embedding,
// the last the head, every stage layers x layer; each stage but the last hands its
// activations on (transfer), and the last returns the new tokens (back) to stage 0.
std::vector<double> stage_times(uint32_t pp, double embed, double layers_per_stage_cycles, double head,
                                double transfer, double back);

// Cycles to move `bytes` from each chip of a stage to the same rank of the next stage over
// the ring of docs/timing.md: tp hops, the tp chips' messages sharing each forward bundle.
// Costed from link.gbytes_per_s and link.latency_ns, not simulated.
double stage_transfer_cycles(const config::ArchConfig& arch, uint32_t tp, uint64_t bytes);

}  // namespace tessera::driver
