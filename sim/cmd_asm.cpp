// `tessera asm`: assemble a program (docs/isa.md, "Assembly") into a .tbin file, validating
// every instruction against the architecture it is built for.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "sim/command.h"

namespace {

int asm_main(int argc, char** argv) {
  CLI::App app{"Assemble a Tessera program into a .tbin file (docs/isa.md)", argv[0]};
  std::string input, output;
  app.add_option("input", input, "assembly source (.s)")->required();
  app.add_option("-o,--output", output, "program file to write (.tbin)")->required();
  tessera::cli::ArchOption arch_opt(app, "", "preset name or architecture file; default: the source's .arch directive, else tiny",
                                    false);
  std::string& arch = arch_opt.arch;
  if (auto status = tessera::cli::parse_args(app, argc, argv)) return *status;

  const std::vector<uint8_t> source = tessera::isa::read_program_file(input);
  const std::string text(source.begin(), source.end());
  if (arch.empty()) {
    arch = tessera::isa::arch_directive(text);
    // A relative architecture path in the source is relative to the source.
    if (!arch.empty() && (arch.find('/') != std::string::npos || arch.ends_with(".yaml")) &&
        std::filesystem::path(arch).is_relative()) {
      arch = (std::filesystem::path(input).parent_path() / arch).string();
    }
  }
  if (arch.empty()) arch = "tiny";
  const tessera::config::Arch a = arch_opt.load();
  const tessera::isa::Program program = tessera::isa::assemble(text, input, *a);
  tessera::isa::validate(program, *a);
  const std::vector<uint8_t> bytes = tessera::isa::write_tbin(program);

  tessera::cli::write_file("-o", output, [&](std::ostream& os) {
    os.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
  size_t instructions = 0, data_bytes = 0;
  for (const auto& t : program.text) instructions += t.code.size();
  for (const auto& d : program.data) data_bytes += d.bytes.size();
  std::printf("%s: %zu instructions in %zu text sections, %zu data bytes, for %s (%zu bytes)\n", output.c_str(),
              instructions, program.text.size(), data_bytes, a->name.c_str(), bytes.size());
  return 0;
}

}  // namespace

TESSERA_COMMAND("asm", "assemble a program into a .tbin file (validated for --arch)", asm_main);
