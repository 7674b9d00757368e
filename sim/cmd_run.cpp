// `tessera run`: the main job (docs/compiler.md, "tessera run"). Options in, report out: the
// driver (driver/) costs the request on the cycle model (timing mode) or runs the compiled
// steps with real weights (functional mode, tokens printed like `tessera ref`).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "driver/functional.h"
#include "driver/report.h"
#include "driver/timing.h"
#include "sim/command.h"

namespace {

using namespace tessera;

// The embedded default: small enough to finish in well under a minute on two cores,
// large enough to show prefill, decode and the layer multiplication (docs/compiler.md).
constexpr const char* kDefaultModel = "llama3-8b";
constexpr uint32_t kDefaultChips = 1;
constexpr uint64_t kDefaultBatch = 4, kDefaultPrompt = 256, kDefaultGen = 32;

std::vector<int64_t> token_list(const std::string& text) {
  std::vector<int64_t> ids;
  const char* p = text.data();
  const char* end = p + text.size();
  while (true) {
    int64_t v = -1;
    const auto [q, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || v < 0 || (q != end && *q != ','))
      throw InputError("--prompt '" + text + "': expected comma-separated non-negative token ids, e.g. 1,10,20,30");
    ids.push_back(v);
    if (q == end) break;
    p = q + 1;
  }
  return ids;
}

uint64_t prompt_length(const std::string& text) {
  uint64_t v = 0;
  const auto [q, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || q != text.data() + text.size() || v == 0)
    throw InputError("--prompt '" + text + "': in timing mode the prompt is a token count (a positive integer)");
  return v;
}

int run_main(int argc, char** argv) {
  CLI::App app{
      "Compile a model and simulate a request (prefill + decode) on the cycle model; or, with --functional, run the "
      "compiled program with real weights.\nWithout arguments: --arch sohu-like --model llama3-8b --chips 1 --batch 4 "
      "--prompt 256 --gen 32 (well under a minute).",
      argv[0]};
  std::string model = kDefaultModel, precision, dram = "bandwidth", json, prompt;
  uint64_t batch = kDefaultBatch, gen = kDefaultGen, steps = 16, prefill_batch = 0;
  uint32_t chips = kDefaultChips, tp = 0, points = 3;
  bool functional = false, verbose = false;
  app.add_option("--model", model, "configs/models name (llama3-70b, ...) or a directory with config.json")
      ->capture_default_str();
  const cli::ArchOption arch(app, "sohu-like");
  app.add_option("--chips", chips, "chips used (0: system.chips)")->capture_default_str();
  app.add_option("--tp", tp, "chips per tensor-parallel group (default: the fewest that hold the model)");
  app.add_option("--batch", batch, "sequences of the request, over all replicas")->capture_default_str();
  app.add_option("--prompt", prompt,
                 "timing: prompt tokens per sequence (default 256); --functional: the prompt's token ids, e.g. "
                 "1,10,20,30");
  app.add_option("--gen", gen, "tokens generated per sequence (timing)")->capture_default_str();
  app.add_option("--steps", steps, "tokens generated (--functional)")->capture_default_str();
  app.add_option("--precision", precision, "bf16, fp8, fp8w, int8 or w=F,a=F,kv=F (default: fp8 where supported)");
  app.add_option("--dram", dram, "DRAM model of the simulations: bandwidth (fast) or burst (exact HBM, slow)")
      ->capture_default_str();
  app.add_option("--prefill-batch", prefill_batch,
                 "sequences per prefill step (default: the fewest giving >= 2048 prompt rows that divide a replica's "
                 "batch)");
  app.add_option("--decode-points", points, "decode contexts simulated (the steps between are interpolated)")
      ->capture_default_str();
  app.add_option("--json", json, "also write the report as JSON to this file");
  app.add_flag("--functional", functional, "run with real weights on the functional model and print the tokens");
  app.add_flag("-v,--verbose", verbose, "progress and host times on stderr");
  uint64_t max_cycles = 0;
  cli::add_max_cycles_option(app, max_cycles);
  if (auto status = cli::parse_args(app, argc, argv)) return *status;
  if (dram != "bandwidth" && dram != "burst")
    throw InputError("--dram '" + dram + "': expected bandwidth or burst");
  if (points == 0) throw InputError("--decode-points: expected at least 1");
  const config::Arch a = arch.load();
  std::optional<compiler::Precision> prec;
  if (!precision.empty()) prec = compiler::parse_precision(precision, *a);

  if (functional) {
    if (!app.count("--model")) throw InputError("--functional needs --model DIR (config.json and model.safetensors)");
    if (prompt.empty()) throw InputError("--functional needs --prompt with token ids, e.g. 1,10,20,30");
    driver::FunctionalOptions fo;
    fo.prompt = token_list(prompt);
    fo.steps = steps;
    fo.precision = prec;
    fo.keep_logits = false;
    fo.max_cycles = max_cycles;
    const driver::FunctionalResult r = driver::run_functional(model, *a, fo);
    std::string line;
    for (size_t i = 0; i < r.tokens.size(); ++i) line += (i ? "," : "") + std::to_string(r.tokens[i]);
    std::printf("%s\n", line.c_str());
    if (verbose)
      std::fprintf(stderr, "%llu cycles, %llu instructions over %llu step programs\n", (unsigned long long)r.cycles,
                   (unsigned long long)r.instructions, (unsigned long long)steps);
    return 0;
  }

  driver::TimingOptions to;
  to.batch = batch;
  to.prompt = prompt.empty() ? kDefaultPrompt : prompt_length(prompt);
  to.gen = gen;
  to.chips = chips;
  to.tp = tp;
  to.precision = prec;
  to.decode_points = points;
  to.prefill_batch = prefill_batch;
  to.dram_burst = dram == "burst";
  to.verbose = verbose;
  to.max_cycles = max_cycles;
  const hf::ModelConfig m = compiler::load_model(model);
  const driver::TimingReport r = driver::run_timing(m, *a, to);
  std::cout << driver::report_text(r);
  if (!json.empty()) {
    cli::write_file("--json", json, [&](std::ostream& os) { os << driver::report_json(r); });
  }
  if (verbose) std::fprintf(stderr, "host time %.1f s\n", r.host_seconds);
  return 0;
}

}  // namespace

TESSERA_COMMAND("run", "compile and simulate a request (TTFT, TPOT, tokens/s, utilisation, roofline); --functional",
                run_main);
