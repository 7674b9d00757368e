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
#include "cosim/rtl_arch.h"
#include "driver/functional.h"
#include "driver/plan.h"
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
  std::string model = kDefaultModel, precision, dram = "bandwidth", json, csv, html, tech, prompt;
  std::string batch_text, plan_text, objective = "throughput";
  uint64_t batch = kDefaultBatch, gen = kDefaultGen, steps = 16, prefill_batch = 0;
  uint32_t chips = kDefaultChips, tp = 0, points = 3;
  bool functional = false, verbose = false, plan_only = false;
  app.add_option("--model", model, "configs/models name (llama3-70b, ...) or a directory with config.json")
      ->capture_default_str();
  const cli::ArchOption arch(app, "sohu-like");
  app.add_option("--chips", chips, "chips used (0: system.chips)")->capture_default_str();
  app.add_option("--tp", tp, "chips per tensor-parallel group (default: the fewest that hold the model)");
  app.add_option("--batch", batch_text, "sequences of the request, over all replicas (default 4), or max: the largest "
                 "batch whose KV cache fits under the plan");
  app.add_option("--plan", plan_text, "force a parallelism plan, e.g. dp=2,tp=2,pp=2 (dp x tp x pp <= --chips)");
  app.add_option("--objective", objective, "what the planner optimises: throughput or latency")->capture_default_str();
  app.add_flag("--plan-only", plan_only, "print the parallelism plans compared (cost model) and stop before simulating");
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
  bool exact = false;
  app.add_flag("--exact", exact,
               "simulate every layer (whole-model programs) and every decode step instead of one layer multiplied "
               "and decode steps interpolated (slow; measures those estimates)");
  std::string routing;
  app.add_option("--routing", routing,
                 "mixture-of-experts routing assumed by timing runs: uniform (default), dense (every expert, for "
                 "comparison) or a routing trace JSON file (docs/driver.md)");
  app.add_option("--json", json, "also write the report as JSON to this file (docs/reports.md)");
  app.add_option("--csv", csv, "also write one CSV row per simulated segment and per phase to this file");
  app.add_option("--html", html, "also write the report as one self-contained HTML page with charts");
  app.add_option("--tech", tech,
                 "technology table for energy and area: a configs/tech name or a file (default: the table of "
                 "process.node_nm)");
  app.add_flag("--functional", functional, "run with real weights on the functional model and print the tokens");
  std::string rtl_cores;
  app.add_option("--rtl-cores", rtl_cores,
                 "--functional: run these cores on the Verilated RTL core inside the modelled chip, e.g. 0 or 0,1 or "
                 "C:K (needs tessera-cosim, built where Verilator is)");
  app.add_flag("-v,--verbose", verbose, "progress and host times on stderr");
  uint64_t max_cycles = 0;
  cli::add_max_cycles_option(app, max_cycles);
  uint32_t threads = 1;
  cli::add_threads_option(app, threads);
  if (auto status = cli::parse_args(app, argc, argv)) return *status;
  if (dram != "bandwidth" && dram != "burst")
    throw InputError("--dram '" + dram + "': expected bandwidth or burst");
  if (points == 0) throw InputError("--decode-points: expected at least 1");
  const driver::Objective obj = driver::parse_objective(objective);
  const bool batch_max = batch_text == "max";
  if (!batch_text.empty() && !batch_max) {
    // The wording every unsigned option uses for a negative value (sim/main.cpp).
    if (batch_text[0] == '-') throw InputError("--batch: expected a non-negative integer, got " + batch_text);
    const auto [q, ec] = std::from_chars(batch_text.data(), batch_text.data() + batch_text.size(), batch);
    if (ec != std::errc() || q != batch_text.data() + batch_text.size())
      throw InputError("--batch '" + batch_text + "': expected a number of sequences or max");
  }
  if (!plan_text.empty() && app.count("--tp"))
    throw InputError("--plan and --tp: give one (--plan " + plan_text + " already fixes tp)");
  const config::Arch a = arch.load();
  std::optional<compiler::Precision> prec;
  if (!precision.empty()) prec = compiler::parse_precision(precision, *a);

  if (exact && functional) throw InputError("--exact: a timing option; --functional runs every layer and step already");
  if (exact && app.count("--decode-points"))
    throw InputError("--decode-points: --exact simulates every decode step; give one of the two");
  if (!rtl_cores.empty() && !functional) throw InputError("--rtl-cores goes with --functional");
  if (functional && app.count("--threads"))
    throw InputError("--threads: a timing option (the functional model runs in one process)");
  if (functional) {
    if (!app.count("--model")) throw InputError("--functional needs --model DIR (config.json and model.safetensors)");
    if (prompt.empty()) throw InputError("--functional needs --prompt with token ids, e.g. 1,10,20,30");
    driver::FunctionalOptions fo;
    fo.prompt = driver::parse_tokens(prompt, "--prompt");
    fo.steps = steps;
    fo.precision = prec;
    fo.max_cycles = max_cycles;
    if (!plan_text.empty()) driver::set_functional_plan(fo, plan_text, *a);
    if (!rtl_cores.empty()) {
      // The RTL core lives in tessera-cosim (built where Verilator is): it runs this same
      // generation with the listed cores in RTL (docs/cosim.md, "RTL cores inside the system model").
      driver::parse_core_list(rtl_cores, "--rtl-cores", *a);
      cosim::check_rtl_core_arch(*a, "--arch");
      std::vector<std::string> args = {"--arch", arch.arch};
      for (const std::string& s : arch.sets) args.insert(args.end(), {"--set", s});
      args.insert(args.end(), {"--model", model, "--prompt", prompt, "--steps", std::to_string(steps), "--rtl-cores", rtl_cores});
      if (!precision.empty()) args.insert(args.end(), {"--precision", precision});
      if (!plan_text.empty()) args.insert(args.end(), {"--plan", plan_text});
      if (max_cycles) args.insert(args.end(), {"--max-cycles", std::to_string(max_cycles)});
      cli::exec_cosim(args);
    }
    const driver::FunctionalResult r = driver::run_functional(model, *a, fo);
    driver::print_functional(model, fo, r);
    return 0;
  }

  driver::TimingOptions to;
  const hf::ModelConfig m = compiler::load_model(model);
  to.prompt = prompt.empty() ? kDefaultPrompt : prompt_length(prompt);
  // The parallelism plan: forced (--plan, or --tp alone as today: all other chips
  // data-parallel), else the planner's choice over every dp x tp x pp of the chips.
  driver::PlanRequest pr;
  pr.batch = batch_max ? 0 : batch;
  pr.prompt = to.prompt;
  pr.gen = gen;
  pr.chips = chips;
  pr.precision = prec;
  pr.objective = obj;
  pr.prefill_batch = prefill_batch;
  std::string plan_source = "planner, objective " + driver::objective_name(obj);
  if (!plan_text.empty()) {
    pr.forced = driver::parse_plan(plan_text);
    plan_source = "--plan";
  } else if (tp) {
    const uint32_t all = chips ? chips : a->system.chips;
    if (all % tp)
      throw InputError("--tp " + std::to_string(tp) + ": --chips " + std::to_string(all) +
                       " is not divisible by a tensor-parallel group of " + std::to_string(tp));
    pr.forced = driver::Plan{all / tp, tp, 1};
    pr.forced_by = "--tp";
    plan_source = "--tp";
  }
  std::optional<driver::PlanChoice> choice;
  if (batch > 0 || batch_max) choice = driver::choose_plan(m, *a, pr);
  if (plan_only) {
    if (!choice) throw InputError("--plan-only: the request has no plan (--batch 0)");
    driver::TimingReport r;
    r.model = m.source;
    r.arch = a->name;
    driver::attach_plan(r, *choice, plan_source);
    std::cout << driver::plans_text(r);
    return 0;
  }
  if (choice) {
    batch = choice->best.batch;
    chips = choice->best.plan.chips();
    tp = choice->best.plan.tp;
    to.pp = choice->best.plan.pp;
    to.decode_micro_batches = choice->best.decode_micro_batches;
  }
  to.batch = batch;
  to.gen = gen;
  to.chips = chips;
  to.tp = tp;
  to.precision = prec;
  to.decode_points = points;
  to.exact = exact;
  to.prefill_batch = prefill_batch;
  to.dram_burst = dram == "burst";
  to.verbose = verbose;
  to.tech = tech;
  to.max_cycles = max_cycles;
  to.threads = threads;
  to.routing = routing;
  driver::TimingReport r = driver::run_timing(m, *a, to);
  if (choice) driver::attach_plan(r, *choice, plan_source);
  std::cout << driver::report_text(r);
  if (!json.empty()) {
    cli::write_file("--json", json, [&](std::ostream& os) { os << driver::report_json(r); });
  }
  if (!csv.empty()) cli::write_file("--csv", csv, [&](std::ostream& os) { os << driver::report_csv(r); });
  if (!html.empty()) {
    // The page names the command that made it; output file options are left out, so the page
    // does not depend on where it was written.
    std::string command = "tessera run";
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--html" || a == "--json" || a == "--csv") {
        ++i;
        continue;
      }
      if (a.rfind("--html=", 0) == 0 || a.rfind("--json=", 0) == 0 || a.rfind("--csv=", 0) == 0) continue;
      command += " " + a;
    }
    cli::write_file("--html", html, [&](std::ostream& os) { os << driver::report_html(r, command); });
  }
  if (verbose) std::fprintf(stderr, "host time %.1f s\n", r.host_seconds);
  return 0;
}

}  // namespace

TESSERA_COMMAND("run", "compile and simulate a request (TTFT, TPOT, tokens/s, utilisation, roofline); --functional",
                run_main);
