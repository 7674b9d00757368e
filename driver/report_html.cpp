// The HTML renderer (`tessera run --html`): one self-contained page (driver/html, inline SVG,
// no scripts) with the summary, the roofline with each stage and simulated segment placed on
// it, energy by component and stage, power, area by component, the utilisation timelines of
// the simulated layers and the time consumers. docs/reports.md, "Run report".
#include <algorithm>

#include "driver/html/page.h"
#include "driver/interpolate.h"
#include "driver/report.h"

namespace tessera::driver {

namespace {

namespace h = tessera::html;

std::string num(double v, int sig = 4) { return h::number(v, sig); }
std::string pct(double v) { return h::fixed(100 * v, 1) + " %"; }
std::string secs(double s) {
  if (s >= 1) return h::fixed(s, 3) + " s";
  if (s >= 1e-3) return h::fixed(s * 1e3, 3) + " ms";
  return h::fixed(s * 1e6, 3) + " us";
}
std::string joules(double j) {
  if (j >= 1e3) return h::fixed(j / 1e3, 3) + " kJ";
  if (j >= 1) return h::fixed(j, 3) + " J";
  if (j >= 1e-3) return h::fixed(j * 1e3, 3) + " mJ";
  return h::fixed(j * 1e6, 3) + " uJ";
}

// Useful MACs and HBM bytes per chip of a stage: its segments, multiplied and interpolated as
// the timing does.
struct Work {
  double useful_macs = 0, hbm_bytes = 0;
  // `tp` chips per group and `pp` stages: a segment's useful MACs are its group's, its bytes
  // per chip of the group, and a pipeline spreads the layers over pp groups.
  void add(const SegmentRun& s, double times, double tp, double pp) {
    useful_macs += times * double(s.useful_macs) / (tp * pp);
    hbm_bytes += times * double(s.hbm_bytes) / pp;
  }
};

void summary(const TimingReport& r, h::Page& page) {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"model", r.model},
      {"architecture", r.arch},
      {"chips", std::to_string(r.chips) + " = " + std::to_string(r.replicas) + " data-parallel replica(s) x " +
                    std::to_string(r.tp) + "-chip tensor-parallel group"},
      {"request", "batch " + std::to_string(r.batch) + ", prompt " + std::to_string(r.prompt) + " tokens, generate " +
                      std::to_string(r.gen) + " tokens, precision " + compiler::precision_name(r.precision)},
      {"time to first token", secs(r.ttft)},
      {"time per output token", r.decode_steps ? secs(r.tpot) : "-"},
      {"request time", secs(r.total)},
      {"tokens/s (input, output, total)",
       num(r.tokens_in_per_s) + ", " + num(r.tokens_out_per_s) + ", " + num(r.tokens_total_per_s)},
      {"MAC utilisation (request, prefill, decode)",
       pct(r.mac_utilisation) + ", " + pct(r.prefill_mac_utilisation) + ", " + pct(r.decode_mac_utilisation)},
      {"HBM bandwidth utilisation (request, prefill, decode)",
       pct(r.hbm_utilisation) + ", " + pct(r.prefill_hbm_utilisation) + ", " + pct(r.decode_hbm_utilisation)},
      {"roofline time / simulated time", pct(r.roofline_fraction)},
  };
  if (!r.overrides.empty()) {
    std::string list;
    for (const std::string& s : r.overrides) list += (list.empty() ? "" : ", ") + s;
    kv.insert(kv.begin() + 2, {"overrides", list});
  }
  const CostReport& c = r.cost;
  if (c.available) {
    kv.push_back({"energy (prefill, decode, request)",
                  joules(c.prefill_total_j) + ", " + joules(c.decode_total_j) + ", " + joules(c.total_j)});
    kv.push_back({"energy per token (input, output, all)", joules(c.j_per_input_token) + ", " +
                                                               joules(c.j_per_output_token) + ", " +
                                                               joules(c.j_per_token)});
    kv.push_back({"tokens per joule", num(c.tokens_per_j)});
    kv.push_back({"average power per chip", h::fixed(c.avg_power_w_per_chip, 1) + " W"});
    kv.push_back({"peak power per chip", h::fixed(c.peak_power_w_per_chip, 1) + " W in " + c.peak_window});
    kv.push_back({"die area per chip", h::fixed(c.area.die_mm2, 1) + " mm² (" + c.tech + ", reticle " +
                                           h::fixed(c.area.reticle_mm2, 0) + " mm²)"});
  } else {
    kv.push_back({"energy, power, area", "not available: " + c.unavailable});
  }
  h::Section& s = page.section("Summary");
  s.key_values(kv);
  if (!c.tdp_note.empty()) s.paragraph("Warning: " + c.tdp_note + ".");
  if (!c.reticle_violation.empty()) s.paragraph("Warning: " + c.reticle_violation);
}

void roofline(const TimingReport& r, h::Page& page) {
  const CostReport& c = r.cost;
  h::Section& s = page.section("Roofline");
  if (c.chip_peak_macs_per_s <= 0) {
    s.paragraph("No roofline: the peak rates come with the cost model, which is not available.");
    return;
  }
  s.paragraph("Per chip: attained useful throughput (2 FLOP per useful MAC) against arithmetic intensity (useful "
              "FLOP per byte moved to or from HBM). Stages sum their segments over the request; segments are one "
              "run of the simulated program.");
  h::Roofline rf;
  rf.title = "Roofline of " + r.arch + " (per chip)";
  rf.compute.push_back({"peak " + compiler::precision_name(r.precision), 2 * c.chip_peak_macs_per_s / 1e12});
  rf.bandwidth.push_back({"HBM", c.chip_peak_hbm_bytes_per_s / 1e12});
  const double tp = double(r.tp), pp = double(r.plan.pp), L = double(r.layer_multiplier()), hz = r.core_hz;
  const double md = double(r.plan.decode_micro_batches);
  auto point = [&](const std::string& label, const Work& w, double seconds, const std::string& detail) {
    if (w.hbm_bytes <= 0 || seconds <= 0 || w.useful_macs <= 0) return;
    rf.points.push_back({label, 2 * w.useful_macs / w.hbm_bytes, 2 * w.useful_macs / seconds / 1e12, detail});
  };
  Work pre;
  const double ps = double(r.prefill_steps);
  pre.add(r.prefill_embed, ps, tp, pp);
  pre.add(r.prefill_layer, L * ps, tp, pp);
  pre.add(r.prefill_head, ps, tp, pp);
  point("prefill", pre, r.prefill_total, r.prefill_bound + "-bound by the roofline");
  if (r.decode_steps) {
    Work dec;
    const std::vector<double> w = decode_weights(r.decode_contexts, r.prompt, r.decode_steps);
    for (size_t i = 0; i < r.decode_contexts.size(); ++i) {
      dec.add(r.decode_embed[i], md * w[i], tp, pp);
      dec.add(r.decode_layer[i], md * L * w[i], tp, pp);
      dec.add(r.decode_head[i], md * w[i], tp, pp);
    }
    point("decode", dec, r.decode_total, r.decode_bound + "-bound by the roofline");
  }
  auto seg = [&](const SegmentRun& x, const std::string& label) {
    Work w;
    w.add(x, 1, tp, 1);
    point(label, w, double(x.cycles) / hz, x.what);
  };
  seg(r.prefill_layer, "prefill layer");
  if (!r.decode_layer.empty()) seg(r.decode_layer[r.decode_layer.size() / 2], "decode layer");
  s.roofline(rf);
}

void energy(const TimingReport& r, h::Page& page) {
  const CostReport& c = r.cost;
  if (!c.available) return;
  h::Section& s = page.section("Energy");
  s.paragraph("Energy = sum over events of count x energy per event (docs/energy.md), from the event counts of the "
              "simulated segments, multiplied and interpolated like their cycles; static power of every chip over "
              "the request's time. Technology table " + c.tech + "." +
              (c.dram_commands_estimated ? " DRAM activates are estimates of the bandwidth DRAM model."
                                         : ""));
  h::StackedBars bars;
  bars.title = "Energy by stage and component (all chips)";
  bars.value_label = "energy";
  bars.unit = "J";
  bars.categories = {"prefill", "decode"};
  for (size_t i = 0; i < c.components.size(); ++i) {
    if (c.prefill_j[i] + c.decode_j[i] <= 0) continue;
    bars.series.push_back({c.components[i], {c.prefill_j[i], c.decode_j[i]}, ""});
  }
  s.stacked_bars(bars);
  h::Table t;
  t.caption = "Top energy consumers";
  t.columns = {{"component"}, {"energy", h::Align::right}, {"share", h::Align::right},
               {"prefill", h::Align::right}, {"decode", h::Align::right}};
  std::vector<size_t> idx(c.components.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto total = [&](size_t i) { return c.prefill_j[i] + c.decode_j[i]; };
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return total(a) > total(b); });
  for (size_t i : idx)
    t.rows.push_back({c.components[i], joules(total(i)), pct(c.total_j > 0 ? total(i) / c.total_j : 0),
                      joules(c.prefill_j[i]), joules(c.decode_j[i])});
  s.table(t);

  h::Section& pw = page.section("Power");
  std::vector<std::pair<std::string, std::string>> kv = {
      {"average per chip", h::fixed(c.avg_power_w_per_chip, 1) + " W"},
      {"prefill, decode per chip",
       h::fixed(c.prefill_power_w_per_chip, 1) + " W, " + h::fixed(c.decode_power_w_per_chip, 1) + " W"},
      {"peak per chip (worst simulated segment)", h::fixed(c.peak_power_w_per_chip, 1) + " W in " + c.peak_window},
      {"static per chip (leakage and baseline)", h::fixed(c.static_w_per_chip, 1) + " W"},
      {"process.tdp_w", c.tdp_w > 0 ? h::fixed(c.tdp_w, 1) + " W" : "not stated"},
  };
  pw.key_values(kv);
  if (!c.tdp_note.empty()) pw.paragraph("Warning: " + c.tdp_note + ".");
  h::Table seg;
  seg.caption = "Power of each simulated segment (per chip of its tensor-parallel group)";
  seg.columns = {{"segment"}, {"time", h::Align::right}, {"dynamic energy (group)", h::Align::right},
                 {"power per chip", h::Align::right}};
  auto row = [&](const SegmentRun& x) {
    if (!x.cycles) return;
    const double t = double(x.cycles) / r.core_hz;
    seg.rows.push_back({x.what, secs(t), joules(x.dynamic_j),
                        h::fixed(x.dynamic_j / double(r.tp) / t + c.static_w_per_chip, 1) + " W"});
  };
  for (const SegmentRun* x : r.segments()) row(*x);
  pw.table(seg);
}

void area(const TimingReport& r, h::Page& page) {
  const CostReport& c = r.cost;
  if (!c.available) return;
  h::Section& s = page.section("Area");
  s.paragraph("Area per chip at " + std::to_string(c.node_nm) + " nm (docs/area.md, \"Area model\"): die " +
              h::fixed(c.area.die_mm2, 1) + " mm², reticle " + h::fixed(c.area.reticle_mm2, 0) + " mm².");
  if (!c.reticle_violation.empty()) s.paragraph("Warning: " + c.reticle_violation);
  h::StackedBars bars;
  bars.title = "Die area by component";
  bars.value_label = "area";
  bars.unit = "mm²";
  bars.categories = {r.arch};
  for (const tech::AreaItem& a : c.area.items)
    if (a.mm2 > 0) bars.series.push_back({a.component, {a.mm2}, ""});
  s.stacked_bars(bars);
  h::Table t;
  t.caption = "Area by component";
  t.columns = {{"component"}, {"mm²", h::Align::right}, {"share", h::Align::right}, {"basis"}};
  for (const tech::AreaItem& a : c.area.items)
    t.rows.push_back({a.component, h::fixed(a.mm2, 2), pct(a.mm2 / c.area.die_mm2), a.basis});
  s.table(t);
}

void utilisation(const TimingReport& r, h::Page& page) {
  h::Section& s = page.section("Utilisation");
  s.paragraph("Busy fraction of every unit of chip 0 core 0 over one simulated layer, in " +
              std::to_string(kTimelineBins) + " equal bins (a unit is busy from an instruction's start to its end).");
  auto chart = [&](const SegmentRun& x) {
    h::Timeline tl;
    tl.title = x.what;
    tl.time_unit = "us";
    tl.start = 0;
    tl.end = double(x.cycles) / r.core_hz * 1e6;
    for (const UnitTimeline& u : x.timeline) tl.lanes.push_back({u.unit, {}, u.busy});
    s.timeline(tl);
  };
  chart(r.prefill_layer);
  if (!r.decode_layer.empty()) chart(r.decode_layer[r.decode_layer.size() / 2]);
}

void time_consumers(const TimingReport& r, h::Page& page) {
  h::Section& s = page.section("Time");
  h::Table t;
  t.caption = "Top time consumers (phases between barriers, over the request; busy fractions of chip 0 core 0)";
  t.columns = {{"stage"}, {"segment"}, {"phase"}, {"time", h::Align::right}, {"share", h::Align::right},
               {"MAC", h::Align::right}, {"vector", h::Align::right}, {"DMA", h::Align::right}};
  for (size_t i = 0; i < r.consumers.size() && i < 20; ++i) {
    const TimingReport::Consumer& c = r.consumers[i];
    t.rows.push_back({c.stage, c.segment, c.phase, secs(c.seconds), pct(c.seconds / r.total), pct(c.mx_busy),
                      pct(c.vec_busy), pct(c.dma_busy)});
  }
  s.table(t);
  h::Table g;
  g.caption = "Simulated segments (one run each)";
  g.columns = {{"segment"}, {"cycles", h::Align::right}, {"instructions", h::Align::right},
               {"HBM bytes per chip", h::Align::right}, {"MACs", h::Align::right}, {"note"}};
  auto row = [&](const SegmentRun& x) {
    g.rows.push_back({x.what, num(double(x.cycles), 7), num(double(x.instructions), 7), num(double(x.hbm_bytes), 4),
                      num(double(x.macs), 4), x.same_as.empty() ? "" : "same program as " + x.same_as});
  };
  for (const SegmentRun* x : r.segments()) row(*x);
  s.table(g);
  if (r.exact)
    s.paragraph("How the request was costed (--exact): whole-model programs of " + std::to_string(r.layers) +
                " layers simulated for the prefill and for every one of the " + std::to_string(r.decode_steps) +
                " decode steps; DRAM model: " + r.dram + ". docs/driver.md describes the method.");
  else
    s.paragraph("How the request was costed: embedding, one layer and head simulated; the layer multiplied by " +
                std::to_string(r.layers) + " layers; " + std::to_string(r.decode_steps_estimated) + " of " +
                std::to_string(r.decode_steps) +
                " decode steps interpolated linearly in the context length between the simulated contexts; DRAM "
                "model: " + r.dram + ". docs/driver.md describes the method.");
}

}  // namespace

std::string report_html(const TimingReport& r, const std::string& command) {
  h::Page page("tessera run: " + r.model + " on " + r.arch);
  if (!command.empty()) page.subtitle(command);
  summary(r, page);
  roofline(r, page);
  energy(r, page);
  area(r, page);
  utilisation(r, page);
  time_consumers(r, page);
  return page.render();
}

}  // namespace tessera::driver
