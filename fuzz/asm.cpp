// libFuzzer target: assembly text through the assembler for the tiny preset, and every
// program it accepts through validation. An InputError is the expected refusal; anything
// else is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config/config.h"
#include "common/isa/isa.h"
#include "common/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tessera::config::Arch arch = tessera::config::load_arch("tiny");
  try {
    const tessera::isa::Program p =
        tessera::isa::assemble(std::string(reinterpret_cast<const char*>(data), size), "fuzz/prog.s", *arch);
    tessera::isa::validate(p, *arch);
  } catch (const tessera::InputError&) {
  }
  return 0;
}
