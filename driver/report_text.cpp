// The text renderer: the summary `tessera run` prints. Fixed printf formats, so the same
// report gives the same bytes (tests compare two runs; docs quote it).
#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "driver/report.h"

namespace tessera::driver {

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

std::string energy_text(double j) {
  const double a = j < 0 ? -j : j;
  if (a >= 1e3) return fmt("%.3f kJ", j / 1e3);
  if (a >= 1) return fmt("%.3f J", j);
  if (a >= 1e-3) return fmt("%.3f mJ", j * 1e3);
  return fmt("%.3f uJ", j * 1e6);
}

// Energy, power and area lines of the summary.
void cost_text(const TimingReport& r, std::string& o) {
  const CostReport& c = r.cost;
  if (!c.available) {
    if (!c.unavailable.empty()) o += "  energy, power, area      -   (" + c.unavailable + ")\n";
    return;
  }
  o += fmt("  energy                  %14s   (prefill %s, decode %s; technology table %s)\n",
           energy_text(c.total_j).c_str(), energy_text(c.prefill_total_j).c_str(),
           energy_text(c.decode_total_j).c_str(), c.tech.c_str());
  o += fmt("  energy per token        %14s   (per input token %s, per output token %s; %.2f tokens/J)\n",
           energy_text(c.j_per_token).c_str(), energy_text(c.j_per_input_token).c_str(),
           energy_text(c.j_per_output_token).c_str(), c.tokens_per_j);
  o += fmt("  average power per chip  %12.1f W   (prefill %.1f W, decode %.1f W; static %.1f W)\n",
           c.avg_power_w_per_chip, c.prefill_power_w_per_chip, c.decode_power_w_per_chip, c.static_w_per_chip);
  o += fmt("  peak power per chip     %12.1f W   (%s)\n", c.peak_power_w_per_chip, c.peak_window.c_str());
  if (c.tdp_w > 0)
    o += c.tdp_note.empty() ? fmt("  TDP                     %12.1f W   (average and peak within it)\n", c.tdp_w)
                            : fmt("  TDP                     %12.1f W   WARNING: %s\n", c.tdp_w, c.tdp_note.c_str());
  o += fmt("  die area                %10s mm2   (per chip, %d nm; reticle %.0f mm2)\n",
           count_text(c.area.die_mm2).c_str(), c.node_nm, c.area.reticle_mm2);
  if (!c.reticle_violation.empty()) o += "  WARNING: " + c.reticle_violation + "\n";
}

// The energy and area tables under the summary.
void cost_tables(const TimingReport& r, std::string& o) {
  const CostReport& c = r.cost;
  if (!c.available) return;
  std::vector<size_t> idx(c.components.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto total = [&](size_t i) { return c.prefill_j[i] + c.decode_j[i]; };
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return total(a) > total(b); });
  o += "\n  top energy consumers (whole request, all chips";
  o += c.dram_commands_estimated ? "; DRAM activates estimated by the bandwidth model):\n" : "):\n";
  o += fmt("    %-18s %14s %7s %14s %14s\n", "component", "energy", "share", "prefill", "decode");
  for (size_t i : idx) {
    if (total(i) <= 0) continue;
    o += fmt("    %-18s %14s %6.1f%% %14s %14s\n", c.components[i].c_str(), energy_text(total(i)).c_str(),
             100 * total(i) / c.total_j, energy_text(c.prefill_j[i]).c_str(), energy_text(c.decode_j[i]).c_str());
  }
  o += fmt("\n  area by component (per chip, %s; docs/area.md):\n", c.tech.c_str());
  for (const tech::AreaItem& a : c.area.items)
    o += fmt("    %-22s %10.1f mm2 %6.1f%%   %s\n", a.component.c_str(), a.mm2, 100 * a.mm2 / c.area.die_mm2,
             a.basis.c_str());
}

// The parallelism plan: how it was chosen, the pipeline's costs, the plans the planner
// compared with their predicted figures.
std::string plan_text(const TimingReport& r) {
  const TimingReport::PlanInfo& p = r.plan;
  if (p.pp == 1 && !p.predicted) return "";
  std::string o = fmt("  plan dp=%u,tp=%u,pp=%u (%s)", p.dp, p.tp, p.pp, p.source.c_str());
  if (p.pp > 1)
    o += fmt(": prefill in %llu micro-batch(es) per replica, decode steps in %llu micro-batch(es)",
             (unsigned long long)p.prefill_micro_batches, (unsigned long long)p.decode_micro_batches);
  o += "\n";
  if (p.pp > 1)
    o += fmt("    stage hand-over %s (prefill) / %s (decode) per micro-batch, from link bandwidth and latency (not "
             "simulated); stages idle %.1f %% of prefill, %.1f %% of decode\n",
             time_text(p.prefill_transfer).c_str(), time_text(p.decode_transfer).c_str(), 100 * p.prefill_bubble,
             100 * p.decode_bubble);
  o += plans_text(r);
  return o;
}

}  // namespace

std::string plans_text(const TimingReport& r) {
  const TimingReport::PlanInfo& p = r.plan;
  std::string o;
  if (!p.predicted || p.candidates.empty()) return o;
  o += "    plans compared (cost model prediction, not simulated):\n";
  o += fmt("      %-18s %8s %14s %12s %12s %12s\n", "plan", "batch", "tokens/s", "TTFT", "TPOT", "request");
  size_t shown = 0;
  for (const TimingReport::PlanCandidate& c : p.candidates) {
    const std::string name = fmt("dp=%u,tp=%u,pp=%u", c.dp, c.tp, c.pp);
    const bool chosen = c.dp == p.chosen.dp && c.tp == p.chosen.tp && c.pp == p.chosen.pp;
    if (c.feasible) {
      if (shown++ >= 6 && !chosen) continue;
      o += fmt("    %s %-18s %8llu %14s %12s %12s %12s\n", chosen ? "*" : " ", name.c_str(),
               (unsigned long long)c.batch, count_text(c.tokens_per_s).c_str(), time_text(c.ttft).c_str(),
               time_text(c.tpot).c_str(), time_text(c.total).c_str());
    } else {
      o += fmt("      %-18s not possible: %s\n", name.c_str(), c.why.c_str());
    }
  }
  return o;
}

std::string report_text(const TimingReport& r) {
  std::string o;
  o += fmt("tessera run: %s on %s\n", r.model.c_str(), r.arch.c_str());
  if (!r.overrides.empty()) {
    std::string list;
    for (const std::string& s : r.overrides) list += (list.empty() ? "" : ", ") + s;
    o += "  overrides: " + list + "\n";
  }
  if (r.plan.pp > 1)
    o += fmt("  chips %u = %u data-parallel replica(s) x pipeline of %u stages (%llu layers each) x tensor-parallel "
             "group of %u chip(s)\n",
             r.chips, r.replicas, r.plan.pp, (unsigned long long)r.plan.stage_layers, r.tp);
  else
    o += fmt("  chips %u = %u data-parallel replica(s) x tensor-parallel group of %u chip(s)\n", r.chips, r.replicas,
             r.tp);
  o += plan_text(r);
  o += fmt("  request: batch %llu (%llu per replica), prompt %llu tokens, generate %llu tokens; precision %s\n",
           (unsigned long long)r.batch, (unsigned long long)r.batch_per_replica, (unsigned long long)r.prompt,
           (unsigned long long)r.gen, compiler::precision_name(r.precision).c_str());
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
  if (r.moe.experts && r.decode_steps) {
    const TimingReport::MoeInfo& x = r.moe;
    o += fmt("  expert weights/step     %12s B   (per chip, decode: %.2f distinct of %u experts per layer for %llu "
             "token(s), top-%u, routing %s; the simulated layer loads %u: %s B; every expert: %s B)\n",
             count_text(x.decode_expert_bytes).c_str(), x.decode_routed, x.experts,
             (unsigned long long)x.decode_rows, x.top_k, x.routing.c_str(), x.decode_simulated,
             count_text(x.decode_expert_bytes_simulated).c_str(), count_text(x.decode_expert_bytes_dense).c_str());
  }
  cost_text(r, o);
  o += "\n  how the request was costed:\n";
  o += r.exact ? fmt("    simulated:    the whole model for the prefill and for the decode step at context(s)")
               : fmt("    simulated:    prefill embedding, layer 0 and head; decode embedding, layer 0 and head at context(s)");
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
    for (const SegmentRun* s : r.segments()) note(*s);
    if (n) o += "    reused:       identical programs, result reused (exact): " + reused + "\n";
  }
  if (r.exact)
    o += fmt("    exact:        every layer (whole-model programs of %llu layers) and every decode step simulated\n",
             (unsigned long long)r.layers);
  else
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
  if (r.plan.pp > 1)
    o += fmt("    pipelined:    %u stages of %llu layers, each runs the simulated segments; stage times combined by the "
             "pipeline formula over the micro-batches (fill and drain included); hand-over of the activations costed "
             "from link bandwidth and latency\n",
             r.plan.pp, (unsigned long long)r.plan.stage_layers);
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
  for (const SegmentRun* s : r.segments()) seg_line(*s);
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
  cost_tables(r, o);
  return o;
}

}  // namespace tessera::driver
