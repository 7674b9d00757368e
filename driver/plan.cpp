// The parallelism planner (plan.h): enumerate dp x tp x pp, check memory with the compiler,
// cost with the compiler's cost model, order by the objective.
#include "driver/plan.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

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

StepEstimate estimate_step(const hf::ModelConfig& m, const config::ArchConfig& arch, const Hw& hw,
                           const compiler::Precision& prec, CompileOptions co) {
  const compiler::Parallelism par = compiler::choose_parallelism(m, hw, co, prec);
  co.batch = par.batch;
  const compiler::PassContext ctx{hw, co, prec};
  Graph g = compiler::build_step_graph(m, arch, ctx, par);
  for (const compiler::PassInfo& p : compiler::passes()) p.run(g, ctx);
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
  return e;
}

// The memory check of the whole request: a decode step at the longest context with every
// sequence resident, through the passes up to placement (what compile() refuses, this
// refuses with the same message).
void check_memory(const hf::ModelConfig& m, const config::ArchConfig& arch, const Hw& hw,
                  const compiler::Precision& prec, const Plan& p, uint64_t batch, uint64_t max_context) {
  CompileOptions co;
  co.phase = Phase::Decode;
  co.batch = batch;
  co.context = max_context;
  co.max_context = max_context;
  co.tp = p.tp;
  co.pp = p.pp;
  co.chips = p.chips();
  co.precision = prec;
  co.segment.kind = compiler::Segment::Embed;
  const compiler::Parallelism par = compiler::choose_parallelism(m, hw, co, prec);
  co.batch = par.batch;
  const compiler::PassContext ctx{hw, co, prec};
  Graph g = compiler::build_step_graph(m, arch, ctx, par);
  for (const compiler::PassInfo& pass : compiler::passes()) pass.run(g, ctx);
}

bool fits(const hf::ModelConfig& m, const config::ArchConfig& arch, const Hw& hw, const compiler::Precision& prec,
          const Plan& p, uint64_t batch, uint64_t max_context, std::string* why) {
  try {
    check_memory(m, arch, hw, prec, p, batch, max_context);
    return true;
  } catch (const InputError& e) {
    if (why) *why = e.what();
    return false;
  }
}

// The largest batch (a multiple of dp x the decode micro-batches) whose KV cache fits beside
// the plan's weights; 0 when not even one sequence per replica does.
uint64_t max_batch(const hf::ModelConfig& m, const config::ArchConfig& arch, const Hw& hw,
                   const compiler::Precision& prec, const Plan& p, uint64_t max_context, std::string* why) {
  // The compiler's capacity rule alone (no graph) bounds the search; placement then confirms.
  auto rule = [&](uint64_t bpr) {
    CompileOptions co;
    co.batch = bpr * p.dp;
    co.context = co.max_context = max_context;
    co.tp = p.tp;
    co.pp = p.pp;
    co.chips = p.chips();
    co.segment.kind = compiler::Segment::Embed;
    try {
      compiler::choose_parallelism(m, hw, co, prec);
      return true;
    } catch (const InputError& e) {
      if (why) *why = e.what();
      return false;
    }
  };
  if (!rule(1)) return 0;
  uint64_t lo = 1, hi = 2;
  while (rule(hi) && hi < (uint64_t(1) << 40)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    (rule(mid) ? lo : hi) = mid;
  }
  // Whole micro-batches per replica; placement (page rounding, activations) has the last
  // word, and what it accepts shrinks with the batch, so search below the rule's bound.
  const uint64_t step = std::max<uint64_t>(1, p.pp);
  uint64_t bpr = lo / step * step;
  if (bpr && !fits(m, arch, hw, prec, p, bpr * p.dp, max_context, why)) {
    uint64_t ok = 0, bad = bpr / step;  // in micro-batch units
    while (bad - ok > 1) {
      const uint64_t mid = ok + (bad - ok) / 2;
      (fits(m, arch, hw, prec, p, mid * step * p.dp, max_context, why) ? ok : bad) = mid;
    }
    bpr = ok * step;
  }
  return bpr * p.dp;
}

PlanEstimate estimate(const hf::ModelConfig& m, const config::ArchConfig& arch, const Hw& hw,
                      const compiler::Precision& prec, const PlanRequest& req, const Plan& p, uint32_t chips) {
  PlanEstimate e;
  e.plan = p;
  const uint64_t max_context = req.prompt + req.gen;
  if (p.chips() > chips) {
    e.why = plan_text(p) + " uses " + std::to_string(p.chips()) + " chips, more than the " + std::to_string(chips) +
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
    if (!fits(m, arch, hw, prec, p, req.batch, max_context, &e.why)) return e;
    e.batch = req.batch;
  } else {
    e.batch = max_batch(m, arch, hw, prec, p, max_context, &e.why);
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
  CompileOptions co;
  co.max_context = max_context;
  co.tp = p.tp;
  co.pp = p.pp;
  co.chips = p.chips();
  co.precision = prec;
  co.segment.kind = compiler::Segment::Layer;  // the passes are the same for every segment
  try {
    // Prefill: one micro-batch of prefill_batch sequences per replica.
    CompileOptions pre = co;
    pre.phase = Phase::Prefill;
    pre.batch = e.prefill_batch * p.dp;
    pre.context = req.prompt;
    const StepEstimate sp = estimate_step(m, arch, hw, prec, pre);
    // Decode at the mean context of its steps (a decode step's time is close to linear in
    // the context, so the mean step is the step at the mean context).
    CompileOptions dec = co;
    dec.phase = Phase::Decode;
    dec.batch = bpr / e.decode_micro_batches * p.dp;
    dec.context = req.prompt + std::max<uint64_t>(1, req.gen / 2);
    const StepEstimate sd = estimate_step(m, arch, hw, prec, dec);
    const double L = double(m.num_layers / p.pp), hz = hw.core_hz;
    const std::vector<double> ps = stage_times(p.pp, sp.embed, L * sp.layer, sp.head,
                                               stage_transfer_cycles(arch, p.tp, sp.x_bytes), 0);
    const double back = p.pp > 1 ? stage_transfer_cycles(arch, p.tp, sd.rows * 4) : 0;
    const std::vector<double> ds = stage_times(p.pp, sd.embed, L * sd.layer, sd.head,
                                               stage_transfer_cycles(arch, p.tp, sd.x_bytes), back);
    const uint64_t mp = bpr / e.prefill_batch, md = e.decode_micro_batches;
    e.ttft = std::accumulate(ps.begin(), ps.end(), 0.0) / hz;
    e.prefill = pipeline_pass(ps, mp) / hz;
    const uint64_t steps = req.gen - 1;
    e.decode = steps ? (double(steps) * pipeline_period(ds, md) + pipeline_drain(ds, md)) / hz : 0;
    e.tpot = steps ? e.decode / double(steps) : 0;
    e.total = e.prefill + e.decode;
    e.tokens_per_s = double(e.batch * (req.prompt + req.gen)) / e.total;
    e.feasible = true;
  } catch (const InputError& x) {
    e.why = x.what();
  }
  return e;
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
  const compiler::Precision prec = precision_for(hw, req.precision);
  PlanChoice out;
  if (req.forced) {
    const Plan& p = *req.forced;
    const PlanEstimate e = estimate(m, arch, hw, prec, req, p, chips);
    if (!e.feasible) throw InputError(req.forced_by + " (" + plan_text(p) + "): " + e.why);
    out.best = e;
    out.candidates = {e};
    return out;
  }
  // Every dp x tp x pp = chips; tp and pp in increasing order, so ties keep the simpler plan.
  for (uint32_t pp = 1; pp <= chips; ++pp) {
    if (chips % pp) continue;
    for (uint32_t tp = 1; tp * pp <= chips; ++tp) {
      if ((chips / pp) % tp) continue;
      const Plan p{chips / (tp * pp), tp, pp};
      out.candidates.push_back(estimate(m, arch, hw, prec, req, p, chips));
    }
  }
  // None fits: the reason of the plan today's default search ends with (the largest
  // tensor-parallel group, no pipeline).
  std::string why;
  for (const PlanEstimate& e : out.candidates)
    if (e.plan.pp == 1) why = e.why;
  std::stable_sort(out.candidates.begin(), out.candidates.end(),
                   [&](const PlanEstimate& a, const PlanEstimate& b) { return better(req.objective, a, b); });
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
