#include "cosim/rtl_arch.h"

namespace tessera::cosim {

void check_rtl_core_arch(const config::ArchConfig& arch, const std::string& option) {
  const config::Arch tiny = config::load_arch("tiny");
  config::ArchConfig x = arch;
  x.core = tiny->core;
  x.matrix = tiny->matrix;
  x.accumulator = tiny->accumulator;
  x.vector = tiny->vector;
  x.l1 = tiny->l1;
  x.dma = tiny->dma;
  if (config::fingerprint(x) != config::fingerprint(arch))
    throw InputError(option + ": the RTL core is rtl/core.sv verilated for the tiny preset's core, and " + arch.name +
                     " has a different core (its core, matrix, accumulator, vector, l1 or dma section differs from "
                     "tiny's; the chip around the core may differ)");
}

}  // namespace tessera::cosim
