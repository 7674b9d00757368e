#include "common/timing/ports.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace tessera::timing {

PortCapacity port_capacity(const BankGeometry& g, Ports ports) {
  const uint64_t line = g.row_bytes();
  switch (ports) {
    case Ports::per_client: return {};
    case Ports::single_port: return {0, 0, line};
    case Ports::two_port: return {line, line, 0};
    case Ports::dual_port: return {0, 0, 2 * line};
  }
  return {};
}

uint64_t l2_stream_bytes_per_cycle(const ArchParams& p, uint64_t cores) {
  const PortCapacity c = port_capacity(p.l2, p.l2_ports);
  const uint64_t banks = c.read ? c.read : c.shared ? c.shared : p.l2.row_bytes();
  return std::min({banks, p.noc_width * p.noc_l2_ports, p.noc_width * std::max<uint64_t>(cores, 1)});
}

const uint64_t* BandwidthCalendar::page(uint64_t p) const {
  if (p == last_page_) return last_;
  const auto it = pages_.find(p);
  if (it == pages_.end()) return nullptr;
  last_page_ = p;
  last_ = it->second.get();
  return last_;
}

void BandwidthCalendar::make_current(uint64_t p) {
  if (page(p)) return;
  auto& slot = pages_[p];
  slot = std::make_unique<uint64_t[]>(kPage);  // value-initialised: nothing booked
  last_page_ = p;
  last_ = slot.get();
}

namespace {

// The limited calendars of a path, in order (paths are a few calendars long).
struct Limited {
  std::array<BandwidthCalendar*, 8> c{};
  size_t n = 0;
  explicit Limited(std::initializer_list<BandwidthCalendar*> path) {
    for (BandwidthCalendar* x : path) {
      if (!x || !x->limited()) continue;
      if (n == c.size()) throw std::logic_error("timing::book: a path of more than 8 limited calendars");
      c[n++] = x;
    }
  }
};

}  // namespace

uint64_t book(std::initializer_list<BandwidthCalendar*> path, uint64_t start, uint64_t bytes, uint64_t rate) {
  rate = std::max<uint64_t>(rate, 1);
  const uint64_t free_end = start + (bytes + rate - 1) / rate;
  const Limited l(path);
  if (!l.n || bytes == 0) return 0;
  uint64_t t = start, rest = bytes;
  for (;;) {
    const uint64_t w = t / kPortWindow, w_end = (w + 1) * kPortWindow;
    uint64_t can = rate * (w_end - t);
    for (size_t i = 0; i < l.n; ++i) can = std::min(can, l.c[i]->left(w));
    const uint64_t n = std::min(rest, can);
    if (n) {
      for (size_t i = 0; i < l.n; ++i) l.c[i]->take(w, n);
      rest -= n;
    }
    if (rest == 0) {
      const uint64_t end = t + (n + rate - 1) / rate;
      return end > free_end ? end - free_end : 0;
    }
    t = w_end;
  }
}

void claim(std::initializer_list<BandwidthCalendar*> path, uint64_t start, uint64_t bytes, uint64_t rate) {
  rate = std::max<uint64_t>(rate, 1);
  const Limited l(path);
  for (uint64_t t = start, rest = l.n ? bytes : 0; rest > 0;) {
    const uint64_t w = t / kPortWindow, w_end = (w + 1) * kPortWindow;
    const uint64_t n = std::min(rest, rate * (w_end - t));
    for (size_t i = 0; i < l.n; ++i) l.c[i]->take(w, n);
    rest -= n;
    t = w_end;
  }
}

}  // namespace tessera::timing
