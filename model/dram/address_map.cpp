#include "model/dram/address_map.h"

#include <array>
#include <bit>

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

uint32_t& field_ref(Location& l, Field f) {
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

AddressMap::AddressMap(const std::string& spec, const DramParams& p) : spec_(spec) {
  burst_bytes_ = p.burst_bytes;
  pow2_ = std::has_single_bit(p.burst_bytes);
  burst_shift_ = pow2_ ? uint32_t(std::countr_zero(p.burst_bytes)) : 0;

  struct Parsed {
    Field field;
    uint32_t bits;  // 0 = the rest of the field
  };
  std::vector<Parsed> parsed;
  if (spec.empty()) bad(spec, "empty");
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = spec.find('-', pos);
    if (end == std::string::npos) end = spec.size();
    std::string tok = spec.substr(pos, end - pos);
    if (tok.empty()) bad(spec, "empty piece at character " + std::to_string(pos));
    std::string name = tok.substr(0, tok.find(':'));
    int idx = -1;
    for (size_t i = 0; i < kNames.size(); ++i) {
      if (name == kNames[i]) idx = int(i);
    }
    if (idx < 0) bad(spec, "unknown field '" + name + "'");
    uint32_t bits = 0;
    if (name.size() < tok.size()) {
      std::string num = tok.substr(name.size() + 1);
      if (num.empty() || num.size() > 2 || num.find_first_not_of("0123456789") != std::string::npos) {
        bad(spec, "piece '" + tok + "' needs a bit count from 1 to 31 after ':'");
      }
      bits = uint32_t(std::stoul(num));
      if (bits < 1 || bits > 31) bad(spec, "piece '" + tok + "' needs a bit count from 1 to 31 after ':'");
    }
    parsed.push_back({Field(idx), bits});
    if (parsed.size() > kMaxPieces) bad(spec, "more than " + std::to_string(kMaxPieces) + " pieces");
    pos = end + 1;
  }

  // Size every piece: sized pieces take 2^bits values, the one bare piece of a field the rest.
  std::array<uint64_t, 7> sized_product{};
  std::array<int, 7> bare{}, count{};
  sized_product.fill(1);
  for (const auto& pc : parsed) {
    int f = int(pc.field);
    ++count[f];
    if (pc.bits == 0) {
      ++bare[f];
    } else {
      sized_product[f] <<= pc.bits;
      if (sized_product[f] > field_size(pc.field, p)) {
        bad(spec, "the sized pieces of '" + std::string(kNames[size_t(f)]) + "' cover more values than the field's " +
                      std::to_string(field_size(pc.field, p)));
      }
    }
  }
  for (int f = 0; f < 7; ++f) {
    const uint64_t size = field_size(Field(f), p);
    const std::string nm = kNames[size_t(f)];
    if (count[f] == 0) bad(spec, "field '" + nm + "' is missing");
    if (bare[f] > 1) bad(spec, "field '" + nm + "' has more than one piece without a bit count");
    if (bare[f] == 0 && sized_product[f] != size) {
      bad(spec, "the pieces of '" + nm + "' cover " + std::to_string(sized_product[f]) + " values but the field has " +
                    std::to_string(size));
    }
    if (bare[f] == 1 && (sized_product[f] > size || size % sized_product[f] != 0)) {
      bad(spec, "the sized pieces of '" + nm + "' cover " + std::to_string(sized_product[f]) +
                    " values, which does not divide the field's " + std::to_string(size));
    }
  }

  // Least significant piece first; a field's lower pieces hold its lower digits.
  std::array<uint64_t, 7> mul{};
  mul.fill(1);
  for (auto it = parsed.rbegin(); it != parsed.rend(); ++it) {
    int f = int(it->field);
    uint64_t size = it->bits ? (uint64_t(1) << it->bits) : field_size(it->field, p) / sized_product[size_t(f)];
    Piece piece{it->field, uint32_t(size), 0, mul[size_t(f)]};
    if (std::has_single_bit(size)) {
      piece.shift = uint32_t(std::countr_zero(size));
    } else {
      pow2_ = false;
    }
    mul[size_t(f)] *= size;
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
