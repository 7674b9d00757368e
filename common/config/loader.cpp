// Loading an architecture file: parse (yaml-cpp, for line numbers), resolve `base:` and section
// presets into one layer of key values that remember their file and line, convert every value
// against the generated key table, then run the consistency checks. Every problem is collected
// and reported together.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/config/checks.h"
#include "common/config/config.h"
#include "common/config/derived.h"
#include "common/config/embedded.h"

namespace tessera::config {

namespace {

using detail::Origin;
using schema::Key;
using schema::KeyType;
using schema::kKeys;
using schema::kSections;

constexpr int kMaxBaseDepth = 16;

struct Source {
  std::string name;  // shown in messages: the path as given, or configs/arch/NAME.yaml
  std::string text;
  std::string dir;   // directory for relative references; empty for embedded presets
  bool embedded = false;
};

struct Entry {
  YAML::Node value;
  Origin origin;
};

// The resolved configuration before conversion: one value per leaf path, plus where each
// section was last written (for keys left at their default).
struct Layer {
  std::map<std::string, Entry> leaves;
  std::map<std::string, Origin> sections;

  // Replaces a leaf by erasing and inserting: assigning one yaml-cpp Node to another rebinds
  // the *old* node in its tree to the new value and merges the two trees' memory, which would
  // edit the shared parsed preset (parse_yaml) for every later load.
  void set(const std::string& path, Entry entry) {
    leaves.erase(path);
    leaves.emplace(path, std::move(entry));
  }
};

struct State {
  std::vector<Diagnostic> diags;
  bool incomplete = false;  // a file failed to parse or a base/preset failed to load
  std::vector<std::string> chain;  // files being resolved, outermost first
  void add(const Origin& o, const std::string& path, std::string expected, std::string got) {
    diags.push_back(Diagnostic{o.file, o.line, path, std::move(expected), std::move(got)});
  }
};

Origin origin_of(const Source& src, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return Origin{src.name, m.line >= 0 ? m.line + 1 : 0};
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string child_path(const std::string& section, const std::string& key) {
  return section.empty() ? key : section + "." + key;
}

std::string shown_path(const std::string& path) { return path.empty() ? "(top level)" : path; }

// Levenshtein distance, or `limit` when it is at least `limit`: suggestions only need close keys,
// and a key thousands of characters long (a fuzzer's, a pasted line) must not cost a full table
// per candidate. The length difference bounds the distance from below.
// fuzz_arch_set spent about 40 % of its time in this table's comparisons, each traced as coverage
// feedback that teaches the fuzzer nothing: clang leaves it uninstrumented for coverage (the
// sanitizers still check it).
#if defined(__clang__)
__attribute__((no_sanitize("coverage")))
#endif
size_t edit_distance(const std::string& a, const std::string& b, size_t limit) {
  const size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (diff >= limit) return limit;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    size_t row_min = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      // Written out rather than std::min: a library template would be instrumented all the same.
      size_t d = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      if (prev[j] + 1 < d) d = prev[j] + 1;
      if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
      cur[j] = d;
      if (d < row_min) row_min = d;
    }
    if (row_min >= limit) return limit;
    std::swap(prev, cur);
  }
  return std::min(prev[b.size()], limit);
}

// Keys (leaves and subsections) a section may contain, in schema order.
std::vector<std::string> section_children(int sec) {
  std::vector<std::string> out;
  // Schema order interleaves leaves and subsections; kKeys and kSections are each in DFS order,
  // so merge by first appearance of a direct child.
  std::set<std::string> seen;
  for (const Key& k : kKeys) {
    // Walk up from the key's section to the direct child of `sec`.
    int s = k.section;
    if (s == sec) {
      if (seen.insert(k.name).second) out.push_back(k.name);
      continue;
    }
    while (s >= 0 && kSections[size_t(s)].parent != sec) s = kSections[size_t(s)].parent;
    if (s >= 0 && seen.insert(kSections[size_t(s)].name).second) out.push_back(kSections[size_t(s)].name);
  }
  return out;
}

int find_subsection(int sec, const std::string& name) {
  for (size_t i = 0; i < kSections.size(); ++i) {
    if (kSections[i].parent == sec && name == kSections[i].name) return int(i);
  }
  return -1;
}

int find_subsection_path(const std::string& path) {
  for (size_t i = 0; i < kSections.size(); ++i) {
    if (path == kSections[i].path) return int(i);
  }
  return -1;
}

// The schema key of a full path (`dram.timing.trcd`), or -1. Every --set option looks its key
// up, and sweeps and the fuzz targets apply thousands of them, so the paths are hashed once.
int find_key_path(std::string_view path) {
  static const std::unordered_map<std::string_view, int> index = [] {
    std::unordered_map<std::string_view, int> m;
    for (size_t k = 0; k < kKeys.size(); ++k) m.emplace(kKeys[k].path, int(k));
    return m;
  }();
  const auto it = index.find(path);
  return it == index.end() ? -1 : it->second;
}

int find_leaf(int sec, const std::string& name) {
  for (size_t i = 0; i < kKeys.size(); ++i) {
    if (kKeys[i].section == sec && name == kKeys[i].name) return int(i);
  }
  return -1;
}

std::string node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
    default: return "an undefined value";
  }
}

// yaml-cpp tags a plain scalar "?" and a quoted one "!"; anything else was written by the user
// (`!!str 8`, `!foo 8`). Only a plain scalar can be a number or a boolean: a quoted or tagged
// one is a string, as YAML says, so it is refused where a number belongs.
bool is_quoted(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "?"; }

std::string describe_scalar(const YAML::Node& n) {
  if (!n.IsScalar()) return node_kind(n);
  if (n.Tag() == "?") return "'" + n.Scalar() + "'";
  if (n.Tag() == "!") return "the string \"" + n.Scalar() + "\"";
  return "the tagged value " + n.Tag() + " '" + n.Scalar() + "'";
}

bool is_reference_path(const std::string& ref) {
  return ref.find('/') != std::string::npos ||
         (ref.size() > 5 && ref.compare(ref.size() - 5, 5, ".yaml") == 0);
}

std::string dirname_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool read_file(const std::string& path, std::string& text) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;  // a directory opens but does not read
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  text = ss.str();
  return !in.bad();
}

const detail::EmbeddedFile* find_embedded(const std::string& dir, const std::string& name) {
  for (const auto& f : detail::embedded_files()) {
    if (dir == f.dir && name == f.name) return &f;
  }
  return nullptr;
}

std::vector<std::string> embedded_names(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& f : detail::embedded_files()) {
    if (dir == f.dir) out.push_back(f.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Finds the file a `base:` or `preset:` value names. `kind` is the configs/ folder of presets.
bool find_source(const std::string& ref, const std::string& kind, const Source* from, const Origin& where,
                 const std::string& key_path, State& st, Source& out) {
  if (is_reference_path(ref)) {
    if (from && from->embedded) {
      st.add(where, key_path, "the name of a preset (an embedded preset cannot name a file)",
             "the path '" + ref + "'");
      return false;
    }
    std::string path = ref;
    if (from && !ref.empty() && ref[0] != '/') path = from->dir + "/" + ref;
    if (!read_file(path, out.text)) {
      st.add(where, key_path, "a readable file", "'" + path + "', which cannot be read");
      return false;
    }
    out.name = path;
    out.dir = dirname_of(path);
    out.embedded = false;
    return true;
  }
  const detail::EmbeddedFile* f = find_embedded(kind, ref);
  if (!f) {
    st.add(where, key_path, "one of the " + kind + " presets (" + join(embedded_names(kind), ", ") +
           ") or a path containing '/' or ending in .yaml", "'" + ref + "'");
    return false;
  }
  out.name = f->path;
  out.text = f->text;
  out.dir.clear();
  out.embedded = true;
  return true;
}

// Where each document of a YAML text starts, without building nodes. yaml-cpp 0.7 reports an
// endless series of empty documents for some malformed text (a lone ","), which made
// YAML::LoadAll loop for ever (found by fuzz_arch_yaml): a document that starts where the
// previous one did is a syntax error here.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts, content;  // per document: its start, its first node
  void OnDocumentStart(const YAML::Mark& mark) override {
    starts.push_back(mark);
    content.push_back(mark);
    fresh_ = true;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { node(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& m) {
    if (fresh_) content.back() = m;
    fresh_ = false;
  }
  bool fresh_ = false;
};

// The parsed document, or nothing after reporting why. Returned by value: assigning one
// yaml-cpp Node to another merges their memory pools, which would chain every caller's nodes
// to a cached tree for the life of the process.
std::optional<YAML::Node> parse_yaml(const Source& src, State& st) {
  // The embedded presets never change and every --arch NAME, base: and section preset parses
  // them again (a sweep or a fuzzer loads thousands of configurations): each thread parses one
  // once. The tree is shared, not cloned (yaml-cpp's Clone drops the line marks that messages
  // quote); per thread, because yaml-cpp's non-const lookups insert placeholder nodes.
  thread_local std::map<std::string, YAML::Node> cache;
  if (src.embedded) {
    auto it = cache.find(src.text);
    if (it != cache.end()) return it->second;
  }
  try {
    // One architecture per file: a second document (after `---`) would otherwise be ignored
    // silently, even an invalid one.
    std::istringstream in(src.text);
    YAML::Parser parser(in);
    DocumentStarts docs;
    while (parser.HandleNextDocument(docs)) {
      const size_t n = docs.starts.size();
      if (n >= 2 && docs.starts[n - 1].pos <= docs.starts[n - 2].pos) {
        const YAML::Mark& m = docs.starts[n - 1];
        throw YAML::ParserException(m, "no YAML content can start here (the parser makes no progress)");
      }
    }
    if (docs.starts.size() > 1) {
      st.incomplete = true;
      st.add(Origin{src.name, docs.content[1].line >= 0 ? docs.content[1].line + 1 : 0}, "(document)",
             "one YAML document per architecture file", std::to_string(docs.starts.size()) + " documents");
      return std::nullopt;
    }
    const YAML::Node root = YAML::Load(src.text);
    if (src.embedded) cache.emplace(src.text, root);
    return root;
  } catch (const YAML::Exception& e) {
    st.incomplete = true;
    st.add(Origin{src.name, e.mark.line >= 0 ? e.mark.line + 1 : 0}, "(document)", "well-formed YAML",
           "a syntax error: " + e.msg);
    return std::nullopt;
  }
}

void resolve_section(const YAML::Node& map, int sec, const Origin& at, const Source& src, Layer& layer, State& st);

// Starts section `sec` from a preset named by its `preset` key: the section's earlier values
// are dropped, the preset's keys applied, and the file's own keys of the section follow.
void apply_section_preset(const YAML::Node& value, int sec, const Source& src, Layer& layer, State& st) {
  const std::string sec_path = kSections[size_t(sec)].path;
  const std::string key_path = child_path(sec_path, "preset");
  if (!value.IsScalar() || value.Scalar().empty()) return;  // a wrong type is reported by the conversion
  const Origin where = origin_of(src, value);
  if (st.chain.size() >= kMaxBaseDepth) {
    st.add(where, key_path, "at most " + std::to_string(kMaxBaseDepth) + " nested base/preset files",
           "the chain " + join(st.chain, " -> "));
    st.incomplete = true;
    return;
  }
  Source preset;
  if (!find_source(value.Scalar(), kSections[size_t(sec)].preset_dir, &src, where, key_path, st, preset)) {
    st.incomplete = true;
    return;
  }
  if (std::find(st.chain.begin(), st.chain.end(), preset.name) != st.chain.end()) {
    st.add(where, key_path, "a chain of presets without a cycle", join(st.chain, " -> ") + " -> " + preset.name);
    st.incomplete = true;
    return;
  }
  const std::optional<YAML::Node> parsed = parse_yaml(preset, st);
  if (!parsed) return;
  const YAML::Node& root = *parsed;
  // The section's keys are the paths from "SEC." up to (not including) "SEC/" ('/' follows '.').
  layer.leaves.erase(layer.leaves.lower_bound(sec_path + "."), layer.leaves.lower_bound(sec_path + "/"));
  if (preset.embedded) {
    // An embedded section preset resolves to the same keys every time (a sweep over dram.preset,
    // a fuzzer's --set lines restart sections thousands of times): each thread resolves it once
    // per section and copies its keys in. A resolution with errors is not kept; the path below
    // reports them.
    thread_local std::map<std::pair<std::string, int>, std::optional<Layer>> cache;
    auto it = cache.find({preset.text, sec});
    if (it == cache.end()) {
      Layer sub;
      State sub_st;
      sub_st.chain = st.chain;
      sub_st.chain.push_back(preset.name);
      std::optional<Layer> kept;
      if (root.IsMap()) {
        resolve_section(root, sec, origin_of(preset, root), preset, sub, sub_st);
        if (sub_st.diags.empty() && !sub_st.incomplete) kept = std::move(sub);
      }
      it = cache.emplace(std::make_pair(preset.text, sec), std::move(kept)).first;
    }
    if (it->second) {
      for (const auto& [path, entry] : it->second->leaves) layer.set(path, entry);
      for (const auto& [path, origin] : it->second->sections) layer.sections[path] = origin;
      return;
    }
  }
  st.chain.push_back(preset.name);
  if (!root.IsMap()) {
    st.add(origin_of(preset, root), sec_path, "a mapping of the keys of section " + sec_path, node_kind(root));
  } else {
    resolve_section(root, sec, origin_of(preset, root), preset, layer, st);
  }
  st.chain.pop_back();
}

// `at` is where the section starts: its key's line, or the first key of a whole file.
void resolve_section(const YAML::Node& map, int sec, const Origin& at, const Source& src, Layer& layer, State& st) {
  const std::string sec_path = kSections[size_t(sec)].path;
  layer.sections[sec_path] = at;
  std::set<std::string> seen;
  std::vector<std::pair<YAML::Node, YAML::Node>> own;  // (key, value), duplicates and unknowns removed
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    const Origin where = origin_of(src, key);
    if (!key.IsScalar()) {
      st.add(where, shown_path(sec_path), "a plain key name", node_kind(key));
      continue;
    }
    const std::string name = key.Scalar();
    const std::string path = child_path(sec_path, name);
    if (!seen.insert(name).second) {
      st.add(where, path, "each key once per section", "a duplicate of an earlier '" + name + "'");
      continue;
    }
    if (find_leaf(sec, name) < 0 && find_subsection(sec, name) < 0) {
      const std::vector<std::string> known = section_children(sec);
      std::string best;
      size_t best_d = std::max<size_t>(2, name.size() / 3) + 1;
      for (const auto& k : known) {
        const size_t d = edit_distance(name, k, best_d);
        if (d < best_d) best_d = d, best = k;
      }
      std::string got = "an unknown key '" + name + "'";
      if (!best.empty()) got += "; did you mean '" + best + "'?";
      st.add(where, path, "a key of " + (sec_path.empty() ? std::string("the top level") : "section " + sec_path) +
             " (" + join(known, ", ") + ")", got);
      continue;
    }
    own.emplace_back(key, it->second);
  }
  // A section preset goes first, so the file's own keys override it.
  if (kSections[size_t(sec)].preset_dir[0] != '\0') {
    for (const auto& [key, value] : own) {
      if (key.Scalar() == "preset") apply_section_preset(value, sec, src, layer, st);
    }
    layer.sections[sec_path] = at;
  }
  for (const auto& [key, value] : own) {
    const std::string name = key.Scalar();
    const std::string path = child_path(sec_path, name);
    const int sub = find_subsection(sec, name);
    if (sub >= 0) {
      if (!value.IsMap()) {
        st.add(origin_of(src, key), path, "a mapping (section " + path + ")", node_kind(value));
        continue;
      }
      resolve_section(value, sub, origin_of(src, key), src, layer, st);
    } else {
      layer.set(path, Entry{value, origin_of(src, value.IsNull() ? key : value)});
    }
  }
}

// Resolves one file: its base first (recursively), then its own keys over it.
void resolve_file(const Source& src, Layer& layer, State& st) {
  st.chain.push_back(src.name);
  if (const std::optional<YAML::Node> parsed = parse_yaml(src, st)) {
    const YAML::Node& root = *parsed;
    if (root.IsNull()) {
      st.add(Origin{src.name, 1}, "(document)", "a mapping of configuration keys", "an empty document");
    } else if (!root.IsMap()) {
      st.add(origin_of(src, root), "(document)", "a mapping of configuration keys", node_kind(root));
    } else {
      const YAML::Node base = root["base"];
      if (base && base.IsScalar() && !base.Scalar().empty()) {
        const Origin where = origin_of(src, base);
        Source parent;
        if (st.chain.size() >= kMaxBaseDepth) {
          st.add(where, "base", "at most " + std::to_string(kMaxBaseDepth) + " nested base files",
                 "the chain " + join(st.chain, " -> "));
          st.incomplete = true;
        } else if (!find_source(base.Scalar(), "arch", &src, where, "base", st, parent)) {
          st.incomplete = true;
        } else {
          if (std::find(st.chain.begin(), st.chain.end(), parent.name) != st.chain.end()) {
            st.add(where, "base", "a chain of base files without a cycle",
                   join(st.chain, " -> ") + " -> " + parent.name);
            st.incomplete = true;
          } else {
            resolve_file(parent, layer, st);
          }
        }
      }
      resolve_section(root, 0, origin_of(src, root), src, layer, st);
    }
  }
  st.chain.pop_back();
}

// ----- --set overrides -----

// Applies the --set options over the resolved file, in order, as if each were a last line of the
// file: a leaf's value replaces the file's, `SECTION.preset=NAME` restarts the section from that
// preset. Each value is parsed as YAML, so it is written as in a file (64MiB, [bf16, int8], true)
// and converted and checked by the same code as the file's values. Its origin is `--set:N`.
void apply_overrides(const std::vector<std::string>& sets, Layer& layer, State& st) {
  for (size_t i = 0; i < sets.size(); ++i) {
    const int index = int(i + 1);
    const Origin where{"--set", index};
    const std::string& option = sets[i];
    const size_t eq = option.find('=');
    std::string path = eq == std::string::npos ? "" : option.substr(0, eq);
    while (!path.empty() && path.back() == ' ') path.pop_back();
    while (!path.empty() && path.front() == ' ') path.erase(path.begin());
    if (path.empty()) {
      st.add(where, "(option)", "KEY.PATH=VALUE with a key of spec/arch.schema.yaml, e.g. l2.bytes=64MiB",
             "'" + option + "'");
      continue;
    }
    const int leaf = find_key_path(path);
    if (leaf < 0) {
      std::string got = "an unknown key '" + path + "'";
      bool is_section = false;
      for (const auto& sec : kSections) is_section = is_section || path == sec.path;
      if (is_section) {
        got = "the section '" + path + "'; --set takes one key of it, e.g. " + path + "." +
              section_children(find_subsection_path(path))[0] + "=VALUE";
      } else {
        std::string best;
        size_t best_d = std::max<size_t>(2, path.size() / 4) + 1;
        for (const Key& k : kKeys) {
          const size_t d = edit_distance(path, k.path, best_d);
          if (d < best_d) best_d = d, best = k.path;
        }
        if (!best.empty()) got += "; did you mean '" + best + "'?";
      }
      st.add(where, path, "a key of spec/arch.schema.yaml (tessera config schema lists them)", got);
      continue;
    }
    const Key& key = kKeys[size_t(leaf)];
    if (path == "base") {
      st.add(where, path, "a key --set can change (base is resolved before the overrides; name the base file with --arch)",
             "'" + option + "'");
      continue;
    }
    // The value's line in its own text is index - 1, so every position a diagnostic takes from
    // the parsed node (a list item too) reads --set:N.
    Source src;
    src.name = "--set";
    src.text = std::string(i, '\n') + option.substr(eq + 1);
    src.dir = ".";
    const std::optional<YAML::Node> parsed = parse_yaml(src, st);
    if (!parsed) continue;
    const YAML::Node& value = *parsed;
    const std::string sec_path = kSections[size_t(key.section)].path;
    if (std::string(key.name) == "preset" && kSections[size_t(key.section)].preset_dir[0] != '\0') {
      apply_section_preset(value, key.section, src, layer, st);
      layer.sections[sec_path] = where;
    }
    layer.set(path, Entry{value, where});
  }
}

// ----- Conversion of one value against its key -----

bool parse_int(const std::string& text, bool allow_size, int64_t& out) {
  std::string t = text;
  int shift = 0;
  if (allow_size) {
    static const std::pair<const char*, int> kSuffixes[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    for (const auto& [suffix, bits] : kSuffixes) {
      const size_t n = std::string(suffix).size();
      if (t.size() > n && t.compare(t.size() - n, n, suffix) == 0) {
        t = t.substr(0, t.size() - n);
        while (!t.empty() && t.back() == ' ') t.pop_back();
        shift = bits;
        break;
      }
    }
  }
  if (t.empty()) return false;
  const char* b = t.data() + (t[0] == '+' ? 1 : 0);
  const char* e = t.data() + t.size();
  int64_t v = 0;
  auto r = std::from_chars(b, e, v);
  if (r.ec != std::errc() || r.ptr != e) return false;
  if (shift) {
    if (v < 0 || v > (INT64_MAX >> shift)) return false;
    v <<= shift;
  }
  out = v;
  return true;
}

bool parse_float(const std::string& text, double& out) {
  if (text.empty()) return false;
  const char* b = text.data() + (text[0] == '+' ? 1 : 0);
  const char* e = text.data() + text.size();
  double v = 0;
  auto r = std::from_chars(b, e, v);
  if (r.ec != std::errc() || r.ptr != e || !std::isfinite(v)) return false;
  out = v;
  return true;
}

std::string range_text(const Key& k) {
  auto num = [&](bool is_min) {
    return k.type == KeyType::Int ? std::to_string(is_min ? k.imin : k.imax) : format_double(is_min ? k.fmin : k.fmax);
  };
  if (k.has_min && k.has_max) return " in [" + num(true) + ", " + num(false) + "]";
  if (k.has_min) return " >= " + num(true);
  if (k.has_max) return " <= " + num(false);
  return "";
}

std::string values_text(const Key& k) {
  std::vector<std::string> v;
  for (size_t i = 0; i < k.n_values; ++i) v.emplace_back(k.values[i]);
  return join(v, ", ");
}

class Converter {
 public:
  // After errors in resolution (an unknown key, a section that is not a mapping), a key may be
  // "missing" only because of them, so missing required keys are then not reported.
  Converter(const Layer& layer, State& st) : layer_(layer), st_(st), report_missing_(st.diags.empty()) {}

  template <class T>
  void operator()(size_t index, T& member) {
    const Key& k = kKeys[index];
    auto it = layer_.leaves.find(k.path);
    if (it == layer_.leaves.end()) {
      if (k.required && report_missing_) {
        st_.add(section_origin(k), k.path, "a value (required key without a default)", "nothing");
      }
      return;
    }
    convert(k, it->second, member);
  }

  Origin section_origin(const Key& k) const {
    int s = k.section;
    while (s >= 0) {
      auto it = layer_.sections.find(kSections[size_t(s)].path);
      if (it != layer_.sections.end()) return it->second;
      s = kSections[size_t(s)].parent;
    }
    return Origin{};
  }

 private:
  void bad(const Entry& e, const Key& k, std::string expected, const YAML::Node& got) {
    st_.add(e.origin, k.path, std::move(expected), describe_scalar(got));
  }

  void convert(const Key& k, const Entry& e, int64_t& out) {
    const bool sized = std::string(k.unit) == "B";
    int64_t v = 0;
    if (!e.value.IsScalar() || is_quoted(e.value) || !parse_int(e.value.Scalar(), sized, v)) {
      return bad(e, k, std::string("an integer") + (sized ? " (optionally with KiB, MiB, GiB or TiB)" : "") +
                 range_text(k), e.value);
    }
    if ((k.has_min && v < k.imin) || (k.has_max && v > k.imax)) {
      return st_.add(e.origin, k.path, "an integer" + range_text(k), std::to_string(v));
    }
    out = v;
  }
  void convert(const Key& k, const Entry& e, double& out) {
    double v = 0;
    if (!e.value.IsScalar() || is_quoted(e.value) || !parse_float(e.value.Scalar(), v)) {
      return bad(e, k, "a number" + range_text(k), e.value);
    }
    if ((k.has_min && v < k.fmin) || (k.has_max && v > k.fmax)) {
      return st_.add(e.origin, k.path, "a number" + range_text(k), format_double(v));
    }
    out = v;
  }
  void convert(const Key& k, const Entry& e, bool& out) {
    if (e.value.IsScalar() && !is_quoted(e.value) && (e.value.Scalar() == "true" || e.value.Scalar() == "false")) {
      out = e.value.Scalar() == "true";
      return;
    }
    bad(e, k, "true or false", e.value);
  }
  void convert(const Key& k, const Entry& e, std::string& out) {
    if (!e.value.IsScalar()) return bad(e, k, "a string", e.value);
    out = e.value.Scalar();
  }
  template <class E>
  void convert(const Key& k, const Entry& e, E& out) requires std::is_enum_v<E> {
    if (e.value.IsScalar() && !is_quoted(e.value)) {
      if (auto v = enum_from_string<E>(e.value.Scalar())) {
        out = *v;
        return;
      }
    }
    bad(e, k, "one of " + values_text(k), e.value);
  }
  template <class E>
  void convert(const Key& k, const Entry& e, std::vector<E>& out) {
    if (!e.value.IsSequence() || e.value.size() == 0) {
      return bad(e, k, "a non-empty list of " + values_text(k), e.value);
    }
    std::vector<E> v;
    bool ok = true;
    for (const YAML::Node& item : e.value) {
      const Origin where{e.origin.file, item.Mark().line + 1};
      std::optional<E> x;
      if (item.IsScalar() && !is_quoted(item)) x = enum_from_string<E>(item.Scalar());
      if (!x) {
        st_.add(where, k.path, "list items from " + values_text(k), describe_scalar(item));
        ok = false;
      } else if (std::find(v.begin(), v.end(), *x) != v.end()) {
        st_.add(where, k.path, "each item once", "'" + item.Scalar() + "' a second time");
        ok = false;
      } else {
        v.push_back(*x);
      }
    }
    if (ok) out = std::move(v);
  }

  const Layer& layer_;
  State& st_;
  bool report_missing_;
};

// Resolves the top-level file. An embedded preset resolves to the same layer every time, and a
// sweep or a fuzzer loads the same few presets thousands of times with different overrides: each
// thread resolves each preset once and copies the result (its nodes are shared, not cloned, as in
// parse_yaml; nothing writes through them).
void resolve_top(const Source& src, Layer& layer, State& st) {
  if (!src.embedded) return resolve_file(src, layer, st);
  thread_local std::map<std::string, std::pair<Layer, State>> cache;
  auto it = cache.find(src.text);
  if (it == cache.end()) {
    std::pair<Layer, State> resolved;
    resolve_file(src, resolved.first, resolved.second);
    it = cache.emplace(src.text, std::move(resolved)).first;
  }
  layer = it->second.first;
  st = it->second.second;
}

Arch load_source(const Source& src, const std::vector<std::string>& overrides) {
  State st;
  Layer layer;
  resolve_top(src, layer, st);
  if (!st.incomplete) apply_overrides(overrides, layer, st);
  auto cfg = std::make_shared<ArchConfig>();
  cfg->overrides = overrides;
  if (!st.incomplete) {
    Converter conv(layer, st);
    schema::visit(*cfg, conv);
    if (st.diags.empty()) {
      detail::check_consistency(
          *cfg,
          [&](const std::string& path) {
            auto it = layer.leaves.find(path);
            if (it != layer.leaves.end()) return it->second.origin;
            for (const Key& k : kKeys) {
              if (path == k.path) return conv.section_origin(k);
            }
            return Origin{src.name, 1};
          },
          st.diags);
    }
  }
  if (!st.diags.empty()) throw ConfigError(std::move(st.diags));
  return cfg;
}

}  // namespace

std::string Diagnostic::message() const {
  std::string where = file;
  if (line > 0) where += ":" + std::to_string(line);
  return where + ": " + path + ": expected " + expected + ", got " + got;
}

namespace {
std::string join_messages(const std::vector<Diagnostic>& d) {
  std::string out;
  for (size_t i = 0; i < d.size(); ++i) out += (i ? "\n" : "") + d[i].message();
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : InputError(join_messages(diagnostics)), diagnostics_(std::move(diagnostics)) {}

Arch load_arch_text(const std::string& yaml, const std::string& filename, const std::vector<std::string>& overrides) {
  Source src;
  src.name = filename;
  src.text = yaml;
  src.dir = dirname_of(filename);
  return load_source(src, overrides);
}

Arch load_arch(const std::string& name_or_path, const std::vector<std::string>& overrides) {
  Source src;
  if (is_reference_path(name_or_path)) {
    if (!read_file(name_or_path, src.text)) {
      throw ConfigError({Diagnostic{name_or_path, 0, "(file)", "a readable configuration file",
                                    "no regular file that can be read"}});
    }
    src.name = name_or_path;
    src.dir = dirname_of(name_or_path);
    return load_source(src, overrides);
  }
  const detail::EmbeddedFile* f = find_embedded("arch", name_or_path);
  if (!f) {
    throw ConfigError({Diagnostic{name_or_path, 0, "(preset)",
                                  "one of the presets " + join(embedded_names("arch"), ", ") +
                                      " or a file path (containing '/' or ending in .yaml)",
                                  "'" + name_or_path + "'"}});
  }
  src.name = f->path;
  src.text = f->text;
  src.embedded = true;
  return load_source(src, overrides);
}

std::vector<std::string> preset_names() { return embedded_names("arch"); }

std::vector<std::string> section_preset_names(const std::string& preset_dir) { return embedded_names(preset_dir); }

std::string embedded_text(const std::string& dir, const std::string& name) {
  const detail::EmbeddedFile* f = find_embedded(dir, name);
  if (!f) {
    throw InputError("no embedded preset configs/" + dir + "/" + name + ".yaml (have: " +
                     join(embedded_names(dir), ", ") + ")");
  }
  return f->text;
}

}  // namespace tessera::config
