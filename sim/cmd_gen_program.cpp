// `tessera gen-program`: a constrained-random program for co-simulation (cosim/gen_program.h,
// docs/cosim.md), written as a .tbin (its L2 image as a data section) or listed as assembly.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "common/isa/isa.h"
#include "cosim/gen_program.h"
#include "sim/command.h"

namespace {

int gen_program_main(int argc, char** argv) {
  CLI::App app{"Generate a random legal program of what the RTL core implements (docs/cosim.md)", argv[0]};
  const tessera::cli::ArchOption arch(app);
  tessera::cosim::GenOptions opt;
  std::string output;
  app.add_option("--seed", opt.seed, "random seed (the same seed gives the same program)")->capture_default_str();
  app.add_option("--length", opt.length, "instructions, approximately (2 to 1000)")->capture_default_str();
  app.add_flag("--illegal", opt.illegal, "add one defect (a deadlock or a token overflow) that both sides must refuse");
  app.add_option("-o,--output", output, "program file to write (.tbin); without it the assembly is printed");
  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;
  const tessera::config::Arch a = arch.load();
  const tessera::cosim::Generated g = tessera::cosim::generate_program(*a, opt);
  // Only the defect of an --illegal program may fail at run time; every program is valid ISA.
  tessera::isa::validate(g.program, *a);
  if (output.empty()) {
    std::cout << tessera::isa::disassemble(g.program);
    return 0;
  }
  const std::vector<uint8_t> bytes = tessera::isa::write_tbin(g.program);
  tessera::cli::write_file("-o", output, [&](std::ostream& os) {
    os.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
  std::printf("%s: %zu instructions for %s, seed %llu%s\n", output.c_str(), g.program.text[0].code.size(),
              a->name.c_str(), static_cast<unsigned long long>(opt.seed),
              opt.illegal ? (", defect: " + tessera::cosim::defect_name(g.defect)).c_str() : "");
  return 0;
}

}  // namespace

TESSERA_COMMAND("gen-program", "generate a random legal program for co-simulation (--illegal: with one defect)",
                gen_program_main);
