#pragma once
// Generating tokens with compiled programs on the functional model (docs/driver.md; the
// command in docs/compiler.md, "Functional mode"). Each step is its own program (the
// prefill of the prompt, then one decode program per generated token); the host picks the
// next token from the chips' top-1 results and carries the KV cache pages from one
// program's HBM to the next program's data sections, as a server keeps device memory
// between launches.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "compiler/compiler.h"
#include "model/core/model.h"

namespace tessera::driver {

struct FunctionalOptions {
  std::vector<int64_t> prompt;
  uint64_t steps = 16;
  std::optional<compiler::Precision> precision;
  // Teacher forcing: feed these tokens (steps of them) instead of the argmax.
  std::vector<int64_t> forced;
  bool keep_logits = true;
  uint64_t max_cycles = 0;  // model::RunOptions::max_cycles of every step (--max-cycles)
  // Parallelism (--plan tp=..,pp=..): a tensor-parallel group of tp chips (0: every chip of
  // the system) in each of pp pipeline stages; every step is one program over tp x pp chips.
  uint32_t tp = 0, pp = 1;
  // Co-simulation (`tessera run --functional --rtl-cores`, docs/cosim.md): these cores, (chip,
  // core), of every step run on what `stand_in` builds (model::RunOptions::stand_in), the RTL
  // core in tessera-cosim; the rest of the system stays modelled.
  std::vector<std::pair<uint32_t, uint32_t>> stand_in_cores;
  model::StandInFactory stand_in;
};

struct FunctionalResult {
  compiler::Precision precision;  // what the programs were compiled with (the default resolved)
  std::vector<int64_t> tokens;
  std::vector<std::vector<float>> logits;  // [step][vocab]
  uint64_t cycles = 0;                     // summed over the step programs
  uint64_t instructions = 0;
  uint64_t hbm_read = 0;                   // bytes, summed over the step programs (all chips)
};

// model_dir holds config.json and model.safetensors. InputError for bad input.
FunctionalResult run_functional(const std::string& model_dir, const config::ArchConfig& arch,
                                const FunctionalOptions& opt);

// One step program's run as the generation needs it: its cost, and the memory it left
// behind (the logits, the top-1 results, the KV cache carried to the next step).
struct StepRun {
  uint64_t cycles = 0, instructions = 0, hbm_read = 0;
  std::function<std::vector<uint8_t>(uint32_t chip, isa::Space space, uint64_t addr, uint64_t bytes)> read;
};
// Runs step `step`'s program (0: the prefill).
using StepRunner = std::function<StepRun(const isa::Program& program, uint64_t step)>;
// The same generation with every step run by `runner` instead of the functional model
// (tessera cosim --model runs each on the RTL core and the model in lock-step).
FunctionalResult run_functional(const std::string& model_dir, const config::ArchConfig& arch,
                                const FunctionalOptions& opt, const StepRunner& runner);

// A run's logits (kept: opt.keep_logits) against the reference Transformer, step by step,
// with the run's own tokens fed to the reference so both see the same prefix. Two
// references: the plain FP32 model, and the FP32 model as the run's precision represents it
// (ref::Model::quantised, docs/numerics.md "Error model"): the first measures what the
// precision costs, the second what the compiled program adds to that.
struct ReferenceComparison {
  uint64_t steps = 0;
  double min_cosine = 1.0, mean_cosine = 1.0;                      // vs the FP32 model
  double min_cosine_quantised = 1.0, mean_cosine_quantised = 1.0;  // vs the quantised model
  uint64_t greedy_equal = 0;  // steps whose token is the FP32 model's argmax
};
ReferenceComparison compare_with_reference(const std::string& model_dir, const FunctionalOptions& opt,
                                           const FunctionalResult& run);

// A --prompt of comma-separated non-negative token ids ("1,10,20,30"); InputError naming
// `option` otherwise.
std::vector<int64_t> parse_tokens(const std::string& text, const std::string& option);

// A --rtl-cores list: comma-separated cores, each K (core K of chip 0) or C:K (core K of chip
// C), e.g. "0", "0,1", "1:0"; sorted, without repeats. InputError naming `option` for bad text
// or a core `arch` does not have.
std::vector<std::pair<uint32_t, uint32_t>> parse_core_list(const std::string& text, const std::string& option,
                                                           const config::ArchConfig& arch);

// --plan of a functional run (one sequence): sets opt.tp and opt.pp; InputError unless dp is 1
// and the plan fits the architecture's chips.
void set_functional_plan(FunctionalOptions& opt, const std::string& plan_text, const config::ArchConfig& arch);

// What `tessera run --functional` prints: the tokens on stdout as `tessera ref` does; on stderr
// the logits against the reference (compare_with_reference) and the cycles and instructions.
void print_functional(const std::string& model_dir, const FunctionalOptions& opt, const FunctionalResult& r);

// Cosine of two logit vectors (double accumulation): how the functional runs are compared
// with the reference.
double cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace tessera::driver
