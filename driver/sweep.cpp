#include "driver/sweep.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <limits>
#include <set>
#include <sstream>

#include "common/config/config.h"
#include "common/tech/area.h"
#include "common/tech/tech.h"
#include "common/util/error.h"
#include "compiler/compiler.h"
#include "driver/html/page.h"
#include "driver/timing.h"

namespace tessera::sweep {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

// Shortest text that reads back as the same double; integers without a point.
std::string num(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

// ---- spec parsing ----

class SpecReader {
 public:
  explicit SpecReader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field, const std::string& expected,
                         const std::string& got) const {
    const int line = at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw InputError(file_ + (line ? ":" + std::to_string(line) : "") + ": " + field + ": expected " + expected +
                     ", got " + got);
  }
  static std::string shown(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return "nothing";
    if (n.IsScalar()) return "'" + n.Scalar() + "'";
    return n.IsSequence() ? "a list" : "a mapping";
  }
  std::string scalar(const YAML::Node& n, const std::string& field, const std::string& expected) const {
    if (!n.IsScalar()) fail(n, field, expected, shown(n));
    return n.Scalar();
  }
  // max: what the field's type holds (chips, tp and decode_points are 32-bit), so a larger value
  // is refused rather than wrapped to a small one.
  uint64_t count(const YAML::Node& n, const std::string& field, uint64_t min,
                 uint64_t max = std::numeric_limits<uint64_t>::max()) const {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!n.IsScalar() || ec != std::errc() || p != s.data() + s.size() || v < min || v > max)
      fail(n, field,
           max == std::numeric_limits<uint64_t>::max()
               ? "an integer >= " + std::to_string(min)
               : "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]",
           shown(n));
    return v;
  }
  double number(const YAML::Node& n, const std::string& field) const {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    double v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!n.IsScalar() || s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
      fail(n, field, "a number", shown(n));
    return v;
  }
  void only(const YAML::Node& map, const std::string& field, const std::set<std::string>& keys) const {
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      if (!keys.count(k)) {
        std::string list;
        for (const std::string& x : keys) list += (list.empty() ? "" : ", ") + x;
        fail(kv.first, field.empty() ? k : field + "." + k, "one of " + list, "an unknown key '" + k + "'");
      }
    }
  }
  // One value as --set takes it: a scalar, or a list (matrix.precisions) in flow form.
  std::string value(const YAML::Node& v, const std::string& field) const {
    if (v.IsScalar()) return v.Scalar();
    if (!v.IsSequence()) fail(v, field, "a value or a list", shown(v));
    YAML::Emitter e;
    e << YAML::Flow << v;
    return e.c_str();
  }
  // Values of one axis key: a list of scalars (or flow lists such as precisions) or a range.
  std::vector<std::string> values(const YAML::Node& n, const std::string& field) const {
    std::vector<std::string> out;
    if (n.IsSequence()) {
      if (n.size() == 0) fail(n, field, "at least one value", "an empty list");
      for (size_t i = 0; i < n.size(); ++i) out.push_back(value(n[i], field + "[" + std::to_string(i) + "]"));
      return out;
    }
    if (n.IsMap()) return range(n, field);
    fail(n, field, "a list of values or a range {from, to, step | times}", shown(n));
  }
  std::vector<std::string> range(const YAML::Node& n, const std::string& field) const {
    // A sequence or scalar here made yaml-cpp throw (found by fuzz_sweep_spec).
    if (!n.IsMap()) fail(n, field, "a range {from, to, step | times}", shown(n));
    only(n, field, {"from", "to", "step", "times", "unit"});
    if (!n["from"] || !n["to"]) fail(n, field, "a range with from and to", "a mapping without them");
    if (!!n["step"] == !!n["times"]) fail(n, field, "a range with exactly one of step and times", shown(n));
    const double from = number(n["from"], field + ".from"), to = number(n["to"], field + ".to");
    const std::string unit = n["unit"] ? scalar(n["unit"], field + ".unit", "a unit suffix such as MiB") : "";
    std::vector<std::string> out;
    const bool geometric = !!n["times"];
    const double by = geometric ? number(n["times"], field + ".times") : number(n["step"], field + ".step");
    if (geometric ? !(by > 1) : !(by > 0))
      fail(geometric ? n["times"] : n["step"], field + (geometric ? ".times" : ".step"),
           geometric ? "a factor > 1" : "a step > 0", shown(geometric ? n["times"] : n["step"]));
    if (to < from) fail(n["to"], field + ".to", "a value >= from (" + num(from) + ")", shown(n["to"]));
    if (geometric && !(from > 0)) fail(n["from"], field + ".from", "a value > 0 for a geometric range", shown(n["from"]));
    // Counted steps, not accumulated sums, so 0.1 steps do not drift; a small tolerance keeps `to`.
    for (size_t i = 0;; ++i) {
      const double v = geometric ? from * std::pow(by, double(i)) : from + by * double(i);
      if (v > to * (1 + 1e-12) + 1e-12) break;
      if (i >= 100000) fail(n, field, "a range of at most 100000 values", "more");
      out.push_back(num(v) + unit);
    }
    return out;
  }

 private:
  std::string file_;
};

const char* cmp_text(Cmp c) {
  switch (c) {
    case Cmp::le: return "<=";
    case Cmp::lt: return "<";
    case Cmp::ge: return ">=";
    case Cmp::gt: return ">";
    case Cmp::eq: return "==";
  }
  return "?";
}

bool holds(double v, Cmp c, double bound) {
  switch (c) {
    case Cmp::le: return v <= bound;
    case Cmp::lt: return v < bound;
    case Cmp::ge: return v >= bound;
    case Cmp::gt: return v > bound;
    case Cmp::eq: return v == bound;
  }
  return false;
}

// "ttft_ms 612 (needs <= 500)"
std::string violation(const Constraint& c, double v) {
  return c.metric + " " + (std::isfinite(v) ? num(v) : std::string("n/a")) + " (needs " + cmp_text(c.op) + " " +
         num(c.value) + ")";
}

std::string metric_list() {
  std::string s;
  for (const MetricInfo& m : metric_table()) s += (s.empty() ? "" : ", ") + m.name;
  return s;
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Objectives: "maximise METRIC" / "minimise METRIC", each metric once.
std::vector<Objective> parse_objectives(const SpecReader& rd, const YAML::Node& os, const std::string& field) {
  if (!os.IsSequence() || os.size() == 0)
    rd.fail(os, field, "a list such as [maximise tokens_per_s, minimise area_mm2]", rd.shown(os));
  std::vector<Objective> out;
  for (size_t i = 0; i < os.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    const std::string t = rd.scalar(os[i], f, "maximise METRIC or minimise METRIC");
    std::istringstream in(t);
    std::string dir, metric, extra;
    in >> dir >> metric >> extra;
    Objective o;
    if (dir == "maximise" || dir == "maximize" || dir == "max") o.maximise = true;
    else if (dir == "minimise" || dir == "minimize" || dir == "min") o.maximise = false;
    else rd.fail(os[i], f, "maximise METRIC or minimise METRIC", "'" + t + "'");
    if (metric.empty() || !extra.empty()) rd.fail(os[i], f, "maximise METRIC or minimise METRIC", "'" + t + "'");
    if (!is_metric(metric)) rd.fail(os[i], f, "a metric (" + metric_list() + ")", "an unknown metric '" + metric + "'");
    for (const Objective& prev : out)
      if (prev.metric == metric) rd.fail(os[i], f, "a metric no other objective names", "'" + metric + "' again");
    o.metric = metric;
    out.push_back(o);
  }
  return out;
}

}  // namespace

size_t Spec::variants() const {
  size_t n = 1;
  for (const Axis& a : axes) n *= a.values.size();
  return n;
}

std::vector<std::string> Spec::axis_keys() const {
  std::vector<std::string> keys;
  for (const Axis& a : axes) keys.insert(keys.end(), a.keys.begin(), a.keys.end());
  return keys;
}

Spec parse_spec(const std::string& yaml, const std::string& filename) {
  const SpecReader rd(filename);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw InputError(filename + ":" + std::to_string(e.mark.line + 1) + ": expected a YAML sweep spec, got " + e.msg);
  }
  if (!root.IsMap()) rd.fail(root, "(document)", "a mapping with base, workloads, axes and objectives", rd.shown(root));
  rd.only(root, "", {"name", "description", "base", "set", "workloads", "axes", "constraints", "objectives"});
  Spec s;
  s.file = filename;
  s.text = yaml;
  s.name = root["name"] ? rd.scalar(root["name"], "name", "a name") : fs::path(filename).stem().string();
  if (!root["base"]) rd.fail(root, "base", "an architecture preset or file", "nothing");
  s.base = rd.scalar(root["base"], "base", "an architecture preset or file");
  if (s.base.find('/') != std::string::npos || s.base.ends_with(".yaml")) {
    const fs::path p(s.base);
    if (p.is_relative()) s.base = (fs::path(filename).parent_path() / p).lexically_normal().string();
  }
  if (const YAML::Node set = root["set"]) {
    if (set.IsMap()) {
      for (const auto& kv : set) {
        const std::string key = kv.first.Scalar();
        s.sets.push_back(key + "=" + rd.value(kv.second, "set." + key));
      }
    } else if (set.IsSequence()) {
      for (size_t i = 0; i < set.size(); ++i) {
        const std::string v = rd.scalar(set[i], "set[" + std::to_string(i) + "]", "KEY.PATH=VALUE");
        if (v.find('=') == std::string::npos) rd.fail(set[i], "set[" + std::to_string(i) + "]", "KEY.PATH=VALUE", "'" + v + "'");
        s.sets.push_back(v);
      }
    } else {
      rd.fail(set, "set", "a mapping of KEY.PATH: VALUE or a list of KEY.PATH=VALUE", rd.shown(set));
    }
  }

  // Workloads.
  const YAML::Node wl = root["workloads"];
  if (!wl || !wl.IsSequence() || wl.size() == 0) rd.fail(wl ? wl : root, "workloads", "a list of at least one workload", rd.shown(wl));
  std::set<std::string> wnames;
  for (size_t i = 0; i < wl.size(); ++i) {
    const YAML::Node w = wl[i];
    const std::string f = "workloads[" + std::to_string(i) + "]";
    if (!w.IsMap()) rd.fail(w, f, "a mapping with model, batch, prompt, gen", rd.shown(w));
    rd.only(w, f,
            {"name", "model", "chips", "tp", "batch", "batch_cap", "prompt", "gen", "precision", "decode_points", "objectives"});
    Workload x;
    if (!w["model"]) rd.fail(w, f + ".model", "a model name or directory", "nothing");
    x.model = rd.scalar(w["model"], f + ".model", "a model name or directory");
    if (x.model.find('/') != std::string::npos && fs::path(x.model).is_relative())
      x.model = (fs::path(filename).parent_path() / x.model).lexically_normal().string();
    x.name = w["name"] ? rd.scalar(w["name"], f + ".name", "a name") : x.model;
    if (!wnames.insert(x.name).second) rd.fail(w, f + ".name", "a name no other workload has", "'" + x.name + "' again");
    if (w["chips"]) x.chips = uint32_t(rd.count(w["chips"], f + ".chips", 0, std::numeric_limits<uint32_t>::max()));
    if (w["tp"]) x.tp = uint32_t(rd.count(w["tp"], f + ".tp", 0, std::numeric_limits<uint32_t>::max()));
    if (w["batch"]) {
      if (w["batch"].IsScalar() && w["batch"].Scalar() == "max") {
        x.batch_max = true;
      } else {
        x.batch = rd.count(w["batch"], f + ".batch", 1);
      }
    }
    if (w["batch_cap"]) x.batch_cap = rd.count(w["batch_cap"], f + ".batch_cap", 1);
    if (w["prompt"]) x.prompt = rd.count(w["prompt"], f + ".prompt", 1);
    if (w["gen"]) x.gen = rd.count(w["gen"], f + ".gen", 1);
    if (w["precision"]) x.precision = rd.scalar(w["precision"], f + ".precision", "bf16, fp8, fp8w, int8 or w=..,a=..,kv=..");
    if (w["decode_points"]) x.decode_points = uint32_t(rd.count(w["decode_points"], f + ".decode_points", 1, std::numeric_limits<uint32_t>::max()));
    if (w["objectives"]) x.objectives = parse_objectives(rd, w["objectives"], f + ".objectives");
    try {
      (void)compiler::load_model(x.model);
    } catch (const InputError& e) {
      rd.fail(w["model"], f + ".model", "a model name or directory (docs/models.md)", "'" + x.model + "' (" + e.what() + ")");
    }
    s.workloads.push_back(std::move(x));
  }

  // Axes.
  std::set<std::string> seen;
  auto add_key = [&](const YAML::Node& at, const std::string& field, const std::string& key) {
    if (!seen.insert(key).second) rd.fail(at, field, "a key no other axis varies", "'" + key + "' again");
  };
  if (const YAML::Node axes = root["axes"]) {
    if (!axes.IsSequence()) rd.fail(axes, "axes", "a list of axes", rd.shown(axes));
    for (size_t i = 0; i < axes.size(); ++i) {
      const YAML::Node a = axes[i];
      const std::string f = "axes[" + std::to_string(i) + "]";
      if (!a.IsMap()) rd.fail(a, f, "{key, values | range} or {zip: {KEY: values, ...}}", rd.shown(a));
      Axis ax;
      if (a["zip"]) {
        rd.only(a, f, {"zip"});
        const YAML::Node z = a["zip"];
        if (!z.IsMap() || z.size() == 0) rd.fail(z, f + ".zip", "a mapping of KEY.PATH: values", rd.shown(z));
        std::vector<std::vector<std::string>> cols;
        for (const auto& kv : z) {
          const std::string key = kv.first.Scalar();
          add_key(kv.first, f + ".zip." + key, key);
          ax.keys.push_back(key);
          cols.push_back(rd.values(kv.second, f + ".zip." + key));
          if (cols.back().size() != cols.front().size())
            rd.fail(kv.second, f + ".zip." + key,
                    std::to_string(cols.front().size()) + " values like " + ax.keys.front() + " (zipped axes vary together)",
                    std::to_string(cols.back().size()));
        }
        for (size_t v = 0; v < cols.front().size(); ++v) {
          std::vector<std::string> row;
          for (const auto& c : cols) row.push_back(c[v]);
          ax.values.push_back(row);
        }
      } else {
        rd.only(a, f, {"key", "values", "range"});
        if (!a["key"]) rd.fail(a, f + ".key", "a schema key such as matrix.rows", "nothing");
        const std::string key = rd.scalar(a["key"], f + ".key", "a schema key such as matrix.rows");
        add_key(a["key"], f + ".key", key);
        ax.keys.push_back(key);
        if (!!a["values"] == !!a["range"]) rd.fail(a, f, "exactly one of values and range", rd.shown(a));
        const std::vector<std::string> vals =
            a["values"] ? rd.values(a["values"], f + ".values") : rd.range(a["range"], f + ".range");
        for (const std::string& v : vals) ax.values.push_back({v});
      }
      // A key the schema does not have fails every point: refuse it here. Whether a value is
      // valid may depend on the other axes, so values are checked per point.
      for (size_t k = 0; k < ax.keys.size(); ++k) {
        std::vector<std::string> sets = s.sets;
        sets.push_back(ax.keys[k] + "=" + ax.values[0][k]);
        try {
          (void)config::load_arch(s.base, sets);
        } catch (const config::ConfigError& e) {
          for (const config::Diagnostic& d : e.diagnostics())
            if (d.path == ax.keys[k] && d.expected.starts_with("a key of")) {
              // The loader's text, with its suggestion if it has one. Searching it for "did you
              // mean" found those words in a key that contained them and cut at a ';' that was not
              // there (std::out_of_range, found by fuzz_sweep_spec).
              const std::string unknown = "an unknown key '" + ax.keys[k] + "'";
              rd.fail(a, f + (a["zip"] ? ".zip." + ax.keys[k] : ".key"), "a key of spec/arch.schema.yaml",
                      d.got.starts_with(unknown) ? d.got : unknown);
            }
        } catch (const InputError&) {
          // Not about the key (the base is checked below; values are checked per point).
        }
      }
      s.axes.push_back(std::move(ax));
    }
  }
  // The base itself must load (with the fixed overrides): otherwise no point could.
  try {
    (void)config::load_arch(s.base, s.sets);
  } catch (const InputError& e) {
    rd.fail(root["base"], "base", "an architecture that loads with `set`", "'" + s.base + "': " + e.what());
  }

  // Constraints: "METRIC OP NUMBER".
  if (const YAML::Node cs = root["constraints"]) {
    if (!cs.IsSequence()) rd.fail(cs, "constraints", "a list such as [area_mm2 <= 800]", rd.shown(cs));
    for (size_t i = 0; i < cs.size(); ++i) {
      const std::string f = "constraints[" + std::to_string(i) + "]";
      const std::string t = rd.scalar(cs[i], f, "METRIC OP NUMBER, e.g. area_mm2 <= 800");
      Constraint c;
      c.text = t;
      size_t p = t.find_first_of("<>=");
      if (p == std::string::npos) rd.fail(cs[i], f, "METRIC OP NUMBER with OP one of <= < >= > ==", "'" + t + "'");
      c.metric = trim(t.substr(0, p));
      size_t q = p + 1;
      if (q < t.size() && t[q] == '=') ++q;
      const std::string op = t.substr(p, q - p);
      if (op == "<=") c.op = Cmp::le;
      else if (op == "<") c.op = Cmp::lt;
      else if (op == ">=") c.op = Cmp::ge;
      else if (op == ">") c.op = Cmp::gt;
      else if (op == "==") c.op = Cmp::eq;
      else rd.fail(cs[i], f, "METRIC OP NUMBER with OP one of <= < >= > ==", "'" + t + "'");
      if (!is_metric(c.metric))
        rd.fail(cs[i], f, "a metric (" + metric_list() + ")", "an unknown metric '" + c.metric + "'");
      const std::string rhs = trim(t.substr(q));
      const auto [e, ec] = std::from_chars(rhs.data(), rhs.data() + rhs.size(), c.value);
      if (rhs.empty() || ec != std::errc() || e != rhs.data() + rhs.size())
        rd.fail(cs[i], f, "a number after " + op, "'" + rhs + "'");
      s.constraints.push_back(c);
    }
  }
  const YAML::Node os = root["objectives"];
  if (!os) rd.fail(root, "objectives", "a list such as [maximise tokens_per_s, minimise area_mm2]", "nothing");
  s.objectives = parse_objectives(rd, os, "objectives");
  // Counted with a cap, not as the product: a few long axes would wrap a 64-bit product to a small
  // (or zero) count and the sweep would silently run the wrong points.
  constexpr uint64_t kMaxPoints = 10'000'000;
  uint64_t points = s.workloads.size();
  for (const Axis& a : s.axes) {
    if (points > kMaxPoints || a.values.size() > kMaxPoints) {
      points = kMaxPoints + 1;
      break;
    }
    points *= a.values.size();
  }
  if (points > kMaxPoints)
    rd.fail(root["axes"] ? root["axes"] : root, "axes", "at most 10,000,000 points (axes' lengths x workloads)", "more");
  return s;
}

Spec load_spec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read the sweep spec");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_spec(ss.str(), path);
}

Point point(const Spec& spec, size_t index) {
  Point p;
  p.index = index;
  p.variant = index / spec.workloads.size();
  p.workload = index % spec.workloads.size();
  size_t rest = p.variant, stride = spec.variants();
  for (const Axis& a : spec.axes) {
    stride /= a.values.size();
    const size_t v = rest / stride;
    rest %= stride;
    for (size_t k = 0; k < a.keys.size(); ++k) p.settings.emplace_back(a.keys[k], a.values[v][k]);
  }
  return p;
}

// ---- metrics ----

const std::vector<MetricInfo>& metric_table() {
  static const std::vector<MetricInfo> table = {
      {"tokens_per_s", "tokens/s", "generated tokens per second over the request, all chips"},
      {"tokens_total_per_s", "tokens/s", "prompt plus generated tokens per second"},
      {"tokens_per_s_per_chip", "tokens/s", "tokens_per_s / chips"},
      {"tokens_per_s_per_mm2", "tokens/s/mm²", "tokens_per_s / silicon_mm2"},
      {"ttft_ms", "ms", "time to first token"},
      {"tpot_ms", "ms", "time per output token (mean decode step)"},
      {"total_s", "s", "the whole request"},
      {"mac_util", "", "useful MACs / (time x peak), over the request"},
      {"hbm_util", "", "HBM bytes / (time x peak bandwidth), over the request"},
      {"decode_mac_util", "", "MAC utilisation of the decode steps"},
      {"decode_hbm_util", "", "HBM utilisation of the decode steps"},
      {"roofline_fraction", "", "roofline time / simulated time"},
      {"j_per_token", "J", "request energy / (prompt + generated tokens), all chips (docs/energy.md §5)"},
      {"j_per_output_token", "J", "decode energy / tokens the decode steps generate"},
      {"tokens_per_j", "tokens/J", "1 / j_per_token"},
      {"power_w", "W", "average power per chip over the request"},
      {"peak_power_w", "W", "peak power per chip (the most power-hungry simulated segment)"},
      {"area_mm2", "mm²", "die area of one chip (tech::area)"},
      {"silicon_mm2", "mm²", "area_mm2 x chips used"},
      {"chips", "", "chips used"},
      {"tp", "", "chips per tensor-parallel group"},
      {"batch", "", "sequences of the request (the found batch for batch: max)"},
  };
  return table;
}

bool is_metric(const std::string& name) {
  for (const MetricInfo& m : metric_table())
    if (m.name == name) return true;
  return false;
}

Metrics metrics_of(const driver::TimingReport& r, const tech::AreaReport& area) {
  Metrics m;
  const double chips = double(r.chips);
  m["tokens_per_s"] = r.tokens_out_per_s;
  m["tokens_total_per_s"] = r.tokens_total_per_s;
  m["tokens_per_s_per_chip"] = r.tokens_out_per_s / chips;
  m["ttft_ms"] = r.ttft * 1e3;
  m["tpot_ms"] = r.tpot * 1e3;
  m["total_s"] = r.total;
  m["mac_util"] = r.mac_utilisation;
  m["hbm_util"] = r.hbm_utilisation;
  m["decode_mac_util"] = r.decode_mac_utilisation;
  m["decode_hbm_util"] = r.decode_hbm_utilisation;
  m["roofline_fraction"] = r.roofline_fraction;
  m["area_mm2"] = area.die_mm2;
  m["silicon_mm2"] = area.die_mm2 * chips;
  m["tokens_per_s_per_mm2"] = r.tokens_out_per_s / (area.die_mm2 * chips);
  m["chips"] = chips;
  m["tp"] = double(r.tp);
  m["batch"] = double(r.batch);
  // Energy and power from the run's cost (driver/cost.cpp); absent without a technology table.
  if (r.cost.available) {
    m["j_per_token"] = r.cost.j_per_token;
    m["j_per_output_token"] = r.cost.j_per_output_token;
    m["tokens_per_j"] = r.cost.tokens_per_j;
    m["power_w"] = r.cost.avg_power_w_per_chip;
    m["peak_power_w"] = r.cost.peak_power_w_per_chip;
  }
  for (auto it = m.begin(); it != m.end();) it = std::isfinite(it->second) ? std::next(it) : m.erase(it);
  return m;
}

// ---- evaluation ----

namespace {

driver::TimingOptions timing_options(const Workload& w, const config::ArchConfig& arch, uint64_t batch) {
  driver::TimingOptions o;
  o.batch = batch;
  o.prompt = w.prompt;
  o.gen = w.gen;
  o.chips = w.chips;
  o.tp = w.tp;
  if (!w.precision.empty()) o.precision = compiler::parse_precision(w.precision, arch);
  o.decode_points = w.decode_points;
  return o;
}

// Whether `batch` sequences fit: the memory and parallelism check the request itself makes
// (a decode step at the longest context), without simulating.
bool fits(const hf::ModelConfig& m, const config::ArchConfig& arch, const Workload& w, uint64_t batch) {
  compiler::CompileOptions co;
  co.phase = compiler::Phase::Decode;
  co.batch = batch;
  co.context = w.prompt + w.gen;
  co.max_context = w.prompt + w.gen;
  co.tp = w.tp;
  co.chips = w.chips;
  if (!w.precision.empty()) co.precision = compiler::parse_precision(w.precision, arch);
  co.segment.kind = compiler::Segment::Embed;
  try {
    (void)compiler::compile(m, arch, co);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

// The largest batch <= cap that fits, by doubling then bisection (0 when one sequence does not).
uint64_t max_batch(const hf::ModelConfig& m, const config::ArchConfig& arch, const Workload& w) {
  if (!fits(m, arch, w, 1)) return 0;
  uint64_t lo = 1, hi = 0;  // lo fits; hi (if set) does not
  while (!hi) {
    const uint64_t next = std::min(lo * 2, w.batch_cap);
    if (next == lo) return lo;
    if (fits(m, arch, w, next)) lo = next;
    else hi = next;
  }
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    (fits(m, arch, w, mid) ? lo : hi) = mid;
  }
  return lo;
}

std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\n' ? ' ' : c;
  return out;
}

}  // namespace

Outcome evaluate(const Spec& spec, size_t index) {
  Outcome o;
  Result& r = o.result;
  r.index = index;
  const Point p = point(spec, index);
  const Workload& w = spec.workloads[p.workload];
  std::vector<std::string> sets = spec.sets;
  for (const auto& [k, v] : p.settings) sets.push_back(k + "=" + v);
  config::Arch arch;
  tech::AreaReport area;
  try {
    arch = config::load_arch(spec.base, sets);
    area = tech::area(*arch, *tech::tech_for(*arch));
  } catch (const std::exception& e) {
    r.status = "invalid";
    r.reason = one_line(e.what());
    return o;
  }
  // Constraints on the area alone are checked before the (much slower) simulation.
  Metrics pre{{"area_mm2", area.die_mm2}};
  for (const Constraint& c : spec.constraints)
    if (c.metric == "area_mm2" && !holds(area.die_mm2, c.op, c.value)) {
      r.status = "pruned";
      r.reason = "not simulated: " + violation(c, area.die_mm2);
      r.metrics = pre;
      r.violations.push_back(violation(c, area.die_mm2));
      return o;
    }
  try {
    const hf::ModelConfig m = compiler::load_model(w.model);
    uint64_t batch = w.batch;
    if (w.batch_max) {
      batch = max_batch(m, *arch, w);
      if (!batch) {
        r.status = "failed";
        r.reason = "batch max: not even one sequence fits";
        return o;
      }
    }
    const driver::TimingReport rep = driver::run_timing(m, *arch, timing_options(w, *arch, batch));
    r.metrics = metrics_of(rep, area);
    o.report_text = driver::report_text(rep);
    o.report_json = driver::report_json(rep);
    o.report_html = driver::report_html(rep, "tessera sweep " + fs::path(spec.file).filename().string() + ": point " + std::to_string(index));
  } catch (const std::exception& e) {
    r.status = "failed";
    r.reason = one_line(e.what());
    r.metrics = pre;
    return o;
  }
  r.status = "ok";
  r.feasible = true;
  for (const Constraint& c : spec.constraints) {
    const auto it = r.metrics.find(c.metric);
    if (it == r.metrics.end() || !holds(it->second, c.op, c.value)) {
      r.feasible = false;
      r.violations.push_back(violation(c, it == r.metrics.end() ? NAN : it->second));
    }
  }
  return o;
}

// ---- result files ----

std::string result_json(const Spec& spec, const Result& r) {
  const Point p = point(spec, r.index);
  ojson j;
  j["index"] = r.index;
  j["workload"] = spec.workloads[p.workload].name;
  ojson set = ojson::object();
  for (const auto& [k, v] : p.settings) set[k] = v;
  j["settings"] = set;
  j["status"] = r.status;
  if (!r.reason.empty()) j["reason"] = r.reason;
  j["feasible"] = r.feasible;
  if (!r.violations.empty()) j["violations"] = r.violations;
  ojson m = ojson::object();
  for (const MetricInfo& mi : metric_table())
    if (auto it = r.metrics.find(mi.name); it != r.metrics.end()) m[mi.name] = it->second;
  j["metrics"] = m;
  if (r.status == "ok") j["report"] = point_report_path(r.index);
  return j.dump();
}

std::optional<Result> parse_result(const std::string& line) {
  try {
    const ojson j = ojson::parse(line);
    Result r;
    r.index = j.at("index").get<size_t>();
    r.status = j.at("status").get<std::string>();
    r.reason = j.value("reason", std::string());
    r.feasible = j.at("feasible").get<bool>();
    if (j.contains("violations")) r.violations = j["violations"].get<std::vector<std::string>>();
    for (const auto& [k, v] : j.at("metrics").items()) r.metrics[k] = v.get<double>();
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string outcome_message(const Spec& spec, const Outcome& o) {
  ojson j;
  j["result"] = ojson::parse(result_json(spec, o.result));
  j["text"] = o.report_text;
  j["json"] = o.report_json;
  j["html"] = o.report_html;
  return j.dump();
}

Outcome parse_outcome(const std::string& text) {
  const ojson j = ojson::parse(text);
  Outcome o;
  const std::optional<Result> r = parse_result(j.at("result").dump());
  if (!r) throw std::runtime_error("sweep: a worker sent a result that does not parse");
  o.result = *r;
  o.report_text = j.at("text").get<std::string>();
  o.report_json = j.at("json").get<std::string>();
  o.report_html = j.at("html").get<std::string>();
  return o;
}

std::string evaluate_message(const Spec& spec, size_t index) {
  try {
    return outcome_message(spec, evaluate(spec, index));
  } catch (const std::exception& e) {
    Outcome o;
    o.result.index = index;
    o.result.status = "failed";
    o.result.reason = std::string("internal error: ") + e.what();
    return outcome_message(spec, o);
  }
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

std::string csv_header(const Spec& spec) {
  std::string h = "index,workload";
  for (const std::string& k : spec.axis_keys()) h += "," + csv_field(k);
  h += ",status,feasible";
  for (const MetricInfo& m : metric_table()) h += "," + m.name;
  return h + ",reason\n";
}

std::string csv_row(const Spec& spec, const Result& r) {
  const Point p = point(spec, r.index);
  std::string row = std::to_string(r.index) + "," + csv_field(spec.workloads[p.workload].name);
  for (const auto& kv : p.settings) row += "," + csv_field(kv.second);
  row += "," + r.status + "," + (r.feasible ? "1" : "0");
  for (const MetricInfo& m : metric_table()) {
    const auto it = r.metrics.find(m.name);
    row += "," + (it == r.metrics.end() ? std::string() : num(it->second));
  }
  std::string why = r.reason;
  if (why.empty() && !r.violations.empty()) {
    why = "violates";
    for (const std::string& v : r.violations) why += " [" + v + "]";
  }
  return row + "," + csv_field(why) + "\n";
}

std::string point_report_path(size_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "points/p%05zu.html", index);
  return buf;
}

void write_point_report(const std::string& dir, const Outcome& o) {
  if (o.result.status != "ok") return;
  const fs::path txt = fs::path(dir) / point_report_path(o.result.index);  // the HTML page; .txt and .json beside it
  std::error_code ec;
  fs::create_directories(txt.parent_path(), ec);
  if (ec) throw InputError(txt.parent_path().string() + ": cannot create the directory (" + ec.message() + ")");
  auto put = [](const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw InputError(path.string() + ": writing failed (disk full or not writable)");
  };
  put(txt, o.report_html);
  fs::path other = txt;
  put(other.replace_extension(".txt"), o.report_text);
  put(other.replace_extension(".json"), o.report_json);
}

// ---- Pareto ----

std::vector<size_t> pareto(const std::vector<std::vector<double>>& values, const std::vector<bool>& maximise) {
  std::vector<size_t> front;
  auto better_or_equal = [&](const std::vector<double>& a, const std::vector<double>& b, bool& strictly) {
    strictly = false;
    for (size_t k = 0; k < maximise.size(); ++k) {
      const double x = maximise[k] ? a[k] : -a[k], y = maximise[k] ? b[k] : -b[k];
      if (x < y) return false;
      if (x > y) strictly = true;
    }
    return true;
  };
  for (size_t i = 0; i < values.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < values.size() && !dominated; ++j) {
      bool strictly = false;
      if (j != i && better_or_equal(values[j], values[i], strictly) && strictly) dominated = true;
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

namespace {

const MetricInfo& info(const std::string& name) {
  for (const MetricInfo& m : metric_table())
    if (m.name == name) return m;
  throw std::logic_error("sweep: no metric " + name);
}

// Indices into `results` of one workload's feasible points on its front over all objectives.
std::vector<size_t> front_of(const Spec& spec, const std::vector<Result>& results, size_t workload) {
  std::vector<size_t> rows;
  std::vector<std::vector<double>> vals;
  std::vector<bool> maxi;
  const std::vector<Objective>& objectives = spec.objectives_of(workload);
  for (const Objective& o : objectives) maxi.push_back(o.maximise);
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    if (r.index % spec.workloads.size() != workload || !r.feasible) continue;
    std::vector<double> v;
    for (const Objective& o : objectives) {
      const auto it = r.metrics.find(o.metric);
      if (it == r.metrics.end()) break;
      v.push_back(it->second);
    }
    if (v.size() != objectives.size()) continue;
    rows.push_back(i);
    vals.push_back(v);
  }
  std::vector<size_t> out;
  for (size_t k : pareto(vals, maxi)) out.push_back(rows[k]);
  return out;
}

std::string objectives_text(const std::vector<Objective>& objectives) {
  std::string s;
  for (const Objective& o : objectives) s += (s.empty() ? "" : ", ") + std::string(o.maximise ? "maximise " : "minimise ") + o.metric;
  return s;
}

std::string setting_text(const Point& p) {
  std::string s;
  for (const auto& [k, v] : p.settings) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s.empty() ? "(base)" : s;
}

}  // namespace

void write_fronts(const std::string& dir, const Spec& spec, const std::vector<Result>& results) {
  // pareto.csv: the rows of results.csv that are on their workload's front.
  std::string csv = csv_header(spec);
  std::vector<std::vector<size_t>> fronts;
  for (size_t w = 0; w < spec.workloads.size(); ++w) fronts.push_back(front_of(spec, results, w));
  {
    std::vector<size_t> all;
    for (const auto& f : fronts) all.insert(all.end(), f.begin(), f.end());
    std::sort(all.begin(), all.end());
    for (size_t i : all) csv += csv_row(spec, results[i]);
    std::ofstream out(fs::path(dir) / "pareto.csv", std::ios::binary);
    out << csv;
    out.close();
    if (!out) throw InputError((fs::path(dir) / "pareto.csv").string() + ": writing failed");
  }

  namespace html = tessera::html;
  html::Page page("tessera sweep: " + spec.name);
  page.subtitle("spec " + fs::path(spec.file).filename().string() + ", base " + fs::path(spec.base).filename().string() +
                ", " + std::to_string(spec.points()) + " points");
  size_t ok = 0, feasible = 0;
  std::map<std::string, size_t> by_status;
  for (const Result& r : results) {
    ++by_status[r.status];
    ok += r.status == "ok";
    feasible += r.feasible;
  }
  std::vector<std::pair<std::string, std::string>> summary = {
      {"points", std::to_string(spec.points())},
      {"finished", std::to_string(results.size())},
      {"ran", std::to_string(ok)},
      {"feasible", std::to_string(feasible)}};
  for (const auto& [st, n] : by_status)
    if (st != "ok") summary.emplace_back(st, std::to_string(n));
  std::string objs, cons;
  objs = objectives_text(spec.objectives);
  for (const Constraint& c : spec.constraints) cons += (cons.empty() ? "" : ", ") + c.text;
  summary.emplace_back("objectives", objs);
  summary.emplace_back("constraints", cons.empty() ? "none" : cons);
  page.section("Summary")
      .paragraph("Every point's report is linked from its marker and from the tables. Points outside the constraints are "
                 "drawn hollow and grey; points that could not run are listed at the end with the reason.")
      .key_values(summary);

  for (size_t w = 0; w < spec.workloads.size(); ++w) {
    const Workload& wl = spec.workloads[w];
    const std::vector<Objective>& objectives = spec.objectives_of(w);
    // Pairs of objectives to plot: each pair once; with one objective, against the area.
    std::vector<std::pair<std::string, std::string>> pairs;  // (y, x)
    if (objectives.size() == 1) {
      pairs.emplace_back(objectives[0].metric, "area_mm2");
    } else {
      for (size_t i = 0; i < objectives.size(); ++i)
        for (size_t j = i + 1; j < objectives.size(); ++j) pairs.emplace_back(objectives[i].metric, objectives[j].metric);
    }
    auto goal = [&](const std::string& metric) {
      for (const Objective& o : objectives)
        if (o.metric == metric) return o.maximise ? html::Goal::maximise : html::Goal::minimise;
      return html::Goal::none;
    };
    html::Section& sec = page.section("Workload " + wl.name);
    sec.paragraph(wl.model + ", " + (wl.batch_max ? "batch max" : "batch " + std::to_string(wl.batch)) + ", prompt " +
                  std::to_string(wl.prompt) + ", gen " + std::to_string(wl.gen) +
                  (wl.chips ? ", " + std::to_string(wl.chips) + " chips" : "") +
                  (wl.precision.empty() ? "" : ", " + wl.precision) + "." +
                  (wl.objectives.empty() ? "" : " Objectives of this workload: " + objectives_text(objectives) + "."));
    for (const auto& [ym, xm] : pairs) {
      html::Scatter sc;
      const MetricInfo &xi = info(xm), &yi = info(ym);
      sc.title = yi.name + " against " + xi.name;
      sc.x = {xi.name, xi.unit, false, goal(xm)};
      sc.y = {yi.name, yi.unit, false, goal(ym)};
      double xlo = 1e300, xhi = 0, ylo = 1e300, yhi = 0;
      for (const Result& r : results) {
        if (r.index % spec.workloads.size() != w || r.status != "ok") continue;
        const auto xv = r.metrics.find(xm), yv = r.metrics.find(ym);
        if (xv == r.metrics.end() || yv == r.metrics.end()) continue;
        const Point p = point(spec, r.index);
        html::ScatterPoint sp;
        sp.x = xv->second;
        sp.y = yv->second;
        sp.label = "point " + std::to_string(r.index) + ": " + setting_text(p);
        for (const Objective& o : objectives)
          if (auto it = r.metrics.find(o.metric); it != r.metrics.end()) sp.details.emplace_back(o.metric, html::number(it->second, 4));
        for (const std::string& v : r.violations) sp.details.emplace_back("violates", v);
        sp.href = point_report_path(r.index);
        sp.feasible = r.feasible;
        if (sp.x < 0 || sp.y < 0) continue;
        xlo = std::min(xlo, sp.x), xhi = std::max(xhi, sp.x), ylo = std::min(ylo, sp.y), yhi = std::max(yhi, sp.y);
        sc.points.push_back(std::move(sp));
      }
      // A log axis when the values span more than two decades.
      sc.x.log = xlo > 0 && xhi / xlo > 100;
      sc.y.log = ylo > 0 && yhi / ylo > 100;
      sec.scatter(sc);
    }
    html::Table t;
    t.caption = "Pareto front of " + wl.name + " over all objectives (" + std::to_string(fronts[w].size()) + " points)";
    t.columns = {{"point", html::Align::right}, {"settings", html::Align::left}};
    for (const Objective& o : objectives) t.columns.push_back({o.metric, html::Align::right});
    for (size_t i : fronts[w]) {
      const Result& r = results[i];
      std::vector<html::Cell> row = {html::Cell(std::to_string(r.index), point_report_path(r.index)),
                                     html::Cell(setting_text(point(spec, r.index)))};
      for (const Objective& o : objectives) row.emplace_back(html::number(r.metrics.at(o.metric), 4));
      t.rows.push_back(std::move(row));
    }
    sec.table(t);
  }
  html::Table bad;
  bad.caption = "Points that did not run (first 500)";
  bad.columns = {{"point", html::Align::right}, {"settings", html::Align::left}, {"status", html::Align::left},
                 {"reason", html::Align::left}};
  for (const Result& r : results) {
    if (r.status == "ok") continue;
    if (bad.rows.size() >= 500) break;
    bad.rows.push_back({std::to_string(r.index), setting_text(point(spec, r.index)), r.status, r.reason});
  }
  if (!bad.rows.empty()) page.section("Points that did not run").table(bad);
  page.write((fs::path(dir) / "pareto.html").string());
}

}  // namespace tessera::sweep
