#pragma once
// Random instructions for codec tests: any defined unit, any mask, every field of the
// opcode's format filled with a random legal code (f32 fields with random bit patterns,
// NaNs included). Not architecture-valid: that is validate()'s business.
#include <bit>
#include <random>

#include "common/isa/isa.h"

namespace tessera::isa::testing_support {

inline Instr random_instr(const OpcodeInfo& op, std::mt19937_64& rng) {
  Instr x;
  x.op = op.op;
  const auto units = enum_codes(EnumType::unit);
  x.unit = units[rng() % units.size()];
  x.wait = static_cast<uint16_t>(rng());
  x.signal = static_cast<uint16_t>(rng());
  for (const FieldInfo& f : info(op.format).fields) {
    if (f.kind == FieldKind::f32) {
      x.*f.f32 = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    } else if (f.kind == FieldKind::enumeration) {
      const auto codes = enum_codes(f.enum_type);
      x.*f.u64 = codes[rng() % codes.size()];
    } else {
      // Mix full-width values with small ones so both ends of each field are exercised.
      const uint64_t mask = f.range.bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << f.range.bits) - 1;
      x.*f.u64 = (rng() % 4 == 0 ? rng() % 16 : rng()) & mask;
    }
  }
  return x;
}

}  // namespace tessera::isa::testing_support
