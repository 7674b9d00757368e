// Energy, power and area of a costed request. Dynamic energy is linear in the event counts, so
// a segment's energy is multiplied by the layer count and the prefill steps, and decode
// steps between simulated contexts are interpolated, exactly as the segment's cycles are
// (driver/timing.cpp); static energy is the static power of every chip over the request's time.
#include "driver/cost.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/config/derived.h"
#include "common/tech/tech.h"
#include "common/util/error.h"
#include "compiler/hw.h"
#include "driver/interpolate.h"

namespace tessera::driver {

namespace {

// Dynamic energy of one run of a segment, per component (the static item is zero: static
// power is charged over the request's time instead).
std::vector<double> joules(const SegmentRun& s, const tech::EnergyPrices& p) {
  tech::EnergyCounts dynamic = s.counts;
  dynamic.seconds = 0;
  const tech::EnergyReport e = tech::energy(dynamic, p);
  std::vector<double> v;
  for (const tech::EnergyItem& i : e.items) v.push_back(i.joules);
  return v;
}

void add_scaled(std::vector<double>& acc, const std::vector<double>& v, double times) {
  acc.resize(std::max(acc.size(), v.size()), 0.0);
  for (size_t i = 0; i < v.size(); ++i) acc[i] += times * v[i];
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

std::string seconds_text(double s) {
  char buf[64];
  if (s >= 1e-3)
    std::snprintf(buf, sizeof buf, "%.3f ms", s * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
  return buf;
}

}  // namespace

tech::EnergyCounts counts_of(const model::Totals& t, const config::ArchConfig& arch, uint32_t chips, double seconds) {
  tech::EnergyCounts c;
  c.macs = t.macs_by_type;
  c.accumulator = {t.acc.read_bytes, t.acc.write_bytes};
  c.l1 = {t.l1.read_bytes, t.l1.write_bytes};
  c.l2 = {t.l2.read_bytes, t.l2.write_bytes};
  c.vector_elements = t.vector_elements;
  c.instructions = t.instructions;
  c.dram_activates = t.dram_activates;
  const double trefi_s = double(arch.dram.timing.trefi) * arch.dram.timing.tck_ps * 1e-12;
  c.dram_refreshes = uint64_t(
      std::llround(double(config::dram_pseudo_channels_per_chip(arch)) * double(chips) * seconds / trefi_s));
  c.dram_bank_refreshes = 0;
  c.dram_read_bytes = t.hbm_read;
  c.dram_write_bytes = t.hbm_written;
  c.link_bytes = t.link_bytes;
  c.seconds = seconds;
  return c;
}

void cost_request(TimingReport& r, const config::ArchConfig& arch, const std::string& tech_name) {
  CostReport& c = r.cost;
  c = CostReport{};
  tech::Tech t;
  try {
    t = tech::tech_for(arch, tech_name);
  } catch (const InputError& e) {
    if (!tech_name.empty()) throw;
    c.unavailable = e.what();
    return;
  }
  c.available = true;
  c.tech = t->name;
  c.node_nm = int(t->node_nm);
  c.area = tech::area(arch, *t);
  if (auto v = tech::reticle_violation(c.area)) c.reticle_violation = *v;
  tech::EnergyPrices p = tech::prices(arch, *t);
  p.chips = r.chips;
  c.static_w_per_chip = p.static_w_per_chip;
  c.dram_commands_estimated = r.dram != "burst";
  for (const tech::EnergyItem& i : tech::energy(tech::EnergyCounts{}, p).items) c.components.push_back(i.component);
  const size_t static_index = size_t(std::find(c.components.begin(), c.components.end(), "static") - c.components.begin());

  // Segments are one tensor-parallel group; the replicas do the same work.
  const double L = double(r.layer_multiplier()), replicas = double(r.replicas);
  auto step = [&](const SegmentRun& e, const SegmentRun& l, const SegmentRun& h) {
    std::vector<double> v;
    add_scaled(v, joules(e, p), 1);
    add_scaled(v, joules(l, p), L);
    add_scaled(v, joules(h, p), 1);
    return v;
  };
  add_scaled(c.prefill_j, step(r.prefill_embed, r.prefill_layer, r.prefill_head), replicas * double(r.prefill_steps));
  c.decode_j.assign(c.prefill_j.size(), 0.0);
  // A decode step of a replica runs its decode micro-batches one after another (one simulated).
  const double md = double(r.plan.decode_micro_batches);
  const std::vector<double> w = decode_weights(r.decode_contexts, r.prompt, r.decode_steps);
  for (size_t i = 0; i < r.decode_contexts.size(); ++i)
    add_scaled(c.decode_j, step(r.decode_embed[i], r.decode_layer[i], r.decode_head[i]), replicas * md * w[i]);
  // Pipeline hand-overs are costed, not simulated: each of the pp - 1 stage boundaries, every
  // chip of the group sends its share of the micro-batch's activations over the links.
  if (r.plan.pp > 1) {
    const size_t links = size_t(std::find(c.components.begin(), c.components.end(), "links") - c.components.begin());
    const double boundaries = double(r.plan.pp - 1) * double(r.tp) * replicas;
    if (links < c.prefill_j.size()) {
      c.prefill_j[links] += p.link_pj_per_byte * 1e-12 * boundaries * double(r.prefill_steps) *
                            double(r.plan.prefill_handover_bytes);
      c.decode_j[links] += p.link_pj_per_byte * 1e-12 * boundaries * md * double(r.decode_steps) *
                           double(r.plan.decode_handover_bytes);
    }
  }
  const double chips = double(r.chips);
  if (static_index < c.prefill_j.size()) {
    c.prefill_j[static_index] = p.static_w_per_chip * chips * r.prefill_total;
    c.decode_j[static_index] = p.static_w_per_chip * chips * r.decode_total;
  }
  c.prefill_total_j = sum(c.prefill_j);
  c.decode_total_j = sum(c.decode_j);
  c.total_j = c.prefill_total_j + c.decode_total_j;

  const double in_tokens = double(r.batch * r.prompt), out_tokens = double(r.batch * r.decode_steps);
  c.j_per_input_token = c.prefill_total_j / in_tokens;
  c.j_per_output_token = out_tokens > 0 ? c.decode_total_j / out_tokens : 0;
  c.j_per_token = c.total_j / double(r.batch * (r.prompt + r.gen));
  c.tokens_per_j = c.total_j > 0 ? 1.0 / c.j_per_token : 0;
  c.avg_power_w_per_chip = c.total_j / r.total / chips;
  c.prefill_power_w_per_chip = c.prefill_total_j / r.prefill_total / chips;
  if (r.decode_total > 0) c.decode_power_w_per_chip = c.decode_total_j / r.decode_total / chips;

  // Peak: the simulated segment whose run has the highest average power per chip of its group.
  const double hz = r.core_hz, tp = double(r.tp);
  auto consider = [&](const SegmentRun& s) {
    if (!s.cycles) return;
    const double secs = double(s.cycles) / hz;
    const double watts = sum(joules(s, p)) / tp / secs + p.static_w_per_chip;
    if (watts > c.peak_power_w_per_chip) {
      c.peak_power_w_per_chip = watts;
      c.peak_window = s.what;
      c.peak_window_s = secs;
    }
  };
  for (const SegmentRun* s : r.segments()) consider(*s);
  if (!c.peak_window.empty()) c.peak_window += " (" + seconds_text(c.peak_window_s) + ")";

  c.tdp_w = arch.process.tdp_w;
  if (c.tdp_w > 0) {
    char buf[384];
    if (c.avg_power_w_per_chip > c.tdp_w) {
      std::snprintf(buf, sizeof buf, "average power %.1f W per chip exceeds process.tdp_w = %.1f W",
                    c.avg_power_w_per_chip, c.tdp_w);
      c.tdp_note = buf;
    } else if (c.peak_power_w_per_chip > c.tdp_w) {
      std::snprintf(buf, sizeof buf, "peak power %.1f W per chip (%s) exceeds process.tdp_w = %.1f W",
                    c.peak_power_w_per_chip, c.peak_window.c_str(), c.tdp_w);
      c.tdp_note = buf;
    }
  }
  const compiler::Hw hw = compiler::hw_of(arch);
  c.chip_peak_macs_per_s = hw.macs_per_cycle * hw.core_hz;
  c.chip_peak_hbm_bytes_per_s = hw.hbm_bytes_per_cycle * hw.core_hz;
  for (SegmentRun* s : r.segments()) s->dynamic_j = sum(joules(*s, p));
}

}  // namespace tessera::driver
