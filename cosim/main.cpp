// tessera-cosim: the RTL core and the cycle model in lock-step on one program, on a series
// of generated ones (--random N, the soak), or on every step of a compiled model generating
// tokens (--model DIR). `tessera cosim` runs this executable, which exists
// only where Verilator built the core (docs/cosim.md). Exit status: 0 no divergence, 1 a
// divergence, 2 bad input.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/util/error.h"
#include "common/util/main.h"
#include "compiler/compiler.h"
#include "cosim/cosim.h"
#include "cosim/gen_program.h"
#include "cosim/rtl_core.h"
#include "driver/functional.h"

namespace {

using namespace tessera;

// What a series of runs compared (the soak's and --model's summaries).
struct Totals {
  uint64_t programs = 0, instructions = 0, cycles = 0, starts = 0, ends = 0, bytes = 0;
  double rtl_s = 0, model_s = 0;
  void add(const cosim::Result& r) {
    ++programs;
    instructions += r.instructions;
    cycles += r.cycles;
    starts += r.starts;
    ends += r.ends;
    bytes += r.l1_write_bytes + r.l2_write_bytes + r.hbm_write_bytes + r.acc_bytes + r.final_bytes;
    rtl_s += r.rtl_seconds;
    model_s += r.model_seconds;
  }
};

int soak(const config::ArchConfig& arch, uint64_t count, uint64_t seed, uint32_t length, bool illegal,
         const cosim::Options& opt, const std::string& keep) {
  Totals t;
  uint64_t refused = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t s = seed; s < seed + count; ++s) {
    cosim::GenOptions g;
    g.seed = s;
    g.length = length;
    g.illegal = illegal;
    const cosim::Generated gen = cosim::generate_program(arch, g);
    const cosim::Result r = cosim::run(arch, gen.program, opt);
    t.add(r);
    refused += r.illegal;
    // Progress of a long soak, so that a stopped run still says how far it got.
    if (t.programs % 500 == 0)
      std::fprintf(stderr, "... %llu programs, %llu instructions, %llu cycles, no divergence\n",
                   static_cast<unsigned long long>(t.programs), static_cast<unsigned long long>(t.instructions),
                   static_cast<unsigned long long>(t.cycles));
    if (r.divergence || (illegal && !r.illegal)) {
      const std::string path = keep + "cosim_seed_" + std::to_string(s) + ".tbin";
      const std::vector<uint8_t> bin = isa::write_tbin(gen.program);
      std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bin.data()), std::streamsize(bin.size()));
      std::printf("seed %llu (program written to %s):\n%s", static_cast<unsigned long long>(s), path.c_str(),
                  cosim::report(r).c_str());
      if (illegal && !r.divergence) std::printf("the RTL and the model did not both refuse the program\n");
      break;
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool bad = t.programs < count;
  std::printf("programs: %llu (seeds %llu..%llu, length %u%s), instructions: %llu, cycles compared: %llu, "
              "starts: %llu, completions: %llu, bytes compared: %llu, divergences: %d\n",
              static_cast<unsigned long long>(t.programs), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed + t.programs - 1), length, illegal ? ", illegal" : "",
              static_cast<unsigned long long>(t.instructions), static_cast<unsigned long long>(t.cycles),
              static_cast<unsigned long long>(t.starts), static_cast<unsigned long long>(t.ends),
              static_cast<unsigned long long>(t.bytes), bad ? 1 : 0);
  if (illegal) std::printf("refused by both: %llu\n", static_cast<unsigned long long>(refused));
  std::printf("time: %.1f s (RTL %.1f s, %.0f cycles/s; model %.1f s)\n", wall, t.rtl_s, t.rtl_s > 0 ? double(t.cycles) / t.rtl_s : 0.0,
              t.model_s);
  return bad ? 1 : 0;
}

// A step of --model diverged: its report is printed, the run stops with status 1.
struct StepDiverged {};

// Generates tokens as `tessera run --functional` does (one compiled program per step, the KV
// cache carried from step to step), with every step run on the RTL and the model in
// lock-step; the tokens and the carried memory are the RTL's. Prints the tokens on stdout
// like `tessera ref`, what was compared on stderr.
int model_steps(const config::ArchConfig& arch, const std::string& dir, const std::string& prompt, uint64_t steps,
                const std::string& precision, const cosim::Options& opt) {
  driver::FunctionalOptions fo;
  fo.prompt = driver::parse_tokens(prompt, "--prompt");
  fo.steps = steps;
  fo.keep_logits = false;
  if (!precision.empty()) fo.precision = compiler::parse_precision(precision, arch);
  Totals t;
  const driver::StepRunner runner = [&](const isa::Program& program, uint64_t step) {
    const cosim::Result r = cosim::run(arch, program, opt);
    if (r.divergence || !r.model_error.empty()) {
      std::printf("step %llu (%s):\n%s", static_cast<unsigned long long>(step), step == 0 ? "prefill" : "decode",
                  cosim::report(r).c_str());
      throw StepDiverged{};
    }
    t.add(r);
    driver::StepRun s;
    s.cycles = r.model_cycles;
    s.instructions = r.instructions;
    s.read = [read = r.read_rtl](uint32_t, isa::Space space, uint64_t addr, uint64_t n) { return read(space, addr, n); };
    return s;
  };
  driver::FunctionalResult res;
  try {
    res = driver::run_functional(dir, arch, fo, runner);
  } catch (const StepDiverged&) {
    return 1;
  }
  std::string line;
  for (size_t i = 0; i < res.tokens.size(); ++i) line += (i ? "," : "") + std::to_string(res.tokens[i]);
  std::printf("%s\n", line.c_str());
  std::fprintf(stderr,
               "no divergence in %llu step programs (%s): %llu instructions, %llu cycles, %llu starts and as many "
               "completions, %llu bytes compared; RTL %.0f cycles/s (%.1f s), model %.0f cycles/s (%.1f s)\n",
               static_cast<unsigned long long>(steps), compiler::precision_name(res.precision).c_str(),
               static_cast<unsigned long long>(t.instructions), static_cast<unsigned long long>(t.cycles),
               static_cast<unsigned long long>(t.starts), static_cast<unsigned long long>(t.bytes),
               t.rtl_s > 0 ? double(t.cycles) / t.rtl_s : 0.0, t.rtl_s, t.model_s > 0 ? double(t.cycles) / t.model_s : 0.0, t.model_s);
  return 0;
}

// `tessera run --functional --rtl-cores LIST` (which runs this): the same generation as the
// all-model run, with the listed cores of every step program on the RTL core inside the modelled
// system (cosim/rtl_core.h), printed as `tessera run --functional` prints, plus the RTL's speed.
int rtl_cores_run(const config::ArchConfig& arch, const std::string& dir, const std::string& prompt, uint64_t steps,
                  const std::string& precision, const std::string& plan, const std::string& cores, uint64_t max_cycles) {
  driver::FunctionalOptions fo;
  fo.prompt = driver::parse_tokens(prompt, "--prompt");
  fo.steps = steps;
  if (!precision.empty()) fo.precision = compiler::parse_precision(precision, arch);
  if (!plan.empty()) driver::set_functional_plan(fo, plan, arch);
  fo.max_cycles = max_cycles;
  fo.stand_in_cores = driver::parse_core_list(cores, "--rtl-cores", arch);
  auto totals = std::make_shared<cosim::RtlTotals>();
  fo.stand_in = cosim::rtl_core_factory(arch, cosim::RtlCoreOptions{totals});
  const driver::FunctionalResult r = driver::run_functional(dir, arch, fo);
  driver::print_functional(dir, fo, r);
  std::string list;
  for (const auto& [chip, core] : fo.stand_in_cores)
    list += (list.empty() ? "" : ", ") + std::string("chip ") + std::to_string(chip) + " core " + std::to_string(core);
  std::fprintf(stderr, "RTL cores (%s): %llu core-cycles simulated in RTL over %llu step programs, %.0f cycles/s\n",
               list.c_str(), static_cast<unsigned long long>(totals->cycles), static_cast<unsigned long long>(steps),
               totals->seconds > 0 ? double(totals->cycles) / totals->seconds : 0.0);
  return 0;
}

int cosim_main(int argc, char** argv) {
  CLI::App app{"Run a program on the RTL core and the cycle model in lock-step and compare them (docs/cosim.md)",
               "tessera cosim"};
  std::string arch_name, program, memory, wave;
  std::vector<std::string> sets;
  cosim::Options opt;
  uint64_t random = 0, seed = 1;
  uint32_t length = 64;
  bool illegal = false;
  std::string keep, model_dir, prompt, precision;
  uint64_t steps = 8;
  app.add_option("--arch", arch_name, "architecture preset or file (the core is verilated for tiny)")->required();
  app.add_option("--set", sets, "override a configuration key, KEY.PATH=VALUE")->expected(1)->take_all();
  app.add_option("program", program, "program file (.tbin)");
  app.add_option("--memory", memory, "raw bytes loaded into L2 from address 0 before the program's data sections");
  app.add_option("--wave", wave, "write an FST waveform of the RTL around the first divergence");
  app.add_option("--wave-cycles", opt.wave_before, "cycles of the waveform before the divergence")->capture_default_str();
  app.add_option("--history", opt.history, "instructions listed before a divergence")->capture_default_str();
  app.add_option("--max-cycles", opt.max_cycles, "RTL cycles before giving up")->capture_default_str();
  app.add_option("--random", random, "instead of PROGRAM: generate and compare this many programs (seeds from --seed)");
  app.add_option("--seed", seed, "first seed of --random")->capture_default_str();
  app.add_option("--length", length, "instructions per generated program")->capture_default_str();
  app.add_flag("--illegal", illegal, "generated programs with one defect: both sides must refuse each");
  app.add_option("--keep-dir", keep, "directory for the program of a divergence (default: the working directory)");
  app.add_option("--model", model_dir,
                 "instead of PROGRAM: generate tokens with this model (config.json and model.safetensors), every step "
                 "compiled and run on the RTL and the model in lock-step");
  app.add_option("--prompt", prompt, "--model: the prompt's token ids, e.g. 1,10,20,30");
  app.add_option("--steps", steps, "--model: tokens generated")->capture_default_str();
  app.add_option("--precision", precision, "--model: bf16, fp8, fp8w or w=F,a=F,kv=F (default: fp8 where supported)");
  std::string rtl_cores, plan;
  app.add_option("--rtl-cores", rtl_cores,
                 "--model: instead of the lock-step comparison, generate with these cores (K or C:K, comma-separated) "
                 "on the RTL core inside the modelled system (tessera run --functional --rtl-cores)");
  app.add_option("--plan", plan, "--rtl-cores: the parallelism plan, tp=..,pp=.. (as tessera run --plan)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the help or the error; a usage error is bad input (2), --help is 0.
    return app.exit(e) == 0 ? 0 : 2;
  }
  const int inputs = int(random > 0) + int(!program.empty()) + int(!model_dir.empty());
  if (inputs == 0) throw InputError("tessera cosim: give a PROGRAM.tbin or --random N or --model DIR");
  if (inputs > 1) throw InputError("tessera cosim: give one of a PROGRAM.tbin, --random N and --model DIR");
  if (model_dir.empty() && (!prompt.empty() || app.count("--steps") || !precision.empty() || !rtl_cores.empty()))
    throw InputError("tessera cosim: --prompt, --steps, --precision and --rtl-cores go with --model DIR");
  if (rtl_cores.empty() && !plan.empty()) throw InputError("tessera cosim: --plan goes with --rtl-cores");
  opt.wave = wave;
  const config::Arch arch = config::load_arch(arch_name, sets);
  if (!model_dir.empty()) {
    if (prompt.empty()) throw InputError("--model needs --prompt with token ids, e.g. 1,10,20,30");
    if (steps == 0) throw InputError("--steps: at least 1");
    if (!rtl_cores.empty())
      return rtl_cores_run(*arch, model_dir, prompt, steps, precision, plan, rtl_cores,
                           app.count("--max-cycles") ? opt.max_cycles : 0);
    return model_steps(*arch, model_dir, prompt, steps, precision, opt);
  }
  if (!keep.empty() && keep.back() != '/') keep += '/';
  if (random > 0) return soak(*arch, random, seed, length, illegal, opt, keep);
  if (!memory.empty()) opt.memory = isa::read_program_file(memory, "--memory");
  const isa::Program prog = isa::read_tbin(isa::read_program_file(program, "PROGRAM"), program);
  isa::check_arch(prog, *arch, program);
  const cosim::Result r = cosim::run(*arch, prog, opt);
  std::printf("%s", cosim::report(r).c_str());
  return r.divergence ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tessera::exit_status_of([&] { return cosim_main(argc, argv); });
}
