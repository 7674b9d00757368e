// Instruction codec: Instr <-> 64-byte word, and Instr <-> one line of assembly.
// Field positions, widths and spellings all come from the generated tables.
#include <algorithm>
#include <bit>
#include <set>

#include "common/isa/isa.h"
#include "common/isa/text_util.h"
#include "common/util/error.h"

namespace tessera::isa {

namespace {

using detail::hex;

uint64_t low_mask(unsigned bits) { return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1; }

// Fields are at most 64 bits wide, so any field lies within 9 consecutive bytes.
uint64_t get_bits(const Word& w, BitRange r) {
  const unsigned first = r.offset / 8, shift = r.offset % 8;
  const unsigned nbytes = (shift + r.bits + 7) / 8;
  unsigned __int128 acc = 0;
  for (unsigned k = 0; k < nbytes; ++k) acc |= static_cast<unsigned __int128>(w[first + k]) << (8 * k);
  return static_cast<uint64_t>(acc >> shift) & low_mask(r.bits);
}

void put_bits(Word& w, BitRange r, uint64_t v) {
  const unsigned first = r.offset / 8, shift = r.offset % 8;
  const unsigned nbytes = (shift + r.bits + 7) / 8;
  const unsigned __int128 mask = static_cast<unsigned __int128>(low_mask(r.bits)) << shift;
  const unsigned __int128 val = static_cast<unsigned __int128>(v & low_mask(r.bits)) << shift;
  for (unsigned k = 0; k < nbytes; ++k) {
    const auto m = static_cast<uint8_t>(mask >> (8 * k));
    w[first + k] = static_cast<uint8_t>((w[first + k] & ~m) | (static_cast<uint8_t>(val >> (8 * k)) & m));
  }
}

// Reserved ranges can be wider than 64 bits (the unused top of a format).
bool range_is_zero(const Word& w, BitRange r) {
  for (unsigned off = r.offset; off < r.offset + r.bits; off += 64) {
    if (get_bits(w, {off, std::min(64u, r.offset + r.bits - off)}) != 0) return false;
  }
  return true;
}

uint64_t read_field(const Instr& x, const FieldInfo& f) {
  if (f.kind == FieldKind::f32) return std::bit_cast<uint32_t>(x.*f.f32);
  return x.*f.u64;
}

void write_field(Instr& x, const FieldInfo& f, uint64_t v) {
  if (f.kind == FieldKind::f32) {
    x.*f.f32 = std::bit_cast<float>(static_cast<uint32_t>(v));
  } else {
    x.*f.u64 = v;
  }
}

// Why `v` cannot be stored in field `f`, or "" if it can.
std::string value_problem(const FieldInfo& f, uint64_t v) {
  if (v > low_mask(f.range.bits)) {
    return "value " + std::to_string(v) + " does not fit " + std::to_string(f.range.bits) + " bits (max " +
           std::to_string(low_mask(f.range.bits)) + ")";
  }
  if (f.kind == FieldKind::enumeration && enum_name(f.enum_type, v) == nullptr) {
    return "code " + std::to_string(v) + " is not a defined value";
  }
  return "";
}

std::string mask_text(uint64_t mask) {
  std::string out;
  for (unsigned u = 0; u < 16; ++u) {
    if (!((mask >> u) & 1)) continue;
    const char* n = enum_name(EnumType::unit, u);
    if (n == nullptr) return hex(mask);  // a bit that names no unit: keep the exact value
    if (!out.empty()) out += '|';
    out += n;
  }
  return out;
}

std::string value_text(const FieldInfo& f, uint64_t v) {
  switch (f.kind) {
    case FieldKind::f32:
      return detail::format_f32_bits(static_cast<uint32_t>(v));
    case FieldKind::enumeration:
      if (const char* n = enum_name(f.enum_type, v)) return n;
      return std::to_string(v);
    case FieldKind::mask:
      return mask_text(v);
    case FieldKind::integer:
      break;
  }
  return f.hex ? hex(v) : std::to_string(v);
}

// Every Instr member of every format, each name once (for "not in this format" checks).
const std::vector<const FieldInfo*>& all_fields() {
  static const std::vector<const FieldInfo*> fields = [] {
    std::vector<const FieldInfo*> out;
    std::set<std::string_view> seen;
    for (size_t f = 0; f < kNumFormats; ++f) {
      for (const auto& fi : info(static_cast<Format>(f)).fields) {
        if (seen.insert(fi.name).second) out.push_back(&fi);
      }
    }
    return out;
  }();
  return fields;
}

const FieldInfo kUnitField{"unit", kUnitBits, FieldKind::enumeration, EnumType::unit, 0, false, nullptr, nullptr, ""};
const FieldInfo kWaitField{"wait", kWaitBits, FieldKind::mask, EnumType::unit, 0, true, nullptr, nullptr, ""};
const FieldInfo kSignalField{"signal", kSignalBits, FieldKind::mask, EnumType::unit, 0, true, nullptr, nullptr, ""};

}  // namespace

Word encode(const Instr& x) {
  const OpcodeInfo* op = find_opcode(static_cast<uint8_t>(x.op));
  if (op == nullptr) {
    throw InputError("encode: opcode " + hex(static_cast<uint8_t>(x.op)) + " is not defined in spec/isa.yaml");
  }
  const std::string what = std::string("encode ") + op->name + ": ";
  Word w{};
  put_bits(w, kOpcodeBits, static_cast<uint8_t>(x.op));
  if (auto p = value_problem(kUnitField, x.unit); !p.empty()) throw InputError(what + "field unit: " + p);
  put_bits(w, kUnitBits, x.unit);
  put_bits(w, kWaitBits, x.wait);
  put_bits(w, kSignalBits, x.signal);
  const FormatInfo& fmt = info(op->format);
  for (const auto& f : fmt.fields) {
    const uint64_t v = read_field(x, f);
    if (auto p = value_problem(f, v); !p.empty()) throw InputError(what + "field " + f.name + ": " + p);
    put_bits(w, f.range, v);
  }
  for (const FieldInfo* f : all_fields()) {
    if (find_field(op->format, f->name) == nullptr && read_field(x, *f) != 0) {
      throw InputError(what + "field " + f->name + " is not part of format " + fmt.name + " but is nonzero");
    }
  }
  return w;
}

Instr decode(const Word& w, size_t index) {
  const auto code = static_cast<uint8_t>(get_bits(w, kOpcodeBits));
  const OpcodeInfo* op = find_opcode(code);
  if (op == nullptr) {
    throw InputError("instruction #" + std::to_string(index) + ": unknown opcode " + hex(code));
  }
  const std::string what = "instruction #" + std::to_string(index) + " (" + op->name + "): ";
  Instr x;
  x.op = op->op;
  x.unit = static_cast<uint8_t>(get_bits(w, kUnitBits));
  if (auto p = value_problem(kUnitField, x.unit); !p.empty()) throw InputError(what + "field unit: " + p);
  x.wait = static_cast<uint16_t>(get_bits(w, kWaitBits));
  x.signal = static_cast<uint16_t>(get_bits(w, kSignalBits));
  const FormatInfo& fmt = info(op->format);
  for (const auto& r : fmt.reserved) {
    if (!range_is_zero(w, r)) {
      throw InputError(what + "reserved bits " + std::to_string(r.offset + r.bits - 1) + ":" +
                       std::to_string(r.offset) + " are not zero");
    }
  }
  for (const auto& f : fmt.fields) {
    const uint64_t v = get_bits(w, f.range);
    if (auto p = value_problem(f, v); !p.empty()) throw InputError(what + "field " + f.name + ": " + p);
    write_field(x, f, v);
  }
  return x;
}

std::string format_instr(const Instr& x) {
  const OpcodeInfo* op = find_opcode(static_cast<uint8_t>(x.op));
  if (op == nullptr) return "# undefined opcode " + hex(static_cast<uint8_t>(x.op));
  std::string s = op->name;
  s += ' ';
  s += value_text(kUnitField, x.unit);
  if (x.wait != 0) s += " wait=" + mask_text(x.wait);
  if (x.signal != 0) s += " signal=" + mask_text(x.signal);
  for (const auto& f : info(op->format).fields) {
    s += ' ';
    s += f.name;
    s += '=';
    s += value_text(f, read_field(x, f));
  }
  return s;
}

namespace {

std::string field_list(const FormatInfo& fmt) {
  std::string out;
  for (const auto& f : fmt.fields) {
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out.empty() ? "none" : out;
}

std::string spellings(EnumType t) {
  std::string out;
  for (uint8_t c : enum_codes(t)) {
    if (!out.empty()) out += ", ";
    out += enum_name(t, c);
  }
  return out;
}

// Parses a value for field `f`; throws with `where` and the field name.
uint64_t parse_value(const FieldInfo& f, std::string_view text, const std::string& where) {
  const std::string what = where + ": field " + f.name + ": ";
  switch (f.kind) {
    case FieldKind::f32: {
      auto bits = detail::parse_f32_bits(text);
      if (!bits) {
        throw InputError(what + "expected an fp32 value (decimal, hex-float, inf, -inf, nan or bits:0x...), got '" +
                         std::string(text) + "'");
      }
      return *bits;
    }
    case FieldKind::enumeration: {
      auto code = enum_code(f.enum_type, text);
      if (!code) {
        throw InputError(what + "expected one of " + spellings(f.enum_type) + ", got '" + std::string(text) + "'");
      }
      return *code;
    }
    case FieldKind::mask: {
      if (auto v = detail::parse_uint(text)) {
        if (*v > low_mask(f.range.bits)) {
          throw InputError(what + "mask " + std::string(text) + " does not fit " + std::to_string(f.range.bits) +
                           " bits");
        }
        return *v;
      }
      uint64_t mask = 0;
      size_t start = 0;
      while (start <= text.size()) {
        size_t bar = text.find('|', start);
        if (bar == std::string_view::npos) bar = text.size();
        const std::string_view unit = text.substr(start, bar - start);
        auto code = enum_code(f.enum_type, unit);
        if (!code) {
          throw InputError(what + "expected unit names joined by '|' (" + spellings(f.enum_type) +
                           ") or a number, got '" + std::string(unit) + "'");
        }
        if ((mask >> *code) & 1) throw InputError(what + "unit " + std::string(unit) + " named twice");
        mask |= uint64_t{1} << *code;
        start = bar + 1;
      }
      return mask;
    }
    case FieldKind::integer:
      break;
  }
  auto v = detail::parse_uint(text);
  if (!v) {
    throw InputError(what + "expected an unsigned integer (decimal or 0x hex), got '" + std::string(text) + "'");
  }
  if (*v > low_mask(f.range.bits)) {
    throw InputError(what + "value " + std::string(text) + " does not fit " + std::to_string(f.range.bits) +
                     " bits (max " + std::to_string(low_mask(f.range.bits)) + ")");
  }
  return *v;
}

}  // namespace

Instr parse_instr(std::string_view line, const std::string& where) {
  const auto tokens = detail::tokenize(line);
  if (tokens.empty()) throw InputError(where + ": expected an instruction");
  auto opcode = opcode_from_name(tokens[0]);
  if (!opcode) throw InputError(where + ": unknown opcode '" + std::string(tokens[0]) + "'");
  const OpcodeInfo& op = info(*opcode);
  const FormatInfo& fmt = info(op.format);
  Instr x;
  x.op = *opcode;

  size_t i = 1;
  if (i < tokens.size() && !detail::split_key_value(tokens[i])) {
    auto unit = enum_code(EnumType::unit, tokens[i]);
    if (!unit) {
      throw InputError(where + ": expected a unit (" + spellings(EnumType::unit) + ") after " + op.name + ", got '" +
                       std::string(tokens[i]) + "'");
    }
    x.unit = static_cast<uint8_t>(*unit);
    ++i;
  } else {
    // Only a class of one unit (vec, coll, seq) lets the unit go unsaid.
    std::vector<uint8_t> members;
    for (uint8_t u : enum_codes(EnumType::unit)) {
      if (unit_in_class(op.unit_class, u)) members.push_back(u);
    }
    if (members.size() != 1) {
      throw InputError(where + ": " + op.name + " needs a unit after the opcode (class " + name(op.unit_class) + ")");
    }
    x.unit = members[0];
  }

  std::set<std::string_view> seen;
  for (; i < tokens.size(); ++i) {
    auto kv = detail::split_key_value(tokens[i]);
    if (!kv) {
      throw InputError(where + ": expected field=value, got '" + std::string(tokens[i]) + "'");
    }
    if (!seen.insert(kv->key).second) {
      throw InputError(where + ": field " + std::string(kv->key) + " given twice");
    }
    if (kv->key == "wait") {
      x.wait = static_cast<uint16_t>(parse_value(kWaitField, kv->value, where));
    } else if (kv->key == "signal") {
      x.signal = static_cast<uint16_t>(parse_value(kSignalField, kv->value, where));
    } else if (const FieldInfo* f = find_field(op.format, kv->key)) {
      write_field(x, *f, parse_value(*f, kv->value, where));
    } else {
      throw InputError(where + ": '" + std::string(kv->key) + "' is not a field of " + op.name + " (format " +
                       fmt.name + ": wait, signal, " + field_list(fmt) + ")");
    }
  }
  return x;
}

}  // namespace tessera::isa
