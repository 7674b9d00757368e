#pragma once
// AddressMap: how a physical DRAM byte address selects stack, channel, pseudo-channel,
// bank group, bank, row and column, as written in `dram.controller.address_map`.
// The grammar (docs/dram.md, "Address mapping") lists pieces of address fields from
// most to least significant; a field may be split into several pieces (`co:1` is the
// low bit of the column, a bare `co` the rest), and the pieces are mixed-radix digits
// of the burst index, so field sizes need not be powers of two (six stacks). The byte
// offset inside one burst is always below the lowest piece.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model/dram/params.h"

namespace tessera::model::dram {

// One burst's place in the DRAM. `pc_index` numbers pseudo-channels over the chip:
// (stack * channels + channel) * pseudo_channels + pc.
struct Location {
  uint32_t stack = 0, channel = 0, pc = 0, bg = 0, bank = 0, row = 0, col = 0;
};

enum class Field : uint8_t { Row, Bank, BankGroup, Channel, PseudoChannel, Stack, Column };

// The member of `l` that holds field `f` (inline: the decode and the bandwidth model's digit
// stepping call it for every piece of every address).
inline uint32_t& field_ref(Location& l, Field f) {
  switch (f) {
    case Field::Row: return l.row;
    case Field::Bank: return l.bank;
    case Field::BankGroup: return l.bg;
    case Field::Channel: return l.channel;
    case Field::PseudoChannel: return l.pc;
    case Field::Stack: return l.stack;
    case Field::Column: return l.col;
  }
  return l.row;
}

class AddressMap {
 public:
  // Parses `spec` for the organisation in `p`; throws InputError naming
  // dram.controller.address_map and what is wrong.
  AddressMap(const std::string& spec, const DramParams& p);

  Location decode(uint64_t addr) const;
  // Lowest byte address of the burst at `loc` (the inverse of decode).
  uint64_t encode(const Location& loc) const;

  static constexpr size_t kMaxPieces = 16;
  // A burst index with its digits, so that walking to the next burst is a carry chain
  // instead of one division per piece (six stacks make the divisions real).
  struct Cursor {
    uint64_t burst = 0;
    Location loc;
    std::array<uint32_t, kMaxPieces> digit{};
  };
  void seek(uint64_t burst, Cursor& c) const;
  // To burst c.burst + 1, which must lie inside the DRAM.
  void step(Cursor& c) const;

  const std::string& spec() const { return spec_; }

  struct Piece {
    Field field;
    uint32_t size;       // values this piece takes
    uint32_t shift;      // log2(size) when every size is a power of two
    uint64_t field_mul;  // weight of this digit inside its field
  };
  // Least significant first.
  const std::vector<Piece>& pieces() const { return pieces_; }

 private:
  std::string spec_;
  std::vector<Piece> pieces_;
  uint32_t burst_shift_ = 0;  // log2(burst_bytes) when it is a power of two
  uint32_t burst_bytes_ = 0;
  bool pow2_ = true;
};

}  // namespace tessera::model::dram
