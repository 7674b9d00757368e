#pragma once
// Synthetic traffic for the DRAM model: the patterns `tessera hbm`, its benchmark and the
// tests run (docs/dram.md, "tessera hbm"). A requester keeps a fixed number of requests in
// flight and submits the next one as soon as one completes.
#include <cstdint>

#include "model/dram/device.h"

namespace tessera::model::dram {

struct TrafficSpec {
  enum class Kind : uint8_t {
    Stream,  // one sequential read of `bytes` from address 0, in requests of `request_bytes`
    Random,  // `bytes` of reads in `request_bytes` pieces at uniformly random aligned addresses
    Mix,     // as Random, every third request a write (2:1 read/write)
  };
  Kind kind = Kind::Stream;
  uint64_t bytes = 0;
  uint64_t request_bytes = 64;  // size of one request (DramSystem::submit); Random, Mix: of each transfer
  // Stream: bursts of the transfer in flight; Random, Mix: requests in flight. 0 = enough
  // to fill every read queue (pseudo-channels x read_queue bursts).
  uint64_t outstanding = 0;
  uint64_t seed = 1;  // Random, Mix
};

// Runs `spec` on `m` from its current cycle until every request has completed; returns the
// number of requests: transfers for Random and Mix, request_bytes blocks of the Stream. Throws InputError for sizes that do not fit.
uint64_t run_traffic(Device& m, const TrafficSpec& spec);

}  // namespace tessera::model::dram
