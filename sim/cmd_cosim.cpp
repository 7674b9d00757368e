// `tessera cosim`: runs tessera-cosim, the co-simulator of the Verilated RTL core and the cycle
// model (cosim/main.cpp, docs/cosim.md). It is a separate executable so that the `tessera`
// build never waits for Verilator; it is looked for next to this one.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/util/error.h"
#include "sim/command.h"

namespace tessera::cli {

void exec_cosim(const std::vector<std::string>& args) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path exe = self.parent_path() / "tessera-cosim";
  if (ec || !std::filesystem::exists(exe))
    throw InputError("this needs the co-simulator " + exe.string() +
                     ", which is built where Verilator is: cmake --build build --target tessera-cosim");
  std::vector<std::string> all = {exe.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(exe.c_str(), argv.data());
  throw InputError("cannot run " + exe.string());
}

}  // namespace tessera::cli

namespace {

int cosim_main(int argc, char** argv) {
  tessera::cli::exec_cosim(std::vector<std::string>(argv + 1, argv + argc));
  return 2;
}

}  // namespace

TESSERA_COMMAND("cosim", "run a program on the RTL core and the model in lock-step and compare them (tessera-cosim)",
                cosim_main);
