#pragma once
// JSON text from users' files (config.json, safetensors headers, shard indexes), parsed
// behind limits that keep a hostile file from crashing or confusing the reader: one
// non-recursive scan refuses nesting deeper than kMaxJsonDepth (nested values would
// otherwise overflow the stack wherever a value is walked or printed) and numbers beyond
// binary64 range (nlohmann reports those with neither position nor field), before
// nlohmann parses the text. Also the helpers that put user text into messages safely.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tessera::hf {

// Objects and arrays nested deeper than this are refused. Real files nest a handful of
// levels (config.json's rope_scaling, a safetensors entry's shape).
constexpr unsigned kMaxJsonDepth = 64;

// Why parse_json_input refused a text: the 1-based line, the dotted path of object keys
// that leads to the offending value ("rope_scaling.factor"; empty at the top level), and
// what is wrong. Callers turn it into an InputError in their own message form.
struct JsonInputProblem : std::runtime_error {
  JsonInputProblem(int line, std::string field, const std::string& what, bool syntax = false)
      : std::runtime_error(what), line(line), field(std::move(field)), syntax(syntax) {}
  int line;
  std::string field;
  bool syntax;  // not JSON at all (what() is nlohmann's message)
};

// Parses text after the depth and number checks; nlohmann's own syntax errors come back
// as a JsonInputProblem with the line of the error and an empty field.
nlohmann::json parse_json_input(std::string_view text, const nlohmann::json::parser_callback_t& callback = nullptr);

// s with control characters spelled as JSON escapes (\u0000, \n): a NUL would end a
// C-string message early, a newline would fake a second message line.
std::string printable(std::string_view s);
// A value as JSON for a message, cut to about 80 characters.
std::string json_excerpt(const nlohmann::json& v);

}  // namespace tessera::hf
