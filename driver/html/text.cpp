#include "driver/html/text.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <stdexcept>

namespace tessera::html {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is malformed.
size_t utf8_length(std::string_view text, size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  size_t n = 0;
  uint32_t cp = 0;
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) {
    n = 2;
    cp = b & 0x1F;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3;
    cp = b & 0x0F;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4;
    cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not text.
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return n;
}

std::string to_fixed(double v, int decimals) {
  char buf[512];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  if (ec != std::errc()) return "n/a";
  return std::string(buf, end);
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const size_t n = utf8_length(text, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
          out += kReplacement;
        } else {
          out += c;
        }
    }
    ++i;
  }
  return out;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  std::string s = to_fixed(v, decimals);
  if (s.front() == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string number(double v, int significant) {
  if (!std::isfinite(v)) return "n/a";
  if (v == 0) return "0";
  if (significant < 1) significant = 1;
  const double a = std::fabs(v);
  if (a >= 1e6 || a < 1e-3) {
    int exp = static_cast<int>(std::floor(std::log10(a)));
    double mant = v / std::pow(10.0, exp);
    std::string m = fixed(mant, significant - 1);
    // Rounding can carry the mantissa to 10 (9.996 -> "10.00").
    if (std::fabs(std::stod(m)) >= 10) {
      ++exp;
      m = fixed(v / std::pow(10.0, exp), significant - 1);
    }
    if (m.find('.') != std::string::npos) {
      m.erase(m.find_last_not_of('0') + 1);
      if (m.back() == '.') m.pop_back();
    }
    return m + "e" + std::to_string(exp);
  }
  const int magnitude = static_cast<int>(std::floor(std::log10(a)));
  const int decimals = std::max(0, significant - 1 - magnitude);
  std::string s = fixed(v, decimals);
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

double text_width(std::string_view text, double font_px) {
  size_t points = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++points;
  }
  return 0.6 * font_px * static_cast<double>(points);
}

void check_colour(std::string_view colour) {
  const bool shape = !colour.empty() && colour[0] == '#' && (colour.size() == 4 || colour.size() == 7);
  bool hex = shape;
  for (size_t i = 1; hex && i < colour.size(); ++i) hex = std::isxdigit(static_cast<unsigned char>(colour[i])) != 0;
  if (!hex) {
    throw std::invalid_argument("html: colour '" + std::string(colour) + "' is not of the form #rgb or #rrggbb");
  }
}

void check_href(std::string_view href) {
  const size_t colon = href.find(':');
  const size_t path = href.find_first_of("/?#");
  if (colon == std::string_view::npos || (path != std::string_view::npos && path < colon)) return;
  std::string scheme;
  for (char c : href.substr(0, colon)) scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https" && scheme != "file") {
    throw std::invalid_argument("html: link '" + std::string(href) + "' uses scheme '" + scheme +
                                "'; only relative links, http(s) and file URLs are allowed");
  }
}

}  // namespace tessera::html
