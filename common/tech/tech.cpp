// Loading a technology table. The tables are flat (no base files or section presets), so this
// walks the generated key table of spec/tech.schema.yaml directly: every key of the file must
// be a key of the schema, every leaf of the schema must be present (the tables have no
// defaults except name and description: a missing energy is an error, not a silent zero).
#include "common/tech/tech.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/config/derived.h"
#include "common/tech/embedded.h"

namespace tessera::tech {

namespace {

using config::ConfigError;
using config::Diagnostic;
using schema::Key;
using schema::KeyType;
using schema::kKeys;
using schema::kSections;

struct Found {
  YAML::Node value;
  int line = 0;
};

struct Reader {
  std::string file;
  std::vector<Diagnostic> diags;
  std::map<std::string, Found> leaves;
  std::map<std::string, int> section_lines;
  std::set<std::string> missing_sections;

  void add(int line, const std::string& path, std::string expected, std::string got) {
    diags.push_back(Diagnostic{file, line, path, std::move(expected), std::move(got)});
  }

  static int line_of(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

  static std::string kind(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Null: return "nothing (null)";
      case YAML::NodeType::Scalar: return n.Tag() == "!" ? "the string \"" + n.Scalar() + "\"" : "'" + n.Scalar() + "'";
      default: return "an undefined value";
    }
  }

  void walk(const YAML::Node& map, int sec) {
    const std::string sec_path = kSections[size_t(sec)].path;
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      const int line = line_of(key);
      const std::string name = key.IsScalar() ? key.Scalar() : "";
      const std::string path = sec_path.empty() ? name : sec_path + "." + name;
      if (!key.IsScalar()) {
        add(line, sec_path.empty() ? "(top level)" : sec_path, "a plain key name", kind(key));
        continue;
      }
      if (!seen.insert(name).second) {
        add(line, path, "each key once per section", "a duplicate of an earlier '" + name + "'");
        continue;
      }
      int sub = -1;
      for (size_t i = 0; i < kSections.size(); ++i) {
        if (kSections[i].parent == sec && name == kSections[i].name) sub = int(i);
      }
      if (sub >= 0) {
        if (!it->second.IsMap()) {
          add(line, path, "a mapping (section " + path + ")", kind(it->second));
        } else {
          section_lines[path] = line;
          walk(it->second, sub);
        }
        continue;
      }
      bool leaf = false;
      for (const Key& k : kKeys) leaf = leaf || (k.section == sec && name == k.name);
      if (!leaf) {
        add(line, path, "a key of " + (sec_path.empty() ? std::string("the top level") : "section " + sec_path) + " (" +
                            children(sec) + ")",
            "an unknown key '" + name + "'");
        continue;
      }
      leaves[path] = Found{it->second, line_of(it->second.IsNull() ? key : it->second)};
    }
  }

  static std::string children(int sec) {
    std::string out;
    std::set<std::string> seen;
    auto push = [&](const std::string& n) {
      if (seen.insert(n).second) out += (out.empty() ? "" : ", ") + n;
    };
    for (const Key& k : kKeys) {
      if (k.section == sec) push(k.name);
    }
    for (const auto& s : kSections) {
      if (s.parent == sec) push(s.name);
    }
    return out;
  }

  std::string range_text(const Key& k) const {
    auto num = [&](bool lo) {
      return k.type == KeyType::Int ? std::to_string(lo ? k.imin : k.imax) : config::format_double(lo ? k.fmin : k.fmax);
    };
    if (k.has_min && k.has_max) return " in [" + num(true) + ", " + num(false) + "]";
    if (k.has_min) return " >= " + num(true);
    if (k.has_max) return " <= " + num(false);
    return "";
  }

  static bool quoted(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "!"; }

  // Where a missing key would go: its section's line, else the top of the file.
  int missing_line(const Key& k) const {
    const std::string path = kSections[size_t(k.section)].path;
    auto it = section_lines.find(path);
    return it == section_lines.end() ? 1 : it->second;
  }

  template <class T>
  void operator()(size_t index, T& member) {
    const Key& k = kKeys[index];
    auto it = leaves.find(k.path);
    if (it == leaves.end()) {
      if (!k.required) return;
      const std::string sec = kSections[size_t(k.section)].path;
      if (!sec.empty() && !section_lines.count(sec)) {
        // A whole section is missing: say so once, not once per key.
        if (missing_sections.insert(sec).second) {
          add(1, sec, "a mapping (section " + sec + ": " + children(k.section) + ")", "nothing");
        }
        return;
      }
      add(missing_line(k), k.path, "a value (every key of a technology table is required)", "nothing");
      return;
    }
    convert(k, it->second, member);
  }

  void convert(const Key& k, const Found& f, int64_t& out) {
    int64_t v = 0;
    const std::string t = f.value.IsScalar() ? f.value.Scalar() : "";
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (!f.value.IsScalar() || quoted(f.value) || t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) {
      return add(f.line, k.path, "an integer" + range_text(k), kind(f.value));
    }
    if ((k.has_min && v < k.imin) || (k.has_max && v > k.imax)) {
      return add(f.line, k.path, "an integer" + range_text(k), std::to_string(v));
    }
    out = v;
  }
  void convert(const Key& k, const Found& f, double& out) {
    double v = 0;
    const std::string t = f.value.IsScalar() ? f.value.Scalar() : "";
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (!f.value.IsScalar() || quoted(f.value) || t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() ||
        !std::isfinite(v)) {
      return add(f.line, k.path, "a number" + range_text(k), kind(f.value));
    }
    if ((k.has_min && v < k.fmin) || (k.has_max && v > k.fmax)) {
      return add(f.line, k.path, "a number" + range_text(k), config::format_double(v));
    }
    out = v;
  }
  void convert(const Key& k, const Found& f, std::string& out) {
    if (!f.value.IsScalar()) return add(f.line, k.path, "a string", kind(f.value));
    out = f.value.Scalar();
  }
};

Tech load(const std::string& text, const std::string& file) {
  Reader rd;
  rd.file = file;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError({Diagnostic{file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "(document)", "well-formed YAML",
                                  "a syntax error: " + e.msg}});
  }
  if (!root.IsMap()) {
    throw ConfigError({Diagnostic{file, 1, "(document)", "a mapping of technology keys", Reader::kind(root)}});
  }
  rd.walk(root, 0);
  auto t = std::make_shared<TechConfig>();
  schema::visit(*t, rd);
  if (!rd.diags.empty()) throw ConfigError(std::move(rd.diags));
  return t;
}

const detail::EmbeddedFile* find(const std::string& name) {
  for (const auto& f : detail::embedded_files()) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

std::string names_text() {
  std::string out;
  for (const auto& n : tech_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool is_path(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() > 5 && s.compare(s.size() - 5, 5, ".yaml") == 0);
}

}  // namespace

Tech load_tech_text(const std::string& yaml, const std::string& filename) { return load(yaml, filename); }

Tech load_tech(const std::string& name_or_path) {
  if (is_path(name_or_path)) {
    std::error_code ec;
    std::ifstream in(name_or_path, std::ios::binary);
    std::ostringstream ss;
    if (!std::filesystem::is_regular_file(name_or_path, ec) || !in || !(ss << in.rdbuf())) {
      throw ConfigError({Diagnostic{name_or_path, 0, "(file)", "a readable technology table",
                                    "no regular file that can be read"}});
    }
    return load(ss.str(), name_or_path);
  }
  const detail::EmbeddedFile* f = find(name_or_path);
  if (!f) {
    throw ConfigError({Diagnostic{name_or_path, 0, "(tech)",
                                  "one of the technology tables " + names_text() +
                                      " or a file path (containing '/' or ending in .yaml)",
                                  "'" + name_or_path + "'"}});
  }
  return load(f->text, f->path);
}

std::vector<std::string> tech_names() {
  std::vector<std::string> out;
  for (const auto& f : detail::embedded_files()) out.emplace_back(f.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::string tech_text(const std::string& name) {
  const detail::EmbeddedFile* f = find(name);
  if (!f) throw InputError("no technology table configs/tech/" + name + ".yaml (have: " + names_text() + ")");
  return f->text;
}

Tech tech_for(const config::ArchConfig& arch, const std::string& override_name) {
  if (!override_name.empty()) return load_tech(override_name);
  for (const auto& n : tech_names()) {
    Tech t = load_tech(n);
    if (t->node_nm == arch.process.node_nm) return t;
  }
  throw InputError(arch.name + ": process.node_nm = " + std::to_string(arch.process.node_nm) +
                   " has no technology table (have: " + names_text() + "); pass --tech NAME or a file");
}

std::vector<std::pair<std::string, std::string>> leaf_values(const TechConfig& t) {
  std::vector<std::pair<std::string, std::string>> out;
  struct V {
    std::vector<std::pair<std::string, std::string>>& out;
    void operator()(size_t i, const int64_t& v) { out.emplace_back(kKeys[i].path, std::to_string(v)); }
    void operator()(size_t i, const double& v) { out.emplace_back(kKeys[i].path, config::format_double(v)); }
    void operator()(size_t i, const std::string& v) { out.emplace_back(kKeys[i].path, v); }
  } v{out};
  schema::visit(t, v);
  return out;
}

}  // namespace tessera::tech
