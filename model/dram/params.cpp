#include "model/dram/params.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/config/dram_standard.h"

#include "common/util/error.h"

namespace tessera::model::dram {

void DramParams::derive() {
  const config::DramStandard* rules = config::find_dram_standard(standard);
  if (!rules) throw InputError("arch '" + arch_name + "': dram.standard '" + standard + "' is not a registered standard");
  one_command_bus = rules->single_command_bus;
  burst_bytes = bus_bits / 8 * burst_length;
  // One burst occupies the data bus for burst_length / data_rate; the loader has checked that
  // this is a whole number of tCK within 0.1 % (tck_ps is a decimal that cannot always state
  // the period exactly: 416.67 ps for 9.6 Gb/s HBM3E), so it is rounded to that number.
  tburst = uint32_t(std::max(1.0, std::round(double(burst_length) * 1e9 / (data_rate_mtps * double(tck_fs)))));
}

uint64_t cross_clock_ceil(uint64_t n, int64_t from_fs, int64_t to_fs) {
  if (from_fs <= 0 || to_fs <= 0) throw InputError("clock crossing: periods must be positive");
  const unsigned __int128 num = (unsigned __int128)n * uint64_t(from_fs);
  const unsigned __int128 q = (num + uint64_t(to_fs) - 1) / uint64_t(to_fs);
  if (q > std::numeric_limits<uint64_t>::max()) throw InputError("clock crossing: cycle count overflows 64 bits");
  return uint64_t(q);
}

}  // namespace tessera::model::dram
