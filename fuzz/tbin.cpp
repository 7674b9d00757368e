// libFuzzer target: .tbin program files through the reader, and every program it accepts
// through the disassembler. Each input is read twice: as given (the checksum checks) and
// with both CRC-32 fields recomputed (layout in docs/isa.md), since a random mutation
// almost never keeps a checksum right and would otherwise never reach the section and
// instruction decoding behind it. An InputError is the expected refusal; anything else
// is a bug.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/isa/isa.h"
#include "common/util/error.h"

namespace {

constexpr size_t kOffBodyCrc = 40, kOffHeaderCrc = 44, kHeaderBytes = 48;

void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

void read(const std::vector<uint8_t>& bytes) {
  try {
    const tessera::isa::Program p = tessera::isa::read_tbin(bytes, "fuzz.tbin");
    (void)tessera::isa::disassemble(p);
  } catch (const tessera::InputError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  read(bytes);
  if (size >= kHeaderBytes) {
    put32(bytes, kOffBodyCrc, tessera::isa::tbin_crc32(bytes.data() + kHeaderBytes, size - kHeaderBytes));
    put32(bytes, kOffHeaderCrc, tessera::isa::tbin_crc32(bytes.data(), kOffHeaderCrc));
    read(bytes);
  }
  return 0;
}
