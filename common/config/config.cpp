// Canonical YAML, fingerprint and time base of a loaded configuration.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <type_traits>

#include "common/config/config.h"
#include "common/config/derived.h"

namespace tessera::config {

namespace {

using schema::kKeys;
using schema::kSections;

// A lower-case identifier that YAML cannot read as anything but a string (hbm3, sohu_like) is
// written plain, the way the presets spell names such as dram.standard; anything else is quoted.
bool plain_identifier(const std::string& s) {
  static const char* const kYamlWords[] = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"};
  if (s.empty() || !std::islower(static_cast<unsigned char>(s[0]))) return false;
  for (const char c : s) {
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return std::none_of(std::begin(kYamlWords), std::end(kYamlWords), [&](const char* w) { return s == w; });
}

std::string yaml_string(const std::string& s) {
  if (plain_identifier(s)) return s;
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\x";
          out += hex[(c >> 4) & 0xf];
          out += hex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

struct ValueText {
  std::string operator()(int64_t v) const { return std::to_string(v); }
  std::string operator()(double v) const { return format_double(v); }
  std::string operator()(bool v) const { return v ? "true" : "false"; }
  std::string operator()(const std::string& v) const { return yaml_string(v); }
  template <class E>
  std::string operator()(E v) const requires std::is_enum_v<E> {
    return to_string(v);
  }
  template <class E>
  std::string operator()(const std::vector<E>& v) const {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + to_string(v[i]);
    return out + "]";
  }
};

// Chain of section indices from the root (exclusive) down to `sec`.
std::vector<int> section_chain(int sec) {
  std::vector<int> chain;
  for (int s = sec; s > 0; s = kSections[size_t(s)].parent) chain.push_back(s);
  std::reverse(chain.begin(), chain.end());
  return chain;
}

}  // namespace

std::string to_yaml(const ArchConfig& cfg) {
  std::string out;
  std::vector<int> open;  // sections whose header has been written, outermost first
  schema::visit(cfg, [&](size_t index, const auto& member) {
    const auto& key = kKeys[index];
    const std::vector<int> chain = section_chain(key.section);
    size_t common = 0;
    while (common < open.size() && common < chain.size() && open[common] == chain[common]) ++common;
    for (size_t d = common; d < chain.size(); ++d) {
      out += std::string(2 * d, ' ') + kSections[size_t(chain[d])].name + ":\n";
    }
    open = chain;
    out += std::string(2 * chain.size(), ' ') + key.name + ": " + ValueText{}(member) + "\n";
  });
  return out;
}

uint64_t fingerprint(const ArchConfig& cfg) {
  ArchConfig copy = cfg;
  const ArchConfig defaults;
  schema::visit(copy, [&](size_t index, auto& member) {
    if (kKeys[index].fingerprint) return;
    // Reset to the schema default (the generated member initialiser).
    schema::visit(defaults, [&](size_t j, const auto& d) {
      if constexpr (std::is_same_v<std::decay_t<decltype(d)>, std::decay_t<decltype(member)>>) {
        if (j == index) member = d;
      }
    });
  });
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : to_yaml(copy)) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string overrides_text(const ArchConfig& cfg) {
  std::string out;
  for (const std::string& s : cfg.overrides) out += (out.empty() ? "" : ", ") + s;
  return out;
}

int64_t core_period_fs(const ArchConfig& cfg) { return std::llround(1e9 / cfg.clock.core_mhz); }

int64_t dram_tck_fs(const ArchConfig& cfg) { return std::llround(cfg.dram.timing.tck_ps * 1000.0); }

bool supports(const ArchConfig& cfg, MatrixPrecision p) {
  return std::find(cfg.matrix.precisions.begin(), cfg.matrix.precisions.end(), p) != cfg.matrix.precisions.end();
}

bool supports(const ArchConfig& cfg, Dataflow d) {
  return std::find(cfg.matrix.dataflows.begin(), cfg.matrix.dataflows.end(), d) != cfg.matrix.dataflows.end();
}

}  // namespace tessera::config
