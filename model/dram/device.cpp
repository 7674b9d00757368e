#include "model/dram/device.h"

#include <string>

#include "common/util/error.h"

namespace tessera::model::dram {

bool check_submission(const DramParams& p, const Pattern3D& pat, uint32_t max_outstanding) {
  if (max_outstanding == 0) throw InputError("dram: a transfer needs max_outstanding >= 1");
  const bool empty = pat.len == 0 || pat.n1 == 0 || pat.n2 == 0;
  if (!empty) {
    const unsigned __int128 last = (unsigned __int128)pat.base + (unsigned __int128)(pat.n1 - 1) * pat.stride1 +
                                   (unsigned __int128)(pat.n2 - 1) * pat.stride2 + pat.len - 1;
    if (last >= p.capacity_bytes()) {
      throw InputError("dram: transfer at base " + std::to_string(pat.base) + " (len " + std::to_string(pat.len) +
                       ", n1 " + std::to_string(pat.n1) + ", n2 " + std::to_string(pat.n2) +
                       ") reaches beyond the DRAM capacity of " + std::to_string(p.capacity_bytes()) + " bytes");
    }
  }
  return empty;
}

}  // namespace tessera::model::dram
