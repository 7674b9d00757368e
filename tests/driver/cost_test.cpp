// The cost of a request (driver/cost.cpp): counts that agree with what the model measured, one
// simulated layer's energy times the layer count against the whole program's counts priced
// independently, power bounded by its own definition, the renderers (JSON schema, CSV rows,
// HTML sections) and a missing or bad technology table.
#include "driver/cost.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "common/config/config.h"
#include "common/config/derived.h"
#include "common/tech/tech.h"
#include "driver/timing.h"
#include "model/core/model.h"
#include "ref/tiny_model.h"
#include "tests/driver/tiny_llama.h"
#include "tests/common/hf/test_util.h"

namespace tessera::driver {
namespace {

using test_models::tiny_llama;

TimingOptions small_request() {
  TimingOptions t;
  t.batch = 2;
  t.prompt = 24;
  t.gen = 9;
  return t;
}

uint64_t mac_sum(const tech::EnergyCounts& c) {
  uint64_t s = 0;
  for (const auto& row : c.macs)
    for (uint64_t v : row) s += v;
  return s;
}

TEST(DriverCost, CountsAgreeWithTheModelsOwnFigures) {
  const config::Arch tiny = config::load_arch("tiny");
  const TimingReport r = run_timing(tiny_llama(), *tiny, small_request());
  ASSERT_TRUE(r.cost.available) << r.cost.unavailable;
  for (const SegmentRun* s : {&r.prefill_embed, &r.prefill_layer, &r.prefill_head, &r.decode_layer[0]}) {
    SCOPED_TRACE(s->what);
    EXPECT_EQ(mac_sum(s->counts), s->macs);
    EXPECT_EQ((s->counts.dram_read_bytes + s->counts.dram_write_bytes) / r.tp, s->hbm_bytes);
    EXPECT_EQ(s->counts.instructions, s->instructions);
    EXPECT_GE(s->dynamic_j, 0.0);
  }
  // A layer runs softmax (exp: special), RMSNorm (sum of squares: fma) and residual adds.
  const tech::EnergyCounts& l = r.prefill_layer.counts;
  EXPECT_GT(l.vector_elements[size_t(tech::VectorClass::special)], 0u);
  EXPECT_GT(l.vector_elements[size_t(tech::VectorClass::fma)], 0u);
  EXPECT_GT(l.vector_elements[size_t(tech::VectorClass::add)], 0u);
  EXPECT_GT(l.l1.read, 0u);
  EXPECT_GT(l.accumulator.written, 0u);
  EXPECT_GT(l.dram_activates, 0u);
}

// The request's dynamic prefill energy (one layer x layer count) against the whole prefill
// program simulated and priced on its own.
TEST(DriverCost, LayerMultiplicationMatchesTheWholeProgramsEnergy) {
  const config::Arch tiny = config::load_arch("tiny");
  const hf::ModelConfig m = tiny_llama();
  TimingOptions t = small_request();
  t.gen = 2;
  t.decode_points = 1;
  const TimingReport r = run_timing(m, *tiny, t);
  ASSERT_TRUE(r.cost.available);
  compiler::CompileOptions o;
  o.phase = compiler::Phase::Prefill;
  o.batch = 2;
  o.context = 24;
  o.max_context = 26;
  const compiler::Compiled c = compiler::compile(m, *tiny, o);
  model::RunOptions ro;
  ro.dram = model::DramModel::Bandwidth;
  model::Simulation sim(*tiny, c.program, ro);
  sim.run();
  const model::Totals tot = sim.totals();
  tech::EnergyCounts whole;
  whole.macs = tot.macs_by_type;
  whole.accumulator = {tot.acc.read_bytes, tot.acc.write_bytes};
  whole.l1 = {tot.l1.read_bytes, tot.l1.write_bytes};
  whole.l2 = {tot.l2.read_bytes, tot.l2.write_bytes};
  whole.vector_elements = tot.vector_elements;
  whole.instructions = sim.instructions();
  whole.dram_activates = tot.dram_activates;
  // Refresh over the program's whole time, as docs/energy.md §5 charges it.
  whole.dram_refreshes = uint64_t(std::llround(double(config::dram_pseudo_channels_per_chip(*tiny)) *
                                               double(sim.cycles()) / r.core_hz /
                                               (double(tiny->dram.timing.trefi) * tiny->dram.timing.tck_ps * 1e-12)));
  whole.dram_read_bytes = tot.hbm_read;
  whole.dram_write_bytes = tot.hbm_written;
  const tech::EnergyReport e = tech::energy(whole, tech::prices(*tiny, *tech::tech_for(*tiny)));
  const size_t st = size_t(std::find(r.cost.components.begin(), r.cost.components.end(), "static") -
                           r.cost.components.begin());
  ASSERT_LT(st, r.cost.components.size());
  const double dynamic = r.cost.prefill_total_j - r.cost.prefill_j[st];
  std::printf("prefill dynamic energy: segments %.6g J, whole program %.6g J\n", dynamic, e.total_j);
  // Event counts add up exactly; the DRAM core's energy differs by the activates of partial rows
  // and the refreshes of the segments' time against the program's (within 5 %, LayerMultiplication).
  for (size_t i = 0; i < e.items.size(); ++i) {
    SCOPED_TRACE(e.items[i].component);
    std::printf("  %-16s segments %.6g J, whole program %.6g J\n", e.items[i].component.c_str(), r.cost.prefill_j[i],
                e.items[i].joules);
    if (i == st) continue;
    const double tol = e.items[i].component == "dram core" ? 0.05 : e.items[i].component == "instructions" ? 0.01 : 1e-9;
    EXPECT_NEAR(r.cost.prefill_j[i], e.items[i].joules, tol * e.items[i].joules);
  }
  EXPECT_NEAR(dynamic / e.total_j, 1.0, 0.03);
  const double L = double(r.layers);
  auto seg_sum = [&](uint64_t tech::EnergyCounts::*f) {
    return double(r.prefill_embed.counts.*f) + L * double(r.prefill_layer.counts.*f) + double(r.prefill_head.counts.*f);
  };
  std::printf("  DRAM activates: segments %.0f, whole %llu; refreshes: segments %.0f, whole %llu; cycles: segments "
              "%.0f, whole %llu\n",
              seg_sum(&tech::EnergyCounts::dram_activates), (unsigned long long)whole.dram_activates,
              seg_sum(&tech::EnergyCounts::dram_refreshes) + seg_sum(&tech::EnergyCounts::dram_bank_refreshes),
              (unsigned long long)(whole.dram_refreshes + whole.dram_bank_refreshes),
              double(r.prefill_embed.cycles) + L * double(r.prefill_layer.cycles) + double(r.prefill_head.cycles),
              (unsigned long long)sim.cycles());
  EXPECT_EQ(mac_sum(whole), tot.macs);
}

TEST(DriverCost, EnergyPowerAndTokensAreConsistent) {
  const config::Arch tiny = config::load_arch("tiny");
  const TimingReport r = run_timing(tiny_llama(), *tiny, small_request());
  const CostReport& c = r.cost;
  ASSERT_TRUE(c.available);
  ASSERT_EQ(c.components.size(), c.prefill_j.size());
  double sum = 0;
  for (size_t i = 0; i < c.components.size(); ++i) {
    EXPECT_GE(c.prefill_j[i], 0.0) << c.components[i];
    EXPECT_GE(c.decode_j[i], 0.0) << c.components[i];
    sum += c.prefill_j[i] + c.decode_j[i];
  }
  EXPECT_NEAR(sum / c.total_j, 1.0, 1e-12);
  EXPECT_NEAR(c.j_per_token * double(r.batch * (r.prompt + r.gen)) / c.total_j, 1.0, 1e-12);
  EXPECT_NEAR(c.tokens_per_j * c.j_per_token, 1.0, 1e-12);
  EXPECT_NEAR(c.avg_power_w_per_chip * r.total * double(r.chips) / c.total_j, 1.0, 1e-12);
  // The request is a positive combination of its segments, so its average power cannot exceed
  // the most power-hungry segment's.
  EXPECT_LE(c.avg_power_w_per_chip, c.peak_power_w_per_chip * (1 + 1e-12));
  EXPECT_GE(c.avg_power_w_per_chip, c.static_w_per_chip);
  EXPECT_FALSE(c.peak_window.empty());
  EXPECT_GT(c.area.die_mm2, 0.0);
  EXPECT_TRUE(c.tdp_note.empty());
}

TEST(DriverCost, TdpAboveWhatTheRunDrawsWarns) {
  const config::Arch tiny = config::load_arch("tiny", {"process.tdp_w=0.001"});
  const TimingReport r = run_timing(tiny_llama(), *tiny, small_request());
  EXPECT_NE(r.cost.tdp_note.find("process.tdp_w"), std::string::npos) << r.cost.tdp_note;
  EXPECT_NE(report_text(r).find("WARNING"), std::string::npos);
}

TEST(DriverCost, RenderersCarryTheCost) {
  const config::Arch tiny = config::load_arch("tiny");
  const TimingReport r = run_timing(tiny_llama(), *tiny, small_request());
  const std::string text = report_text(r);
  for (const char* want : {"energy per token", "average power per chip", "die area", "top energy consumers",
                           "area by component"})
    EXPECT_NE(text.find(want), std::string::npos) << want;
  const std::string json = report_json(r);
  EXPECT_EQ(json.find("{\n  \"schema\": \"tessera-run-report\",\n  \"version\": " +
                      std::to_string(kReportJsonVersion)),
            0u);
  for (const char* want : {"\"cost\"", "\"energy_by_component\"", "\"power_w_per_chip\"", "\"die_mm2\"",
                           "\"vector_elements\""})
    EXPECT_NE(json.find(want), std::string::npos) << want;
  const std::string csv = report_csv(r);
  const size_t rows = size_t(std::count(csv.begin(), csv.end(), '\n'));
  EXPECT_EQ(rows, 1 + 3 + 3 * r.decode_contexts.size() + r.consumers.size());
  EXPECT_EQ(csv.rfind("row,stage,segment,phase,", 0), 0u);
  const std::string html = report_html(r, "tessera run --arch tiny");
  for (const char* want : {"Roofline", "Energy", "Power", "Area", "Utilisation", "data-kind=\"timeline\""})
    EXPECT_NE(html.find(want), std::string::npos) << want;
}

TEST(DriverCost, MissingOrBadTechnologyTable) {
  const config::Arch odd = config::load_arch("tiny", {"process.node_nm=90"});
  const TimingReport r = run_timing(tiny_llama(), *odd, small_request());
  EXPECT_FALSE(r.cost.available);
  EXPECT_NE(r.cost.unavailable.find("90"), std::string::npos) << r.cost.unavailable;
  EXPECT_NE(report_text(r).find("energy, power, area"), std::string::npos);
  EXPECT_NE(report_json(r).find("\"available\": false"), std::string::npos);
  TimingOptions t = small_request();
  t.tech = "no-such-table";
  test::expect_input_error([&] { run_timing(tiny_llama(), *odd, t); }, {"no-such-table"});
}

}  // namespace
}  // namespace tessera::driver
