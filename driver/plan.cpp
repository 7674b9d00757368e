// The parallelism planner (plan.h): enumerate dp x tp x pp, check memory with the compiler,
// cost with the compiler's cost model, order by the objective.
#include "driver/plan.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <tuple>

#include "common/numerics/fp.h"
#include "common/util/error.h"
#include "compiler/cost_model.h"
#include "compiler/hw.h"
#include "compiler/ir.h"
#include "compiler/passes/passes.h"

namespace tessera::driver {

using compiler::CompileOptions;
using compiler::Graph;
using compiler::Hw;
using compiler::Op;
using compiler::OpKind;
using compiler::Phase;

Objective parse_objective(const std::string& text) {
  if (text == "throughput") return Objective::Throughput;
  if (text == "latency") return Objective::Latency;
  throw InputError("--objective '" + text + "': expected throughput or latency");
}

std::string objective_name(Objective o) { return o == Objective::Throughput ? "throughput" : "latency"; }

std::string plan_text(const Plan& p) {
  return "dp=" + std::to_string(p.dp) + ",tp=" + std::to_string(p.tp) + ",pp=" + std::to_string(p.pp);
}

Plan parse_plan(const std::string& text) {
  Plan p;
  bool seen[3] = {false, false, false};
  size_t start = 0;
  if (text.empty()) throw InputError("--plan: empty (expected dp=N,tp=N,pp=N)");
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw InputError("--plan '" + text + "': '" + item + "' is not key=value (expected dp=N,tp=N,pp=N)");
    const std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    uint32_t v = 0;
    const auto [q, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
    if (ec != std::errc() || q != val.data() + val.size() || v == 0)
      throw InputError("--plan '" + text + "': " + key + "='" + val + "' is not a positive integer");
    int k = key == "dp" ? 0 : key == "tp" ? 1 : key == "pp" ? 2 : -1;
    if (k < 0) throw InputError("--plan '" + text + "': unknown key '" + key + "' (expected dp, tp, pp)");
    if (seen[k]) throw InputError("--plan '" + text + "': " + key + " given twice");
    seen[k] = true;
    (k == 0 ? p.dp : k == 1 ? p.tp : p.pp) = v;
    start = end + 1;
  }
  return p;
}

uint64_t default_prefill_batch(uint64_t bpr, uint64_t prompt) {
  const uint64_t want = (2048 + prompt - 1) / prompt;
  for (uint64_t d = 1; d <= bpr; ++d)
    if (bpr % d == 0 && d >= want) return d;
  return bpr;
}

uint64_t default_decode_micro_batches(uint64_t bpr, uint32_t pp) {
  for (uint64_t d = std::min<uint64_t>(pp, bpr); d > 1; --d)
    if (bpr % d == 0) return d;
  return 1;
}

double pipeline_pass(const std::vector<double>& stage, uint64_t m) {
  const double sum = std::accumulate(stage.begin(), stage.end(), 0.0);
  const double mx = *std::max_element(stage.begin(), stage.end());
  return sum + double(m - 1) * mx;
}

double pipeline_period(const std::vector<double>& stage, uint64_t m) {
  const double sum = std::accumulate(stage.begin(), stage.end(), 0.0);
  const double mx = *std::max_element(stage.begin(), stage.end());
  return std::max(double(m) * mx, sum);
}

double pipeline_drain(const std::vector<double>& stage, uint64_t m) {
  const double sum = std::accumulate(stage.begin(), stage.end(), 0.0);
  const double mx = *std::max_element(stage.begin(), stage.end());
  return double(m) * mx >= sum ? sum - mx : double(m - 1) * mx;
}

std::vector<double> stage_times(uint32_t pp, double embed, double layers, double head, double transfer, double back) {
  if (pp <= 1) return {embed + layers + head};
  std::vector<double> s(pp, layers + transfer);
  s.front() += embed;
  s.back() += head + back - transfer;
  return s;
}

double stage_transfer_cycles(const config::ArchConfig& arch, uint32_t tp, uint64_t bytes) {
  const Hw hw = compiler::hw_of(arch);
  if (hw.link_count == 0 || hw.link_bytes_per_cycle <= 0) return 0;
  // Forward bundle of the ring: ceil(count / 2) links, all of them between two chips.
  const double links = hw.chips == 2 ? hw.link_count : (hw.link_count + 1) / 2;
  return double(tp) * (double(bytes) / (links * hw.link_bytes_per_cycle) + hw.link_latency_cycles);
}

namespace {

// Segment estimates of one step, in cycles on one chip of a stage.
struct StepEstimate {
  double embed = 0, layer = 0, head = 0;
  uint64_t x_bytes = 0, rows = 0;
};

compiler::Precision precision_for(const Hw& hw, const std::optional<compiler::Precision>& p) {
  if (p) return *p;
  compiler::Precision d;
  if (hw.supports(isa::DType::fp8_e4m3)) d.weights = d.activations = d.kv = isa::DType::fp8_e4m3;
  return d;
}

uint64_t elements(const Graph& g, const std::vector<int>& ts) {
  uint64_t n = 0;
  for (int ti : ts) {
    uint64_t e = 1;
    for (uint64_t d : g.tensors[size_t(ti)].shape) e *= d;
    n += e;
  }
  return n;
}

// One op's cycles: matmuls as the tiling pass's cost model estimated them; attention at the
// larger of its arithmetic at peak and its KV cache bytes at the streaming efficiency of
// HBM; all-reduces by the ring formula of docs/architecture.md §2.8; the embedding by the
// rows it gathers; the rest by their elements over the vector lanes of all cores.
double op_cycles(const Graph& g, const Hw& hw, const Op& op) {
  const hf::ModelConfig& m = g.model;
  switch (op.kind) {
    case OpKind::Linear:
      return double(op.plan.est_cycles);
    case OpKind::Attention: {
      uint64_t keys = 0;
      for (uint64_t t = 0; t < g.tokens; ++t) {
        const uint64_t seen = g.position + t + 1;
        keys += m.sliding_window ? std::min<uint64_t>(seen, *m.sliding_window) : seen;
      }
      const double macs = 2.0 * double(g.batch * g.heads * m.head_dim * keys);
      const uint64_t ctx = g.position + g.tokens;
      const double kv = double(g.batch * g.kv_heads * 2 * m.head_dim * ctx) *
                        double(num::dtype_bytes(num::DType(g.precision.kv)));
      return std::max(macs / hw.macs_per_cycle, kv / (hw.hbm_bytes_per_cycle * compiler::kHbmEfficiency));
    }
    case OpKind::AllReduce: {
      if (g.tp <= 1 || hw.link_bytes_per_cycle <= 0) return 0;
      const double bytes = double(g.tensors[size_t(op.inputs.at(0))].bytes);
      const double p = double(g.tp);
      const double links = g.tp == 2 ? hw.link_count : (hw.link_count + 1) / 2;
      return 2 * (p - 1) * (bytes / p / (links * hw.link_bytes_per_cycle) + hw.link_latency_cycles);
    }
    case OpKind::Embed: {
      double bytes = 0;
      for (int ti : op.inputs) {
        const compiler::Tensor& t = g.tensors[size_t(ti)];
        if (t.kind == compiler::TensorKind::Weight) bytes += double(g.rows() * t.bytes / std::max<uint64_t>(1, t.shape[0]));
      }
      return bytes / (hw.hbm_bytes_per_cycle * compiler::kHbmEfficiency);
    }
    default:
      // About four vector operations per element, and one instruction latency.
      return 4.0 * double(elements(g, op.outputs)) / double(hw.lanes * hw.cores) + double(hw.vec_latency);
  }
}

// What the planner reads besides the plan: the model, the architecture and the request,
// and the segment estimates already computed (a prefill micro-batch's layer is the same
// graph under every pp and dp with the same tp).
struct Ctx {
  const hf::ModelConfig& m;
  const config::ArchConfig& arch;
  Hw hw;
  compiler::Precision prec;
  const PlanRequest& req;
  uint64_t max_context = 0;
  std::map<std::tuple<int, uint64_t, uint64_t, uint32_t>, StepEstimate> steps;

  CompileOptions options(const Plan& p, uint64_t batch) const {
    CompileOptions co;
    co.batch = batch;
    co.context = co.max_context = max_context;
    co.tp = p.tp;
    co.pp = p.pp;
    co.chips = p.chips();
    co.precision = prec;
    co.segment.kind = compiler::Segment::Embed;  // the passes are the same for every segment
    return co;
  }

  // The graph of a step after every pass (placement's memory check included; with
  // `unbounded` HBM it only reports the bytes placement used).
  Graph graph(CompileOptions co, bool unbounded = false) const {
    Hw h = hw;
    if (unbounded) h.hbm_bytes = uint64_t(1) << 62;
    const compiler::Parallelism par = compiler::choose_parallelism(m, h, co, prec);
    co.batch = par.batch;
    const compiler::PassContext c{h, co, prec};
    Graph g = compiler::build_step_graph(m, arch, c, par);
    for (const compiler::PassInfo& pass : compiler::passes()) pass.run(g, c);
    return g;
  }

  StepEstimate step(const Plan& p, Phase ph, uint64_t batch_per_replica, uint64_t context) {
    const auto key = std::make_tuple(int(ph), batch_per_replica, context, p.tp);
    if (auto it = steps.find(key); it != steps.end()) return it->second;
    // A decode step of many sequences: the tiling pass's search takes seconds per thousand
    // rows, and beyond kRows every term is linear in the rows (matmuls compute-bound,
    // attention and the vector ops per row), so two cheaper steps are extrapolated.
    constexpr uint64_t kRows = 1024;
    if (ph == Phase::Decode && batch_per_replica > kRows) {
      const StepEstimate a = step(p, ph, kRows / 2, context), b = step(p, ph, kRows, context);
      const double f = double(batch_per_replica - kRows) / double(kRows / 2);
      StepEstimate e;
      e.embed = b.embed + f * (b.embed - a.embed);
      e.layer = b.layer + f * (b.layer - a.layer);
      e.head = b.head + f * (b.head - a.head);
      e.x_bytes = b.x_bytes / kRows * batch_per_replica;
      e.rows = batch_per_replica;
      return steps[key] = e;
    }
    CompileOptions co = options(p, batch_per_replica * p.dp);
    co.phase = ph;
    co.context = context;
    const Graph g = graph(co, true);  // costs only: memory is checked on its own
    StepEstimate e;
    for (const Op& op : g.ops) {
      const double c = op_cycles(g, hw, op);
      if (op.per_layer)
        e.layer += c;
      else if (op.kind == OpKind::Embed)
        e.embed += c;
      else
        e.head += c;
    }
    e.x_bytes = g.tensor("x").bytes;
    e.rows = g.rows();
    return steps[key] = e;
  }

  // What a --batch max batch per replica is a multiple of: whole decode micro-batches (pp)
  // and whole default prefill micro-batches (the fewest sequences giving 2048 prompt rows,
  // or --prefill-batch), so neither falls back to one micro-batch of everything.
  uint64_t unit(const Plan& p) const {
    const uint64_t pre = req.prefill_batch ? req.prefill_batch : (2048 + req.prompt - 1) / req.prompt;
    return std::lcm<uint64_t>(std::max<uint32_t>(1, p.pp), pre);
  }

  // The compiler's capacity rule alone (choose_parallelism: weights and KV cache, no graph).
  bool rule(const Plan& p, uint64_t bpr, std::string* why) const {
    try {
      compiler::choose_parallelism(m, hw, options(p, bpr * p.dp), prec);
      return true;
    } catch (const InputError& e) {
      if (why) *why = e.what();
      return false;
    }
  }

  // The memory check of the whole request, exactly as compile() makes it: a decode step at
  // the longest context with every sequence resident, through placement. Costly at large
  // batches (the tiling pass), so only the chosen plan gets it.
  bool fits(const Plan& p, uint64_t batch, std::string* why) const {
    try {
      CompileOptions co = options(p, batch);
      co.phase = Phase::Decode;
      graph(co);
      return true;
    } catch (const InputError& e) {
      if (why) *why = e.what();
      return false;
    }
  }

  // HBM bytes placement lays out on a chip of the plan for bpr sequences per replica,
  // whether or not they fit (InputError for any other refusal).
  double used(const Plan& p, uint64_t bpr) const {
    CompileOptions co = options(p, bpr * p.dp);
    co.phase = Phase::Decode;
    return double(graph(co, true).hbm_used);
  }

  // A line through placement at two small batches: the KV page pool and the activations
  // grow with the batch, the weights do not. A prediction: activations that spill from L2
  // at larger batches bend it up, so the chosen plan is checked exactly (confirm).
  std::optional<std::pair<double, double>> hbm_line(const Plan& p, std::string* why) const {
    const uint64_t step = std::max<uint32_t>(1, p.pp);
    try {
      // The far point wide enough that a layer's stride rounding up to the DRAM address-map
      // period (a step of layers x period) does not pass for a per-sequence cost; 256 rows
      // still tile in a fraction of a second.
      const uint64_t far = std::max<uint64_t>(16, 256 / step) * step;
      const double a = used(p, step), b = used(p, far);
      const double per_seq = (b - a) / double(far - step);
      if (a > double(hw.hbm_bytes)) {
        char buf[200];
        std::snprintf(buf, sizeof buf,
                      "the weights and %llu sequence(s) per replica already need %.2f GB of HBM per chip (placement), "
                      "above the %.2f GB of %s",
                      (unsigned long long)step, a / 1e9, double(hw.hbm_bytes) / 1e9, hw.name.c_str());
        if (why) *why = buf;
        return std::nullopt;
      }
      return std::make_pair(a - double(step) * per_seq, per_seq);
    } catch (const InputError& e) {
      if (why) *why = e.what();
      return std::nullopt;
    }
  }

  // The exact edge: the largest whole number of micro-batches per replica, at most `limit`
  // (the rule's bound), whose placement fits, searched from the guess by secant steps on
  // measured placements (a few costly passes), bisection when they stall.
  uint64_t exact_bpr(const Plan& p, uint64_t guess, uint64_t limit, double per_seq) const {
    const uint64_t step = unit(p);
    const double cap = double(hw.hbm_bytes);
    uint64_t good = 0, bad = limit / step * step + step;  // used(good) fits, used(bad) does not (or above limit)
    uint64_t b = std::clamp<uint64_t>(guess / step * step, step, bad - step);
    double last_b = 0, last_u = 0;
    // Each measurement tiles a step of that many rows (seconds per thousand), so the search
    // stops after a few: the line's slope usually lands within a micro-batch of the edge.
    for (int i = 0; i < 6 && bad - good > step; ++i) {
      // A batch the compiler refuses for another reason (a tile that no longer fits the
      // SRAM at that many rows) is above the edge too.
      double u = cap * 2;
      bool measured = true;
      try {
        u = used(p, b);
      } catch (const InputError&) {
        measured = false;
      }
      (u <= cap ? good : bad) = b;
      if (bad - good <= step) break;
      uint64_t next = good + (bad - good) / step / 2 * step;  // bisection
      // The slope: of the last two measurements, or the line's for the first.
      const bool two = last_b > 0 && double(b) != last_b && u != last_u;
      if (measured && (two || per_seq > 0)) {
        const double slope = two ? (u - last_u) / (double(b) - last_b) : per_seq;
        const double target = double(b) + (cap - u) / slope;
        if (target > double(good) && target < double(bad)) next = uint64_t(target) / step * step;
      }
      if (next <= good) next = good + step;
      if (next >= bad) next = bad - step;
      if (measured) {
        last_b = double(b);
        last_u = u;
      }
      b = next;
    }
    return good;
  }

  // The largest batch per replica (whole decode micro-batches) that the rule admits and the
  // placement line predicts to fit; 0 when none.
  uint64_t max_bpr(const Plan& p, std::string* why, bool use_line = true) const {
    if (!rule(p, 1, why)) return 0;
    uint64_t lo = 1, hi = 2;
    while (rule(p, hi, nullptr) && hi < (uint64_t(1) << 40)) {
      lo = hi;
      hi *= 2;
    }
    while (hi - lo > 1) {
      const uint64_t mid = lo + (hi - lo) / 2;
      (rule(p, mid, nullptr) ? lo : hi) = mid;
    }
    if (use_line) {
      const auto line = hbm_line(p, why);
      if (!line) return 0;
      const double room = double(hw.hbm_bytes) - line->first;
      if (line->second > 0) lo = std::min<uint64_t>(lo, uint64_t(std::max(0.0, room / line->second)));
    }
    const uint64_t step = unit(p);
    if (lo < step) {
      if (why && why->empty())
        *why = "fewer than " + std::to_string(step) +
               " sequences per replica fit (whole prefill and decode micro-batches)";
      return 0;
    }
    return lo / step * step;
  }
};

// `checked`: the batch already passed placement (confirm), so the line is not asked again.
PlanEstimate estimate(Ctx& x, const Plan& p, uint32_t chips, bool checked = false) {
  const hf::ModelConfig& m = x.m;
  const PlanRequest& req = x.req;
  PlanEstimate e;
  e.plan = p;
  if (p.chips() > chips) {
    e.why = "dp x tp x pp = " + std::to_string(p.chips()) + " chips, more than the " + std::to_string(chips) +
            " of --chips";
    return e;
  }
  if (m.num_layers % p.pp) {
    e.why = "pp=" + std::to_string(p.pp) + " does not divide the " + std::to_string(m.num_layers) + " layers of " +
            m.source;
    return e;
  }
  if (req.batch) {
    if (req.batch % p.dp) {
      e.why = "dp=" + std::to_string(p.dp) + " does not divide --batch " + std::to_string(req.batch);
      return e;
    }
    if (!x.rule(p, req.batch / p.dp, &e.why)) return e;
    const auto line = checked ? std::optional<std::pair<double, double>>() : x.hbm_line(p, &e.why);
    if (!checked && !line) return e;
    const double need = checked ? 0 : line->first + line->second * double(req.batch / p.dp);
    if (need > double(x.hw.hbm_bytes)) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "about %.2f GB of HBM per chip needed (placement, %llu sequences per replica), "
                    "above the %.2f GB of %s", need / 1e9, (unsigned long long)(req.batch / p.dp),
                    double(x.hw.hbm_bytes) / 1e9, x.hw.name.c_str());
      e.why = buf;
      return e;
    }
    e.batch = req.batch;
  } else {
    e.batch = x.max_bpr(p, &e.why) * p.dp;
    if (!e.batch) return e;
  }
  const uint64_t bpr = e.batch / p.dp;
  if (req.prefill_batch && bpr % req.prefill_batch) {
    e.why = "--prefill-batch " + std::to_string(req.prefill_batch) + " does not divide the " + std::to_string(bpr) +
            " sequences of a replica";
    return e;
  }
  e.prefill_batch = req.prefill_batch ? req.prefill_batch : default_prefill_batch(bpr, req.prompt);
  e.decode_micro_batches = p.pp > 1 ? default_decode_micro_batches(bpr, p.pp) : 1;
  try {
    // Prefill: one micro-batch of prefill_batch sequences per replica. Decode at the mean
    // context of its steps (a decode step's time is close to linear in the context, so the
    // mean step is the step at the mean context).
    const StepEstimate sp = x.step(p, Phase::Prefill, e.prefill_batch, req.prompt);
    const StepEstimate sd =
        x.step(p, Phase::Decode, bpr / e.decode_micro_batches, req.prompt + std::max<uint64_t>(1, req.gen / 2));
    const double L = double(m.num_layers / p.pp), hz = x.hw.core_hz;
    const std::vector<double> ps = stage_times(p.pp, sp.embed, L * sp.layer, sp.head,
                                               stage_transfer_cycles(x.arch, p.tp, sp.x_bytes), 0);
    const double back = p.pp > 1 ? stage_transfer_cycles(x.arch, p.tp, sd.rows * 4) : 0;
    const std::vector<double> ds = stage_times(p.pp, sd.embed, L * sd.layer, sd.head,
                                               stage_transfer_cycles(x.arch, p.tp, sd.x_bytes), back);
    const uint64_t mp = bpr / e.prefill_batch, md = e.decode_micro_batches;
    e.ttft = std::accumulate(ps.begin(), ps.end(), 0.0) / hz;
    e.prefill = pipeline_pass(ps, mp) / hz;
    const uint64_t steps = req.gen - 1;
    e.decode = steps ? (double(steps) * pipeline_period(ds, md) + pipeline_drain(ds, md)) / hz : 0;
    e.tpot = steps ? e.decode / double(steps) : 0;
    e.total = e.prefill + e.decode;
    e.tokens_per_s = double(e.batch * (req.prompt + req.gen)) / e.total;
    e.feasible = true;
  } catch (const InputError& err) {
    e.why = err.what();
  }
  return e;
}

// The chosen plan through the exact memory check: with --batch max its batch becomes the
// edge placement sets (exact_bpr) and is costed again; a given batch must pass placement.
bool confirm(Ctx& x, PlanEstimate& e, uint32_t chips) {
  const Plan& p = e.plan;
  if (x.req.batch) {
    std::string why;
    if (x.fits(p, e.batch, &why)) return true;
    e.feasible = false;
    e.why = why;
    return false;
  }
  uint64_t limit = e.batch / p.dp;  // the rule's bound or the line's, whichever is lower
  std::string why;
  limit = std::max(limit, x.max_bpr(p, &why, false));
  const auto line = x.hbm_line(p, nullptr);
  const uint64_t bpr = x.exact_bpr(p, e.batch / p.dp, limit, line ? line->second : 0);
  if (!bpr) {
    e.feasible = false;
    e.why = "not one decode micro-batch per pipeline stage fits beside the weights (placement)";
    return false;
  }
  if (bpr * p.dp == e.batch) return true;
  PlanRequest r = x.req;
  r.batch = bpr * p.dp;
  Ctx y{x.m, x.arch, x.hw, x.prec, r, x.max_context, x.steps};
  e = estimate(y, p, chips, true);
  return e.feasible;
}

bool better(Objective o, const PlanEstimate& a, const PlanEstimate& b) {
  if (a.feasible != b.feasible) return a.feasible;
  if (!a.feasible) return false;
  if (o == Objective::Throughput) {
    if (a.tokens_per_s != b.tokens_per_s) return a.tokens_per_s > b.tokens_per_s;
    return a.total < b.total;
  }
  if (a.total != b.total) return a.total < b.total;
  return a.ttft < b.ttft;
}

}  // namespace

PlanChoice choose_plan(const hf::ModelConfig& m, const config::ArchConfig& arch, const PlanRequest& req) {
  if (req.prompt == 0) throw InputError("--prompt: expected at least 1 token, got 0");
  if (req.gen == 0) throw InputError("--gen: expected at least 1 generated token, got 0");
  const Hw hw = compiler::hw_of(arch);
  const uint32_t chips = req.chips ? req.chips : hw.chips;
  if (chips > hw.chips)
    throw InputError("--chips: " + std::to_string(chips) + " exceeds system.chips = " + std::to_string(hw.chips) +
                     " of " + hw.name);
  Ctx x{m, arch, hw, precision_for(hw, req.precision), req, req.prompt + req.gen, {}};
  PlanChoice out;
  if (req.forced) {
    PlanEstimate e = estimate(x, *req.forced, chips);
    if (e.feasible) confirm(x, e, chips);
    e.memory_checked = true;
    if (!e.feasible) throw InputError(req.forced_by + " (" + plan_text(*req.forced) + "): " + e.why);
    out.best = e;
    out.candidates = {e};
    return out;
  }
  // Every dp x tp x pp = chips; tp and pp in increasing order, so ties keep the simpler plan.
  for (uint32_t pp = 1; pp <= chips; ++pp) {
    if (chips % pp) continue;
    for (uint32_t tp = 1; tp * pp <= chips; ++tp) {
      if ((chips / pp) % tp) continue;
      out.candidates.push_back(estimate(x, Plan{chips / (tp * pp), tp, pp}, chips));
    }
  }
  // None fits: the reason of the plan today's default search ends with (the largest
  // tensor-parallel group, no pipeline).
  std::string why;
  for (const PlanEstimate& e : out.candidates)
    if (e.plan.pp == 1) why = e.why;
  // The best plan gets the exact memory check; one it refuses drops behind the others.
  for (;;) {
    std::stable_sort(out.candidates.begin(), out.candidates.end(),
                     [&](const PlanEstimate& a, const PlanEstimate& b) { return better(req.objective, a, b); });
    PlanEstimate& front = out.candidates.front();
    if (!front.feasible || front.memory_checked) break;
    confirm(x, front, chips);
    front.memory_checked = true;
  }
  if (!out.candidates.front().feasible)
    throw InputError(std::string(req.batch ? "" : "--batch max: ") + "no parallelism plan of " +
                     std::to_string(chips) + " chip(s) fits: " + why);
  out.best = out.candidates.front();
  return out;
}

void attach_plan(TimingReport& r, const PlanChoice& choice, const std::string& source) {
  auto cand = [](const PlanEstimate& e) {
    TimingReport::PlanCandidate c;
    c.dp = e.plan.dp;
    c.tp = e.plan.tp;
    c.pp = e.plan.pp;
    c.batch = e.batch;
    c.prefill_batch = e.prefill_batch;
    c.decode_micro_batches = e.decode_micro_batches;
    c.feasible = e.feasible;
    c.why = e.why;
    c.ttft = e.ttft;
    c.tpot = e.tpot;
    c.total = e.total;
    c.tokens_per_s = e.tokens_per_s;
    return c;
  };
  r.plan.source = source;
  r.plan.predicted = true;
  r.plan.chosen = cand(choice.best);
  r.plan.candidates.clear();
  for (const PlanEstimate& e : choice.candidates) r.plan.candidates.push_back(cand(e));
}

}  // namespace tessera::driver
