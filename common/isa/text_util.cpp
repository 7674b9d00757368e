#include "common/isa/text_util.h"

#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tessera::isa::detail {

namespace {

constexpr uint32_t kCanonicalNaN = 0x7fc00000u;
constexpr uint32_t kPosInf = 0x7f800000u;
constexpr uint32_t kNegInf = 0xff800000u;

bool starts_with_hex_prefix(std::string_view s) {
  return s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

}  // namespace

std::optional<uint64_t> parse_uint(std::string_view s) {
  int base = 10;
  if (starts_with_hex_prefix(s)) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint32_t> parse_f32_bits(std::string_view s) {
  if (s == "inf" || s == "+inf") return kPosInf;
  if (s == "-inf") return kNegInf;
  if (s == "nan") return kCanonicalNaN;
  if (s.starts_with("bits:")) {
    auto v = parse_uint(s.substr(5));
    if (!v || *v > 0xffffffffu) return std::nullopt;
    return static_cast<uint32_t>(*v);
  }
  bool negative = false;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty() || !(std::isdigit(static_cast<unsigned char>(body[0])) || body[0] == '.')) {
    return std::nullopt;  // rejects "nan"/"inf" spellings from_chars would also take, and "--1"
  }
  auto fmt = std::chars_format::general;
  if (starts_with_hex_prefix(body)) {
    body.remove_prefix(2);
    fmt = std::chars_format::hex;
  }
  float v = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v, fmt);
  if (ec != std::errc() || ptr != body.data() + body.size()) return std::nullopt;
  if (negative) v = -v;
  return std::bit_cast<uint32_t>(v);
}

std::string format_f32_bits(uint32_t bits) {
  if (bits == kPosInf) return "inf";
  if (bits == kNegInf) return "-inf";
  if (bits == kCanonicalNaN) return "nan";
  const float v = std::bit_cast<float>(bits);
  if (std::isnan(v)) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "bits:0x%08x", bits);
    return buf;
  }
  // Shortest decimal that reads back to exactly these bits (std::to_chars guarantees it).
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 64 chars always suffice for a float
  return std::string(buf, ptr);
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::vector<std::string_view> tokenize(std::string_view line) {
  const auto comment = line.find_first_of("#;");
  if (comment != std::string_view::npos) line = line.substr(0, comment);
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<KeyValue> split_key_value(std::string_view token) {
  const auto eq = token.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  return KeyValue{token.substr(0, eq), token.substr(eq + 1)};
}

}  // namespace tessera::isa::detail
