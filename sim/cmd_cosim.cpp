// `tessera cosim`: runs tessera-cosim, the co-simulator of the Verilated RTL core and the cycle
// model (cosim/main.cpp, docs/cosim.md). It is a separate executable so that the `tessera`
// build never waits for Verilator; it is looked for next to this one.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/util/error.h"
#include "sim/command.h"

namespace {

int cosim_main(int argc, char** argv) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path exe = self.parent_path() / "tessera-cosim";
  if (ec || !std::filesystem::exists(exe))
    throw tessera::InputError("tessera cosim needs the co-simulator " + exe.string() +
                              ", which is built where Verilator is: cmake --build build --target tessera-cosim");
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  execv(exe.c_str(), args.data());
  throw tessera::InputError("tessera cosim: cannot run " + exe.string());
}

}  // namespace

TESSERA_COMMAND("cosim", "run a program on the RTL core and the model in lock-step and compare them (tessera-cosim)",
                cosim_main);
