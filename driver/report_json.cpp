// The JSON renderer (`tessera run --json`): keys in a fixed order (ordered_json), so two
// reports of the same request are byte-identical and reports of different requests diff cleanly.
#include <nlohmann/json.hpp>

#include "driver/report.h"

namespace tessera::driver {

namespace {

using Json = nlohmann::ordered_json;

Json counts_json(const tech::EnergyCounts& c) {
  static const char* const kTypes[] = {"int8", "fp8_e4m3", "fp8_e5m2", "bf16"};
  Json macs = Json::object();
  for (size_t a = 0; a < 4; ++a)
    for (size_t b = 0; b < 4; ++b)
      if (c.macs[a][b]) macs[std::string(kTypes[a]) + "x" + kTypes[b]] = c.macs[a][b];
  Json vec = Json::object();
  for (size_t k = 0; k < tech::kVectorClasses; ++k) vec[tech::to_string(tech::VectorClass(k))] = c.vector_elements[k];
  auto sram = [](const tech::SramBytes& s) { return Json{{"read_bytes", s.read}, {"written_bytes", s.written}}; };
  return Json{{"macs", macs},
              {"vector_elements", vec},
              {"accumulator", sram(c.accumulator)},
              {"l1", sram(c.l1)},
              {"l2", sram(c.l2)},
              {"instructions", c.instructions},
              {"dram", {{"activates", c.dram_activates},
                        {"all_bank_refreshes", c.dram_refreshes},
                        {"per_bank_refreshes", c.dram_bank_refreshes},
                        {"read_bytes", c.dram_read_bytes},
                        {"written_bytes", c.dram_write_bytes}}},
              {"link_bytes", c.link_bytes}};
}

Json cost_json(const CostReport& c) {
  if (!c.available) return Json{{"available", false}, {"reason", c.unavailable}};
  Json energy = Json::array();
  for (size_t i = 0; i < c.components.size(); ++i)
    energy.push_back({{"component", c.components[i]},
                      {"prefill_j", c.prefill_j[i]},
                      {"decode_j", c.decode_j[i]},
                      {"total_j", c.prefill_j[i] + c.decode_j[i]}});
  Json area = Json::array();
  for (const tech::AreaItem& a : c.area.items)
    area.push_back({{"component", a.component}, {"mm2", a.mm2}, {"basis", a.basis}});
  return Json{{"available", true},
              {"tech", c.tech},
              {"node_nm", c.node_nm},
              {"energy_j", {{"prefill", c.prefill_total_j}, {"decode", c.decode_total_j}, {"total", c.total_j}}},
              {"j_per_token", {{"input", c.j_per_input_token}, {"output", c.j_per_output_token}, {"all", c.j_per_token}}},
              {"tokens_per_j", c.tokens_per_j},
              {"dram_commands_estimated", c.dram_commands_estimated},
              {"energy_by_component", energy},
              {"power_w_per_chip",
               {{"average", c.avg_power_w_per_chip},
                {"prefill", c.prefill_power_w_per_chip},
                {"decode", c.decode_power_w_per_chip},
                {"static", c.static_w_per_chip},
                {"peak", c.peak_power_w_per_chip},
                {"peak_window", c.peak_window},
                {"peak_window_s", c.peak_window_s},
                {"tdp", c.tdp_w},
                {"tdp_exceeded", c.tdp_note}}},
              {"area",
               {{"die_mm2", c.area.die_mm2},
                {"reticle_mm2", c.area.reticle_mm2},
                {"reticle_exceeded", c.reticle_violation},
                {"components", area}}}};
}

}  // namespace

std::string report_json(const TimingReport& r) {
  Json j;
  j["schema"] = "tessera-run-report";
  j["version"] = kReportJsonVersion;
  j["model"] = r.model;
  j["arch"] = r.arch;
  if (!r.overrides.empty()) j["overrides"] = r.overrides;
  j["chips"] = r.chips;
  j["tp"] = r.tp;
  j["replicas"] = r.replicas;
  j["batch"] = r.batch;
  j["batch_per_replica"] = r.batch_per_replica;
  j["prompt"] = r.prompt;
  j["gen"] = r.gen;
  j["precision"] = compiler::precision_name(r.precision);
  j["dram_model"] = r.dram;
  j["layers_multiplied"] = r.layer_multiplier();
  j["exact"] = r.exact;
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
                {"counts", counts_json(s.counts)},
                {"phases", p}};
  };
  Json segs = Json::array();
  for (const SegmentRun* s : r.segments()) segs.push_back(seg(*s));
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
  j["cost"] = cost_json(r.cost);
  {
    const TimingReport::PlanInfo& p = r.plan;
    auto cand = [](const TimingReport::PlanCandidate& c) {
      return Json{{"dp", c.dp},       {"tp", c.tp},
                  {"pp", c.pp},       {"batch", c.batch},
                  {"prefill_batch", c.prefill_batch},
                  {"decode_micro_batches", c.decode_micro_batches},
                  {"feasible", c.feasible},
                  {"why", c.why},     {"predicted_ttft_s", c.ttft},
                  {"predicted_tpot_s", c.tpot},
                  {"predicted_request_s", c.total},
                  {"predicted_tokens_per_s", c.tokens_per_s}};
    };
    Json cands = Json::array();
    for (const TimingReport::PlanCandidate& c : p.candidates) cands.push_back(cand(c));
    j["plan"] = {{"source", p.source},
                 {"dp", p.dp},
                 {"tp", p.tp},
                 {"pp", p.pp},
                 {"stage_layers", p.stage_layers},
                 {"prefill_micro_batches", p.prefill_micro_batches},
                 {"decode_micro_batches", p.decode_micro_batches},
                 {"prefill_transfer_s", p.prefill_transfer},
                 {"decode_transfer_s", p.decode_transfer},
                 {"prefill_bubble", p.prefill_bubble},
                 {"decode_bubble", p.decode_bubble},
                 {"planner", p.predicted},
                 {"candidates", cands}};
  }
  if (r.moe.experts) {
    const TimingReport::MoeInfo& x = r.moe;
    j["moe"] = {{"experts", x.experts},
                {"experts_per_token", x.top_k},
                {"routing", x.routing},
                {"prefill_rows", x.prefill_rows},
                {"prefill_routed_experts", x.prefill_routed},
                {"decode_rows", x.decode_rows},
                {"decode_routed_experts", x.decode_routed},
                {"decode_simulated_experts", x.decode_simulated},
                {"expert_bytes_per_chip", x.expert_bytes},
                {"decode_expert_bytes_per_step_per_chip", x.decode_expert_bytes},
                {"decode_expert_bytes_simulated_per_step_per_chip", x.decode_expert_bytes_simulated},
                {"decode_expert_bytes_dense_per_step_per_chip", x.decode_expert_bytes_dense}};
  }
  return j.dump(2) + "\n";
}

}  // namespace tessera::driver
