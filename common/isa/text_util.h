#pragma once
// Text helpers shared by the instruction codec and the assembler: number syntax
// (decimal, 0x hex, exact fp32 spellings) and splitting a line into tokens. Internal
// to common/isa.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::isa::detail {

// Decimal or 0x-prefixed hexadecimal, no sign; nullopt if malformed or above 2^64-1.
std::optional<uint64_t> parse_uint(std::string_view);

// An fp32 value as the assembler accepts it: decimal or hex-float (0x1.8p3), inf, -inf,
// nan (the canonical quiet NaN 0x7fc00000), or bits:0xXXXXXXXX for an exact bit pattern.
// nullopt if malformed or out of fp32 range.
std::optional<uint32_t> parse_f32_bits(std::string_view);
// The shortest spelling that parse_f32_bits maps back to the same bits.
std::string format_f32_bits(uint32_t bits);

std::string hex(uint64_t);

// Whitespace-separated tokens of `line` up to a `#` or `;` comment.
std::vector<std::string_view> tokenize(std::string_view line);

// Splits "key=value"; nullopt if there is no '='.
struct KeyValue {
  std::string_view key, value;
};
std::optional<KeyValue> split_key_value(std::string_view token);

}  // namespace tessera::isa::detail
