#include "model/dram/stats.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <ostream>

namespace tessera::model::dram {

std::string_view cause_name(Cause c) {
  switch (c) {
    case Cause::NoRequest: return "no_request";
    case Cause::RCD: return "tRCD";
    case Cause::RP: return "tRP";
    case Cause::RAS: return "tRAS";
    case Cause::RC: return "tRC";
    case Cause::RTP: return "tRTP";
    case Cause::WR: return "tWR";
    case Cause::RRD: return "tRRD";
    case Cause::FAW: return "tFAW";
    case Cause::CCD_L: return "tCCD_L";
    case Cause::CCD_S: return "tCCD_S";
    case Cause::WTR: return "tWTR";
    case Cause::RTW: return "tRTW";
    case Cause::Refresh: return "refresh";
    case Cause::CommandBus: return "command_bus";
    case Cause::kCount: break;
  }
  return "?";
}

std::string_view cause_group(Cause c) {
  switch (c) {
    case Cause::RCD:
    case Cause::RP:
    case Cause::RAS:
    case Cause::RC:
    case Cause::RTP:
    case Cause::WR: return "row";
    case Cause::RRD:
    case Cause::FAW: return "activation_rate";
    case Cause::WTR:
    case Cause::RTW: return "turnaround";
    case Cause::Refresh: return "refresh";
    case Cause::CCD_L:
    case Cause::CCD_S: return "bank_group_spacing";
    case Cause::CommandBus: return "command_bus";
    case Cause::NoRequest:
    case Cause::kCount: break;
  }
  return "no_request";
}

void LatencyHistogram::add(uint64_t v) {
  if (count == 0 || v < min) min = v;
  if (v > max) max = v;
  ++count;
  sum += v;
  uint64_t i = v / bin_tck;
  if (i >= bins.size()) i = bins.size() - 1;
  ++bins[i];
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (count == 0) return 0;
  const uint64_t need = uint64_t(std::ceil(q * double(count)));
  uint64_t acc = 0;
  for (size_t i = 0; i + 1 < bins.size(); ++i) {
    acc += bins[i];
    if (acc >= need && acc > 0) return std::min<uint64_t>(max, (i + 1) * bin_tck - 1);
  }
  return max;
}

void Stats::write_json(std::ostream& os) const {
  using nlohmann::ordered_json;
  ordered_json j;
  j["dram_model"] = std::string(dram_model);
  if (dram_model != "burst") {
    j["estimated"] = "commands and rows (one ACT and PRE per row of data, one REFRESH per interval); "
                     "read_latency and the bus_cycles losses are not modelled";
  }
  j["window_tck"] = cycles;
  j["tck_fs"] = tck_fs;
  j["tburst_tck"] = tburst;
  j["burst_bytes"] = burst_bytes;
  j["pseudo_channels"] = pcs;
  j["peak_bytes_per_s"] = peak_bytes_per_s;
  j["bytes_per_s"] = bytes_per_s();
  j["peak_share"] = peak_share();
  j["bytes_read"] = bytes_read;
  j["bytes_written"] = bytes_written;
  ordered_json cmds;
  for (size_t c = 0; c < kCmdCount; ++c) cmds[cmd_name(Cmd(c))] = commands[c];
  j["commands"] = cmds;
  j["rows"] = {{"hits", row_hits}, {"misses", row_misses}, {"conflicts", row_conflicts}, {"hit_rate", row_hit_rate()}};
  ordered_json l;
  l["unit"] = "tCK";
  l["count"] = read_latency.count;
  l["min"] = read_latency.min;
  l["mean"] = read_latency.mean();
  l["p50"] = read_latency.percentile(0.50);
  l["p90"] = read_latency.percentile(0.90);
  l["p99"] = read_latency.percentile(0.99);
  l["max"] = read_latency.max;
  l["bin_tck"] = read_latency.bin_tck;
  ordered_json nz = ordered_json::array();  // non-empty bins only: [lower edge, count]
  for (size_t i = 0; i < read_latency.bins.size(); ++i) {
    if (read_latency.bins[i]) nz.push_back({uint64_t(i) * read_latency.bin_tck, read_latency.bins[i]});
  }
  l["bins"] = nz;
  j["read_latency"] = l;
  j["data_bus_utilisation"] = utilisation();
  j["channel_utilisation"] = channel_utilisation;
  ordered_json loss;
  loss["busy"] = {{"cycles", busy_cycles}, {"share", utilisation()}};
  for (size_t c = 0; c < kCauseCount; ++c) {
    loss[std::string(cause_name(Cause(c)))] = {{"group", std::string(cause_group(Cause(c)))},
                                                {"cycles", idle_cycles[c]},
                                                {"share", share(Cause(c))}};
  }
  j["bus_cycles"] = loss;
  os << j.dump(2) << '\n';
}

}  // namespace tessera::model::dram
