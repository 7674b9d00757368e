#pragma once
// Text primitives of the page machinery: escaping for HTML/SVG text and attributes, and
// locale-free number formatting. Every string that reaches a page goes through escape(), and
// every number through fixed() or number(), so identical input gives byte-identical pages.
#include <string>
#include <string_view>

namespace tessera::html {

// Escapes & < > " ' for use in element text and quoted attributes. Control characters that
// XML forbids and malformed UTF-8 become U+FFFD, so the page always parses as XML.
std::string escape(std::string_view text);

// `v` with exactly `decimals` digits after the point ("-0.00" is written "0.00"); non-finite
// values are written "n/a". Independent of the C locale.
std::string fixed(double v, int decimals);

// `v` with about `significant` significant digits for people: fixed notation between 1e-3 and
// 1e6 (trailing zeros after the point dropped), otherwise "1.23e9".
std::string number(double v, int significant = 3);

// Width in pixels `text` is assumed to take at `font_px` in the pages' sans-serif font; used
// to size margins and keep labels apart (an estimate: 0.6 em per code point).
double text_width(std::string_view text, double font_px);

// A colour the caller may give: "#rgb" or "#rrggbb"; anything else throws std::invalid_argument
// (colours go into style attributes, where other text could load resources).
void check_colour(std::string_view colour);

// A link the caller may give: relative paths, #anchors, http(s) and file URLs; any other scheme
// (javascript:, data:) throws std::invalid_argument.
void check_href(std::string_view href);

}  // namespace tessera::html
