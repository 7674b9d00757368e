#include "model/dram/traffic.h"

#include <random>

#include "common/util/error.h"

namespace tessera::model::dram {

uint64_t run_traffic(Device& m, const TrafficSpec& spec) {
  const DramParams& p = m.params();
  const uint64_t queue_bursts = uint64_t(p.pcs_total()) * p.read_queue;
  if (spec.bytes == 0) throw InputError("traffic: the byte count must be positive");
  if (spec.bytes > p.capacity_bytes()) {
    throw InputError("traffic: " + std::to_string(spec.bytes) + " bytes exceed the DRAM capacity of " +
                     std::to_string(p.capacity_bytes()));
  }
  if (spec.kind == TrafficSpec::Kind::Stream) {
    Pattern3D pat;
    pat.len = spec.bytes;
    const uint64_t out = spec.outstanding ? spec.outstanding : queue_bursts;
    m.submit(pat, false, uint32_t(std::min<uint64_t>(out, UINT32_MAX)), m.now_tck(), spec.request_bytes);
    m.run_until_idle();
    return spec.request_bytes ? (spec.bytes + spec.request_bytes - 1) / spec.request_bytes : 1;
  }
  if (spec.request_bytes == 0 || spec.request_bytes > spec.bytes || p.capacity_bytes() % spec.request_bytes != 0) {
    throw InputError("traffic: the request size must be positive, at most the byte count and divide the capacity; got " +
                     std::to_string(spec.request_bytes));
  }
  const uint64_t requests = spec.bytes / spec.request_bytes;
  const uint64_t slots = p.capacity_bytes() / spec.request_bytes;
  const uint64_t bursts_per_request = (spec.request_bytes + p.burst_bytes - 1) / p.burst_bytes;
  const uint64_t window =
      spec.outstanding ? spec.outstanding : std::max<uint64_t>(1, queue_bursts / bursts_per_request);
  std::mt19937_64 rng(spec.seed);
  uint64_t sent = 0;
  auto submit = [&](uint64_t at) {
    Pattern3D pat;
    pat.base = rng() % slots * spec.request_bytes;
    pat.len = spec.request_bytes;
    const bool write = spec.kind == TrafficSpec::Kind::Mix && sent % 3 == 2;
    m.submit(pat, write, uint32_t(std::min<uint64_t>(bursts_per_request, UINT32_MAX)), at, spec.request_bytes);
    ++sent;
  };
  const uint64_t start = m.now_tck();
  while (sent < requests && sent < window) submit(start);
  while (m.in_flight()) {
    const uint64_t t = m.next_event_tck();
    m.advance(t + 1);
    // A completed request frees its slot; the requester sees it at the end of cycle t.
    for (size_t i = m.take_completed().size(); i > 0 && sent < requests; --i) submit(t + 1);
  }
  return sent;
}

}  // namespace tessera::model::dram
