#pragma once
// Mixture-of-experts routing for timing runs (docs/driver.md, "Routing"). Timing mode has
// no data, so which experts a step's tokens choose is assumed: uniform (each token picks its
// top-k of E experts uniformly at random, the default) or a routing trace file of recorded
// choices. Either gives the expected number of distinct experts one layer loads per step,
// which decides the expert weights the simulated layer streams and the roofline counts.
#include <cstdint>
#include <string>
#include <vector>

#include "common/hf/model_config.h"

namespace tessera::driver {

struct Routing {
  std::string source = "uniform";  // "uniform", "dense" or the trace file's path
  // Trace: per decode step, per token, the experts it chose (k distinct of E).
  std::vector<std::vector<std::vector<uint32_t>>> steps;
  bool dense = false;  // every expert every step: the traffic of a program without routing
  bool uniform() const { return steps.empty() && !dense; }
};

// "" or "uniform": uniform routing; "dense": every expert loaded every step (the comparison
// with a program that computes all experts); otherwise a trace file (JSON, docs/driver.md):
//   {"num_experts": E, "experts_per_token": k, "steps": [[[e, ...], ...], ...]}
// InputError (exit 2) naming the file and the field for a file that cannot be read, is not
// JSON, lacks a field, or whose E or k differ from the model's, or whose choices are not k
// distinct experts below E.
Routing load_routing(const std::string& spec, const hf::ModelConfig& model);

// Expected distinct experts per layer when `rows` tokens are routed together: uniform,
// E (1 - (1 - k/E)^rows); dense, E; a trace, the mean over its steps of the distinct experts of the
// step's first `rows` tokens (InputError when a step has fewer tokens).
double routed_experts(const Routing& r, const hf::ModelConfig& model, uint64_t rows);

}  // namespace tessera::driver
