// tessera-cosim: the RTL core and the cycle model in lock-step on one program, or on a series
// of generated ones (--random N, the soak). `tessera cosim` runs this executable, which exists
// only where Verilator built the core (docs/cosim.md). Exit status: 0 no divergence, 1 a
// divergence, 2 bad input.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/util/error.h"
#include "common/util/main.h"
#include "cosim/cosim.h"
#include "cosim/gen_program.h"

namespace {

using namespace tessera;

int soak(const config::ArchConfig& arch, uint64_t count, uint64_t seed, uint32_t length, bool illegal,
         const cosim::Options& opt, const std::string& keep) {
  uint64_t programs = 0, instructions = 0, cycles = 0, starts = 0, ends = 0, bytes = 0, refused = 0;
  double rtl_s = 0, model_s = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t s = seed; s < seed + count; ++s) {
    cosim::GenOptions g;
    g.seed = s;
    g.length = length;
    g.illegal = illegal;
    const cosim::Generated gen = cosim::generate_program(arch, g);
    const cosim::Result r = cosim::run(arch, gen.program, opt);
    ++programs;
    instructions += r.instructions;
    cycles += r.cycles;
    starts += r.starts;
    ends += r.ends;
    bytes += r.l1_write_bytes + r.l2_write_bytes + r.hbm_write_bytes + r.acc_bytes + r.final_bytes;
    rtl_s += r.rtl_seconds;
    model_s += r.model_seconds;
    refused += r.illegal;
    // Progress of a long soak, so that a stopped run still says how far it got.
    if (programs % 500 == 0)
      std::fprintf(stderr, "... %llu programs, %llu instructions, %llu cycles, no divergence\n",
                   static_cast<unsigned long long>(programs), static_cast<unsigned long long>(instructions),
                   static_cast<unsigned long long>(cycles));
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
  const bool bad = programs < count;
  std::printf("programs: %llu (seeds %llu..%llu, length %u%s), instructions: %llu, cycles compared: %llu, "
              "starts: %llu, completions: %llu, bytes compared: %llu, divergences: %d\n",
              static_cast<unsigned long long>(programs), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed + programs - 1), length, illegal ? ", illegal" : "",
              static_cast<unsigned long long>(instructions), static_cast<unsigned long long>(cycles),
              static_cast<unsigned long long>(starts), static_cast<unsigned long long>(ends),
              static_cast<unsigned long long>(bytes), bad ? 1 : 0);
  if (illegal) std::printf("refused by both: %llu\n", static_cast<unsigned long long>(refused));
  std::printf("time: %.1f s (RTL %.1f s, %.0f cycles/s; model %.1f s)\n", wall, rtl_s, rtl_s > 0 ? double(cycles) / rtl_s : 0.0,
              model_s);
  return bad ? 1 : 0;
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
  std::string keep;
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the help or the error; a usage error is bad input (2), --help is 0.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (random == 0 && program.empty()) throw InputError("tessera cosim: give a PROGRAM.tbin or --random N");
  if (random > 0 && !program.empty()) throw InputError("tessera cosim: give a PROGRAM.tbin or --random N, not both");
  opt.wave = wave;
  const config::Arch arch = config::load_arch(arch_name, sets);
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
