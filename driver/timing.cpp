#include "driver/timing.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

#include "common/config/derived.h"
#include "common/util/error.h"
#include "compiler/hw.h"
#include "driver/cost.h"
#include "driver/interpolate.h"
#include "driver/plan.h"
#include "driver/routing.h"
#include "model/core/model.h"

namespace tessera::driver {

using compiler::CompileOptions;
using compiler::Compiled;
using compiler::Hw;
using compiler::Phase;
using compiler::Segment;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Phases of chip 0 core 0: one per barrier (names from the compiler), with the busy
// fractions of its units.
std::vector<PhaseRun> phases_of(const model::Simulation& sim, const Compiled& c, const Hw& hw) {
  std::vector<PhaseRun> out;
  const isa::TextSection* text = nullptr;
  for (const isa::TextSection& t : c.program.text)
    if (t.chip == 0 && t.core == 0) text = &t;
  if (!text) return out;
  const std::vector<model::InstrRecord>& rec = sim.records(0, 0);
  const double core_macs = double(hw.engines) * double(hw.R) * double(hw.C);
  uint64_t phase_start = 0, macs = 0;
  std::array<uint64_t, model::kUnits> busy{}, last{};
  auto close = [&](uint64_t end, const std::string& name) {
    PhaseRun p;
    p.name = name;
    p.cycles = end > phase_start ? end - phase_start : 0;
    if (p.cycles) {
      const double cyc = double(p.cycles);
      p.mx_busy = double(macs) / (cyc * core_macs);
      p.vec_busy = double(busy[size_t(isa::Unit::vec)]) / cyc;
      for (uint32_t d = 0; d < hw.dmas; ++d) p.dma_busy = std::max(p.dma_busy, double(busy[d]) / cyc);
    }
    out.push_back(p);
    phase_start = end;
    macs = 0;
    busy.fill(0);
  };
  size_t next_phase = 0;
  for (size_t i = 0; i < text->code.size() && i < rec.size(); ++i) {
    const isa::Instr& in = text->code[i];
    const model::InstrRecord& r = rec[i];
    if (in.op == isa::Opcode::barrier) {
      const std::string name =
          next_phase < c.phases.size() ? c.phases[next_phase].name : "phase " + std::to_string(next_phase + 1);
      ++next_phase;
      close(r.E, name);
      continue;
    }
    if (in.op == isa::Opcode::halt) {
      if (r.E > phase_start) close(r.E, "end");
      continue;
    }
    if (r.unit >= model::kUnits) continue;
    if (in.op == isa::Opcode::matmul) macs += in.m * in.k * in.n;
    // Union of the unit's [start, end] intervals (a unit completes in order).
    const uint64_t b = std::max({r.start, last[r.unit], phase_start});
    if (r.E > b) busy[r.unit] += r.E - b;
    last[r.unit] = std::max(last[r.unit], r.E);
  }
  return out;
}

// Busy fraction of every unit of chip 0 core 0 in kTimelineBins equal bins of the run
// (union of each unit's [start, end] intervals, as phases_of counts them).
std::vector<UnitTimeline> timeline_of(const model::Simulation& sim, uint64_t cycles) {
  std::vector<UnitTimeline> out;
  if (!cycles) return out;
  const std::vector<model::InstrRecord>& rec = sim.records(0, 0);
  std::array<std::vector<double>, model::kUnits> bins;
  std::array<uint64_t, model::kUnits> last{};
  const double width = double(cycles) / double(kTimelineBins);
  for (const model::InstrRecord& r : rec) {
    if (r.unit >= model::kUnits || r.unit == model::kSeqUnit) continue;
    const uint64_t b = std::max(r.start, last[r.unit]);
    last[r.unit] = std::max(last[r.unit], r.E);
    if (r.E <= b) continue;
    std::vector<double>& v = bins[r.unit];
    if (v.empty()) v.assign(kTimelineBins, 0.0);
    size_t i = std::min(kTimelineBins - 1, size_t(double(b) / width));
    for (double lo = double(b), hi = double(r.E); lo < hi && i < kTimelineBins; ++i) {
      const double edge = std::min(hi, double(i + 1) * width);
      if (edge > lo) v[i] += edge - lo;
      lo = edge;
    }
  }
  for (int u = 0; u < model::kUnits; ++u) {
    if (bins[u].empty()) continue;
    UnitTimeline t;
    t.unit = std::string(model::unit_name(u));
    for (double x : bins[u]) t.busy.push_back(std::min(1.0, x / width));
    out.push_back(std::move(t));
  }
  return out;
}

struct Sim {
  SegmentRun run;
  Compiled compiled;
};

// Programs already simulated, by their .tbin bytes: a step whose program is identical to
// one simulated before (the head at every decode context, for example) reuses its result,
// which is exact because the model is deterministic.
using SimCache = std::map<std::vector<uint8_t>, SegmentRun>;

Sim simulate(const hf::ModelConfig& m, const config::ArchConfig& arch, const CompileOptions& co,
             const std::string& what, const TimingOptions& opt, std::string& dram, SimCache& cache) {
  const auto t0 = std::chrono::steady_clock::now();
  Sim s;
  s.compiled = compiler::compile(m, arch, co);
  const Compiled& c = s.compiled;
  std::vector<uint8_t> key = isa::write_tbin(c.program);
  // Experts the simulated layer loads (below): part of what was simulated.
  const uint64_t routed_sim =
      c.experts ? uint64_t(std::clamp<long long>(std::llround(c.routed_experts), 1, c.experts)) : 0;
  key.push_back(uint8_t(routed_sim));
  if (auto it = cache.find(key); it != cache.end()) {
    s.run = it->second;
    s.run.what = what;
    s.run.same_as = it->second.what;
    s.run.sim_seconds = seconds_since(t0);
    if (opt.verbose)
      std::fprintf(stderr, "  reused    %-34s %12llu cycles (same program as %s)\n", what.c_str(),
                   (unsigned long long)s.run.cycles, it->second.what.c_str());
    return s;
  }
  model::RunOptions ro;
  ro.functional = false;
  if (c.experts) {
    // The simulated layer loads the experts 0 .. n - 1 (timing mode has no routing data;
    // which experts does not change the bandwidth model's timing). A chunk's words are
    // consecutive experts, so it loads when its first expert is below n.
    const uint64_t used = c.moe_used_addr, n = routed_sim;
    ro.predicate = [used, n](uint32_t, uint32_t, uint64_t addr, uint64_t) { return (addr - used) / 4 < n; };
  }
  ro.dram = opt.dram_burst ? model::DramModel::Burst : model::DramModel::Bandwidth;
  ro.max_cycles = opt.max_cycles;
  ro.threads = opt.threads;
  dram = model::dram_model_name(ro.dram);
  model::Simulation sim(arch, c.program, ro);
  sim.run();
  SegmentRun& r = s.run;
  r.what = what;
  r.cycles = sim.cycles();
  r.instructions = sim.instructions();
  const model::Totals t = sim.totals();
  r.macs = t.macs;
  r.useful_macs = c.useful_macs_per_replica;
  r.hbm_bytes = (t.hbm_read + t.hbm_written) / c.tp;
  r.min_hbm_bytes = c.min_hbm_bytes_per_chip;
  r.link_bytes = t.link_bytes / c.tp;
  r.phases = phases_of(sim, c, compiler::hw_of(arch));
  r.counts = counts_of(t, arch, c.tp, double(r.cycles) / compiler::hw_of(arch).core_hz);
  r.timeline = timeline_of(sim, r.cycles);
  r.sim_seconds = seconds_since(t0);
  if (opt.verbose)
    std::fprintf(stderr, "  simulated %-34s %12llu cycles %10llu instructions  %.1f s host\n", what.c_str(),
                 (unsigned long long)r.cycles, (unsigned long long)r.instructions, r.sim_seconds);
  cache.emplace(std::move(key), r);
  return s;
}

// The decode contexts simulated: n points spread evenly over [first, last], ends included.
std::vector<uint64_t> decode_points(uint64_t first, uint64_t last, uint32_t n) {
  std::vector<uint64_t> v;
  if (last < first) return v;
  const uint64_t span = last - first;
  n = uint32_t(std::min<uint64_t>(std::max<uint32_t>(n, 1), span + 1));
  for (uint32_t i = 0; i < n; ++i) v.push_back(first + (n == 1 ? 0 : span * i / (n - 1)));
  return v;
}

std::string bound_name(double compute, double hbm, double links) {
  if (compute >= hbm && compute >= links) return "compute";
  return hbm >= links ? "HBM bandwidth" : "links";
}

}  // namespace

TimingReport run_timing(const hf::ModelConfig& m, const config::ArchConfig& arch, const TimingOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.batch == 0) throw InputError("--batch: expected at least 1 sequence, got 0");
  if (opt.prompt == 0) throw InputError("--prompt: expected at least 1 token, got 0");
  if (opt.gen == 0) throw InputError("--gen: expected at least 1 generated token, got 0");
  const Hw hw = compiler::hw_of(arch);
  TimingReport r;
  r.model = m.source;
  r.arch = arch.name;
  r.overrides = arch.overrides;
  r.batch = opt.batch;
  r.prompt = opt.prompt;
  r.gen = opt.gen;
  r.layers = m.num_layers;
  r.core_hz = hw.core_hz;

  CompileOptions base;
  base.batch = opt.batch;
  base.max_context = opt.prompt + opt.gen;
  base.tp = opt.tp;
  base.chips = opt.chips;
  base.pp = opt.pp;
  base.precision = opt.precision;
  double decode_routed = 0;  // MoE: expected distinct experts per decode layer (below)
  auto seg = [&](Phase ph, uint64_t context, Segment::Kind k) {
    CompileOptions co = base;
    co.phase = ph;
    co.context = context;
    co.segment.kind = k;
    co.segment.layer = 0;
    co.routed_experts = decode_routed;
    return co;
  };
  const Routing routing = load_routing(opt.routing, m);
  SimCache cache;
  if (opt.verbose)
    std::fprintf(stderr, "tessera run: %s on %s, batch %llu, prompt %llu, gen %llu\n", m.source.c_str(),
                 arch.name.c_str(), (unsigned long long)opt.batch, (unsigned long long)opt.prompt,
                 (unsigned long long)opt.gen);

  // The parallelism and the memory check of the whole request (every sequence's KV cache).
  {
    // A decode step at the longest context: the same parallelism and memory check as the
    // prefill of the whole batch, without tiling batch x prompt rows.
    const Compiled whole = compiler::compile(m, arch, seg(Phase::Decode, opt.prompt + opt.gen, Segment::Embed));
    r.tp = whole.tp;
    r.replicas = whole.replicas;
    r.chips = whole.chips_used;
    r.batch_per_replica = whole.batch_per_replica;
    r.precision = whole.precision;
    base.tp = r.tp;
    base.precision = r.precision;
    r.plan.dp = r.replicas;
    r.plan.tp = r.tp;
    r.plan.pp = whole.pp;
    r.plan.stage_layers = whole.stage_layers;
  }
  const uint32_t pp = r.plan.pp;
  r.exact = opt.exact;
  if (opt.exact && pp > 1)
    throw InputError("--exact: the plan has a pipeline of " + std::to_string(pp) +
                     " stages, whose time comes from the pipeline formula over its stages' segments; --exact "
                     "simulates whole-model programs and needs pp=1 (choose a plan with --plan)");
  // --exact: whole-model programs in the layer slots (see TimingOptions::exact).
  const auto layer_kind = opt.exact ? Segment::Whole : Segment::Layer;
  const std::string layer_name = opt.exact ? "whole model" : "layer";
  // Decode micro-batches: each decode step of a replica runs as md programs of bpr / md
  // sequences (one is simulated; the others run the same instructions on other KV pages).
  uint64_t md = opt.decode_micro_batches;
  if (md) {
    if (r.batch_per_replica % md)
      throw InputError("decode micro-batches " + std::to_string(md) + " do not divide the " +
                       std::to_string(r.batch_per_replica) + " sequences of a replica");
  } else {
    md = pp > 1 ? default_decode_micro_batches(r.batch_per_replica, pp) : 1;
  }
  r.plan.decode_micro_batches = md;
  // Prefill: steps of prefill_batch sequences each.
  uint64_t prefill_x_bytes = 0, decode_x_bytes = 0, decode_rows = 0;
  {
    const uint64_t bpr = r.batch_per_replica;
    uint64_t n = opt.prefill_batch;
    if (n) {
      if (bpr % n)
        throw InputError("--prefill-batch " + std::to_string(n) + " does not divide the " + std::to_string(bpr) +
                         " sequences of a replica");
    } else {
      n = default_prefill_batch(bpr, opt.prompt);
    }
    r.prefill_batch = n;
    r.prefill_steps = bpr / n;
    r.plan.prefill_micro_batches = r.prefill_steps;
    CompileOptions pb = base;
    pb.batch = n * r.replicas;
    // A prefill routes thousands of rows: uniform (a trace holds decode steps), or dense.
    if (m.is_moe()) {
      r.moe.prefill_rows = n * opt.prompt;
      Routing pre_routing;
      pre_routing.dense = routing.dense;
      pb.routed_experts = routed_experts(pre_routing, m, r.moe.prefill_rows);
      r.moe.prefill_routed = pb.routed_experts;
    }
    auto pre = [&](Segment::Kind k) {
      CompileOptions co = pb;
      co.phase = Phase::Prefill;
      co.context = opt.prompt;
      co.segment.kind = k;
      return co;
    };
    if (!opt.exact)
      r.prefill_embed = simulate(m, arch, pre(Segment::Embed), "prefill embedding", opt, r.dram, cache).run;
    const Sim layer = simulate(m, arch, pre(layer_kind), "prefill " + layer_name, opt, r.dram, cache);
    r.prefill_layer = layer.run;
    prefill_x_bytes = layer.compiled.stage_activation_bytes;
    if (!opt.exact) r.prefill_head = simulate(m, arch, pre(Segment::Head), "prefill head", opt, r.dram, cache).run;
  }
  // Decode: step s (1 .. gen - 1) feeds token s and leaves prompt + s tokens in the cache.
  r.decode_steps = opt.gen - 1;
  r.decode_contexts = decode_points(opt.prompt + 1, opt.prompt + opt.gen - 1,
                                    opt.exact ? uint32_t(std::min<uint64_t>(opt.gen, UINT32_MAX)) : opt.decode_points);
  base.batch = opt.batch / md;  // one decode micro-batch of every replica
  if (m.is_moe()) {
    r.moe.experts = uint32_t(m.num_experts);
    r.moe.top_k = uint32_t(m.experts_per_token);
    r.moe.routing = routing.source;
    r.moe.decode_rows = r.batch_per_replica / md;
    decode_routed = routed_experts(routing, m, r.moe.decode_rows);
    r.moe.decode_routed = decode_routed;
  }
  for (uint64_t c : r.decode_contexts) {
    const std::string at = " at context " + std::to_string(c);
    r.decode_embed.push_back(opt.exact ? SegmentRun{}
                                       : simulate(m, arch, seg(Phase::Decode, c, Segment::Embed),
                                                  "decode embedding" + at, opt, r.dram, cache)
                                             .run);
    const Sim layer = simulate(m, arch, seg(Phase::Decode, c, layer_kind), "decode " + layer_name + at, opt, r.dram, cache);
    r.decode_layer.push_back(layer.run);
    if (layer.compiled.experts) {
      const Compiled& lc = layer.compiled;
      r.moe.expert_bytes = lc.expert_bytes_per_chip;
      r.moe.decode_simulated = uint32_t(std::clamp<long long>(std::llround(lc.routed_experts), 1, lc.experts));
      const double per_layer = double(lc.expert_bytes_per_chip) * double(r.layers) / double(pp);
      r.moe.decode_expert_bytes = per_layer * lc.routed_experts;
      r.moe.decode_expert_bytes_simulated = per_layer * r.moe.decode_simulated;
      r.moe.decode_expert_bytes_dense = per_layer * lc.experts;
    }
    decode_x_bytes = layer.compiled.stage_activation_bytes;
    decode_rows = layer.compiled.batch_per_replica;
    r.decode_head.push_back(opt.exact ? SegmentRun{}
                                      : simulate(m, arch, seg(Phase::Decode, c, Segment::Head), "decode head" + at,
                                                 opt, r.dram, cache)
                                            .run);
  }
  r.decode_steps_simulated = r.decode_contexts.size();
  r.decode_steps_estimated = r.decode_steps - r.decode_steps_simulated;

  // A step: embedding + layers x layer + head.
  const double L = double(r.layer_multiplier()), hz = hw.core_hz;
  struct StepSums {
    double cycles = 0, useful_macs = 0, hbm = 0, min_hbm = 0, link = 0;
  };
  auto step = [&](const SegmentRun& e, const SegmentRun& l, const SegmentRun& h) {
    StepSums s;
    s.cycles = double(e.cycles) + L * double(l.cycles) + double(h.cycles);
    s.useful_macs = double(e.useful_macs) + L * double(l.useful_macs) + double(h.useful_macs);
    s.hbm = double(e.hbm_bytes) + L * double(l.hbm_bytes) + double(h.hbm_bytes);
    s.min_hbm = double(e.min_hbm_bytes) + L * double(l.min_hbm_bytes) + double(h.min_hbm_bytes);
    s.link = double(e.link_bytes) + L * double(l.link_bytes) + double(h.link_bytes);
    return s;
  };
  // Peaks of one replica: its TP group, or with a pipeline the pp groups of its stages (the
  // step sums below are then over all stages, so per-chip bytes divide by pp).
  const double peak_macs = hw.macs_per_cycle * r.tp * pp;  // per cycle
  const double link_bpc = config::link_bytes_per_s_per_chip(arch) / hz * pp;
  // Roofline terms of a step, in cycles.
  auto roof = [&](const StepSums& s, double& compute, double& hbm, double& links) {
    compute += s.useful_macs / peak_macs;
    hbm += s.min_hbm / (hw.hbm_bytes_per_cycle * pp);
    links += link_bpc > 0 ? s.link / link_bpc : 0;
  };
  // Pipeline: stage times of one micro-batch (driver/plan.h), the hand-over of the
  // activations costed from the links' bandwidth and latency.
  const double Ls = double(r.plan.stage_layers);
  const double x_pre = pp > 1 ? stage_transfer_cycles(arch, r.tp, prefill_x_bytes) : 0;
  const double x_dec = pp > 1 ? stage_transfer_cycles(arch, r.tp, decode_x_bytes) : 0;
  const double x_back = pp > 1 ? stage_transfer_cycles(arch, r.tp, decode_rows * 4) : 0;  // new token ids
  r.plan.prefill_transfer = x_pre / hz;
  r.plan.decode_transfer = x_dec / hz;
  if (pp > 1) {
    r.plan.prefill_handover_bytes = prefill_x_bytes;
    r.plan.decode_handover_bytes = decode_x_bytes;
  }
  auto stages = [&](const SegmentRun& e, const SegmentRun& l, const SegmentRun& h, double x, double back) {
    return stage_times(pp, double(e.cycles), Ls * double(l.cycles), double(h.cycles), x, back);
  };
  StepSums pre = step(r.prefill_embed, r.prefill_layer, r.prefill_head);
  if (pp > 1) {
    // Hand-overs: each of the pp - 1 boundaries, every chip of the group sends x.
    pre.link += double(pp - 1) * double(prefill_x_bytes);
    const std::vector<double> st = stages(r.prefill_embed, r.prefill_layer, r.prefill_head, x_pre, 0);
    pre.cycles = pipeline_pass(st, r.prefill_steps) / double(r.prefill_steps);  // per step, for the sums below
    r.ttft = std::accumulate(st.begin(), st.end(), 0.0) / hz;
    const double busy = double(r.prefill_steps) * std::accumulate(st.begin(), st.end(), 0.0);
    r.plan.prefill_bubble = 1 - busy / (double(pp) * pre.cycles * double(r.prefill_steps));
  } else {
    r.ttft = pre.cycles / hz;
  }
  {
    const double steps = double(r.prefill_steps);
    pre.cycles *= steps;
    pre.useful_macs *= steps;
    pre.hbm *= steps;
    pre.min_hbm *= steps;
    pre.link *= steps;
  }
  double pc = 0, ph = 0, pl = 0;
  roof(pre, pc, ph, pl);
  r.prefill_roofline = std::max({pc, ph, pl}) / hz;
  r.prefill_bound = bound_name(pc, ph, pl);
  StepSums dec;
  double dc_sum = 0, dh_sum = 0, dl_sum = 0, droof = 0;
  std::vector<StepSums> pts;
  std::vector<std::vector<double>> stage_pts;  // pipeline: stage times at each simulated context
  for (size_t i = 0; i < r.decode_contexts.size(); ++i) {
    pts.push_back(step(r.decode_embed[i], r.decode_layer[i], r.decode_head[i]));
    stage_pts.push_back(stages(r.decode_embed[i], r.decode_layer[i], r.decode_head[i], x_dec, x_back));
  }
  std::vector<double> last_stages;
  double stage_busy = 0;
  for (uint64_t s = 1; s <= r.decode_steps; ++s) {
    const auto [i, w] = bracket(r.decode_contexts, opt.prompt + s);
    const StepSums& a = pts[i];
    const StepSums& b = pts[std::min(i + 1, pts.size() - 1)];
    StepSums x;
    x.cycles = a.cycles + w * (b.cycles - a.cycles);
    x.useful_macs = a.useful_macs + w * (b.useful_macs - a.useful_macs);
    x.hbm = a.hbm + w * (b.hbm - a.hbm);
    x.min_hbm = a.min_hbm + w * (b.min_hbm - a.min_hbm);
    x.link = a.link + w * (b.link - a.link);
    if (pp > 1) {
      // md micro-batches of the step; the cycles are the pipeline's period.
      const std::vector<double>& sa = stage_pts[i];
      const std::vector<double>& sb = stage_pts[std::min(i + 1, pts.size() - 1)];
      last_stages.assign(sa.size(), 0);
      for (size_t k = 0; k < sa.size(); ++k) last_stages[k] = sa[k] + w * (sb[k] - sa[k]);
      stage_busy += double(md) * std::accumulate(last_stages.begin(), last_stages.end(), 0.0);
      x.cycles = pipeline_period(last_stages, md);
      x.link += double(pp - 1) * double(decode_x_bytes);
      x.useful_macs *= double(md);
      x.hbm *= double(md);
      x.min_hbm *= double(md);
      x.link *= double(md);
    }
    dec.cycles += x.cycles;
    dec.useful_macs += x.useful_macs;
    dec.hbm += x.hbm;
    dec.min_hbm += x.min_hbm;
    dec.link += x.link;
    double c = 0, h = 0, l = 0;
    roof(x, c, h, l);
    droof += std::max({c, h, l});
    dc_sum += c;
    dh_sum += h;
    dl_sum += l;
  }
  if (pp > 1 && !last_stages.empty()) {
    dec.cycles += pipeline_drain(last_stages, md);
    r.plan.decode_bubble = 1 - stage_busy / (double(pp) * dec.cycles);
  }
  r.decode_roofline = droof / hz;
  r.decode_bound = r.decode_steps ? bound_name(dc_sum, dh_sum, dl_sum) : "-";

  r.prefill_total = pre.cycles / hz;
  r.decode_total = dec.cycles / hz;
  r.tpot = r.decode_steps ? r.decode_total / double(r.decode_steps) : 0;
  r.total = r.prefill_total + r.decode_total;
  r.tokens_in_per_s = double(opt.batch * opt.prompt) / r.total;
  r.tokens_out_per_s = double(opt.batch * opt.gen) / r.total;
  r.tokens_total_per_s = r.tokens_in_per_s + r.tokens_out_per_s;
  const double hbm_peak = hw.hbm_bytes_per_cycle * pp;
  r.mac_utilisation = (pre.useful_macs + dec.useful_macs) / ((pre.cycles + dec.cycles) * peak_macs);
  r.hbm_utilisation = (pre.hbm + dec.hbm) / ((pre.cycles + dec.cycles) * hbm_peak);
  r.prefill_mac_utilisation = pre.useful_macs / (pre.cycles * peak_macs);
  r.prefill_hbm_utilisation = pre.hbm / (pre.cycles * hbm_peak);
  if (dec.cycles > 0) {
    r.decode_mac_utilisation = dec.useful_macs / (dec.cycles * peak_macs);
    r.decode_hbm_utilisation = dec.hbm / (dec.cycles * hbm_peak);
  }
  r.roofline_seconds = r.prefill_roofline + r.decode_roofline;
  r.roofline_fraction = r.roofline_seconds / r.total;

  // Time consumers: every phase of every segment over the request.
  auto add = [&](const std::string& stage, const std::string& segment, const SegmentRun& run, double times) {
    for (const PhaseRun& p : run.phases) {
      TimingReport::Consumer c;
      c.stage = stage;
      c.segment = segment;
      c.phase = p.name;
      c.seconds = double(p.cycles) * times / hz;
      c.mx_busy = p.mx_busy;
      c.vec_busy = p.vec_busy;
      c.dma_busy = p.dma_busy;
      r.consumers.push_back(c);
    }
  };
  // With a pipeline: busy time summed over the stages / pp, the mean stage's share.
  const double ps = double(r.prefill_steps) / pp;
  add("prefill", "embedding", r.prefill_embed, ps);
  const std::string layers_label = opt.exact ? "whole model" : "layer x " + std::to_string(m.num_layers);
  add("prefill", layers_label, r.prefill_layer, L * ps);
  add("prefill", "head", r.prefill_head, ps);
  if (r.decode_steps) {
    // Decode phases: each step's phase cycles interpolated like the step time; the busy
    // fractions shown are those of the middle simulated context.
    const size_t mid = r.decode_contexts.size() / 2;
    auto add_decode = [&](const std::string& segment, const std::vector<SegmentRun>& runs, double times) {
      const size_t n = runs[mid].phases.size();
      for (size_t k = 0; k < n; ++k) {
        double cycles = 0;
        for (uint64_t s = 1; s <= r.decode_steps; ++s) {
          const auto [i, w] = bracket(r.decode_contexts, opt.prompt + s);
          const size_t j = std::min(i + 1, runs.size() - 1);
          const auto at = [&](size_t q) {
            return k < runs[q].phases.size() ? double(runs[q].phases[k].cycles) : double(runs[mid].phases[k].cycles);
          };
          cycles += at(i) + w * (at(j) - at(i));
        }
        TimingReport::Consumer c;
        c.stage = "decode";
        c.segment = segment;
        c.phase = runs[mid].phases[k].name;
        c.seconds = cycles * times / hz;
        c.mx_busy = runs[mid].phases[k].mx_busy;
        c.vec_busy = runs[mid].phases[k].vec_busy;
        c.dma_busy = runs[mid].phases[k].dma_busy;
        r.consumers.push_back(c);
      }
    };
    const double mb = double(md) / pp;
    add_decode("embedding", r.decode_embed, mb);
    add_decode(layers_label, r.decode_layer, L * mb);
    add_decode("head", r.decode_head, mb);
  }
  std::stable_sort(r.consumers.begin(), r.consumers.end(),
                   [](const TimingReport::Consumer& a, const TimingReport::Consumer& b) { return a.seconds > b.seconds; });
  if (opt.cost) cost_request(r, arch, opt.tech);
  r.host_seconds = seconds_since(t0);
  return r;
}

}  // namespace tessera::driver
