// The CSV renderer (`tessera run --csv`): one row per simulated segment and one per phase of the
// request, with a header, for pandas or a spreadsheet. Fixed formats (%.9g), so the same report
// gives the same bytes. docs/reports.md lists the columns.
#include <cstdio>

#include "driver/interpolate.h"
#include "driver/report.h"

namespace tessera::driver {

namespace {

std::string field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string report_csv(const TimingReport& r) {
  std::string o =
      "row,stage,segment,phase,runs,cycles_per_run,seconds,share_of_request,mac_busy,vec_busy,dma_busy,"
      "hbm_bytes_per_chip,macs,instructions,dynamic_energy_j\n";
  const double hz = r.core_hz, L = double(r.layer_multiplier());
  auto seg_row = [&](const char* stage, const SegmentRun& s, double runs) {
    const double secs = double(s.cycles) * runs / hz;
    o += "segment," + std::string(stage) + "," + field(s.what) + ",," + num(runs) + "," + num(double(s.cycles)) + "," +
         num(secs) + "," + num(secs / r.total) + ",,,," + num(double(s.hbm_bytes)) + "," + num(double(s.macs)) + "," +
         num(double(s.instructions)) + "," +
         (r.cost.available ? num(s.dynamic_j * runs * double(r.replicas)) : std::string()) + "\n";
  };
  const double ps = double(r.prefill_steps);
  seg_row("prefill", r.prefill_embed, ps);
  seg_row("prefill", r.prefill_layer, L * ps);
  seg_row("prefill", r.prefill_head, ps);
  const std::vector<double> w = decode_weights(r.decode_contexts, r.prompt, r.decode_steps);
  const double md = double(r.plan.decode_micro_batches);  // decode programs per step of a replica
  for (size_t i = 0; i < r.decode_contexts.size(); ++i) {
    seg_row("decode", r.decode_embed[i], md * w[i]);
    seg_row("decode", r.decode_layer[i], md * L * w[i]);
    seg_row("decode", r.decode_head[i], md * w[i]);
  }
  for (const TimingReport::Consumer& c : r.consumers)
    o += "phase," + c.stage + "," + field(c.segment) + "," + field(c.phase) + ",,," + num(c.seconds) + "," +
         num(c.seconds / r.total) + "," + num(c.mx_busy) + "," + num(c.vec_busy) + "," + num(c.dma_busy) + ",,,,\n";
  return o;
}

}  // namespace tessera::driver
