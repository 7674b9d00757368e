// The pre-parse scan walks the text once with an explicit key stack, so its own cost is
// linear and its stack use constant whatever the nesting.
#include "common/hf/json_input.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace tessera::hf {

namespace {

using nlohmann::json;

struct Scan {
  explicit Scan(std::string_view t) : text(t) {}
  std::string_view text;
  size_t i = 0;
  int line = 1;
  // Per open container: the key that opened it ("" for arrays and the top level).
  std::vector<std::string> keys;
  std::vector<char> kinds;
  std::string last_string;  // the last string read: a key when ':' follows it
  std::string pending_key;  // key of the value about to start

  std::string field() const {
    std::string path;
    for (size_t k = 1; k < keys.size(); ++k) {
      if (keys[k].empty()) continue;
      path += (path.empty() ? "" : ".") + printable(keys[k]);
    }
    if (!pending_key.empty() && !kinds.empty() && kinds.back() == '{') {
      path += (path.empty() ? "" : ".") + printable(pending_key);
    }
    return path;
  }

  void string() {
    last_string.clear();
    for (++i; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) last_string.push_back(text[i++]);
      if (text[i] == '\n') ++line;
      last_string.push_back(text[i]);
    }
  }

  void number() {
    const size_t begin = i;
    while (i + 1 < text.size() && std::string_view("+-.0123456789eE").find(text[i + 1]) != std::string_view::npos) ++i;
    const std::string token(text.substr(begin, i + 1 - begin));
    // strtod's overflow is the same rounding nlohmann applies; a token strtod cannot read
    // is left for nlohmann to report as a syntax error.
    char* end = nullptr;
    const double v = std::strtod(token.c_str(), &end);
    if (end != token.c_str() && std::isinf(v)) {
      throw JsonInputProblem(line, field(),
                             "number " + printable(token) +
                                 " is out of range (expected a finite number within about ±1.8e308)");
    }
  }

  void run() {
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '\n') {
        ++line;
      } else if (c == '"') {
        string();
      } else if (c == ':') {
        pending_key = last_string;
      } else if (c == ',') {
        pending_key.clear();
      } else if (c == '{' || c == '[') {
        keys.push_back(kinds.empty() || kinds.back() == '{' ? pending_key : "");
        kinds.push_back(c);
        pending_key.clear();
        if (kinds.size() > kMaxJsonDepth) {
          pending_key.clear();
          throw JsonInputProblem(line, field(),
                                 "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels (objects and arrays)");
        }
      } else if ((c == '}' || c == ']') && !kinds.empty()) {
        keys.pop_back();
        kinds.pop_back();
        pending_key.clear();
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        number();
      }
    }
  }
};

}  // namespace

json parse_json_input(std::string_view text, const json::parser_callback_t& callback) {
  Scan(text).run();
  try {
    return json::parse(text, callback);
  } catch (const json::exception& e) {
    // parse_error carries the byte offset; anything else (no position) is put at line 1.
    int line = 1;
    if (const auto* pe = dynamic_cast<const json::parse_error*>(&e)) {
      for (size_t i = 0; i < pe->byte && i < text.size(); ++i) line += text[i] == '\n';
    }
    throw JsonInputProblem(line, "", e.what(), true);
  }
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string json_excerpt(const json& v) {
  constexpr size_t kMax = 80;
  // Invalid UTF-8 cannot come from the parser, but the replace handler keeps dump() from
  // throwing on a value built elsewhere.
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

}  // namespace tessera::hf
