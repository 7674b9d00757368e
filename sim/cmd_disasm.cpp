// `tessera disasm`: print a .tbin program as assembly that `tessera asm` turns back into the
// same bytes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "sim/command.h"

namespace {

int disasm_main(int argc, char** argv) {
  CLI::App app{"Print a .tbin program as assembly (docs/isa.md)", argv[0]};
  std::string input, output;
  app.add_option("input", input, "program file (.tbin)")->required();
  app.add_option("-o,--output", output, "write the assembly here instead of standard output");
  const tessera::cli::ArchOption arch(app, "", "refuse the program unless it was built for this preset or architecture file",
                                      false);
  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;

  const tessera::isa::Program program = tessera::isa::read_tbin(tessera::isa::read_program_file(input), input);
  if (!arch.arch.empty()) tessera::isa::check_arch(program, *arch.load(), input);
  const std::string text = tessera::isa::disassemble(program);
  if (output.empty()) {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  tessera::cli::write_file("-o", output, [&](std::ostream& os) { os << text; });
  return 0;
}

}  // namespace

TESSERA_COMMAND("disasm", "print a .tbin program as assembly that reassembles to the same bytes", disasm_main);
