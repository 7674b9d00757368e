// check_params_from_arch: the checker's own reading of the `dram` section.
#include <cmath>

#include "common/config/config.h"
#include "common/config/dram_standard.h"
#include "common/util/error.h"
#include "model/dram_checker/checker.h"

namespace tessera::dram_checker {

CheckParams check_params_from_arch(const config::ArchConfig& cfg) {
  const auto& d = cfg.dram;
  const auto& t = d.timing;
  CheckParams p;
  p.arch = cfg.name;
  p.single_command_bus = config::dram_standard(cfg).single_command_bus;
  p.stacks = uint32_t(d.stacks);
  p.channels = uint32_t(d.channels);
  p.pseudo_channels = uint32_t(d.pseudo_channels);
  p.bank_groups = uint32_t(d.bank_groups);
  p.banks_per_group = uint32_t(d.banks_per_group);
  p.rows = uint32_t(d.rows);
  const int64_t burst_bytes = d.bus_bits / 8 * d.burst_length;
  p.columns = uint32_t(d.row_bytes / burst_bytes);
  // The data pins move data_rate_mtps transfers per microsecond; one tCK lasts tck_ps, so
  // a burst of burst_length transfers takes burst_length / (rate x tCK) command clocks.
  const double transfers_per_tck = d.data_rate_mtps * t.tck_ps * 1e-6;
  const double burst_tck = double(d.burst_length) / transfers_per_tck;
  p.tburst = uint32_t(std::lround(burst_tck));
  if (p.tburst == 0 || std::fabs(burst_tck - p.tburst) > 1e-3 * burst_tck) {
    throw InputError("dram checker: arch '" + cfg.name + "': a burst lasts " + std::to_string(burst_tck) +
                     " tCK, not a whole number");
  }
  p.cl = uint32_t(t.cl);
  p.cwl = uint32_t(t.cwl);
  p.trcd = uint32_t(t.trcd);
  p.trp = uint32_t(t.trp);
  p.tras = uint32_t(t.tras);
  p.trc = uint32_t(t.trc);
  p.trrd_s = uint32_t(t.trrd_s);
  p.trrd_l = uint32_t(t.trrd_l);
  p.tfaw = uint32_t(t.tfaw);
  p.tccd_s = uint32_t(t.tccd_s);
  p.tccd_l = uint32_t(t.tccd_l);
  p.twtr_s = uint32_t(t.twtr_s);
  p.twtr_l = uint32_t(t.twtr_l);
  p.trtp = uint32_t(t.trtp);
  p.twr = uint32_t(t.twr);
  p.trtw = uint32_t(t.trtw);
  p.trfc = uint32_t(t.trfc);
  p.trfcsb = uint32_t(t.trfcsb);
  p.trefi = uint32_t(t.trefi);
  return p;
}

}  // namespace tessera::dram_checker
