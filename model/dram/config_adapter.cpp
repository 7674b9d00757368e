// params_from_config: the `dram` section of an ArchConfig in the model's integer form.
#include "common/config/config.h"
#include "model/dram/params.h"

namespace tessera::model::dram {

namespace {

// The schema bounds every count well inside 32 bits; the loader has checked them.
uint32_t u32(int64_t v) { return uint32_t(v); }

}  // namespace

DramParams params_from_config(const config::ArchConfig& cfg) {
  const config::DramConfig& d = cfg.dram;
  const config::DramTimingConfig& t = d.timing;
  const config::DramControllerConfig& c = d.controller;
  DramParams p;
  p.arch_name = cfg.name;
  p.standard = d.standard;
  p.stacks = u32(d.stacks);
  p.channels = u32(d.channels);
  p.pcs = u32(d.pseudo_channels);
  p.bank_groups = u32(d.bank_groups);
  p.banks_per_group = u32(d.banks_per_group);
  p.rows = u32(d.rows);
  p.row_bytes = u32(d.row_bytes);
  p.bus_bits = u32(d.bus_bits);
  p.burst_length = u32(d.burst_length);
  p.data_rate_mtps = d.data_rate_mtps;
  p.tck_fs = config::dram_tck_fs(cfg);
  p.cl = u32(t.cl);
  p.cwl = u32(t.cwl);
  p.trcd = u32(t.trcd);
  p.trp = u32(t.trp);
  p.tras = u32(t.tras);
  p.trc = u32(t.trc);
  p.trrd_s = u32(t.trrd_s);
  p.trrd_l = u32(t.trrd_l);
  p.tfaw = u32(t.tfaw);
  p.tccd_s = u32(t.tccd_s);
  p.tccd_l = u32(t.tccd_l);
  p.twtr_s = u32(t.twtr_s);
  p.twtr_l = u32(t.twtr_l);
  p.trtp = u32(t.trtp);
  p.twr = u32(t.twr);
  p.trtw = u32(t.trtw);
  p.trfc = u32(t.trfc);
  p.trfcsb = u32(t.trfcsb);
  p.trefi = u32(t.trefi);
  p.page = c.page_policy == config::PagePolicy::open ? Page::Open : Page::Closed;
  p.sched = c.scheduler == config::DramScheduler::frfcfs ? Sched::FrFcfs : Sched::Fcfs;
  p.refresh = c.refresh == config::RefreshPolicy::all_bank ? Refresh::AllBank : Refresh::PerBank;
  p.read_queue = u32(c.read_queue);
  p.write_queue = u32(c.write_queue);
  p.write_high = u32(c.write_high);
  p.write_low = u32(c.write_low);
  p.address_map = c.address_map;
  p.derive();
  return p;
}

}  // namespace tessera::model::dram
