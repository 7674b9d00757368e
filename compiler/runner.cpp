#include "compiler/runner.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdarg>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "common/config/derived.h"
#include "common/util/error.h"
#include "compiler/hw.h"
#include "model/core/model.h"
#include <nlohmann/json.hpp>

namespace tessera::compiler {

namespace {

float f32_at(const std::vector<uint8_t>& b, size_t i) {
  float f;
  std::memcpy(&f, b.data() + 4 * i, 4);
  return f;
}
int32_t i32_at(const std::vector<uint8_t>& b, size_t i) {
  int32_t v;
  std::memcpy(&v, b.data() + 4 * i, 4);
  return v;
}

}  // namespace

FunctionalResult run_functional(const std::string& dir, const config::ArchConfig& arch, const FunctionalOptions& opt) {
  const hf::ModelConfig model = hf::load_model_config(dir);
  if (opt.prompt.empty()) throw InputError("--prompt: at least one token id is needed");
  if (opt.steps == 0) throw InputError("--steps: at least 1");
  if (!opt.forced.empty() && opt.forced.size() != opt.steps)
    throw InputError(std::to_string(opt.forced.size()) + " forced tokens for " + std::to_string(opt.steps) + " steps");
  const uint64_t P = opt.prompt.size();
  FunctionalResult res;
  std::vector<isa::DataSection> carried;
  int64_t next = 0;
  for (uint64_t s = 0; s < opt.steps; ++s) {
    CompileOptions co;
    co.batch = 1;
    co.chips = 0;
    co.tp = uint32_t(arch.system.chips);  // one tensor-parallel group over every chip
    co.max_context = P + opt.steps;
    co.precision = opt.precision;
    co.weights_dir = dir;
    if (s == 0) {
      co.phase = Phase::Prefill;
      co.context = P;
      co.tokens = {opt.prompt};
    } else {
      co.phase = Phase::Decode;
      co.context = P + s;
      co.tokens = {{next}};
    }
    co.carried_data = carried;
    const Compiled c = compile(model, arch, co);
    model::Simulation sim(arch, c.program, model::RunOptions{true});
    sim.run();
    res.cycles += sim.cycles();
    res.instructions += sim.instructions();
    // Logits of the (only) sequence, and the best (value, index) over every run and chip:
    // largest value, lowest vocabulary index on ties (the reference's argmax).
    std::vector<float> logits(model.vocab_size, 0.0f);
    float best_v = 0;
    int64_t best_i = -1;
    for (const ResultLocation& r : c.results) {
      const std::vector<uint8_t> lb = sim.read_memory(r.chip, 0, r.space, 0, r.addr, r.cols * 4);
      for (uint64_t j = 0; j < r.cols; ++j) logits[r.vocab_offset + j] = f32_at(lb, j);
      const uint64_t runs = r.top1_stride / 8;
      const std::vector<uint8_t> tb = sim.read_memory(r.chip, 0, r.space, 0, r.top1_addr, r.top1_stride);
      for (uint64_t k = 0; k < runs; ++k) {
        const float v = f32_at(tb, 2 * k);
        const int64_t i = int64_t(r.vocab_offset + uint64_t(k) * 32768 + uint64_t(i32_at(tb, 2 * k + 1)));
        if (std::isnan(v)) throw InputError("step " + std::to_string(s) + ": a logit is NaN");
        if (best_i < 0 || v > best_v || (v == best_v && i < best_i)) {
          best_v = v;
          best_i = i;
        }
      }
    }
    const int64_t token = opt.forced.empty() ? best_i : opt.forced[s];
    res.tokens.push_back(best_i);
    if (opt.keep_logits) res.logits.push_back(std::move(logits));
    next = token;
    carried.clear();
    for (const MemoryRegion& m : c.persistent) {
      isa::DataSection d;
      d.chip = m.chip;
      d.space = m.space;
      d.addr = m.addr;
      d.bytes = sim.read_memory(m.chip, 0, m.space, 0, m.addr, m.bytes);
      carried.push_back(std::move(d));
    }
  }
  return res;
}

}  // namespace tessera::compiler

// ---- timing ------------------------------------------------------------------------------

namespace tessera::compiler {

namespace {

// Sets the DRAM model when model::RunOptions has the choice (`dram`, DramModel::{Burst,
// Bandwidth}); returns the name of the model the simulation uses.
template <class O>
std::string set_dram(O& o, bool burst) {
  if constexpr (requires { o.dram = decltype(o.dram)::Bandwidth; }) {
    o.dram = burst ? decltype(o.dram)::Burst : decltype(o.dram)::Bandwidth;
    return burst ? "burst" : "bandwidth";
  } else {
    return "burst";
  }
}

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
  s.compiled = compile(m, arch, co);
  const Compiled& c = s.compiled;
  std::vector<uint8_t> key = isa::write_tbin(c.program);
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
  dram = set_dram(ro, opt.dram_burst);
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
  r.phases = phases_of(sim, c, hw_of(arch));
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

// Weights of context c between the simulated points (linear interpolation): index of the
// lower point and the weight of the upper one.
std::pair<size_t, double> bracket(const std::vector<uint64_t>& pts, uint64_t c) {
  if (pts.size() == 1 || c <= pts.front()) return {0, 0.0};
  for (size_t i = 0; i + 1 < pts.size(); ++i)
    if (c <= pts[i + 1]) return {i, double(c - pts[i]) / double(pts[i + 1] - pts[i])};
  return {pts.size() - 2, 1.0};
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
  const Hw hw = hw_of(arch);
  TimingReport r;
  r.model = m.source;
  r.arch = arch.name;
  r.opt = opt;
  r.layers = m.num_layers;
  r.core_hz = hw.core_hz;

  CompileOptions base;
  base.batch = opt.batch;
  base.max_context = opt.prompt + opt.gen;
  base.tp = opt.tp;
  base.chips = opt.chips;
  base.precision = opt.precision;
  auto seg = [&](Phase ph, uint64_t context, Segment::Kind k) {
    CompileOptions co = base;
    co.phase = ph;
    co.context = context;
    co.segment.kind = k;
    co.segment.layer = 0;
    return co;
  };
  SimCache cache;
  if (opt.verbose)
    std::fprintf(stderr, "tessera run: %s on %s, batch %llu, prompt %llu, gen %llu\n", m.source.c_str(),
                 arch.name.c_str(), (unsigned long long)opt.batch, (unsigned long long)opt.prompt,
                 (unsigned long long)opt.gen);

  // The parallelism and the memory check of the whole request (every sequence's KV cache).
  {
    // A decode step at the longest context: the same parallelism and memory check as the
    // prefill of the whole batch, without tiling batch x prompt rows.
    const Compiled whole = compile(m, arch, seg(Phase::Decode, opt.prompt + opt.gen, Segment::Embed));
    r.tp = whole.tp;
    r.replicas = whole.replicas;
    r.chips = whole.chips_used;
    r.batch_per_replica = whole.batch_per_replica;
    r.precision = whole.precision;
    base.tp = r.tp;
    base.precision = r.precision;
  }
  // Prefill: steps of prefill_batch sequences each.
  {
    const uint64_t bpr = r.batch_per_replica;
    uint64_t n = opt.prefill_batch;
    if (n) {
      if (bpr % n)
        throw InputError("--prefill-batch " + std::to_string(n) + " does not divide the " + std::to_string(bpr) +
                         " sequences of a replica");
    } else {
      const uint64_t want = (2048 + opt.prompt - 1) / opt.prompt;
      n = bpr;  // the smallest divisor of bpr with at least `want` sequences, else all
      for (uint64_t d = 1; d <= bpr; ++d)
        if (bpr % d == 0 && d >= want) {
          n = d;
          break;
        }
    }
    r.prefill_batch = n;
    r.prefill_steps = bpr / n;
    CompileOptions pb = base;
    pb.batch = n * r.replicas;
    auto pre = [&](Segment::Kind k) {
      CompileOptions co = pb;
      co.phase = Phase::Prefill;
      co.context = opt.prompt;
      co.segment.kind = k;
      return co;
    };
    r.prefill_embed = simulate(m, arch, pre(Segment::Embed), "prefill embedding", opt, r.dram, cache).run;
    r.prefill_layer = simulate(m, arch, pre(Segment::Layer), "prefill layer", opt, r.dram, cache).run;
    r.prefill_head = simulate(m, arch, pre(Segment::Head), "prefill head", opt, r.dram, cache).run;
  }
  // Decode: step s (1 .. gen - 1) feeds token s and leaves prompt + s tokens in the cache.
  r.decode_steps = opt.gen - 1;
  r.decode_contexts = decode_points(opt.prompt + 1, opt.prompt + opt.gen - 1, opt.decode_points);
  for (uint64_t c : r.decode_contexts) {
    const std::string at = " at context " + std::to_string(c);
    r.decode_embed.push_back(
        simulate(m, arch, seg(Phase::Decode, c, Segment::Embed), "decode embedding" + at, opt, r.dram, cache).run);
    r.decode_layer.push_back(
        simulate(m, arch, seg(Phase::Decode, c, Segment::Layer), "decode layer" + at, opt, r.dram, cache).run);
    r.decode_head.push_back(
        simulate(m, arch, seg(Phase::Decode, c, Segment::Head), "decode head" + at, opt, r.dram, cache).run);
  }
  r.decode_steps_simulated = r.decode_contexts.size();
  r.decode_steps_estimated = r.decode_steps - r.decode_steps_simulated;

  // A step: embedding + layers x layer + head.
  const double L = double(m.num_layers), hz = hw.core_hz;
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
  const double peak_macs = hw.macs_per_cycle * r.tp;  // per cycle, one TP group
  const double link_bpc = config::link_bytes_per_s_per_chip(arch) / hz;
  // Roofline terms of a step, in cycles.
  auto roof = [&](const StepSums& s, double& compute, double& hbm, double& links) {
    compute += s.useful_macs / peak_macs;
    hbm += s.min_hbm / hw.hbm_bytes_per_cycle;
    links += link_bpc > 0 ? s.link / link_bpc : 0;
  };
  StepSums pre = step(r.prefill_embed, r.prefill_layer, r.prefill_head);
  r.ttft = pre.cycles / hz;
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
  for (size_t i = 0; i < r.decode_contexts.size(); ++i)
    pts.push_back(step(r.decode_embed[i], r.decode_layer[i], r.decode_head[i]));
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
  r.decode_roofline = droof / hz;
  r.decode_bound = r.decode_steps ? bound_name(dc_sum, dh_sum, dl_sum) : "-";

  r.prefill_total = pre.cycles / hz;
  r.decode_total = dec.cycles / hz;
  r.tpot = r.decode_steps ? r.decode_total / double(r.decode_steps) : 0;
  r.total = r.prefill_total + r.decode_total;
  r.tokens_in_per_s = double(opt.batch * opt.prompt) / r.total;
  r.tokens_out_per_s = double(opt.batch * opt.gen) / r.total;
  r.tokens_total_per_s = r.tokens_in_per_s + r.tokens_out_per_s;
  const double hbm_peak = hw.hbm_bytes_per_cycle;
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
  const double ps = double(r.prefill_steps);
  add("prefill", "embedding", r.prefill_embed, ps);
  add("prefill", "layer x " + std::to_string(m.num_layers), r.prefill_layer, L * ps);
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
    add_decode("embedding", r.decode_embed, 1);
    add_decode("layer x " + std::to_string(m.num_layers), r.decode_layer, L);
    add_decode("head", r.decode_head, 1);
  }
  std::stable_sort(r.consumers.begin(), r.consumers.end(),
                   [](const TimingReport::Consumer& a, const TimingReport::Consumer& b) { return a.seconds > b.seconds; });
  r.host_seconds = seconds_since(t0);
  return r;
}

namespace {

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

std::string time_text(double s) {
  if (s >= 1) return fmt("%.3f s", s);
  if (s >= 1e-3) return fmt("%.3f ms", s * 1e3);
  return fmt("%.3f us", s * 1e6);
}

std::string count_text(double v) {
  // Thousands separated by commas, no fraction: deterministic and readable.
  std::string digits = fmt("%.0f", v), out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    out += digits[i];
    if (digits[i] != '-' && (n - 1 - i) % 3 == 0 && i + 1 < n) out += ',';
  }
  return out;
}

}  // namespace

std::string report_text(const TimingReport& r) {
  std::string o;
  const TimingOptions& p = r.opt;
  o += fmt("tessera run: %s on %s\n", r.model.c_str(), r.arch.c_str());
  o += fmt("  chips %u = %u data-parallel replica(s) x tensor-parallel group of %u chip(s)\n", r.chips, r.replicas,
           r.tp);
  o += fmt("  request: batch %llu (%llu per replica), prompt %llu tokens, generate %llu tokens; precision %s\n",
           (unsigned long long)p.batch, (unsigned long long)r.batch_per_replica, (unsigned long long)p.prompt,
           (unsigned long long)p.gen, precision_name(r.precision).c_str());
  o += "\n";
  if (r.prefill_steps > 1)
    o += fmt("  time to first token     %14s   (first prefill step, %llu sequence(s); the replica's last sequence: "
             "%s after %llu steps)\n",
             time_text(r.ttft).c_str(), (unsigned long long)r.prefill_batch, time_text(r.prefill_total).c_str(),
             (unsigned long long)r.prefill_steps);
  else
    o += fmt("  time to first token     %14s   (one prefill step of the replica's %llu sequence(s))\n",
             time_text(r.ttft).c_str(), (unsigned long long)r.prefill_batch);
  if (r.decode_steps)
    o += fmt("  time per output token   %14s   (mean of %llu decode steps)\n", time_text(r.tpot).c_str(),
             (unsigned long long)r.decode_steps);
  else
    o += "  time per output token                -   (one token: no decode step)\n";
  o += fmt("  request time            %14s   (prefill %s + decode %s)\n", time_text(r.total).c_str(),
           time_text(r.prefill_total).c_str(), time_text(r.decode_total).c_str());
  o += fmt("  tokens/s  input %s   output %s   total %s   (over all %u chips)\n",
           count_text(r.tokens_in_per_s).c_str(), count_text(r.tokens_out_per_s).c_str(),
           count_text(r.tokens_total_per_s).c_str(), r.chips);
  o += fmt("  MAC utilisation         %13.1f %%   (prefill %.1f %%, decode %.1f %%; useful MACs / peak)\n",
           100 * r.mac_utilisation, 100 * r.prefill_mac_utilisation, 100 * r.decode_mac_utilisation);
  o += fmt("  HBM bandwidth util.     %13.1f %%   (prefill %.1f %%, decode %.1f %%; bytes moved / peak)\n",
           100 * r.hbm_utilisation, 100 * r.prefill_hbm_utilisation, 100 * r.decode_hbm_utilisation);
  const std::string decode_roof =
      r.decode_steps ? "decode " + time_text(r.decode_roofline) + ", " + r.decode_bound + "-bound" : "no decode";
  o += fmt("  roofline                %14s   (prefill %s, %s-bound; %s)\n", time_text(r.roofline_seconds).c_str(),
           time_text(r.prefill_roofline).c_str(), r.prefill_bound.c_str(), decode_roof.c_str());
  o += fmt("  achieved fraction       %13.1f %%   of the roofline\n", 100 * r.roofline_fraction);
  o += "\n  how the request was costed:\n";
  o += fmt("    simulated:    prefill embedding, layer 0 and head; decode embedding, layer 0 and head at context(s)");
  for (size_t i = 0; i < r.decode_contexts.size(); ++i)
    o += fmt("%s %llu", i ? "," : "", (unsigned long long)r.decode_contexts[i]);
  if (r.decode_contexts.empty()) o += " (none)";
  o += "\n";
  {
    std::string reused;
    size_t n = 0;
    auto note = [&](const SegmentRun& s) {
      if (s.same_as.empty()) return;
      reused += (n++ ? "; " : "") + s.what + " = " + s.same_as;
    };
    note(r.prefill_embed);
    note(r.prefill_layer);
    note(r.prefill_head);
    for (size_t i = 0; i < r.decode_contexts.size(); ++i) {
      note(r.decode_embed[i]);
      note(r.decode_layer[i]);
      note(r.decode_head[i]);
    }
    if (n) o += "    reused:       identical programs, result reused (exact): " + reused + "\n";
  }
  o += fmt("    multiplied:   layer time x %llu layers (every layer runs the same instructions on its own weights and KV "
           "pages at DRAM-period-aligned addresses; each simulated segment starts with empty queues)\n",
           (unsigned long long)r.layers);
  if (r.prefill_steps > 1)
    o += fmt("    multiplied:   prefill step x %llu (each step prefills %llu sequence(s) with the same instructions on "
             "other KV pages)\n",
             (unsigned long long)r.prefill_steps, (unsigned long long)r.prefill_batch);
  if (r.decode_steps_estimated)
    o += fmt("    estimated:    %llu of %llu decode steps, linearly interpolated in the context length between the "
             "simulated contexts\n",
             (unsigned long long)r.decode_steps_estimated, (unsigned long long)r.decode_steps);
  if (r.replicas > 1)
    o += fmt("    replicated:   %u data-parallel replicas; one tensor-parallel group simulated (replicas share no "
             "resource, so throughput adds exactly)\n",
             r.replicas);
  if (r.dram == "bandwidth")
    o += "    DRAM:         bandwidth model (per pseudo-channel peak rate and latency, not burst-exact; --dram burst "
         "for the burst-level HBM model)\n";
  else
    o += "    DRAM:         burst-level HBM model (banks, timing constraints, refresh)\n";
  o += "\n  simulated segments (cycles per run):\n";
  auto seg_line = [&](const SegmentRun& s) {
    o += fmt("    %-36s %14s cycles %12s instructions  HBM %s B/chip  MACs %s%s\n", s.what.c_str(),
             count_text(double(s.cycles)).c_str(), count_text(double(s.instructions)).c_str(),
             count_text(double(s.hbm_bytes)).c_str(), count_text(double(s.macs)).c_str(),
             s.same_as.empty() ? "" : "  (reused)");
  };
  seg_line(r.prefill_embed);
  seg_line(r.prefill_layer);
  seg_line(r.prefill_head);
  for (size_t i = 0; i < r.decode_contexts.size(); ++i) {
    seg_line(r.decode_embed[i]);
    seg_line(r.decode_layer[i]);
    seg_line(r.decode_head[i]);
  }
  o += "\n  top time consumers (phases between barriers, over the request; busy fractions of chip 0 core 0):\n";
  o += fmt("    %-8s %-14s %-18s %12s %7s %6s %6s %6s\n", "stage", "segment", "phase", "time", "share", "MAC", "vec",
           "DMA");
  const size_t n = std::min<size_t>(r.consumers.size(), 12);
  for (size_t i = 0; i < n; ++i) {
    const TimingReport::Consumer& c = r.consumers[i];
    o += fmt("    %-8s %-14s %-18s %12s %6.1f%% %5.1f%% %5.1f%% %5.1f%%\n", c.stage.c_str(), c.segment.c_str(),
             c.phase.c_str(), time_text(c.seconds).c_str(), 100 * c.seconds / r.total, 100 * c.mx_busy,
             100 * c.vec_busy, 100 * c.dma_busy);
  }
  return o;
}

std::string report_json(const TimingReport& r) {
  using Json = nlohmann::ordered_json;
  Json j;
  j["model"] = r.model;
  j["arch"] = r.arch;
  j["chips"] = r.chips;
  j["tp"] = r.tp;
  j["replicas"] = r.replicas;
  j["batch"] = r.opt.batch;
  j["batch_per_replica"] = r.batch_per_replica;
  j["prompt"] = r.opt.prompt;
  j["gen"] = r.opt.gen;
  j["precision"] = precision_name(r.precision);
  j["dram_model"] = r.dram;
  j["layers_multiplied"] = r.layers;
  j["decode_steps"] = r.decode_steps;
  j["decode_steps_simulated"] = r.decode_steps_simulated;
  j["decode_steps_estimated"] = r.decode_steps_estimated;
  j["decode_contexts_simulated"] = r.decode_contexts;
  j["prefill_batch"] = r.prefill_batch;
  j["prefill_steps"] = r.prefill_steps;
  j["ttft_s"] = r.ttft;
  j["prefill_s"] = r.prefill_total;
  j["decode_s"] = r.decode_total;
  j["tpot_s"] = r.tpot;
  j["request_s"] = r.total;
  j["tokens_per_s"] = {{"input", r.tokens_in_per_s}, {"output", r.tokens_out_per_s}, {"total", r.tokens_total_per_s}};
  j["mac_utilisation"] = {
      {"request", r.mac_utilisation}, {"prefill", r.prefill_mac_utilisation}, {"decode", r.decode_mac_utilisation}};
  j["hbm_utilisation"] = {
      {"request", r.hbm_utilisation}, {"prefill", r.prefill_hbm_utilisation}, {"decode", r.decode_hbm_utilisation}};
  j["roofline"] = {{"seconds", r.roofline_seconds},  {"prefill_s", r.prefill_roofline},
                   {"prefill_bound", r.prefill_bound}, {"decode_s", r.decode_roofline},
                   {"decode_bound", r.decode_bound},   {"achieved_fraction", r.roofline_fraction}};
  auto seg = [](const SegmentRun& s) {
    Json p = Json::array();
    for (const PhaseRun& x : s.phases)
      p.push_back({{"name", x.name}, {"cycles", x.cycles}, {"mx_busy", x.mx_busy}, {"vec_busy", x.vec_busy},
                   {"dma_busy", x.dma_busy}});
    return Json{{"what", s.what},
                {"same_as", s.same_as},
                {"cycles", s.cycles},
                {"instructions", s.instructions},
                {"macs", s.macs},
                {"useful_macs", s.useful_macs},
                {"hbm_bytes_per_chip", s.hbm_bytes},
                {"min_hbm_bytes_per_chip", s.min_hbm_bytes},
                {"link_bytes_per_chip", s.link_bytes},
                {"phases", p}};
  };
  Json segs = Json::array();
  segs.push_back(seg(r.prefill_embed));
  segs.push_back(seg(r.prefill_layer));
  segs.push_back(seg(r.prefill_head));
  for (size_t i = 0; i < r.decode_contexts.size(); ++i) {
    segs.push_back(seg(r.decode_embed[i]));
    segs.push_back(seg(r.decode_layer[i]));
    segs.push_back(seg(r.decode_head[i]));
  }
  j["simulated"] = segs;
  Json cons = Json::array();
  for (const TimingReport::Consumer& c : r.consumers)
    cons.push_back({{"stage", c.stage},
                    {"segment", c.segment},
                    {"phase", c.phase},
                    {"seconds", c.seconds},
                    {"mx_busy", c.mx_busy},
                    {"vec_busy", c.vec_busy},
                    {"dma_busy", c.dma_busy}});
  j["consumers"] = cons;
  return j.dump(2) + "\n";
}

}  // namespace tessera::compiler
