// libFuzzer target: .tbin program files through the reader, and every program it accepts
// through the disassembler. An InputError is the expected refusal; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/isa/isa.h"
#include "common/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tessera::isa::Program p = tessera::isa::read_tbin(std::vector<uint8_t>(data, data + size), "fuzz.tbin");
    (void)tessera::isa::disassemble(p);
  } catch (const tessera::InputError&) {
  }
  return 0;
}
