// Simulation: the SystemC context, the run, the deadlock report, statistics and trace output.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <csignal>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <map>
#include <tuple>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "common/util/error.h"
#include "common/util/units.h"
#include "model/core/model.h"
#include "model/core/parallel.h"
#include "model/core/system.h"

// libsystemc references sc_main; tessera never enters SystemC through it.
int sc_main(int, char**) { return 1; }

namespace tessera::model {

namespace {
std::atomic<bool> g_active{false};
}

std::string_view dram_model_name(DramModel m) { return m == DramModel::Bandwidth ? "bandwidth" : "burst"; }

DramModel parse_dram_model(const std::string& s) {
  if (s == "burst") return DramModel::Burst;
  if (s == "bandwidth") return DramModel::Bandwidth;
  throw InputError("--dram: unknown DRAM model '" + s + "' (expected burst|bandwidth)");
}

class Simulation::Impl {
 public:
  timing::ArchParams p;
  sc_core::sc_simcontext* ctx = nullptr;
  std::unique_ptr<System> sys;
  uint64_t max_cycles = 0;
  uint32_t workers = 1;
  bool ran = false;
  // Parallel runs (model/core/parallel.h): this process's end of the exchange and, in the
  // first worker, the process ids of the others.
  std::unique_ptr<Exchange> ex;
  struct {
    std::vector<pid_t> pids;
  } worker;
  void build(const config::ArchConfig& cfg, const isa::Program& prog, const RunOptions& opt);
  void start_workers(const config::ArchConfig& cfg, const isa::Program& prog, const RunOptions& opt, uint32_t nw);
  void stop_workers();
  // The first worker's part of a parallel run; throws what run() would.
  void run_parallel();
  // Another worker's part: runs its chips and sends the first its results, then its records
  // when asked.
  void serve_as_worker();
  // The first worker: the records of the other workers' chips, on first use.
  bool records_elsewhere = false;
  void fetch_records();
  enum class Stop { Done, Failed, MaxCycles, Livelock };
  struct Outcome {
    Stop stop = Stop::Done;
    std::string error;  // Failed: the message; Livelock: the cycle since which nothing moved
    uint64_t at = 0;    // the cycle the run stopped at
  };
  Outcome run_windows();
  void check_max_cycles() const {
    uint64_t c = 0;
    for (const auto& chip : sys->chips)
      for (const auto& core : chip->cores)
        if (core->has_program()) c = std::max(c, core->seq->halt_cycle);
    if (max_cycles && c > max_cycles)
      throw InputError("--max-cycles " + std::to_string(max_cycles) + ": the run took " + std::to_string(c) + " cycles");
  }
};

namespace {

// The cores with a program that have not halted, each with what its sequencer and units wait
// for; empty when every core halted.
std::string still_running(const System& sys) {
  std::ostringstream report;
  for (const auto& chip : sys.chips) {
    if (!sys.local(chip->index)) continue;  // another worker's (parallel runs)
    for (const auto& core : chip->cores) {
      if (!core->has_program() || core->seq->halted) continue;
      report << "\n  chip " << chip->index << " core " << core->index << ":";
      if (core->stand_in) {
        report << "\n    " << core->stand_in->blocked_on();
        continue;
      }
      report << "\n    " << core->seq->blocked_on();
      for (const Unit* u : core->units) {
        if (!u) continue;
        const std::string b = u->blocked_on();
        if (!b.empty()) report << "\n    " << b;
      }
    }
  }
  return report.str();
}

// Bytes of memory the host can still give this process (MemAvailable; 0 when unknown).
uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// A functional run allocates what its program touches, so a legal program can ask for more
// memory than the host has (a vfill of 65535 x 65535 elements buffers 16 GiB of results).
// Estimated from the program before anything is allocated, and refused with the estimate
// and the limit (docs/errors.md, "Limits"): the scratch of one vector instruction (its
// results are buffered, rows x cols x 4 bytes, so that no result feeds its own operands)
// must stay within Simulation::kMaxVectorScratchBytes, and that scratch plus every byte the
// program can write (data sections, and the union of its write operands per memory) within
// the memory available.
void check_functional_memory(const isa::Program& prog) {
  uint64_t scratch = 0;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>, std::vector<std::pair<uint64_t, uint64_t>>> written;
  for (const isa::DataSection& d : prog.data) {
    written[{d.chip, UINT32_MAX, uint32_t(d.space), 0}].emplace_back(d.addr, d.addr + d.bytes.size());
  }
  for (const isa::TextSection& t : prog.text) {
    for (size_t i = 0; i < t.code.size(); ++i) {
      const isa::Instr& in = t.code[i];
      if (in.unit == uint8_t(isa::Unit::vec)) {
        const uint64_t need = uint64_t(in.rows) * uint64_t(in.cols) * 4;
        if (need > Simulation::kMaxVectorScratchBytes) {
          throw InputError("functional mode: chip " + std::to_string(t.chip) + " core " + std::to_string(t.core) +
                           " instruction #" + std::to_string(i) + " (" + std::string(isa::name(isa::Opcode(in.op))) +
                           " rows=" + std::to_string(in.rows) + " cols=" + std::to_string(in.cols) + ") needs " +
                           bytes_text(need) + " to buffer its results, above the limit of " +
                           bytes_text(Simulation::kMaxVectorScratchBytes) + " per instruction");
        }
        scratch = std::max(scratch, need);
      }
      for (const isa::OperandExtent& e : isa::operand_extents(in)) {
        if (!e.write || e.bytes == 0) continue;
        const bool per_core = e.space == isa::Space::l1 || e.space == isa::Space::acc;
        written[{t.chip, per_core ? t.core : UINT32_MAX, uint32_t(e.space), e.acc_engine}].emplace_back(
            e.addr, e.addr + e.bytes);
      }
    }
  }
  // Memory is allocated in pages, so the union of the written ranges, page by page.
  const uint64_t page = SparseMemory::kPageBytes;
  uint64_t pages = 0;
  for (auto& [key, ranges] : written) {
    std::sort(ranges.begin(), ranges.end());
    uint64_t end = 0;  // first page not yet counted
    for (const auto& [lo, hi] : ranges) {
      const uint64_t first = std::max(lo / page, end), last = (hi + page - 1) / page;
      if (last > first) pages += last - first;
      end = std::max(end, last);
    }
  }
  const uint64_t need = scratch + pages * page;
  const uint64_t available = available_memory_bytes();
  if (available && need > available) {
    throw InputError("functional mode: the program needs about " + bytes_text(need) + " of host memory (" +
                     bytes_text(pages * page) + " of memory it writes, " + bytes_text(scratch) +
                     " of vector scratch), above the " + bytes_text(available) + " available");
  }
}

// DRAM data moved so far on every chip: progress of a transfer still in flight.
uint64_t dram_bytes(const System& sys) {
  uint64_t b = 0;
  for (const auto& chip : sys.chips) {
    if (!sys.local(chip->index)) continue;  // another worker's (parallel runs)
    const dram::Stats& s = chip->dram->stats();
    b += s.bytes_read + s.bytes_written;
  }
  return b;
}

}  // namespace

namespace {

// The token counters of a chip's cores past core.token_depth: the first such error, or "".
std::string token_overflow(const Chip& chip, const timing::ArchParams& p) {
  for (const auto& core : chip.cores) {
    for (int u = 0; u < kQueueUnits; ++u) {
      for (int v = 0; v < kQueueUnits; ++v) {
        if (auto over = core->tokens[u][v].final_check()) {
          return "chip " + std::to_string(chip.index) + " core " + std::to_string(core->index) + ": token counter " +
                 std::string(unit_name(u)) + "->" + std::string(unit_name(v)) + " exceeds core.token_depth = " +
                 std::to_string(p.token_depth) + " at cycle " + std::to_string(*over) +
                 " (tokens pushed and never popped)";
        }
      }
    }
  }
  return "";
}

// How many host workers can share the chips of this run (docs/model.md, "Host parallelism"):
// from the program and the options alone, so that the workers can be started before the system
// is built.
uint32_t parallel_workers(const isa::Program& prog, const timing::ArchParams& p, const RunOptions& opt) {
  if (opt.threads <= 1 || p.chips <= 1 || opt.functional || !opt.stand_in_cores.empty()) return 1;
  if (p.link_latency_fs < p.period_fs) return 1;  // no lookahead
  for (const isa::TextSection& t : prog.text) {
    for (const isa::Instr& in : t.code) {
      if (in.op != isa::Opcode::csend && in.op != isa::Opcode::creduce) continue;
      const uint32_t dst = uint32_t((t.chip + in.peer_send) % p.chips);
      // A message through another chip books that chip's links too.
      if (LinkFabric::route(t.chip, dst, p.chips, p.link_count).second > 1) return 1;
    }
  }
  return std::min(opt.threads, p.chips);
}

}  // namespace

void Simulation::Impl::build(const config::ArchConfig& cfg, const isa::Program& prog, const RunOptions& opt) {
  // SystemC prints a banner on stdout when its first context starts; our outputs are ours.
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "DISABLE", 1);
  ctx = new sc_core::sc_simcontext();
  sc_core::sc_curr_simcontext = ctx;
  sc_core::sc_default_global_context = ctx;
  try {
    sc_core::sc_set_time_resolution(1, sc_core::SC_FS);
    // Errors are reported by Simulation::run; SystemC's own "stopped by user" note is noise.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    sys = std::make_unique<System>("system", cfg, p, prog, opt.functional ? Mode::Functional : Mode::Timing, opt);
    sys->predicate = opt.predicate;
  } catch (...) {
    sys.reset();
    delete ctx;
    ctx = nullptr;
    sc_core::sc_curr_simcontext = nullptr;
    sc_core::sc_default_global_context = nullptr;
    throw;
  }
}

// Starts the other workers, each a copy of this process that builds its own system (so that no
// page of it is shared, and copied, between workers) and waits for run() (one byte 'g') or the
// end of the Simulation (its socket closed).
void Simulation::Impl::start_workers(const config::ArchConfig& cfg, const isa::Program& prog, const RunOptions& opt,
                                     uint32_t nw) {
  const uint32_t chips = p.chips;
  std::vector<uint32_t> owner(chips);
  for (uint32_t c = 0; c < chips; ++c) owner[c] = uint32_t(uint64_t(c) * nw / chips);
  std::vector<std::vector<int>> fd(nw, std::vector<int>(nw, -1));
  auto close_all = [&](uint32_t except) {
    for (uint32_t i = 0; i < nw; ++i)
      for (uint32_t j = 0; j < nw; ++j)
        if (i != except && fd[i][j] >= 0) {
          ::close(fd[i][j]);
          fd[i][j] = -1;
        }
  };
  for (uint32_t i = 0; i < nw; ++i) {
    for (uint32_t j = i + 1; j < nw; ++j) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        close_all(nw);
        throw std::runtime_error("parallel simulation: socketpair failed");
      }
      fd[i][j] = sv[0];
      fd[j][i] = sv[1];
    }
  }
  std::fflush(nullptr);  // a worker must not write what this process had buffered
  for (uint32_t w = 1; w < nw; ++w) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      close_all(nw);
      throw std::runtime_error("parallel simulation: fork failed");
    }
    if (pid == 0) {
      // The worker never returns to the caller's code.
      int code = 1;
      try {
        worker.pids.clear();
        close_all(w);
        ex = std::make_unique<Exchange>(nw, w, owner, fd[w]);
        build(cfg, prog, opt);
        sys->exchange = ex.get();
        char go = 0;
        if (ex->wait_for_start(go) && go == 'g') serve_as_worker();
        code = 0;
      } catch (const InputError&) {
        // The first worker builds the same system and reports the same error.
      } catch (const std::exception& e) {
        std::fprintf(stderr, "tessera: parallel simulation worker %u: %s\n", w, e.what());
      } catch (...) {
      }
      std::_Exit(code);
    }
    worker.pids.push_back(pid);
  }
  close_all(0);
  ex = std::make_unique<Exchange>(nw, 0, owner, fd[0]);
}

Simulation::Simulation(const config::ArchConfig& cfg, const isa::Program& prog, RunOptions opt)
    : impl_(std::make_unique<Impl>()) {
  isa::validate(prog, cfg);
  if (opt.functional) check_functional_memory(prog);
  if (opt.functional && !num::host_fp_environment_ok())
    throw std::runtime_error("host floating point is not round-to-nearest without flush-to-zero");
  if (g_active.exchange(true)) throw std::logic_error("tessera::model::Simulation: another simulation is alive");
  impl_->p = timing::arch_params(cfg);
  impl_->max_cycles = opt.max_cycles;
  try {
    const uint32_t nw = parallel_workers(prog, impl_->p, opt);
    if (nw > 1) impl_->start_workers(cfg, prog, opt, nw);
    impl_->build(cfg, prog, opt);
  } catch (...) {
    impl_->stop_workers();
    g_active = false;
    throw;
  }
}

Simulation::~Simulation() {
  impl_->stop_workers();
  impl_->sys.reset();
  delete impl_->ctx;
  sc_core::sc_curr_simcontext = nullptr;
  sc_core::sc_default_global_context = nullptr;
  g_active = false;
}

void Simulation::Impl::stop_workers() {
  ex.reset();  // closes the sockets: a waiting worker ends
  for (pid_t pid : worker.pids) ::kill(pid, SIGKILL);
  for (pid_t pid : worker.pids) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  worker.pids.clear();
}

const timing::ArchParams& Simulation::params() const { return impl_->p; }

uint32_t Simulation::workers() const { return impl_->workers; }

void Simulation::run() {
  if (impl_->ran) throw std::logic_error("Simulation::run called twice");
  impl_->ran = true;
  System& sys = *impl_->sys;
  if (impl_->ex && !sys.observer) {
    impl_->workers = impl_->ex->workers;
    impl_->run_parallel();
    return;
  }
  impl_->stop_workers();  // co-simulation observes every unit: one process
  // The run proceeds in slices of SystemC time so that it can be watched: the event queue
  // carries over from slice to slice, so slicing changes no result. A slice ends early when no
  // event is left (the normal end, or a deadlock, reported below).
  const uint64_t period = impl_->p.period_fs;
  const uint64_t slice = kStallCycles / 16;
  uint64_t seen_completions = 0, seen_bytes = 0, last_progress = 0, slices = 0;
  try {
    for (;;) {
      const uint64_t now = sc_core::sc_time_stamp().value() / period;
      uint64_t until = now + slice;
      // Stop just past the limit to look; once past it (every core halted early in SystemC
      // time, their work scheduled ahead), run the rest out and check cycles() at the end.
      if (impl_->max_cycles && now <= impl_->max_cycles) until = std::min(until, impl_->max_cycles + 1);
      // A slice with no event in it would return without moving time: reach the next event.
      uint64_t span = (until - now) * period;
      if (slices++ > 0) span = std::max<uint64_t>(span, sc_core::sc_time_to_pending_activity().value());
      sc_core::sc_start(sc_core::sc_time::from_value(span), sc_core::SC_EXIT_ON_STARVATION);
      if (sys.failed() || !sc_core::sc_pending_activity()) break;
      const uint64_t at = sc_core::sc_time_stamp().value() / period;
      const std::string running = still_running(sys);
      if (running.empty()) continue;  // every core halted; what is left (DRAM refresh) runs out
      if (impl_->max_cycles && at > impl_->max_cycles) {
        throw InputError("--max-cycles " + std::to_string(impl_->max_cycles) + ": the run reached cycle " +
                         std::to_string(at) + " before every core halted; still running:" + running);
      }
      const uint64_t bytes = dram_bytes(sys);
      if (sys.completions != seen_completions || bytes != seen_bytes) {
        seen_completions = sys.completions;
        seen_bytes = bytes;
        last_progress = at;
      } else if (at > std::max(last_progress, sys.horizon) + kStallCycles) {
        throw InputError("livelock: from cycle " + std::to_string(std::max(last_progress, sys.horizon)) +
                         " to cycle " + std::to_string(at) +
                         " no instruction completed and no DRAM data moved, while events kept coming (e.g. a "
                         "DRAM that does nothing but refresh: see dram.timing.trefi); still running:" + running);
      }
    }
  } catch (const sc_core::sc_report& r) {
    // An exception escaping a process arrives wrapped in a report; keep the user-error kind.
    const std::string msg = r.what();
    throw std::runtime_error("SystemC: " + msg);
  }
  if (sys.failed()) throw InputError(sys.error);
  // Every core with a program must have halted; otherwise nothing can move any more.
  std::string report = still_running(sys);
  if (!report.empty()) {
    for (const std::string& s : sys.links->unmatched()) report += "\n  " + s;
    for (const std::string& s : sys.barrier_waiters()) report += "\n  " + s;
    throw InputError("deadlock: no unit can make progress (SystemC time " + sc_core::sc_time_stamp().to_string() +
                     "); blocked queues and the instructions at their heads:" + report);
  }
  impl_->check_max_cycles();
  for (const auto& chip : sys.chips) {
    const std::string over = token_overflow(*chip, impl_->p);
    if (!over.empty()) throw InputError(over);
  }
}

Simulation::Impl::Outcome Simulation::Impl::run_windows() {
  const uint64_t P = p.period_fs;
  System& s = *sys;
  Exchange& x = *ex;
  Outcome out;
  // Windows of whole cycles no longer than the link latency: what a chip sends in one reaches
  // another no sooner than the next (LinkFabric delivers at the first packet's arrival; a
  // system-barrier arrival is applied a link latency after its cycle).
  const uint64_t window = p.link_latency_fs / P;
  uint64_t start = 0, last_progress = 0, seen_completions = ~uint64_t(0), seen_bytes = 0, my_completions = 0;
  for (;;) {
    const uint64_t end_fs = (start + window) * P;
    const uint64_t now_fs = uint64_t(sc_core::sc_time_stamp().value());
    if (end_fs > now_fs && !s.failed()) sc_core::sc_start(sc_core::sc_time::from_value(end_fs - now_fs));
    Exchange::Status st;
    if (!s.failed() && sc_core::sc_pending_activity())
      st.next_fs = uint64_t(sc_core::sc_time_stamp().value()) + uint64_t(sc_core::sc_time_to_pending_activity().value());
    st.completions = s.completions;
    st.horizon = s.horizon;
    // DRAM progress matters only when no instruction completed anywhere; a worker whose own
    // instructions completed need not read its DRAMs' statistics (~0: not read).
    st.dram_bytes = s.completions != my_completions ? ~uint64_t(0) : dram_bytes(s);
    my_completions = s.completions;
    st.failed = s.failed();
    st.error = s.error;
    for (const auto& chip : s.chips)
      if (s.local(chip->index))
        for (const auto& core : chip->cores) st.running = st.running || (core->has_program() && !core->seq->halted);
    const auto all = x.meet(
        st, [&](RemoteMessage m) { s.links->deliver_remote(std::move(m)); },
        [&](const RemoteArrival& a) { s.arrival_remote(a); });
    // Every worker reaches the same decisions from the same statuses.
    uint64_t next = ~uint64_t(0), completions = 0, bytes = 0, horizon = 0;
    bool running = false, failed = false;
    for (const auto& w : all) {
      if (w.failed && !failed) {
        failed = true;
        out.error = w.error;
      }
      next = std::min(next, w.next_fs);
      completions += w.completions;
      bytes = bytes == ~uint64_t(0) || w.dram_bytes == ~uint64_t(0) ? ~uint64_t(0) : bytes + w.dram_bytes;
      horizon = std::max(horizon, w.horizon);
      running = running || w.running;
    }
    out.at = start + window;
    if (failed) {
      out.stop = Stop::Failed;
      return out;
    }
    if (next == ~uint64_t(0)) return out;
    if (running && max_cycles && out.at > max_cycles + 1) {
      out.stop = Stop::MaxCycles;
      return out;
    }
    if (completions != seen_completions || bytes != seen_bytes) {
      seen_completions = completions;
      seen_bytes = bytes;
      last_progress = out.at;
    } else if (running && out.at > std::max(last_progress, horizon) + kStallCycles) {
      out.stop = Stop::Livelock;
      out.error = std::to_string(std::max(last_progress, horizon));
      return out;
    }
    start = std::max(start + window, next / P);
  }
}

namespace {

// What a worker reports at the end besides its chips' results: the cores still running, the
// receives never matched, the barriers still waiting (chip barriers: its chips'; the system
// barrier: the first worker's, as every worker has the same) and a token-counter overflow.
struct Leftovers {
  std::string running, unmatched, waiters, tokens;
};

Leftovers leftovers(const System& sys, const timing::ArchParams& p, bool first) {
  Leftovers l;
  l.running = still_running(sys);
  for (const std::string& u : sys.links->unmatched()) l.unmatched += "\n  " + u;
  for (const std::string& w : sys.barrier_waiters())
    if (first || w.rfind("system", 0) != 0) l.waiters += "\n  " + w;
  for (const auto& chip : sys.chips)
    if (sys.local(chip->index) && l.tokens.empty()) l.tokens = token_overflow(*chip, p);
  return l;
}

}  // namespace

void Simulation::Impl::serve_as_worker() {
  Outcome o;
  try {
    o = run_windows();
  } catch (const sc_core::sc_report& r) {
    throw std::runtime_error(std::string("SystemC: ") + r.what());
  }
  const Leftovers l = leftovers(*sys, p, false);
  Frame f;
  f.put_str(l.running);
  f.put_str(l.unmatched);
  f.put_str(l.waiters);
  f.put_str(l.tokens);
  const bool results = o.stop == Stop::Done;
  f.put<uint8_t>(results);
  if (results)
    for (const auto& chip : sys->chips)
      if (sys->local(chip->index)) write_chip_results(f, *chip, *sys->links);
  ex->send_final(f.packed());
  // Then the records, if the first worker asks for them (records(), the trace).
  char what = 0;
  while (ex->wait_for_request(what)) {
    if (what != 'r') continue;
    Frame r;
    for (const auto& chip : sys->chips)
      if (sys->local(chip->index)) write_chip_records(r, *chip);
    ex->send_final(r.packed());
  }
}

void Simulation::Impl::fetch_records() {
  if (!records_elsewhere) return;
  records_elsewhere = false;
  std::vector<Frame> frames = ex->ask('r');
  for (uint32_t w = 1; w < ex->workers; ++w) {
    Frame f = frames[w].unpacked();
    for (const auto& chip : sys->chips)
      if (ex->owner[chip->index] == w) read_chip_records(f, *chip);
  }
}

void Simulation::Impl::run_parallel() {
  System& s = *sys;
  Exchange& x = *ex;
  s.exchange = ex.get();
  x.start();
  Outcome o;
  try {
    o = run_windows();
  } catch (const sc_core::sc_report& r) {
    throw std::runtime_error(std::string("SystemC: ") + r.what());
  }
  Leftovers l = leftovers(s, p, true);
  std::vector<Frame> finals = x.receive_finals();
  for (uint32_t w = 1; w < x.workers; ++w) {
    Frame f = finals[w].unpacked();
    l.running += f.get_str();
    l.unmatched += f.get_str();
    l.waiters += f.get_str();
    const std::string t = f.get_str();
    if (l.tokens.empty()) l.tokens = t;
    if (f.get<uint8_t>())
      for (const auto& chip : s.chips)
        if (x.owner[chip->index] == w) read_chip_results(f, *chip, *s.links);
  }
  records_elsewhere = o.stop == Stop::Done;
  // Every chip's results are here now: the outputs read them as after a one-process run.
  s.exchange = nullptr;
  // The other workers keep their chips' records until asked (fetch_records) or the Simulation ends.
  switch (o.stop) {
    case Stop::Failed:
      throw InputError(o.error);
    case Stop::MaxCycles:
      throw InputError("--max-cycles " + std::to_string(max_cycles) + ": the run reached cycle " +
                       std::to_string(o.at) + " before every core halted; still running:" + l.running);
    case Stop::Livelock:
      throw InputError("livelock: from cycle " + o.error + " to cycle " + std::to_string(o.at) +
                       " no instruction completed and no DRAM data moved, while events kept coming (e.g. a "
                       "DRAM that does nothing but refresh: see dram.timing.trefi); still running:" + l.running);
    case Stop::Done:
      break;
  }
  if (!l.running.empty()) {
    throw InputError("deadlock: no unit can make progress (SystemC time " + sc_core::sc_time_stamp().to_string() +
                     "); blocked queues and the instructions at their heads:" + l.running + l.unmatched + l.waiters);
  }
  if (!l.tokens.empty()) throw InputError(l.tokens);
  check_max_cycles();
}

uint64_t Simulation::cycles() const {
  uint64_t c = 0;
  for (const auto& chip : impl_->sys->chips)
    for (const auto& core : chip->cores)
      if (core->has_program()) c = std::max(c, core->seq->halt_cycle);
  return c;
}

uint64_t Simulation::instructions() const {
  uint64_t n = 0;
  for (const auto& chip : impl_->sys->chips)
    for (const auto& core : chip->cores) n += core->code.size();
  return n;
}

const std::vector<InstrRecord>& Simulation::records(uint32_t chip, uint32_t core) const {
  impl_->fetch_records();
  return impl_->sys->chips.at(chip)->cores.at(core)->records;
}

void Simulation::observe(InstrObserver* o) {
  System& sys = *impl_->sys;
  sys.observer = o;
  for (const auto& chip : sys.chips) {
    chip->l2.mem.observe(o, MemorySite{chip->index, 0, isa::Space::l2, 0});
    chip->hbm.observe(o, MemorySite{chip->index, 0, isa::Space::hbm, 0});
    for (const auto& core : chip->cores) {
      core->l1.mem.observe(o, MemorySite{chip->index, core->index, isa::Space::l1, 0});
      for (uint32_t e = 0; e < isa::kUnitsMx.count; ++e) {
        if (core->units[isa::kUnitsMx.first + e]) core->engine(e).acc.mem.observe(o, MemorySite{chip->index, core->index, isa::Space::acc, e});
      }
    }
  }
}

std::vector<uint8_t> Simulation::read_memory(uint32_t chip, uint32_t core, isa::Space space, uint32_t acc_engine,
                                             uint64_t addr, uint64_t n) const {
  std::vector<uint8_t> out(n);
  impl_->sys->chips.at(chip)->cores.at(core)->memory(space, acc_engine).read(addr, out.data(), n);
  return out;
}

// ---- statistics -----------------------------------------------------------------------------

namespace {

using Json = nlohmann::ordered_json;

Json traffic_json(const SramTraffic& t) {
  Json j;
  j["read_bytes"] = t.read_bytes;
  j["write_bytes"] = t.write_bytes;
  j["read_accesses"] = t.read_accesses;
  j["write_accesses"] = t.write_accesses;
  Json rw = Json::object(), ww = Json::object();
  for (const auto& [w, c] : t.read_widths) rw[std::to_string(w)] = c;
  for (const auto& [w, c] : t.write_widths) ww[std::to_string(w)] = c;
  j["read_widths"] = rw;
  j["write_widths"] = ww;
  return j;
}

Json unit_json(const UnitStats& s) {
  Json j;
  j["instructions"] = s.instructions;
  j["busy_cycles"] = s.busy;
  j["idle_cycles"] = s.idle;
  Json stall;
  Json tok = Json::object();
  for (int u = 0; u < kUnits; ++u)
    if (s.stall_token[u]) tok[std::string(unit_name(u))] = s.stall_token[u];
  stall["token"] = tok;
  stall["order"] = s.stall_order;
  stall["dram"] = s.stall_dram;
  stall["link"] = s.stall_link;
  stall["link_credit"] = s.stall_credit;
  stall["bank_conflict"] = s.bank_conflict;
  stall["outstanding_limit"] = s.throttle;
  stall["l1_contention"] = s.l1_contention;
  stall["l2_contention"] = s.l2_contention;
  stall["acc_contention"] = s.acc_contention;
  j["stall_cycles"] = stall;
  Json ops = Json::object();
  for (int o = 0; o < 256; ++o)
    if (s.opcodes[o]) ops[std::string(isa::name(isa::Opcode(o)))] = s.opcodes[o];
  j["opcodes"] = ops;
  return j;
}

// Cycles lost to each tier's ports, summed over units (docs/model.md, "Statistics").
struct Contention {
  uint64_t l1 = 0, l2 = 0, acc = 0;
  void add(const UnitStats& s) {
    l1 += s.l1_contention;
    l2 += s.l2_contention;
    acc += s.acc_contention;
  }
  void add(const Contention& o) {
    l1 += o.l1;
    l2 += o.l2;
    acc += o.acc;
  }
  Json json() const {
    Json j;
    j["l1"] = l1;
    j["l2"] = l2;
    j["acc"] = acc;
    return j;
  }
};

Json events_json(const num::NumericEvents& e) {
  Json j;
  j["saturated"] = e.saturated;
  j["overflow_nonfinite"] = e.overflow_nonfinite;
  j["nan_produced"] = e.nan_produced;
  j["underflow_to_zero"] = e.underflow_to_zero;
  j["int_overflow"] = e.int_overflow;
  return j;
}

std::string mac_key(int a, int b) {
  const std::string sa(num::dtype_name(num::DType(a))), sb(num::dtype_name(num::DType(b)));
  return a == b ? sa : sa + "*" + sb;
}

}  // namespace

uint64_t Simulation::dram_host_ns() const {
  uint64_t ns = 0;
  for (const auto& chip : impl_->sys->chips) ns += chip->dram->host_ns();
  return ns;
}

uint64_t Simulation::dram_transfers() const {
  uint64_t n = 0;
  for (const auto& chip : impl_->sys->chips) n += chip->dram->requests();
  return n;
}

Totals Simulation::totals() const {
  Totals t;
  for (const auto& chip : impl_->sys->chips) {
    for (const auto& core : chip->cores) {
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
          t.macs += core->macs_by_type[a][b];
          t.macs_by_type[a][b] += core->macs_by_type[a][b];
        }
      for (size_t k = 0; k < t.vector_elements.size(); ++k) t.vector_elements[k] += core->vector_elements[k];
      t.l1.add(core->l1.traffic);
      t.acc.add(core->acc_traffic());
      t.numeric.add(core->numeric);
    }
    t.l2.add(chip->l2.traffic);
    const auto& st = chip->dram->stats();
    t.hbm_read += st.bytes_read;
    t.hbm_written += st.bytes_written;
    t.dram_activates += st.count(dram::Cmd::ACT);
    t.dram_refreshes += st.count(dram::Cmd::REFab);
    t.dram_bank_refreshes += st.count(dram::Cmd::REFpb);
    for (const auto& d : impl_->sys->links->link_stats()[chip->index]) t.link_bytes += d.bytes_out;
  }
  t.instructions = instructions();
  return t;
}

void Simulation::write_stats_json(std::ostream& os) const {
  const System& sys = *impl_->sys;
  const timing::ArchParams& p = impl_->p;
  Json root;
  root["arch"] = p.name;
  root["mode"] = sys.functional() ? "functional" : "timing";
  root["dram_model"] = std::string(dram_model_name(sys.dram_model));
  root["cycles"] = cycles();
  root["core_period_fs"] = p.period_fs;
  root["instructions"] = instructions();
  std::map<std::string, uint64_t> macs;
  SramTraffic l1_all, acc_all, l2_all;
  num::NumericEvents ev_all;
  uint64_t link_bytes = 0;
  Contention all_lost;
  Json hbm_total;
  uint64_t hbm_read = 0, hbm_written = 0, hbm_act = 0, hbm_rd = 0, hbm_wr = 0, hbm_ref = 0;
  Json chips = Json::array();
  for (const auto& chip : sys.chips) {
    Json cj;
    cj["chip"] = chip->index;
    Contention chip_lost;
    Json cores = Json::array();
    for (const auto& core : chip->cores) {
      if (!core->has_program()) continue;
      Json k;
      k["core"] = core->index;
      k["halt_cycle"] = core->seq->halt_cycle;
      Json units;
      {
        const SeqStats& s = core->seq->st;
        Json sj;
        sj["dispatched"] = s.dispatched;
        Json qf = Json::object();
        for (int u = 0; u < kUnits; ++u)
          if (s.stall_queue_full[u]) qf[std::string(unit_name(u))] = s.stall_queue_full[u];
        sj["stall_queue_full"] = qf;
        sj["drain_cycles"] = s.drain;
        sj["barrier_wait_cycles"] = s.barrier_wait;
        sj["barriers"] = s.barriers;
        units["seq"] = sj;
      }
      Contention core_lost;
      for (const Unit* u : core->units)
        if (u) {
          units[std::string(unit_name(u->id))] = unit_json(u->st);
          core_lost.add(u->st);
        }
      k["units"] = units;
      k["contention_cycles"] = core_lost.json();
      chip_lost.add(core_lost);
      Json macs_core = Json::object();
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b)
          if (core->macs_by_type[a][b]) {
            macs_core[mac_key(a, b)] = core->macs_by_type[a][b];
            macs[mac_key(a, b)] += core->macs_by_type[a][b];
          }
      k["macs"] = macs_core;
      k["sram"]["l1"] = traffic_json(core->l1.traffic);
      k["sram"]["acc"] = traffic_json(core->acc_traffic());
      k["numeric_events"] = events_json(core->numeric);
      l1_all.add(core->l1.traffic);
      acc_all.add(core->acc_traffic());
      ev_all.add(core->numeric);
      cores.push_back(std::move(k));
    }
    cj["cores"] = cores;
    cj["contention_cycles"] = chip_lost.json();
    all_lost.add(chip_lost);
    cj["l2"] = traffic_json(chip->l2.traffic);
    l2_all.add(chip->l2.traffic);
    std::ostringstream ds;
    chip->dram->stats().write_json(ds);
    cj["hbm"] = Json::parse(ds.str());
    cj["hbm"]["transfers"] = chip->dram->requests();
    const auto& st = chip->dram->stats();
    hbm_read += st.bytes_read;
    hbm_written += st.bytes_written;
    using dram::Cmd;
    hbm_act += st.count(Cmd::ACT);
    hbm_rd += st.count(Cmd::RD) + st.count(Cmd::RDA);
    hbm_wr += st.count(Cmd::WR) + st.count(Cmd::WRA);
    hbm_ref += st.count(Cmd::REFab) + st.count(Cmd::REFpb);
    Json lj;
    const auto& ls = sys.links->link_stats()[chip->index];
    for (int d = 0; d < 2; ++d) {
      Json x;
      x["bytes"] = ls[d].bytes_out;
      x["messages"] = ls[d].messages;
      x["busy_fs"] = ls[d].busy_fs;
      x["packets"] = ls[d].packets;
      x["credit_stall_fs"] = ls[d].credit_stall_fs;
      lj[d == 0 ? "forward" : "backward"] = x;
      link_bytes += ls[d].bytes_out;
    }
    cj["links"] = lj;
    chips.push_back(std::move(cj));
  }
  Json totals;
  Json mj = Json::object();
  for (const auto& [k, v] : macs) mj[k] = v;
  totals["macs"] = mj;
  {
    const Totals tt = this->totals();
    Json vj;
    for (size_t k = 0; k < tt.vector_elements.size(); ++k) vj[isa::name(isa::EnergyClass(k))] = tt.vector_elements[k];
    totals["vector_elements"] = vj;
  }
  totals["sram"]["l1"] = traffic_json(l1_all);
  totals["sram"]["l2"] = traffic_json(l2_all);
  totals["sram"]["acc"] = traffic_json(acc_all);
  totals["contention_cycles"] = all_lost.json();
  hbm_total["dram_model"] = std::string(dram_model_name(sys.dram_model));
  // The bandwidth model counts bytes and bursts exactly but has no commands: its
  // activates (one per row of data) and refreshes (one per interval) are estimates.
  hbm_total["commands_estimated"] = sys.dram_model != DramModel::Burst;
  hbm_total["bytes_read"] = hbm_read;
  hbm_total["bytes_written"] = hbm_written;
  hbm_total["activates"] = hbm_act;
  hbm_total["reads"] = hbm_rd;
  hbm_total["writes"] = hbm_wr;
  hbm_total["refreshes"] = hbm_ref;
  totals["hbm"] = hbm_total;
  totals["link_bytes"] = link_bytes;
  totals["numeric_events"] = events_json(ev_all);
  root["totals"] = totals;
  root["chips"] = chips;
  os << root.dump(1) << "\n";
}

// ---- trace -----------------------------------------------------------------------------

namespace {

// Femtoseconds as microseconds with six decimals (picosecond resolution), exactly.
void put_us(std::ostream& os, uint64_t fs) {
  const uint64_t ps = fs / 1000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", (unsigned long long)(ps / 1000000), (unsigned long long)(ps % 1000000));
  os << buf;
}

}  // namespace

void Simulation::write_trace_json(std::ostream& os) const {
  impl_->fetch_records();
  const System& sys = *impl_->sys;
  const uint64_t P = impl_->p.period_fs;
  os << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&]() {
    if (!first) os << ",\n";
    first = false;
  };
  // Track names: process = chip, thread = core x 32 + unit (+16 for a matrix engine's
  // weight-load / drain track).
  for (const auto& chip : sys.chips) {
    sep();
    os << "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" << chip->index << ",\"args\":{\"name\":\"chip"
       << chip->index << "\"}}";
    for (const auto& core : chip->cores) {
      if (!core->has_program()) continue;
      for (int u = 0; u < kUnits; ++u) {
        if (u != kSeqUnit && !core->units[size_t(u)]) continue;
        sep();
        os << "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" << chip->index << ",\"tid\":" << core->index * 32 + u
           << ",\"args\":{\"name\":\"core" << core->index << "." << unit_name(u) << "\"}}";
        if (isa::kUnitsMx.contains(unsigned(u))) {
          sep();
          os << "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" << chip->index
             << ",\"tid\":" << core->index * 32 + 16 + u << ",\"args\":{\"name\":\"core" << core->index << "."
             << unit_name(u) << ".load\"}}";
        }
      }
    }
  }
  auto event = [&](const char* name, uint32_t pid, uint64_t tid, uint64_t from, uint64_t to_incl, const InstrRecord& r) {
    sep();
    os << "{\"ph\":\"X\",\"name\":\"" << name << "\",\"pid\":" << pid << ",\"tid\":" << tid << ",\"ts\":";
    put_us(os, from * P);
    os << ",\"dur\":";
    put_us(os, (to_incl + 1 - from) * P);
    os << ",\"args\":{\"i\":" << r.index << ",\"dispatch\":" << r.dispatch << ",\"start\":" << r.start;
    if (r.opcode == uint8_t(isa::Opcode::matmul)) os << ",\"W\":" << r.W << ",\"S\":" << r.S << ",\"D\":" << r.D;
    os << ",\"E\":" << r.E << "}}";
  };
  for (const auto& chip : sys.chips) {
    for (const auto& core : chip->cores) {
      const uint64_t base = core->index * 32;
      for (const InstrRecord& r : core->records) {
        if (!r.done) continue;
        const char* name = isa::name(isa::Opcode(r.opcode));
        if (r.opcode == uint8_t(isa::Opcode::matmul)) {
          // Non-overlapping views of overlapping tiles: the stream on the engine's track,
          // the weight load (ws) or the drain (os) on its second track.
          if (!r.os) {
            event(name, chip->index, base + r.unit, r.S, r.S + r.m - 1, r);
            event("wload", chip->index, base + 16 + r.unit, r.W, r.W + r.k - 1, r);
          } else {
            event(name, chip->index, base + r.unit, r.S, r.S + r.k - 1, r);
            event("drain", chip->index, base + 16 + r.unit, r.D, r.E, r);
          }
        } else if (r.unit >= 4 && r.unit < 12) {
          event(name, chip->index, base + 16 + r.unit, r.start, r.start, r);
        } else {
          event(name, chip->index, base + r.unit, r.start, r.E, r);
        }
      }
    }
  }
  os << "\n]}\n";
}

}  // namespace tessera::model
