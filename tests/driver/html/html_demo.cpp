// html_demo OUT.html: writes a page with every chart kind of tessera_html (and one chart with no
// data), for the well-formedness and headless-Chromium tests and for people to look at. The data
// are made up but shaped like a run report and a sweep; they are computed, never random, so the
// page is the same on every run.
#include <cmath>
#include <cstdio>
#include <exception>

#include "driver/html/page.h"

namespace html = tessera::html;

namespace {

html::StackedBars energy_by_phase() {
  html::StackedBars c;
  c.title = "Energy by phase and component";
  c.value_label = "energy per request";
  c.unit = "mJ";
  c.orientation = html::Orientation::vertical;
  c.categories = {"prefill", "decode", "idle"};
  c.series = {{"matrix engine", {412.0, 96.5, 0}, ""},
              {"vector engine", {61.2, 22.8, 0}, ""},
              {"L1/L2 SRAM", {128.4, 71.0, 0}, ""},
              {"HBM", {88.1, 402.7, 0}, ""},
              {"links", {12.0, 30.3, 0}, ""},
              {"static", {35.5, 120.9, 18.2}, ""}};
  return c;
}

// Many long categories: the vertical chart turns its labels.
html::StackedBars energy_by_operation() {
  html::StackedBars c;
  c.title = "Decode energy per token by operation";
  c.value_label = "energy per token";
  c.unit = "µJ";
  c.orientation = html::Orientation::vertical;
  c.categories = {"QKV projection", "attention scores", "softmax", "attention x V", "output projection",
                  "gate/up projection", "SiLU and product", "down projection", "RMSNorm", "lm head"};
  html::BarSeries compute{"compute", {}, "#3d4f73"}, memory{"memory traffic", {}, "#d9b92b"};
  for (size_t i = 0; i < c.categories.size(); ++i) {
    compute.values.push_back(10 + 7.0 * static_cast<double>((i * 7) % 5));
    memory.values.push_back(25 + 11.0 * static_cast<double>((i * 3) % 4));
  }
  c.series = {compute, memory};
  return c;
}

html::StackedBars area_by_component() {
  html::StackedBars c;
  c.title = "Die area by component";
  c.value_label = "area";
  c.unit = "mm²";
  c.categories = {"sohu-like (4 nm)", "tpu-v1 (28 nm)"};
  c.series = {{"MAC arrays", {212.0, 80.0}, ""},  {"accumulators", {18.5, 19.0}, ""},
              {"SRAM", {164.2, 95.0}, ""},        {"vector engine", {31.0, 8.0}, ""},
              {"NoC", {22.4, 10.0}, ""},          {"HBM PHY + controllers", {96.0, 0}, ""},
              {"DDR3 interface", {0, 12.0}, ""},  {"link PHYs", {24.0, 6.0}, ""},
              {"overhead", {55.0, 30.0}, ""}};
  return c;
}

html::Roofline roofline() {
  html::Roofline c;
  c.title = "Roofline: each phase placed on it";
  c.compute = {{"FP8 peak", 2250}, {"BF16 peak", 1125}};
  c.bandwidth = {{"HBM", 4.8}, {"L2", 24}};
  c.points = {{"prefill", 410, 1480, "2048-token prompt, batch 64"},
              {"decode (batch 64)", 61, 271, "KV cache 9.3 GB"},
              {"decode (batch 8)", 7.9, 33.5, ""},
              {"attention", 24, 96, "softmax on the vector engine"},
              {"lm head", 120, 505, ""},
              {"failed probe", 0, 12, "not measurable: shown in the note"}};
  return c;
}

html::Timeline timeline() {
  html::Timeline c;
  c.title = "Utilisation over time";
  c.time_unit = "µs";
  c.start = 0;
  c.end = 1200;
  // Busy intervals: a layer every 100 us, the matrix engine busy most of it, DMA ahead of it.
  html::TimelineLane mat{"matrix engine", {}, {}}, vec{"vector engine", {}, {}}, dma{"DMA", {}, {}};
  for (int layer = 0; layer < 12; ++layer) {
    const double t = 100.0 * layer;
    mat.busy.push_back({t + 12, t + 78});
    mat.busy.push_back({t + 80, t + 92});
    vec.busy.push_back({t + 78, t + 86});
    vec.busy.push_back({t + 92, t + 99});
    for (int k = 0; k < 6; ++k) dma.busy.push_back({t + 14 * k, t + 14 * k + 9});
  }
  // Binned busy fractions: HBM bandwidth in use per 20 us bin.
  html::TimelineLane hbm{"HBM channels", {}, {}};
  for (int b = 0; b < 60; ++b) hbm.fractions.push_back(0.55 + 0.4 * std::sin(b * 0.52) * std::sin(b * 0.52));
  c.lanes = {mat, vec, dma, hbm};
  return c;
}

html::Scatter sweep() {
  html::Scatter c;
  c.title = "Sweep: throughput against area";
  c.x = {"die area", "mm²", false, html::Goal::minimise};
  c.y = {"throughput", "tokens/s", true, html::Goal::maximise};
  // A grid of array sizes and SRAM capacities, with a deterministic wobble.
  int n = 0;
  for (int rows = 64; rows <= 512; rows *= 2) {
    for (int sram = 64; sram <= 512; sram += 64) {
      ++n;
      const double area = 120 + rows * rows / 400.0 + sram * 0.9 + 37 * std::fabs(std::sin(n * 1.7));
      const double tps = 800 * std::sqrt(rows / 64.0) * std::log2(sram / 32.0) * (1 + 0.3 * std::sin(n * 2.3));
      html::ScatterPoint p;
      p.x = area;
      p.y = tps;
      p.label = "array " + std::to_string(rows) + "x" + std::to_string(rows) + ", SRAM " + std::to_string(sram) + " MB";
      p.details = {{"J/token", html::number(0.2 + area / 4000.0)}, {"power", html::number(area * 0.8) + " W"}};
      p.href = "points/" + std::to_string(n) + ".html";
      p.feasible = area <= 700;
      c.points.push_back(p);
    }
  }
  return c;
}

html::Table top_consumers() {
  html::Table t;
  t.caption = "Top consumers of time";
  t.columns = {{"unit", html::Align::left}, {"busy", html::Align::right}, {"share", html::Align::right}};
  t.rows = {{"matrix engine", "912.0 µs", "76.0 %"}, {"DMA <HBM->L2>", "648.0 µs", "54.0 %"}, {"vector engine", "180.0 µs", "15.0 %"}};
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: html_demo OUT.html\n");
    return 2;
  }
  try {
    html::Page page("Tessera report demo: every chart kind");
    page.subtitle("html_demo (made-up data shaped like a run report and a sweep)");
    page.section("Summary")
        .paragraph("Figures & charts below are drawn from fixed data; hover over a bar, point or lane for its values.")
        .key_values({{"time to first token", "212.4 ms"}, {"tokens/s", "11 840"}, {"J/token", "0.41"}});
    page.section("Energy").stacked_bars(energy_by_phase()).stacked_bars(energy_by_operation());
    page.section("Area").stacked_bars(area_by_component());
    page.section("Roofline").roofline(roofline());
    page.section("Utilisation").timeline(timeline()).table(top_consumers());
    page.section("Sweep").scatter(sweep());
    html::Roofline empty;
    empty.title = "A chart without data";
    page.section("No data").roofline(empty);
    page.write(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "html_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
