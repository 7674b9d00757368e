// The JSON renderer (`tessera run --json`): keys in a fixed order (ordered_json), so two
// reports of the same request are byte-identical and reports of different requests diff cleanly.
#include <nlohmann/json.hpp>

#include "driver/report.h"

namespace tessera::driver {

std::string report_json(const TimingReport& r) {
  using Json = nlohmann::ordered_json;
  Json j;
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
  return j.dump(2) + "\n";
}

}  // namespace tessera::driver
