// Writes tessera_cfg_pkg (common/config/sv.h) for one architecture, as `tessera config sv`
// does, without linking the whole tessera executable: the RTL build needs only this.
// Usage: gen_cfg_pkg ARCH OUT.sv
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/config/config.h"
#include "common/config/sv.h"
#include "common/util/error.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: gen_cfg_pkg ARCH OUT.sv\n";
    return 2;
  }
  try {
    const std::string text = tessera::config::to_sv_package(*tessera::config::load_arch(argv[1]));
    std::ofstream out(argv[2], std::ios::binary);
    out << text;
    if (!out) {
      std::cerr << "gen_cfg_pkg: cannot write " << argv[2] << "\n";
      return 2;
    }
  } catch (const tessera::InputError& e) {
    std::cerr << "gen_cfg_pkg: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
