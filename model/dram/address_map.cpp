#include "model/dram/address_map.h"

#include <array>
#include <bit>

#include "common/config/derived.h"
#include "common/util/error.h"

namespace tessera::model::dram {

namespace {

constexpr const char* kKey = "dram.controller.address_map";
constexpr std::array<const char*, 7> kNames = {"ro", "ba", "bg", "ch", "pc", "st", "co"};

uint32_t field_size(Field f, const DramParams& p) {
  switch (f) {
    case Field::Row: return p.rows;
    case Field::Bank: return p.banks_per_group;
    case Field::BankGroup: return p.bank_groups;
    case Field::Channel: return p.channels;
    case Field::PseudoChannel: return p.pcs;
    case Field::Stack: return p.stacks;
    case Field::Column: return p.cols();
  }
  return 1;
}


[[noreturn]] void bad(const std::string& spec, const std::string& why) {
  throw InputError(std::string(kKey) + " '" + spec + "': " + why +
                   " (grammar: pieces ro ba bg ch pc st co, optionally ':<bits>', joined by '-', "
                   "most significant first; see docs/dram.md)");
}

}  // namespace

AddressMap::AddressMap(const std::string& spec, const DramParams& p) : spec_(spec) {
  burst_bytes_ = p.burst_bytes;
  pow2_ = std::has_single_bit(p.burst_bytes);
  burst_shift_ = pow2_ ? uint32_t(std::countr_zero(p.burst_bytes)) : 0;

  // The grammar is read in one place, the configuration library, which has already accepted the
  // map of a loaded configuration; a map built by hand (tests) is read the same way.
  std::array<uint64_t, 7> sizes{};
  for (size_t f = 0; f < kNames.size(); ++f) sizes[f] = field_size(Field(f), p);
  std::vector<config::AddressPiece> parsed;
  std::string why;
  if (!config::parse_address_map(spec, sizes, parsed, why)) bad(spec, why);
  if (parsed.size() > kMaxPieces) bad(spec, "more than " + std::to_string(kMaxPieces) + " pieces");
  for (const config::AddressPiece& a : parsed) {  // least significant first
    size_t f = 0;
    while (kNames[f] != a.field) ++f;
    Piece piece{Field(f), uint32_t(a.size), 0, a.weight};
    if (std::has_single_bit(a.size)) {
      piece.shift = uint32_t(std::countr_zero(a.size));
    } else {
      pow2_ = false;
    }
    pieces_.push_back(piece);
  }
}

Location AddressMap::decode(uint64_t addr) const {
  Location loc;
  if (pow2_) {
    uint64_t x = addr >> burst_shift_;
    for (const Piece& pc : pieces_) {
      field_ref(loc, pc.field) += uint32_t((x & (pc.size - 1)) * pc.field_mul);
      x >>= pc.shift;
    }
  } else {
    uint64_t x = addr / burst_bytes_;
    for (const Piece& pc : pieces_) {
      field_ref(loc, pc.field) += uint32_t((x % pc.size) * pc.field_mul);
      x /= pc.size;
    }
  }
  return loc;
}

void AddressMap::seek(uint64_t burst, Cursor& c) const {
  c.burst = burst;
  c.loc = Location{};
  uint64_t x = burst;
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const Piece& pc = pieces_[i];
    c.digit[i] = uint32_t(x % pc.size);
    x /= pc.size;
    field_ref(c.loc, pc.field) += uint32_t(c.digit[i] * pc.field_mul);
  }
}

void AddressMap::step(Cursor& c) const {
  ++c.burst;
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const Piece& pc = pieces_[i];
    uint32_t& f = field_ref(c.loc, pc.field);
    if (++c.digit[i] < pc.size) {
      f += uint32_t(pc.field_mul);
      return;
    }
    c.digit[i] = 0;
    f -= uint32_t((pc.size - 1) * pc.field_mul);
  }
}

uint64_t AddressMap::encode(const Location& loc) const {
  Location l = loc;
  uint64_t burst = 0, weight = 1;
  for (const Piece& pc : pieces_) {
    uint32_t& v = field_ref(l, pc.field);
    burst += uint64_t((v / pc.field_mul) % pc.size) * weight;
    weight *= pc.size;
  }
  return burst * burst_bytes_;
}

}  // namespace tessera::model::dram
