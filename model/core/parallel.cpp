#include "model/core/parallel.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>

#include "model/core/collective.h"
#include "model/core/system.h"

namespace tessera::model {

namespace {

[[noreturn]] void io_error(const char* what) {
  throw std::runtime_error(std::string("parallel simulation: ") + what + ": " + std::strerror(errno));
}

}  // namespace

void Frame::put_str(const std::string& s) {
  put<uint64_t>(s.size());
  bytes.insert(bytes.end(), s.begin(), s.end());
}

std::string Frame::get_str() {
  std::string s(get<uint64_t>(), '\0');
  take(s.data(), s.size());
  return s;
}

// Format: the byte count, then repeated (uint32 literal words, the words, uint32 zero words)
// over the bytes padded to whole 8-byte words.
Frame Frame::packed() const {
  const size_t n = bytes.size(), words = (n + 7) / 8;
  std::vector<uint64_t> w(words, 0);
  if (n) std::memcpy(w.data(), bytes.data(), n);
  Frame out;
  out.bytes.reserve(n / 2 + 16);
  out.put<uint64_t>(n);
  size_t i = 0;
  while (i < words) {
    size_t z = i;
    while (z < words && w[z] != 0) ++z;
    size_t e = z;
    while (e < words && w[e] == 0) ++e;
    out.put<uint32_t>(uint32_t(z - i));
    const auto* p = reinterpret_cast<const uint8_t*>(w.data() + i);
    out.bytes.insert(out.bytes.end(), p, p + (z - i) * 8);
    out.put<uint32_t>(uint32_t(e - z));
    i = e;
  }
  return out;
}

Frame Frame::unpacked() const {
  Frame in = *this;
  const uint64_t n = in.get<uint64_t>();
  std::vector<uint64_t> w;
  w.reserve((n + 7) / 8);
  while (in.at < in.bytes.size()) {
    const uint32_t lit = in.get<uint32_t>();
    const size_t k = w.size();
    w.resize(k + lit);
    in.take(w.data() + k, size_t(lit) * 8);
    w.resize(w.size() + in.get<uint32_t>(), 0);
  }
  if (w.size() * 8 < n) throw std::runtime_error("parallel simulation: a worker's frame is truncated");
  Frame out;
  out.bytes.resize(n);
  if (n) std::memcpy(out.bytes.data(), w.data(), n);
  return out;
}

void Frame::take(void* dst, size_t n) {
  if (n > bytes.size() - at) throw std::runtime_error("parallel simulation: a worker's frame is truncated");
  if (n) std::memcpy(dst, bytes.data() + at, n);
  at += n;
}

Exchange::Exchange(uint32_t w, uint32_t m, std::vector<uint32_t> own, std::vector<int> fds)
    : workers(w), me(m), owner(std::move(own)), fds_(std::move(fds)), messages_(w) {
  // Looking without sleeping only pays when every worker has a core of its own; with more
  // workers than cores it takes the time of the worker being waited for.
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  spin_polls_ = cores >= long(workers) ? 2000 : 0;  // 2,000 looks: about 1 ms
}

Exchange::~Exchange() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

void Exchange::start() {
  for (uint32_t w = 1; w < workers; ++w) {
    const char go = 'g';
    while (::write(fds_[w], &go, 1) != 1) {
      if (errno != EINTR) io_error("start a worker");
    }
  }
}

bool Exchange::wait_for_start(char& go) {
  for (;;) {
    const ssize_t k = ::read(fds_[0], &go, 1);
    if (k == 1) return true;
    if (k == 0) return false;
    if (errno != EINTR) io_error("wait for the first worker");
  }
}

std::vector<Frame> Exchange::ask(char what) {
  for (uint32_t w = 1; w < workers; ++w) {
    while (::write(fds_[w], &what, 1) != 1) {
      if (errno != EINTR) io_error("ask a worker");
    }
  }
  return receive_finals();
}

void Exchange::post(RemoteMessage m) {
  m.io(messages_[owner[m.dst]]);
  min_posted_fs_ = std::min(min_posted_fs_, m.at_fs);
}

// A meeting's frame to worker w: the sender's status (next event folded with its posts), the
// system-barrier arrivals (to everyone), then the messages for w's chips.
std::vector<Exchange::Status> Exchange::meet(const Status& mine,
                                             const std::function<void(RemoteMessage)>& on_message,
                                             const std::function<void(const RemoteArrival&)>& on_arrival) {
  std::vector<Status> all(workers);
  all[me] = mine;
  all[me].next_fs = std::min(mine.next_fs, min_posted_fs_);
  std::vector<Frame> out(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    if (w == me) continue;
    Frame& f = out[w];
    all[me].io(f);
    f.put<uint64_t>(arrivals_.size());
    for (RemoteArrival& a : arrivals_) a.io(f);
    f.bytes.insert(f.bytes.end(), messages_[w].bytes.begin(), messages_[w].bytes.end());
  }
  std::vector<Frame> in = swap_frames(std::move(out));
  for (auto& m : messages_) m = Frame{};
  arrivals_.clear();
  min_posted_fs_ = ~uint64_t(0);
  for (uint32_t w = 0; w < workers; ++w) {
    if (w == me) continue;
    Frame& f = in[w];
    f.reading = true;
    all[w].io(f);
    const uint64_t na = f.get<uint64_t>();
    for (uint64_t i = 0; i < na; ++i) {
      RemoteArrival a;
      a.io(f);
      on_arrival(a);
    }
    while (f.at < f.bytes.size()) {
      RemoteMessage m;
      m.io(f);
      on_message(std::move(m));
    }
  }
  return all;
}

void Exchange::post(const RemoteArrival& a) {
  arrivals_.push_back(a);
  min_posted_fs_ = std::min(min_posted_fs_, a.at_fs);
}


// Every worker writes to and reads from every other at once: poll keeps a large frame from
// blocking both ends of a socket whose buffers are full.
std::vector<Frame> Exchange::swap_frames(std::vector<Frame> out) {
  struct Side {
    std::vector<uint8_t> send;  // length-prefixed
    size_t sent = 0;
    std::vector<uint8_t> recv;
    size_t need = 8;  // the length prefix first
    bool have_len = false;
  };
  std::vector<Side> side(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    if (w == me) continue;
    Frame framed;
    framed.put<uint64_t>(out[w].bytes.size());
    framed.bytes.insert(framed.bytes.end(), out[w].bytes.begin(), out[w].bytes.end());
    side[w].send = std::move(framed.bytes);
  }
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<uint32_t> who;
    for (uint32_t w = 0; w < workers; ++w) {
      if (w == me) continue;
      short ev = 0;
      if (side[w].sent < side[w].send.size()) ev |= POLLOUT;
      if (side[w].recv.size() < side[w].need) ev |= POLLIN;
      if (!ev) continue;
      fds.push_back(pollfd{fds_[w], ev, 0});
      who.push_back(w);
    }
    if (fds.empty()) break;
    // The other worker usually arrives within tens of microseconds: look without sleeping for a
    // while (a sleeping process takes about as long again to be woken), then sleep in poll.
    int ready = 0;
    for (int spin = 0; spin < spin_polls_ && ready == 0; ++spin) ready = ::poll(fds.data(), fds.size(), 0);
    if (ready == 0) ready = ::poll(fds.data(), fds.size(), -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      io_error("poll");
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      Side& s = side[who[i]];
      if (fds[i].revents & POLLOUT) {
        const ssize_t k = ::write(fds[i].fd, s.send.data() + s.sent, s.send.size() - s.sent);
        if (k < 0 && errno != EAGAIN && errno != EINTR) io_error("write to a worker");
        if (k > 0) s.sent += size_t(k);
      }
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        uint8_t buf[1 << 16];
        const size_t want = std::min(sizeof buf, s.need - s.recv.size());
        const ssize_t k = ::read(fds[i].fd, buf, want);
        if (k == 0) throw std::runtime_error("parallel simulation: a worker ended before the run did");
        if (k < 0 && errno != EAGAIN && errno != EINTR) io_error("read from a worker");
        if (k > 0) s.recv.insert(s.recv.end(), buf, buf + k);
        if (!s.have_len && s.recv.size() == 8) {
          uint64_t n;
          std::memcpy(&n, s.recv.data(), 8);
          s.have_len = true;
          s.recv.clear();
          s.need = size_t(n);
        }
      }
    }
  }
  std::vector<Frame> in(workers);
  for (uint32_t w = 0; w < workers; ++w)
    if (w != me) in[w].bytes = std::move(side[w].recv);
  return in;
}

void Exchange::send_final(const Frame& f) {
  Frame buf;
  buf.put<uint64_t>(f.bytes.size());
  buf.bytes.insert(buf.bytes.end(), f.bytes.begin(), f.bytes.end());
  size_t sent = 0;
  while (sent < buf.bytes.size()) {
    const ssize_t k = ::write(fds_[0], buf.bytes.data() + sent, buf.bytes.size() - sent);
    if (k < 0) {
      if (errno == EINTR) continue;
      io_error("write to the first worker");
    }
    sent += size_t(k);
  }
}

std::vector<Frame> Exchange::receive_finals() {
  std::vector<Frame> in(workers);
  for (uint32_t w = 1; w < workers; ++w) {
    auto read_all = [&](void* dst, size_t n) {
      size_t got = 0;
      while (got < n) {
        const ssize_t k = ::read(fds_[w], static_cast<uint8_t*>(dst) + got, n - got);
        if (k == 0) throw std::runtime_error("parallel simulation: worker " + std::to_string(w) + " ended without its results");
        if (k < 0) {
          if (errno == EINTR) continue;
          io_error("read from a worker");
        }
        got += size_t(k);
      }
    };
    uint64_t n = 0;
    read_all(&n, 8);
    in[w].bytes.resize(n);
    read_all(in[w].bytes.data(), n);
  }
  return in;
}

// ---- chip results ---------------------------------------------------------------------------

namespace {

void put_traffic(Frame& f, const SramTraffic& t) {
  f.put(t.read_bytes);
  f.put(t.write_bytes);
  f.put(t.read_accesses);
  f.put(t.write_accesses);
  for (const auto* m : {&t.read_widths, &t.write_widths}) {
    f.put<uint64_t>(m->size());
    for (const auto& [w, c] : *m) {
      f.put(w);
      f.put(c);
    }
  }
}

SramTraffic get_traffic(Frame& f) {
  SramTraffic t;
  t.read_bytes = f.get<uint64_t>();
  t.write_bytes = f.get<uint64_t>();
  t.read_accesses = f.get<uint64_t>();
  t.write_accesses = f.get<uint64_t>();
  for (auto* m : {&t.read_widths, &t.write_widths}) {
    const uint64_t n = f.get<uint64_t>();
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t w = f.get<uint64_t>();
      (*m)[w] = f.get<uint64_t>();
    }
  }
  return t;
}

// Stats::dram_model points at one of two literals: sent as which.
void io_dram_stats(Frame& f, dram::Stats& s) {
  uint8_t bandwidth = s.dram_model == "bandwidth";
  f.io(bandwidth);
  s.dram_model = bandwidth ? "bandwidth" : "burst";
  f.io(s.cycles);
  f.io(s.tck_fs);
  f.io(s.tburst);
  f.io(s.burst_bytes);
  f.io(s.pcs);
  f.io(s.peak_bytes_per_s);
  f.io(s.bytes_read);
  f.io(s.bytes_written);
  f.io(s.commands);
  f.io(s.row_hits);
  f.io(s.row_misses);
  f.io(s.row_conflicts);
  f.io(s.read_latency.bin_tck);
  f.io(s.read_latency.bins);
  f.io(s.read_latency.count);
  f.io(s.read_latency.min);
  f.io(s.read_latency.max);
  f.io(s.read_latency.sum);
  f.io(s.channel_utilisation);
  f.io(s.busy_cycles);
  f.io(s.idle_cycles);
}

// A unit's counters, its per-opcode counts as (opcode, count) pairs: most of the 256 are zero.
constexpr size_t kOpcodesAt = offsetof(UnitStats, opcodes), kOpcodesEnd = kOpcodesAt + sizeof(UnitStats::opcodes);

void put_unit_stats(Frame& f, const UnitStats& st) {
  const auto* b = reinterpret_cast<const uint8_t*>(&st);
  f.bytes.insert(f.bytes.end(), b, b + kOpcodesAt);
  f.bytes.insert(f.bytes.end(), b + kOpcodesEnd, b + sizeof(UnitStats));
  uint16_t n = 0;
  for (uint64_t c : st.opcodes) n = uint16_t(n + (c != 0));
  f.put(n);
  for (size_t i = 0; i < st.opcodes.size(); ++i) {
    if (!st.opcodes[i]) continue;
    f.put(uint8_t(i));
    f.put(st.opcodes[i]);
  }
}

UnitStats get_unit_stats(Frame& f) {
  UnitStats st;
  auto* b = reinterpret_cast<uint8_t*>(&st);
  f.take(b, kOpcodesAt);
  f.take(b + kOpcodesEnd, sizeof(UnitStats) - kOpcodesEnd);
  const uint16_t n = f.get<uint16_t>();
  for (uint16_t i = 0; i < n; ++i) {
    const uint8_t op = f.get<uint8_t>();
    st.opcodes[op] = f.get<uint64_t>();
  }
  return st;
}

}  // namespace

void write_chip_results(Frame& f, const Chip& chip, const LinkFabric& links) {
  for (const auto& core : chip.cores) {
    f.put(core->seq->st);
    f.put<uint8_t>(core->seq->halted);
    f.put(core->seq->halt_cycle);
    for (const Unit* u : core->units)
      if (u) put_unit_stats(f, u->st);
    put_traffic(f, core->l1.traffic);
    for (uint32_t e = 0; e < core->p.engines; ++e)
      if (const Unit* u = core->units[isa::kUnitsMx.first + e])
        put_traffic(f, static_cast<const MatrixEngine*>(u)->acc.traffic);
    f.put(core->numeric);
    f.put(core->macs_by_type);
    f.put(core->vector_elements);
  }
  put_traffic(f, chip.l2.traffic);
  dram::Stats ds = chip.dram->stats();
  io_dram_stats(f, ds);
  f.put(chip.dram->requests());
  f.put(chip.dram->host_ns());
  f.put(links.link_stats()[chip.index]);
}

void read_chip_results(Frame& f, Chip& chip, LinkFabric& links) {
  for (const auto& core : chip.cores) {
    core->seq->st = f.get<SeqStats>();
    core->seq->halted = f.get<uint8_t>() != 0;
    core->seq->halt_cycle = f.get<uint64_t>();
    for (Unit* u : core->units)
      if (u) u->st = get_unit_stats(f);
    core->l1.traffic = get_traffic(f);
    for (uint32_t e = 0; e < core->p.engines; ++e)
      if (Unit* u = core->units[isa::kUnitsMx.first + e]) static_cast<MatrixEngine*>(u)->acc.traffic = get_traffic(f);
    core->numeric = f.get<num::NumericEvents>();
    f.take(core->macs_by_type, sizeof core->macs_by_type);
    core->vector_elements = f.get<decltype(core->vector_elements)>();
  }
  chip.l2.traffic = get_traffic(f);
  dram::Stats s;
  f.reading = true;
  io_dram_stats(f, s);
  const uint64_t requests = f.get<uint64_t>();
  const uint64_t host_ns = f.get<uint64_t>();
  chip.dram->adopt(std::move(s), requests, host_ns);
  links.set_link_stats(chip.index, f.get<std::array<LinkFabric::LinkStats, 2>>());
}

void write_chip_records(Frame& f, const Chip& chip) {
  for (const auto& core : chip.cores) f.put_vec(core->records);
}

void read_chip_records(Frame& f, Chip& chip) {
  for (const auto& core : chip.cores) core->records = f.get_vec<InstrRecord>();
}

}  // namespace tessera::model
