#pragma once
// Shared by the DRAM model and checker tests: a small test device whose timing values
// all differ (so the cycle of a command says which constraint placed it), a way to
// name a burst by its bank coordinates, and a parsed command trace.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "common/config/dram_standard.h"
#include "model/dram/dram_system.h"
#include "model/dram_checker/checker.h"

namespace tessera::model::dram::test {

// tCK = 1 ns and 4000 MT/s make a BL8 burst 2 tCK. tRC > tRAS + tRP, tFAW > 4 tRRD_S and
// tCCD_S > tBURST, so every one of these constraints can bind on its own.
inline DramParams test_device() {
  DramParams p;
  p.arch_name = "test";
  p.standard = "hbm3";
  p.stacks = 1;
  p.channels = 2;
  p.pcs = 2;
  p.bank_groups = 4;
  p.banks_per_group = 2;
  p.rows = 64;
  p.row_bytes = 256;
  p.bus_bits = 32;
  p.burst_length = 8;
  p.data_rate_mtps = 4000;
  p.tck_fs = 1000000;
  p.cl = 11;
  p.cwl = 4;
  p.trcd = 7;
  p.trp = 6;
  p.tras = 17;
  p.trc = 29;
  p.trrd_s = 3;
  p.trrd_l = 5;
  p.tfaw = 23;
  p.tccd_s = 3;
  p.tccd_l = 5;
  p.twtr_s = 4;
  p.twtr_l = 7;
  p.trtp = 9;
  p.twr = 8;
  p.trtw = 2;
  p.trfc = 60;
  p.trfcsb = 25;
  p.trefi = 2000;
  p.read_queue = 16;
  p.write_queue = 16;
  p.write_high = 8;
  p.write_low = 2;
  return p;
}

// The checker's view of the same device, filled field by field from the same values.
inline dram_checker::CheckParams check_params(const DramParams& m) {
  dram_checker::CheckParams c;
  c.arch = m.arch_name;
  c.single_command_bus = config::find_dram_standard(m.standard)->single_command_bus;
  c.stacks = m.stacks;
  c.channels = m.channels;
  c.pseudo_channels = m.pcs;
  c.bank_groups = m.bank_groups;
  c.banks_per_group = m.banks_per_group;
  c.rows = m.rows;
  c.columns = m.row_bytes / (m.bus_bits / 8 * m.burst_length);
  c.tburst = uint32_t(m.burst_length * 1000000000ull / (uint64_t(m.data_rate_mtps) * uint64_t(m.tck_fs)));
  c.cl = m.cl;
  c.cwl = m.cwl;
  c.trcd = m.trcd;
  c.trp = m.trp;
  c.tras = m.tras;
  c.trc = m.trc;
  c.trrd_s = m.trrd_s;
  c.trrd_l = m.trrd_l;
  c.tfaw = m.tfaw;
  c.tccd_s = m.tccd_s;
  c.tccd_l = m.tccd_l;
  c.twtr_s = m.twtr_s;
  c.twtr_l = m.twtr_l;
  c.trtp = m.trtp;
  c.twr = m.twr;
  c.trtw = m.trtw;
  c.trfc = m.trfc;
  c.trfcsb = m.trfcsb;
  c.trefi = m.trefi;
  return c;
}

struct TraceCmd {
  uint64_t cycle = 0;
  std::string cmd;
  uint32_t stack = 0, channel = 0, pc = 0;
  int64_t bg = -1, bank = -1, row = -1, col = -1;  // -1 where the trace has '-'
};

inline std::vector<TraceCmd> parse_trace(const std::string& text) {
  std::vector<TraceCmd> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    TraceCmd c;
    std::string f[4];
    ls >> c.cycle >> c.cmd >> c.stack >> c.channel >> c.pc >> f[0] >> f[1] >> f[2] >> f[3];
    int64_t* dst[4] = {&c.bg, &c.bank, &c.row, &c.col};
    for (int i = 0; i < 4; ++i) *dst[i] = f[i] == "-" ? -1 : std::stoll(f[i]);
    out.push_back(c);
  }
  return out;
}

// A model of `p` that records its trace, with helpers to address bursts by location.
class Harness {
 public:
  explicit Harness(const DramParams& p) : m_(p, Options{&trace_}) {}

  uint64_t addr(uint32_t channel, uint32_t pc, uint32_t bg, uint32_t bank, uint32_t row, uint32_t col = 0,
                uint32_t stack = 0) const {
    Location l;
    l.stack = stack;
    l.channel = channel;
    l.pc = pc;
    l.bg = bg;
    l.bank = bank;
    l.row = row;
    l.col = col;
    return m_.address_map().encode(l);
  }
  // Submits `bytes` at `base` (one pattern row) at cycle `at`.
  uint64_t read(uint64_t base, uint64_t at, uint64_t bytes = 32) { return submit(base, at, bytes, false); }
  uint64_t write(uint64_t base, uint64_t at, uint64_t bytes = 32) { return submit(base, at, bytes, true); }
  uint64_t submit(uint64_t base, uint64_t at, uint64_t bytes, bool write) {
    Pattern3D pat;
    pat.base = base;
    pat.len = bytes;
    return m_.submit(pat, write, 64, at);
  }
  void run() { m_.run_until_idle(); }
  void advance(uint64_t t) { m_.advance(t); }
  std::vector<TraceCmd> commands() {
    m_.advance(m_.now_tck());  // flushes the trace
    return parse_trace(trace_.str());
  }
  // Commands named `cmd` in trace order (any bank).
  std::vector<TraceCmd> only(const std::string& cmd) {
    std::vector<TraceCmd> out;
    for (const TraceCmd& c : commands()) {
      if (c.cmd == cmd) out.push_back(c);
    }
    return out;
  }
  DramSystem& model() { return m_; }
  std::string trace_text() {
    m_.advance(m_.now_tck());
    return trace_.str();
  }

 private:
  std::ostringstream trace_;
  DramSystem m_;
};

}  // namespace tessera::model::dram::test
